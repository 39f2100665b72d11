import { DemoEnvironment } from '../../local/demo/environment';
import { runScenarioQuietly } from '../../local/demo/runner';
import { QUICK_PLAN_FILE, type ScenarioName } from '../../local/demo/scenarios';

// The demo end to end with real traffic: two service processes behind the ALB stand-in, the load generator,
// a real Prometheus, and the production workflow with the deployed handlers. The quick plan keeps the demo
// plan's interval (5 s), windows (10 s) and failure limit, with shorter holds.

jest.setTimeout(180_000);

let env: DemoEnvironment;

beforeAll(async () => {
  env = await DemoEnvironment.start();
});

afterAll(async () => {
  await env.stop();
});

const run = (scenario: ScenarioName) => runScenarioQuietly(env, { scenario, planFile: QUICK_PLAN_FILE, service: `e2e-${scenario}` });

describe('demo rollouts with real traffic', () => {
  it('promotes a healthy release: both steps judged on real metrics, all traffic on the new version', async () => {
    // Act
    const outcome = await run('healthy');

    // Assess
    const { json, record } = outcome.primary;
    expect(outcome.problems).toEqual([]);
    expect(json).toMatchObject({ outcome: 'promoted', stageReached: 2, finalCanaryWeight: 100, triggerCheck: null, triggerValue: null, threshold: null, faultOnsetToRollbackSeconds: null });
    expect(json.stateTransitions).toBeGreaterThan(10);
    expect(record).toMatchObject({ outcome: 'promoted', maxWeight: 100 });
    const events = await env.runLog.listEvents(json.runId);
    expect(events.filter((e) => e.type === 'weight-set').map((e) => e.weight)).toEqual([5, 25]);
    const passed = events.filter((e) => e.type === 'analysis' && e.decision?.reason.verdict === 'pass');
    expect(passed.length).toBeGreaterThanOrEqual(5);
    for (const e of passed) {
      expect(e.measurements?.map((m) => m.check)).toEqual(['error-rate', 'latency-p99', 'success-rate', 'memory-bytes']);
      // Real requests: at least the minimum sample count reached the canary in every judged window.
      expect(e.measurements?.[0].samples).toBeGreaterThanOrEqual(20);
    }
    // The load went through the stand-in to both versions, and the canary answered real requests.
    expect(outcome.primary.canaryRequests).toBeGreaterThan(100);
    expect(outcome.transcript).toContain('Rollout: PROMOTED');
  });

  it('rolls back a latency regression on latency-p99, with the error rate still passing', async () => {
    // Act
    const outcome = await run('latency');

    // Assess
    const { json, record, events } = outcome.primary;
    expect(outcome.problems).toEqual([]);
    expect(json).toMatchObject({ outcome: 'rolled_back', triggerCheck: 'latency-p99', threshold: 0.5, finalCanaryWeight: 0 });
    expect(json.triggerValue).toBeGreaterThan(0.5);
    expect(record?.reason).toMatch(/^latency-p99 [\d.]+ outside ≤ 0\.5 for 2 intervals in a row at step [01] /);
    const last = events.filter((e) => e.type === 'analysis').at(-1);
    expect(last?.measurements?.find((m) => m.check === 'error-rate')?.verdict).toBe('pass');
    expect(events.some((e) => e.type === 'promoted')).toBe(false);
  });

  it('rolls back a memory leak on memory-bytes before the new version reaches 100%', async () => {
    // Act
    const outcome = await run('memory-leak');

    // Assess
    const { json, record } = outcome.primary;
    expect(outcome.problems).toEqual([]);
    expect(json).toMatchObject({ outcome: 'rolled_back', triggerCheck: 'memory-bytes', threshold: 268435456, finalCanaryWeight: 0 });
    expect(json.triggerValue).toBeGreaterThan(268435456);
    expect(json.stageReached).toBeLessThan(2);
    expect(record?.maxWeight).toBeLessThan(100);
    const rollbacks = await env.runLog.listRollbacks(new Date(Date.now() - 3_600_000).toISOString(), { service: 'e2e-memory-leak' });
    expect(rollbacks.map((r) => [r.runId, r.triggerCheck])).toEqual([[json.runId, 'memory-bytes']]);
  });
});
