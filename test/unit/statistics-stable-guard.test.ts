import { InputValidationError } from '../../lambdas/domain/errors';
import {
  guardAlphaAt,
  guardBound,
  initialStableGuardState,
  resolveStableGuardConfig,
  stepStableGuard,
  type ProportionCounts,
  type StableGuardConfig,
  type StableGuardResult,
} from '../../lambdas/domain/statistics';

const counts = (requests: number, bad: number): ProportionCounts => ({ requests, bad });

function run(config: StableGuardConfig, intervals: readonly ProportionCounts[]): StableGuardResult[] {
  let state = initialStableGuardState();
  return intervals.map((c) => {
    const result = stepStableGuard(config, state, c);
    state = result.state;
    return result;
  });
}

const config = resolveStableGuardConfig({ alpha: 0.005, slo: 0.01, horizonIntervals: 15 });
const normal = counts(20000, 100);
const storm = counts(36000, 1440);

describe('stepStableGuard', () => {
  it('a retry storm on stable (4% errors against a 1% SLO) fails after 3 sustained intervals', () => {
    const results = run(config, [normal, normal, storm, storm, storm, storm]);
    expect(results.map((r) => r.verdict)).toEqual(['pass', 'pass', 'pass', 'pass', 'fail', 'fail']);
    expect(results[4].reason).toBe('sustained-breach');
    expect(results[4].numbers.intervalsAbove).toBe(3);
    expect(results[4].detail).toMatch(/^stable above its bound for 3 intervals: stable 4% this interval, 4% over the last 3; bound 1%; evidence 10\^/);
  });

  it('a two-interval incident on stable never fails, however large', () => {
    const outage = counts(20000, 4000);
    const results = run(config, [normal, outage, outage, normal, normal, outage, outage, normal]);
    expect(results.every((r) => r.verdict === 'pass')).toBe(true);
  });

  it('needs evidence, not only three rates above the bound: 3 of 200 requests three times is not proof', () => {
    const results = run(config, [counts(200, 3), counts(200, 3), counts(200, 3)]);
    expect(results[2].numbers.intervalsAbove).toBe(0);
    expect(results[2].verdict).toBe('pass');
  });

  it('a two-interval incident cannot carry a third interval that is only marginally above the bound', () => {
    // The pooled window is overwhelming, but 1.14% of 1583 is no evidence against "at most 1%".
    const results = run(config, [normal, counts(1393, 89), counts(1173, 63), counts(1583, 18)]);
    expect(results[3].numbers.log10Evidence).toBeGreaterThan(results[3].numbers.log10Threshold);
    expect(results[3].numbers.intervalsAbove).toBe(0);
    expect(results[3].verdict).toBe('pass');
  });

  it('compares with the stable’s own pre-rollout baseline: the larger of ratio and increase', () => {
    const baseline = resolveStableGuardConfig({ alpha: 0.005, baselineRate: 0.002, maxRatio: 2, maxIncrease: 0.003 });
    expect(guardBound(baseline)).toBeCloseTo(0.005, 12);
    const both = resolveStableGuardConfig({ alpha: 0.005, baselineRate: 0.002, slo: 0.01 });
    expect(guardBound(both)).toBe(0.01);
  });

  it('spends α over the looks: evenly over the horizon, then shrinking; the total stays under α', () => {
    expect(guardAlphaAt(config, 1)).toBeCloseTo(0.005 / 30, 12);
    expect(guardAlphaAt(config, 16)).toBeCloseTo((0.0025 * 6) / Math.PI ** 2, 12);
    let total = 0;
    for (let t = 1; t <= 100_000; t++) total += guardAlphaAt(config, t);
    expect(total).toBeLessThan(0.005);
  });

  it('no stable traffic is no data; bad counts are an error and keep the state', () => {
    expect(run(config, [counts(0, 0)])[0].verdict).toBe('no-data');
    const state = initialStableGuardState();
    const result = stepStableGuard(config, state, counts(5, 6));
    expect(result).toMatchObject({ verdict: 'error', reason: 'invalid-counts' });
    expect(result.state).toBe(state);
  });

  it('keeps only the last sustainIntervals − 1 intervals in its state (small JSON)', () => {
    const results = run(config, Array.from({ length: 20 }, () => normal));
    const state = results[19].state;
    expect(state).toEqual({ intervals: 20, recent: [normal, normal] });
    expect(JSON.parse(JSON.stringify(results[19]))).toEqual(results[19]);
  });

  it('names every bad field', () => {
    expect(() => resolveStableGuardConfig({ alpha: 2, sustainIntervals: 0 })).toThrow(InputValidationError);
    expect(() => resolveStableGuardConfig({ alpha: 2, sustainIntervals: 0 })).toThrow(
      'Invalid stable guard: stableGuard.alpha: must be greater than 0 and at most 0.5; stableGuard.sustainIntervals: must be a whole number ≥ 1; stableGuard.(guard): needs slo and/or baselineRate',
    );
  });
});
