/**
 * npm run bench:analyze [-- --runs N]
 *
 * Times the analyze step (the deployed handler module: parse, all queries in parallel against a real Prometheus,
 * judge, decide, record the analysis in DynamoDB) with 1 check and with 6 checks, and prints the figures.
 */
import '../test/support/env';
import { parseArgs } from 'node:util';
import { startDynalite } from '../local/dynamodb/dynalite';
import { startPrometheus } from '../local/prometheus/prometheus-server';
import { startTestExporter } from '../test/support/test-exporter';
import { SyntheticTraffic } from '../test/support/synthetic-traffic';
import { resolvePlan } from '../lambdas/domain/plan';
import { DEFAULT_CONVENTIONS } from '../lambdas/domain/query-template';
import { initialCursor, type Cursor } from '../lambdas/domain/decision';
import type { RunContext } from '../lambdas/domain/run';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const runs = Math.max(5, Number(values.runs));

function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p95: at(0.95), min: sorted[0], max: sorted.at(-1)! };
}

async function main(): Promise<void> {
  const [dynalite, exporter] = await Promise.all([startDynalite(), startTestExporter()]);
  const prometheus = await startPrometheus({ targets: [exporter.target], scrapeIntervalSeconds: 1 });
  const traffic = new SyntheticTraffic(exporter, { service: 'bench-api', rps: 500, canaryShare: () => 10 });
  exporter.set('process_resident_memory_bytes', { service: 'bench-api', version: 'canary' }, 150e6);
  traffic.start();
  Object.assign(process.env, { TABLE_NAME: dynalite.tableName, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint });
  const { handler } = await import('../lambdas/handlers/analyze');
  try {
    await prometheus.waitForTargetsUp();
    await prometheus.waitForSeries('sum(rate(http_requests_total{version="canary"}[10s])) > 0', 30_000);
    const off = (name: string) => ({ name, enabled: false });
    const plans: Record<string, ReturnType<typeof resolvePlan>> = {
      '1 threshold check': resolvePlan({ checks: [{ name: 'error-rate', judge: 'threshold' }, off('latency-p99'), off('stable-error-rate'), off('stable-latency-p99')] }),
      '1 sequential check': resolvePlan({ checks: [{ name: 'error-rate' }, off('latency-p99'), off('stable-error-rate'), off('stable-latency-p99')] }),
      'default plan (4 checks)': resolvePlan(),
      '6 checks': resolvePlan({ checks: [{ name: 'latency-p95', judge: 'threshold' }, { name: 'memory-bytes', max: 4e8 }] }),
    };
    // Count the Prometheus requests each analysis sends: count-based checks share one set of queries.
    let queries = 0;
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      if (String(input instanceof Request ? input.url : input).startsWith(prometheus.url)) queries++;
      return realFetch(input, init);
    };
    console.log(`analyze step (the deployed handler: queries, judge, decide, DynamoDB record) against a real Prometheus, ${runs} runs each, 10 s windows\n`);
    console.log(`${'plan'.padEnd(26)}${'checks'.padStart(6)}${'queries'.padStart(9)}${'median ms'.padStart(11)}${'p95 ms'.padStart(9)}${'min ms'.padStart(8)}${'max ms'.padStart(8)}`);
    for (const [label, basePlan] of Object.entries(plans)) {
      const plan = { ...basePlan, analysis: { ...basePlan.analysis, window: '10s', intervalSeconds: 10 } };
      const run: RunContext = {
        runId: `bench-${label.replace(' ', '-')}`,
        executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:bench',
        service: 'bench-api',
        image: 'bench-api:v2',
        dryRun: false,
        startedAt: new Date().toISOString(),
        trigger: { source: 'cli' },
        plan,
        traffic: { kind: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/b/1/2', stableTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/s/1', canaryTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/c/2', swapped: false },
        metrics: { kind: 'prometheus', url: prometheus.url, resolved: { conventions: DEFAULT_CONVENTIONS, serviceLabelValue: 'bench-api', canaryVersion: 'canary', stableVersion: 'stable' } },
        workload: { kind: 'none' },
        notifications: {},
      };
      let cursor: Cursor = { ...initialCursor(plan), weight: 10 };
      const times: number[] = [];
      let sent = 0;
      for (let i = 0; i < runs + 3; i++) {
        const before = queries;
        const started = performance.now();
        const next = await handler({ run, cursor });
        const elapsed = performance.now() - started;
        sent = queries - before;
        if (i >= 3) times.push(elapsed); // the first calls build clients and warm connections
        if (next.decision?.reason.verdict === 'error') throw new Error(`a query failed: ${next.decision.reason.message}`);
        cursor = { ...next, passedIntervals: 0, consecutiveFailures: 0 };
      }
      const s = stats(times);
      console.log(`${label.padEnd(26)}${String(plan.checks.length).padStart(6)}${String(sent).padStart(9)}${s.median.toFixed(1).padStart(11)}${s.p95.toFixed(1).padStart(9)}${s.min.toFixed(1).padStart(8)}${s.max.toFixed(1).padStart(8)}`);
    }
  } finally {
    traffic.stop();
    await Promise.allSettled([prometheus.stop(), exporter.stop(), dynalite.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
