import { DemoEnvironment, SCRAPE_INTERVAL_SECONDS } from '../../local/demo/environment';
import { runScenarioQuietly } from '../../local/demo/runner';
import { QUICK_PLAN_FILE, type ScenarioName } from '../../local/demo/scenarios';

// The demo's safety scenarios end to end with real traffic: an error spike rolled back within the bound,
// mislabelled metrics never promoted, and the dry run (passing, then its provoked rollback firing).

jest.setTimeout(180_000);

let env: DemoEnvironment;

beforeAll(async () => {
  env = await DemoEnvironment.start();
});

afterAll(async () => {
  await env.stop();
});

const run = (scenario: ScenarioName) => runScenarioQuietly(env, { scenario, planFile: QUICK_PLAN_FILE, service: `e2e-${scenario}` });

describe('demo safety with real traffic', () => {
  it('rolls back an error spike at the first step, at stage 0, within consecutiveFailureLimit × interval + scrape interval + 2 s of its onset', async () => {
    // Act
    const outcome = await run('error-spike');

    // Assess
    const { json, record, faultOnsetAt, canaryZeroAt } = outcome.primary;
    const bound = outcome.plan.analysis.consecutiveFailureLimit * outcome.plan.analysis.intervalSeconds + SCRAPE_INTERVAL_SECONDS + 2;
    expect(bound).toBe(13);
    expect(outcome.problems).toEqual([]);
    expect(json).toMatchObject({ outcome: 'rolled_back', stageReached: 0, finalCanaryWeight: 0, triggerCheck: 'error-rate', threshold: 0.01 });
    expect(json.triggerValue).toBeGreaterThan(0.01);
    expect(json.faultOnsetToRollbackSeconds).toBeGreaterThan(0);
    expect(json.faultOnsetToRollbackSeconds).toBeLessThanOrEqual(bound);
    // The figure is the stand-in's weights-changed moment minus the fault phase's start.
    expect(json.faultOnsetToRollbackSeconds).toBeCloseTo((canaryZeroAt! - faultOnsetAt!) / 1000, 1);
    expect(record).toMatchObject({ outcome: 'rolled_back', stageReached: 0, triggerCheck: 'error-rate', thresholdMax: 0.01 });
    const [rollback] = await env.runLog.listRollbacks(new Date(Date.now() - 30 * 86_400_000).toISOString(), { service: 'e2e-error-spike' });
    expect(rollback?.runId).toBe(json.runId);
    expect(outcome.transcript).toMatch(/Rollbacks of the last 30 days \(\d+, from the run log\):/);
  });

  it('never promotes a canary whose metrics are mislabelled, and the record says no data', async () => {
    // Act
    const outcome = await run('mislabelled');

    // Assess
    const { json, record, events } = outcome.primary;
    expect(outcome.problems).toEqual([]);
    expect(json.outcome).not.toBe('promoted');
    expect(json).toMatchObject({ outcome: 'rolled_back', stageReached: 0, finalCanaryWeight: 0, triggerValue: null });
    expect(record?.reason).toMatch(/^no data for 3 intervals in a row \(noDataLimit 3\) at step 0 \(5%\)/);
    expect(events.some((e) => e.type === 'promoted')).toBe(false);
    expect(events.filter((e) => e.type === 'analysis').every((e) => e.decision?.reason.verdict === 'no-data')).toBe(true);
    // The canary did get traffic; its metrics say version="v2", which is what the demo tells the user.
    expect(outcome.primary.canaryRequests).toBeGreaterThan(20);
    expect(outcome.primary.zeroCanaryData).toBe(true);
    expect(outcome.primary.diagnosis).toContain('version="v2"');
    expect(outcome.transcript).toContain('ZERO CANARY DATA');
  });

  it('passes a dry run of the same version, judging the canary share against each weight, then rolls back the provoked one', async () => {
    // Act
    const outcome = await run('dry-run');

    // Assess
    expect(outcome.problems).toEqual([]);
    const [dry, provoked] = outcome.runs;
    expect(outcome.primary).toBe(dry);
    expect(dry.json).toMatchObject({ outcome: 'dry_run_passed', finalCanaryWeight: 0 });
    expect(dry.record).toMatchObject({ outcome: 'dry_run_passed', dryRun: true });
    const shares = dry.events.flatMap((e) => (e.measurements ?? []).filter((m) => m.check === 'traffic-share').map((m) => ({ weight: e.weight!, m })));
    // Judged at both steps (not in the first interval after a shift), each within 2 points of the weight.
    expect(new Set(shares.map((s) => s.weight))).toEqual(new Set([5, 25]));
    for (const { weight, m } of shares) {
      expect(m.verdict).toBe('pass');
      expect(Math.abs(m.value! - weight)).toBeLessThanOrEqual(2);
    }
    expect(dry.events.some((e) => e.type === 'promoted')).toBe(false);

    expect(provoked?.json).toMatchObject({ outcome: 'rolled_back', triggerCheck: 'error-rate', finalCanaryWeight: 0 });
    expect(provoked?.record).toMatchObject({ outcome: 'rolled_back', dryRun: true });
    expect(provoked?.json.faultOnsetToRollbackSeconds).toBeLessThanOrEqual(outcome.boundSeconds);
  });
});
