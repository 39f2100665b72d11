import { InputValidationError } from '../../lambdas/domain/errors';
import {
  fitLine,
  initialGaugeTrendState,
  resolveGaugeTrendConfig,
  stepGaugeTrend,
  type GaugeTrendConfig,
  type GaugeTrendResult,
} from '../../lambdas/domain/statistics';

const MiB = 1024 * 1024;

function run(config: GaugeTrendConfig, values: readonly (number | null)[]): GaugeTrendResult[] {
  let state = initialGaugeTrendState();
  return values.map((v) => {
    const result = stepGaugeTrend(config, state, v);
    state = result.state;
    return result;
  });
}

const config = resolveGaugeTrendConfig({ max: 512 * MiB });

describe('stepGaugeTrend', () => {
  it('a leak is caught before the limit: 300 MiB rising 20 MiB a minute, projected over 512 MiB within 5', () => {
    const leak = Array.from({ length: 8 }, (_, i) => (300 + 20 * i) * MiB + (i % 2 === 0 ? 1 : -1) * 2 * MiB);
    const results = run(config, leak);
    const first = results.findIndex((r) => r.verdict === 'fail');
    expect(first).toBe(6);
    expect(results[first].reason).toBe('projected-breach');
    expect(results[first].numbers.value!).toBeLessThan(512 * MiB);
    expect(results[first].numbers.projected!).toBeGreaterThan(512 * MiB);
    expect(results[first].detail).toMatch(/rising .* per interval \(t .*\): projected .* in 5 intervals, above max 536900000$/);
  });

  it('a flat, noisy gauge near the limit is not extrapolated into a breach', () => {
    const noisy = [480, 470, 495, 472, 490, 468, 493, 475, 489, 471].map((v) => v * MiB);
    expect(run(config, noisy).every((r) => r.verdict === 'pass')).toBe(true);
  });

  it('a value above max fails at once', () => {
    const [result] = run(config, [600 * MiB]);
    expect(result).toMatchObject({ verdict: 'fail', reason: 'above-max' });
  });

  it('no value is no data, and the trend waits for minPoints values', () => {
    const results = run(config, [null, 100 * MiB, 200 * MiB, 300 * MiB, 400 * MiB]);
    expect(results.map((r) => r.verdict)).toEqual(['no-data', 'pass', 'pass', 'pass', 'fail']);
    expect(results[3].numbers.slope).toBeNull();
    expect(results[4].reason).toBe('projected-breach');
  });

  it('the analyze step may project to the end of the hold instead', () => {
    let state = initialGaugeTrendState();
    for (const v of [300, 310, 320, 330]) state = stepGaugeTrend(config, state, v * MiB).state;
    expect(stepGaugeTrend(config, state, 340 * MiB, 2).verdict).toBe('pass');
    expect(stepGaugeTrend(config, state, 340 * MiB, 20).verdict).toBe('fail');
  });

  it('keeps only the window in its state', () => {
    const results = run(config, Array.from({ length: 30 }, (_, i) => (100 + (i % 3)) * MiB));
    expect(results[29].state.points).toHaveLength(10);
    expect(results[29].state.points[0][0]).toBe(20);
    expect(JSON.parse(JSON.stringify(results[29].state))).toEqual(results[29].state);
  });

  it('fits a line by least squares, with a t-statistic capped for an exact line', () => {
    expect(fitLine([[0, 1], [1, 3], [2, 5]])).toEqual({ slope: 2, intercept: 1, t: 1e6 });
    expect(fitLine([[0, 1], [1, 3]])).toBeNull();
    const fit = fitLine([[0, 0], [1, 1], [2, 0], [3, 1]])!;
    expect(fit.slope).toBeCloseTo(0.2, 12);
    expect(fit.t).toBeLessThan(2);
  });

  it('names every bad field', () => {
    expect(() => resolveGaugeTrendConfig({ max: NaN, minPoints: 2 })).toThrow(InputValidationError);
    expect(() => resolveGaugeTrendConfig({ max: NaN, minPoints: 2 })).toThrow('check.max: must be a finite number; check.minPoints: must be a whole number ≥ 3 (a trend needs a residual)');
  });
});
