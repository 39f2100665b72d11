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
    const plans = {
      '1 check': resolvePlan({ checks: [] }, undefined),
      '6 checks': resolvePlan({
        checks: [{ name: 'latency-p95' }, { name: 'latency-p50' }, { name: 'memory-bytes', max: 4e8 }],
      }),
    };
    plans['1 check'] = { ...plans['1 check'], checks: plans['1 check'].checks.slice(0, 1) };
    console.log(`analyze step against a real Prometheus (${runs} runs each, 10 s windows, each check = value + sample-count query)\n`);
    console.log('checks     queries   median ms   p95 ms   min ms   max ms');
    for (const [label, basePlan] of Object.entries(plans)) {
      const plan = { ...basePlan, analysis: { ...basePlan.analysis, window: '10s' } };
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
      for (let i = 0; i < runs + 3; i++) {
        const started = performance.now();
        const next = await handler({ run, cursor });
        const elapsed = performance.now() - started;
        if (i >= 3) times.push(elapsed); // the first calls build clients and warm connections
        if (next.decision?.reason.verdict !== 'pass') throw new Error(`unexpected verdict: ${next.decision?.reason.message}`);
        cursor = { ...next, passedIntervals: 0, consecutiveFailures: 0 };
      }
      const s = stats(times);
      const queries = plan.checks.length * 2;
      console.log(`${label.padEnd(10)} ${String(queries).padStart(7)} ${s.median.toFixed(1).padStart(11)} ${s.p95.toFixed(1).padStart(8)} ${s.min.toFixed(1).padStart(8)} ${s.max.toFixed(1).padStart(8)}`);
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
