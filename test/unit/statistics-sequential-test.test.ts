import { InputValidationError } from '../../lambdas/domain/errors';
import {
  initialSequentialState,
  sequentialMeasurement,
  oneSampleStep,
  ratioStep,
  resolveSequentialConfig,
  splitAlpha,
  stepSequentialTest,
  type PairCounts,
  type SequentialTestConfig,
  type SequentialTestResult,
  type SequentialTestState,
} from '../../lambdas/domain/statistics';
import { logGamma } from '../../lambdas/domain/statistics/numeric';

const pair = (canaryRequests: number, canaryBad: number, stableRequests: number, stableBad: number): PairCounts => ({
  canary: { requests: canaryRequests, bad: canaryBad },
  stable: { requests: stableRequests, bad: stableBad },
});

/** Runs intervals through the test from the start; returns every result. */
function run(config: SequentialTestConfig, intervals: readonly PairCounts[], from?: SequentialTestState): SequentialTestResult[] {
  let state = from ?? initialSequentialState(config);
  return intervals.map((counts) => {
    const result = stepSequentialTest(config, state, counts);
    state = result.state;
    return result;
  });
}

const logBinomial = (k: number, n: number, p: number) => logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p);

const defaults = resolveSequentialConfig({ alpha: 0.005, slo: 0.01, maxRatio: 1.5 });

describe('the per-interval likelihood ratios', () => {
  it('ratio axis: the conditional binomial split of bad requests between the versions', () => {
    // Prepare: 5 of 15 bad requests on a canary with 100 of 1100 requests; null ratio 1.5.
    const theta = (rho: number) => (rho * 100) / (rho * 100 + 1000);
    // Act
    const steps = ratioStep(pair(100, 5, 1000, 10), 1.5);
    // Assess: the k-th alternative is ρ = 1.5·√2^(k+1).
    steps.forEach((step, k) => {
      const rho = 1.5 * Math.SQRT2 ** (k + 1);
      expect(step).toBeCloseTo(logBinomial(5, 15, theta(rho)) - logBinomial(5, 15, theta(1.5)), 9);
    });
  });

  it('ratio axis: an interval without bad requests, or without one version, carries no evidence', () => {
    expect(ratioStep(pair(100, 0, 1000, 0), 1.5).every((s) => s === 0)).toBe(true);
    expect(ratioStep(pair(0, 0, 1000, 10), 1.5).every((s) => s === 0)).toBe(true);
    expect(ratioStep(pair(100, 3, 0, 0), 1.5).every((s) => s === 0)).toBe(true);
  });

  it('one-sample axis: the binomial likelihood ratio against the null rate', () => {
    const steps = oneSampleStep({ requests: 500, bad: 12 }, 0.01);
    steps.forEach((step, k) => {
      const p = Math.min(0.999, 0.01 * Math.SQRT2 ** (k + 1));
      expect(step).toBeCloseTo(logBinomial(12, 500, p) - logBinomial(12, 500, 0.01), 8);
    });
  });
});

describe('stepSequentialTest on known cases', () => {
  // 2% of canary requests vs 0.5% on stable: 4× the stable, twice the 1% SLO.
  const regression = pair(2000, 40, 38000, 190);
  const healthy = pair(2000, 10, 38000, 190);

  it('a persistent regression fails at the second interval, not the first (one interval is never enough)', () => {
    const [first, second] = run(defaults, [regression, regression]);
    expect(first.verdict).toBe('pass');
    expect(second.verdict).toBe('fail');
    expect(second.reason).toBe('breach');
    expect(second.fastAbort).toBe(false);
    expect(second.numbers.ratio).toBeCloseTo(4, 5);
    expect(second.detail).toMatch(/^canary proven worse than tolerated: canary 2% of 4000, stable 0.5% of 76000; evidence ratio [\d,]+\/222$/);
  });

  it('a huge, certain breach aborts at once: 20% errors against a 1% SLO', () => {
    const [first] = run(defaults, [pair(2000, 400, 38000, 190)]);
    expect(first.verdict).toBe('fail');
    expect(first.reason).toBe('fast-abort');
    expect(first.fastAbort).toBe(true);
    expect(first.detail).toMatch(/^fast abort: canary 20% this interval, proven above 5 × slo 1%/);
  });

  it('a breach below the fast-abort factor waits for the second interval even when it is certain', () => {
    const [first, second] = run(defaults, [pair(5000, 200, 95000, 475), pair(5000, 200, 95000, 475)]);
    expect(first).toMatchObject({ verdict: 'pass', fastAbort: false });
    expect(second).toMatchObject({ verdict: 'fail', reason: 'breach' });
  });

  it('one bad interval of the canary alone (a cold start) never rolls back', () => {
    const results = run(defaults, [pair(2000, 80, 38000, 190), ...Array.from({ length: 14 }, () => healthy)]);
    expect(results.map((r) => r.verdict)).toEqual(Array.from({ length: 15 }, () => 'pass'));
  });

  it('an incident both versions share (a dependency outage) cancels out', () => {
    const outage = pair(2000, 160, 38000, 3040);
    const results = run(defaults, [healthy, outage, outage, outage, healthy, healthy]);
    expect(results.every((r) => r.verdict === 'pass')).toBe(true);
  });

  it('a changed traffic split between intervals is read per interval (5% then 25%)', () => {
    const results = run(defaults, [...Array.from({ length: 5 }, () => pair(500, 2, 9500, 38)), ...Array.from({ length: 10 }, () => pair(2500, 10, 7500, 30))]);
    expect(results.every((r) => r.verdict === 'pass')).toBe(true);
  });

  it('proves a healthy canary within tolerance once its bound is under the tolerated rate', () => {
    const results = run(defaults, Array.from({ length: 10 }, () => pair(5000, 20, 45000, 180)));
    expect(results[0].provenHealthy).toBe(false);
    const proven = results.findIndex((r) => r.provenHealthy);
    expect(proven).toBeGreaterThan(0);
    expect(results[proven].reason).toBe('proven-healthy');
    expect(results[proven].numbers.canaryUpper).toBeLessThanOrEqual(1.5 * results[proven].numbers.stableLower);
  });

  it('fails closed: no canary requests, or fewer than minSamples so far, is no data', () => {
    const config = resolveSequentialConfig({ ...defaults, minSamples: 100 });
    const results = run(config, [pair(0, 0, 1000, 5), pair(40, 0, 760, 4), pair(40, 0, 760, 4), pair(40, 0, 760, 4)]);
    expect(results.map((r) => [r.verdict, r.reason])).toEqual([
      ['no-data', 'no-traffic'],
      ['no-data', 'below-min-samples'],
      ['no-data', 'below-min-samples'],
      ['pass', 'no-evidence-of-breach'],
    ]);
    expect(results[1].detail).toBe('no data: 40 canary requests so far, fewer than minSamples 100: canary 0% of 40, stable 0.511% of 1760; evidence ratio 0.28/222');
  });

  it('a proven breach stays a fail in an interval without canary traffic', () => {
    const [, , quiet] = run(defaults, [regression, regression, pair(0, 0, 38000, 190)]);
    expect(quiet.verdict).toBe('fail');
  });

  it('invalid counts are an error and leave the state as it was', () => {
    const state = initialSequentialState(defaults);
    const result = stepSequentialTest(defaults, state, pair(10, 11, 100, 1));
    expect(result.verdict).toBe('error');
    expect(result.reason).toBe('invalid-counts');
    expect(result.state).toBe(state);
    expect(stepSequentialTest(defaults, state, pair(10.5, 1, 100, 1)).verdict).toBe('error');
  });

  it('requireAboveSlo: a canary 4× worse than stable but inside the SLO passes', () => {
    const config = resolveSequentialConfig({ ...defaults, requireAboveSlo: true });
    const results = run(config, Array.from({ length: 10 }, () => pair(5000, 20, 95000, 95)));
    expect(results.every((r) => r.verdict === 'pass')).toBe(true);
    // Without it, the same canary is a regression against stable.
    expect(run(defaults, Array.from({ length: 10 }, () => pair(5000, 20, 95000, 95))).some((r) => r.verdict === 'fail')).toBe(true);
  });

  it('maxIncrease with maxRatio: a large ratio of a tiny rate is tolerated when the increase is small', () => {
    // 0.06% against 0.01%: six times worse, but only 0.05 points more; the increase allowed is 0.25 points.
    const tiny = Array.from({ length: 15 }, () => pair(20000, 12, 180000, 18));
    const both = resolveSequentialConfig({ ...defaults, maxIncrease: 0.0025 });
    expect(run(both, tiny).every((r) => r.verdict === 'pass')).toBe(true);
    expect(run(defaults, tiny).some((r) => r.verdict === 'fail')).toBe(true);
    // And a real breach fails on both axes.
    const breach = Array.from({ length: 6 }, () => pair(4000, 80, 36000, 36));
    expect(run(both, breach).some((r) => r.verdict === 'fail')).toBe(true);
  });

  it('the slo axis alone when no baseline tolerance is set', () => {
    const config = resolveSequentialConfig({ alpha: 0.005, slo: 0.01 });
    const results = run(config, Array.from({ length: 4 }, () => pair(3000, 90, 0, 0)));
    expect(results.map((r) => r.numbers.axes.map((a) => a.axis))[0]).toEqual(['slo']);
    expect(results.some((r) => r.verdict === 'fail')).toBe(true);
  });

  it('is pure: the same state and counts give the same result', () => {
    const [first] = run(defaults, [regression]);
    const a = stepSequentialTest(defaults, first.state, regression);
    const b = stepSequentialTest(defaults, JSON.parse(JSON.stringify(first.state)) as SequentialTestState, regression);
    expect(b).toEqual(a);
  });
});

describe('the state travels as JSON', () => {
  it('has only finite numbers, survives a JSON round trip, and stays small', () => {
    const config = resolveSequentialConfig({ ...defaults, maxIncrease: 0.0025, requireAboveSlo: true });
    const results = run(config, [pair(2000, 2000, 38000, 0), pair(2000, 0, 38000, 38000), pair(1, 1, 1, 0)]);
    const last = results[results.length - 1];
    const text = JSON.stringify(last.state);
    expect(text).not.toMatch(/null|Infinity|NaN/);
    expect(JSON.parse(text)).toEqual(last.state);
    expect(text.length).toBeLessThan(3000);
    expect(JSON.parse(JSON.stringify(last.numbers))).toEqual(last.numbers);
    expect(Object.keys(last.state).sort()).toEqual(['canary', 'increase', 'intervals', 'ratio', 'slo', 'stable']);
  });
});

describe('configuration', () => {
  it('fills the defaults: α 0.01, minSamples 50, fast abort at 5× the SLO', () => {
    expect(resolveSequentialConfig({ slo: 0.01, maxRatio: 1.5 })).toEqual({
      alpha: 0.01,
      minSamples: 50,
      healthyAlpha: 0.05,
      requireAboveSlo: false,
      slo: 0.01,
      maxRatio: 1.5,
      fastAbortFactor: 5,
    });
    expect(resolveSequentialConfig({ maxRatio: 2 }).fastAbortFactor).toBeUndefined();
  });

  it('names every bad field', () => {
    const attempt = () => resolveSequentialConfig({ alpha: 0, slo: 1.5, maxRatio: 0.5, minSamples: 0, requireAboveSlo: true }, 'plan.checks[0]');
    expect(attempt).toThrow(InputValidationError);
    expect(attempt).toThrow(
      'Invalid sequential check: plan.checks[0].alpha: must be greater than 0 and at most 0.5; plan.checks[0].slo: must be a proportion between 0 and 1 (exclusive); ' +
        'plan.checks[0].maxRatio: must be at least 1; plan.checks[0].minSamples: must be a whole number ≥ 1',
    );
    expect(() => resolveSequentialConfig({})).toThrow('check.(check): needs maxRatio and/or maxIncrease (against stable), or slo');
    expect(() => resolveSequentialConfig({ maxRatio: 1.5, fastAbortFactor: 5 })).toThrow('check.fastAbortFactor: needs slo');
  });

  it('splits a rollout α across checks', () => {
    expect(splitAlpha(0.01, 4)).toBe(0.0025);
    expect(splitAlpha(0.01, 0)).toBe(0.01);
  });
});

describe('as the engine’s measurement', () => {
  it('carries the verdict, the canary rate and requests, the tolerated rate, and rollbackNow on a fail', () => {
    const results = run(defaults, [pair(2000, 40, 38000, 190), pair(2000, 40, 38000, 190)]);
    const first = sequentialMeasurement('error-rate', defaults, results[0]);
    const second = sequentialMeasurement('error-rate', defaults, results[1]);
    expect(first).toMatchObject({ check: 'error-rate', verdict: 'pass', value: 0.02, samples: 2000, max: 0.0075, rollbackNow: false, judge: 'sequential' });
    expect(second).toMatchObject({ verdict: 'fail', reason: 'breach', rollbackNow: true });
    expect(JSON.parse(JSON.stringify(second))).toEqual(second);
  });
});
