import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { faultPhase, loadProfile, parseProfile, phaseAt } from '../../local/demo/profile';
import { loadPlan } from '../../local/demo/runner';
import { DEFAULT_PLAN_FILE, DEMO_DIR, QUICK_PLAN_FILE, SCENARIOS } from '../../local/demo/scenarios';

// The profile file format of issue 3, exactly as other tests write it, and the demo's own profiles and plans.

const ISSUE_EXAMPLE = {
  phases: [
    { fromSecond: 0, errorRate: 0.001, latencyMs: { p50: 20, p99: 120 } },
    { fromSecond: 15, fault: true, errorRate: 0.06, latencyMs: { p50: 30, p99: 300 } },
  ],
  memoryMb: { start: 120, growthPerMinute: 0 },
  versionLabel: 'canary',
};

describe('demo profiles', () => {
  it("parses the issue's example, with the fault phase and the version label", () => {
    // Prepare: the example of the issue, verbatim.

    // Act
    const profile = parseProfile(ISSUE_EXAMPLE);

    // Assess
    expect(profile.phases).toEqual([
      { fromSecond: 0, fault: false, errorRate: 0.001, latencyMs: { p50: 20, p99: 120 } },
      { fromSecond: 15, fault: true, errorRate: 0.06, latencyMs: { p50: 30, p99: 300 } },
    ]);
    expect(profile.memoryMb).toEqual({ start: 120, growthPerMinute: 0 });
    expect(profile.versionLabel).toBe('canary');
    expect(faultPhase(profile)?.fromSecond).toBe(15);
  });

  it('picks the phase in force by seconds since the first request', () => {
    // Prepare
    const profile = parseProfile(ISSUE_EXAMPLE);

    // Act
    const phases = [0, 14.9, 15, 600].map((s) => phaseAt(profile, s).index);

    // Assess
    expect(phases).toEqual([0, 0, 1, 1]);
  });

  it('lets a later phase keep the previous error rate or latency', () => {
    // Prepare
    const file = { phases: [{ fromSecond: 0, errorRate: 0.01, latencyMs: { p50: 10, p99: 50 } }, { fromSecond: 5, errorRate: 0.5 }] };

    // Act
    const profile = parseProfile(file);

    // Assess
    expect(profile.phases[1]).toEqual({ fromSecond: 5, fault: false, errorRate: 0.5, latencyMs: { p50: 10, p99: 50 } });
    expect(profile.memoryMb).toEqual({ start: 0, growthPerMinute: 0 });
    expect(profile.versionLabel).toBeUndefined();
  });

  it('refuses a bad profile naming every bad field', () => {
    // Prepare
    const bad = {
      phases: [
        { fromSecond: 3, errorRate: 1.5, latencyMs: { p50: 200, p99: 100 } },
        { fromSecond: 2, colour: 'red' },
      ],
      memoryMb: { start: -1, growthPerMinute: 0 },
    };

    // Act
    const attempt = () => parseProfile(bad);

    // Assess
    expect(attempt).toThrow(/profile\.phases\[0\]\.errorRate: must be between 0 and 1/);
    expect(attempt).toThrow(/profile\.phases\[0\]\.latencyMs\.p99: p99 must not be less than p50/);
    expect(attempt).toThrow(/profile\.phases\[1\]\.colour: unknown field/);
    expect(attempt).toThrow(/profile\.memoryMb\.start: must be at least 0/);
  });

  it('refuses phases out of order and a first phase that does not start at 0', () => {
    // Prepare
    const bad = { phases: [{ fromSecond: 3, errorRate: 0, latencyMs: { p50: 1, p99: 2 } }, { fromSecond: 2 }] };

    // Act
    const attempt = () => parseProfile(bad);

    // Assess
    expect(attempt).toThrow(/phases\[0\]\.fromSecond: must be 0/);
    expect(attempt).toThrow(/phases\[1\]\.fromSecond: must be greater than the previous phase's \(3\)/);
  });

  it('loads every shipped profile, and every scenario names shipped files', async () => {
    // Prepare
    const dir = join(DEMO_DIR, 'profiles');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

    // Act
    const profiles = await Promise.all(files.map((f) => loadProfile(join(dir, f))));
    const named = Object.values(SCENARIOS).flatMap((s) => [s.stableProfile, s.canaryProfile, ...(s.provoke ? [s.provoke.canaryProfile] : [])]);

    // Assess
    expect(files.sort()).toEqual(['error-spike.json', 'healthy.json', 'latency.json', 'memory-leak.json', 'mislabelled.json']);
    expect(profiles.every((p) => p.phases.length > 0)).toBe(true);
    for (const file of named) expect(files).toContain(file.split('/').pop());
  });

  it('says which file is wrong when a profile does not parse', async () => {
    // Prepare: a plan is not a profile.

    // Act
    const attempt = loadProfile(DEFAULT_PLAN_FILE);

    // Assess
    await expect(attempt).rejects.toThrow(/^profile .*demo-plan\.json: Invalid profile: profile\.phases: required/);
  });
});

describe('demo plans', () => {
  it('resolves the demo plan: 5% for 20 s, 25% for 40 s, then 100%, every 5 s over 10 s windows, four checks', async () => {
    // Act
    const { plan } = await loadPlan(DEFAULT_PLAN_FILE);

    // Assess
    expect(plan.steps).toEqual([{ weight: 5, holdSeconds: 20 }, { weight: 25, holdSeconds: 40 }, { weight: 100 }]);
    expect(plan.analysis).toMatchObject({ intervalSeconds: 5, window: '10s', consecutiveFailureLimit: 2 });
    expect(plan.checks.map((c) => [c.name, c.min, c.max])).toEqual([
      ['error-rate', undefined, 0.01],
      ['latency-p99', undefined, 0.5],
      ['success-rate', 0.99, undefined],
      ['memory-bytes', undefined, 268435456],
    ]);
  });

  it('keeps the quick plan on the same interval, window and failure limit, so the same rollback bound holds', async () => {
    // Act
    const [demo, quick] = await Promise.all([loadPlan(DEFAULT_PLAN_FILE), loadPlan(QUICK_PLAN_FILE)]);

    // Assess
    const { noDataLimit: _a, ...demoAnalysis } = demo.plan.analysis;
    const { noDataLimit: _b, ...quickAnalysis } = quick.plan.analysis;
    expect(quickAnalysis).toEqual(demoAnalysis);
    expect(quick.plan.checks).toEqual(demo.plan.checks);
  });

  it('refuses a bad plan with the engine’s field messages and the file name', async () => {
    // Prepare: a profile is not a plan.

    // Act
    const attempt = loadPlan(join(DEMO_DIR, 'profiles/healthy.json'));

    // Assess
    await expect(attempt).rejects.toThrow(/^plan .*healthy\.json: Invalid plan: .*phases: unknown field/);
  });
});
