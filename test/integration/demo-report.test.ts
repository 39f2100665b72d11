import type { Measurement } from '../../lambdas/domain/judge';
import { resolvePlan } from '../../lambdas/domain/plan';
import type { RunRecord } from '../../lambdas/domain/run';
import { LiveView, memoryTerminal } from '../../local/demo/live-view';
import { buildJson, formatMeasurement, formatValue, imageTag, median, rollbackBoundSeconds, rollbackReportLines, summaryLines } from '../../local/demo/report';
import { ensurePrometheus, installCommandLine, PrometheusMissingError, type PrometheusInstallDeps } from '../../local/demo/prometheus-install';
import type { LocalRunResult } from '../../local/workflow/local-workflow';

// What the demo prints: the --json object of issue 3, the summary, the rollback report, the live view's two
// modes; and how it gets Prometheus.

const local = (overrides: Partial<LocalRunResult> = {}): LocalRunResult => ({
  runId: 'demo-api-1234abcd',
  executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:demo-api-1234abcd',
  status: 'FAILED',
  error: 'CanaryRolledBack',
  states: [],
  stateTransitions: 17,
  wallSeconds: 15.6789,
  ...overrides,
});

const rolledBack: RunRecord = {
  runId: 'demo-api-1234abcd',
  executionArn: 'arn',
  service: 'demo-api',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-api:v2',
  dryRun: false,
  trigger: { source: 'cli' },
  startedAt: '2026-11-22T14:00:00.000Z',
  endedAt: '2026-11-22T14:00:16.000Z',
  outcome: 'rolled_back',
  stageReached: 0,
  maxWeight: 5,
  reason: 'error-rate 0.1866 outside ≤ 0.01 for 2 intervals in a row at step 0 (5%)',
  triggerCheck: 'error-rate',
  triggerValue: 0.18662837461,
  thresholdMax: 0.01,
  timeToRollbackSeconds: 5.1,
};

describe('the --json result', () => {
  it("has exactly the issue's fields in the issue's order, null where a field does not apply", () => {
    // Prepare
    const promoted: RunRecord = { ...rolledBack, outcome: 'promoted', stageReached: 2, maxWeight: 100, reason: 'all checks passed' };
    delete (promoted as { triggerCheck?: string }).triggerCheck;
    delete (promoted as { triggerValue?: number }).triggerValue;
    delete (promoted as { thresholdMax?: number }).thresholdMax;

    // Act
    const json = buildJson({ local: local({ status: 'SUCCEEDED' }), record: promoted, finalCanaryWeight: 100, faultOnsetToRollbackSeconds: null });

    // Assess
    expect(JSON.stringify(json)).toBe(
      '{"outcome":"promoted","stageReached":2,"finalCanaryWeight":100,"triggerCheck":null,"triggerValue":null,"threshold":null,' +
        '"faultOnsetToRollbackSeconds":null,"wallSeconds":15.7,"stateTransitions":17,"runId":"demo-api-1234abcd"}',
    );
  });

  it('carries the trigger, its threshold and the fault onset → rollback seconds of a rollback', () => {
    // Act
    const json = buildJson({ local: local(), record: rolledBack, finalCanaryWeight: 0, faultOnsetToRollbackSeconds: 7.2345 });

    // Assess
    expect(json).toEqual({
      outcome: 'rolled_back',
      stageReached: 0,
      finalCanaryWeight: 0,
      triggerCheck: 'error-rate',
      triggerValue: 0.186628,
      threshold: 0.01,
      faultOnsetToRollbackSeconds: 7.2,
      wallSeconds: 15.7,
      stateTransitions: 17,
      runId: 'demo-api-1234abcd',
    });
  });

  it('says failed for a refused run (no record) and for a rollback that failed, and gives a min threshold', () => {
    // Act
    const refused = buildJson({ local: local({ error: 'InputValidationError' }), record: undefined, finalCanaryWeight: 0, faultOnsetToRollbackSeconds: null });
    const stuck = buildJson({ local: local(), record: { ...rolledBack, outcome: 'rollback_failed', thresholdMax: undefined, thresholdMin: 0.99, triggerCheck: 'success-rate' }, finalCanaryWeight: 5, faultOnsetToRollbackSeconds: null });

    // Assess
    expect(refused).toMatchObject({ outcome: 'failed', stageReached: null, triggerCheck: null, threshold: null });
    expect(stuck).toMatchObject({ outcome: 'failed', triggerCheck: 'success-rate', threshold: 0.99, finalCanaryWeight: 5 });
  });

  it('computes the bound of the issue from the plan: consecutiveFailureLimit × interval + scrape interval + 2 s', () => {
    // Prepare
    const plan = resolvePlan({ analysis: { intervalSeconds: 5, consecutiveFailureLimit: 2 }, steps: [{ weight: 5, holdSeconds: 20 }, { weight: 100 }] });

    // Act
    const bound = rollbackBoundSeconds(plan, 1);

    // Assess
    expect(bound).toBe(13);
    expect(median([9, 7, 8, 30, 1])).toBe(8);
    expect(median([4, 2])).toBe(3);
  });
});

describe('what the demo prints', () => {
  it('shows values in units people read', () => {
    // Prepare
    const m: Measurement = { check: 'latency-p99', verdict: 'fail', value: 0.9638, samples: 120, max: 0.5, detail: '' };

    // Act
    const values = [formatValue('error-rate', 0.0123), formatValue('success-rate', 0.99), formatValue('latency-p99', 2.14), formatValue('memory-bytes', 268435456), formatValue('traffic-share', 4.71), formatValue('error-rate', null)];

    // Assess
    expect(values).toEqual(['1.23%', '99%', '2.14 s', '256 MB', '4.7%', '–']);
    expect(formatMeasurement(m)).toBe('latency-p99 964 ms (≤ 500 ms) FAIL');
    expect(imageTag('123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-api:v2')).toBe('v2');
  });

  it("lists the rollbacks with the seed's columns: date, version, stage, trigger metric and value, time to rollback", () => {
    // Prepare
    const plan = resolvePlan({ steps: [{ weight: 5, holdSeconds: 300 }, { weight: 100 }] });
    const noData: RunRecord = { ...rolledBack, runId: 'r2', triggerValue: null, reason: 'no data for 5 intervals in a row', image: 'demo-api:v3' };

    // Act
    const lines = rollbackReportLines([{ ...rolledBack, plan }, noData]);

    // Assess
    expect(lines[0]).toBe('Rollbacks of the last 30 days (2, from the run log):');
    expect(lines[1].trim().split(/\s{2,}/)).toEqual(['date', 'version', 'stage', 'trigger metric = value', 'time to rollback']);
    expect(lines[3]).toMatch(/^ {2}2026-11-22 14:00:16Z +demo-api:v2 +0 \(5%\) +error-rate = 18\.66% +5\.1 s$/);
    expect(lines[4]).toMatch(/demo-api:v3 +0 +error-rate: no data +5\.1 s$/);
    expect(rollbackReportLines([])).toEqual(['Rollbacks of the last 30 days: none.']);
  });

  it('summarises a rollback with its reason, trigger, timings against the bound and the weights now', () => {
    // Prepare
    const plan = resolvePlan({ steps: [{ weight: 5, holdSeconds: 20 }, { weight: 100 }], analysis: { intervalSeconds: 5 } });
    const json = buildJson({ local: local(), record: rolledBack, finalCanaryWeight: 0, faultOnsetToRollbackSeconds: 7.2 });

    // Act
    const lines = summaryLines({ label: 'Rollout', json, record: rolledBack, local: local(), plan, boundSeconds: 13, finalWeights: { stable: 100, canary: 0, raw: { stable: 999, canary: 0 } } });

    // Assess
    expect(lines[0]).toBe('Rollout: ROLLED BACK at step 0 (5%)');
    expect(lines.join('\n')).toContain('trigger               error-rate = 18.66% (threshold ≤ 1%)');
    expect(lines.join('\n')).toContain('fault onset → 0%      7.2 s, within the bound of 13 s (2 × 5 s + scrape interval + 2 s)');
    expect(lines.join('\n')).toContain('canary weight now     0% (stand-in weights: stable 999 / canary 0)');
  });

  it('appends plain lines when stdout is not a TTY, and never draws the status block', () => {
    // Prepare
    const term = memoryTerminal(false);
    const view = new LiveView(term);

    // Act
    view.showStatus(() => ['status that must not show']);
    view.line('step 0: canary weight → 5%');
    view.redraw();
    view.hideStatus();

    // Assess
    expect(term.text()).toBe('step 0: canary weight → 5%\n');
  });

  it('redraws the status block in place on a TTY, below the appended lines, cut short of the last column', () => {
    // Prepare
    const term = memoryTerminal(true, 30);
    const view = new LiveView(term, 60_000);
    let weight = 5;

    // Act
    view.showStatus(() => [`weight ${weight}%`, `a line longer than thirty characters for sure`]);
    view.line('analysis 1');
    weight = 25;
    view.redraw();
    view.hideStatus();

    // Assess: draw, erase 2 lines + line + draw, erase 2 + draw, erase 2.
    const erase = '\u001b[2F\u001b[0J';
    expect(term.text()).toBe(
      'weight 5%\na line longer than thirty ch…\n' +
        `${erase}analysis 1\nweight 5%\na line longer than thirty ch…\n` +
        `${erase}weight 25%\na line longer than thirty ch…\n` +
        erase,
    );
  });
});

describe('getting Prometheus', () => {
  const deps = (over: Partial<PrometheusInstallDeps>): PrometheusInstallDeps & { ran: string[] } => {
    const ran: string[] = [];
    return {
      findBinary: () => Promise.reject(new Error('not on PATH')),
      isRoot: () => true,
      hasAptGet: () => Promise.resolve(true),
      run: (command) => {
        ran.push(command.join(' '));
        return Promise.resolve();
      },
      log: () => undefined,
      ran,
      ...over,
    };
  };

  it('uses the binary on PATH and installs nothing', async () => {
    // Prepare
    const d = deps({ findBinary: () => Promise.resolve('/usr/bin/prometheus') });

    // Act
    const binary = await ensurePrometheus(d);

    // Assess
    expect(binary).toBe('/usr/bin/prometheus');
    expect(d.ran).toEqual([]);
  });

  it('installs Debian’s package as root with apt-get, then finds it', async () => {
    // Prepare
    let installed = false;
    const d = deps({ findBinary: () => (installed ? Promise.resolve('/usr/bin/prometheus') : Promise.reject(new Error('missing'))) });
    const run = d.run;
    d.ran.length = 0;

    // Act
    const binary = await ensurePrometheus({
      ...d,
      run: async (command) => {
        await run(command);
        if (command.includes('install')) installed = true;
      },
    });

    // Assess
    expect(binary).toBe('/usr/bin/prometheus');
    expect(d.ran).toEqual(['apt-get update', 'apt-get install -y prometheus']);
  });

  it('stops with the exact command when it is not root', async () => {
    // Prepare
    const d = deps({ isRoot: () => false });

    // Act
    const attempt = ensurePrometheus(d);

    // Assess
    await expect(attempt).rejects.toThrow(PrometheusMissingError);
    await expect(ensurePrometheus(d)).rejects.toThrow('sudo apt-get update && sudo apt-get install -y prometheus');
    expect(d.ran).toEqual([]);
    expect(installCommandLine(true)).toBe('apt-get update && apt-get install -y prometheus');
  });

  it('stops with what to install when there is no apt-get, and when the install fails', async () => {
    // Prepare
    const noApt = deps({ hasAptGet: () => Promise.resolve(false) });
    const failing = deps({ run: () => Promise.reject(new Error('exited with 100')) });

    // Act
    const withoutApt = ensurePrometheus(noApt);
    const failed = ensurePrometheus(failing);

    // Assess
    await expect(withoutApt).rejects.toThrow(/install Prometheus 2\.x so that 'prometheus' is on PATH/);
    await expect(failed).rejects.toThrow("installing Prometheus failed at 'apt-get update': exited with 100");
  });
});

describe('units of count-based checks', () => {
  it('shows a sequential latency check as the share of slow requests, not as seconds', () => {
    const m = { check: 'latency-p99', judge: 'sequential', verdict: 'pass' as const, value: 0.004, samples: 1200, max: 0.01, detail: '' };
    expect(formatMeasurement(m)).toBe('latency-p99 0.4% (≤ 1%) pass');
    expect(formatMeasurement({ ...m, judge: 'threshold', value: 0.118, max: 0.5 })).toBe('latency-p99 118 ms (≤ 500 ms) pass');
  });
});
