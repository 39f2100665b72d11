import { InputValidationError, type FieldIssue } from '../errors';
import { significant } from './numeric';

/**
 * Gauges (resident memory): a threshold, plus a trend over the window so that a leak is caught before the
 * limit. Method: ordinary least squares of value on interval index over the last `windowIntervals` points;
 * the fitted line is projected `projectIntervals` ahead (the analyze step may pass the rest of the hold
 * instead). The projection counts only when the slope is clearly positive — its t-statistic
 * (slope / standard error) is at least `minTrendT` — so a flat but noisy gauge is not extrapolated into a
 * breach, and never with fewer than `minPoints` points.
 * Verdicts: fail when the value is above `max` now, or the trusted projection is; no-data when the query gave
 * nothing this interval (fail closed); pass otherwise.
 * This is a descriptive rule, not an anytime-valid test: a gauge is one series with autocorrelated noise, not
 * independent counts. State: the last window's (interval, value) pairs, small JSON.
 */

export interface GaugeTrendConfig {
  /** The limit, in the gauge's unit (bytes). */
  readonly max: number;
  readonly windowIntervals: number;
  readonly projectIntervals: number;
  readonly minPoints: number;
  readonly minTrendT: number;
}

export type GaugeTrendInput = Partial<GaugeTrendConfig> & { readonly max: number };

export const GAUGE_TREND_DEFAULTS = { windowIntervals: 10, projectIntervals: 5, minPoints: 4, minTrendT: 3 } as const;

export interface GaugeTrendState {
  /** Intervals seen, with or without a value. */
  readonly intervals: number;
  /** [interval index, value] of the last windowIntervals intervals that had a value. */
  readonly points: readonly (readonly [number, number])[];
}

export type GaugeTrendReason = 'above-max' | 'projected-breach' | 'within' | 'no-value';

export interface GaugeTrendResult {
  readonly state: GaugeTrendState;
  readonly verdict: 'pass' | 'fail' | 'no-data';
  readonly reason: GaugeTrendReason;
  readonly numbers: {
    readonly value: number | null;
    readonly max: number;
    /** Fitted change per interval, its t-statistic, and the projected value; null without enough points. */
    readonly slope: number | null;
    readonly slopeT: number | null;
    readonly projected: number | null;
    readonly projectIntervals: number;
  };
  readonly detail: string;
}

/** What is wrong with a gauge configuration, as `root.field: message` issues. */
export function gaugeTrendConfigIssues(config: GaugeTrendConfig, root: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const at = (field: string, message: string) => issues.push({ field: `${root}.${field}`, message });
  if (!Number.isFinite(config.max)) at('max', 'must be a finite number');
  if (!Number.isInteger(config.windowIntervals) || config.windowIntervals < 3) at('windowIntervals', 'must be a whole number ≥ 3');
  if (!Number.isInteger(config.projectIntervals) || config.projectIntervals < 0) at('projectIntervals', 'must be a whole number ≥ 0');
  if (!Number.isInteger(config.minPoints) || config.minPoints < 3) at('minPoints', 'must be a whole number ≥ 3 (a trend needs a residual)');
  else if (config.minPoints > config.windowIntervals) at('minPoints', `must not exceed windowIntervals (${config.windowIntervals})`);
  if (!(config.minTrendT >= 0) || !Number.isFinite(config.minTrendT)) at('minTrendT', 'must be a number ≥ 0');
  return issues;
}

/** A gauge configuration with defaults filled in; throws InputValidationError naming every bad field. */
export function resolveGaugeTrendConfig(input: GaugeTrendInput, root = 'check'): GaugeTrendConfig {
  const config: GaugeTrendConfig = { ...GAUGE_TREND_DEFAULTS, ...input };
  const issues = gaugeTrendConfigIssues(config, root);
  if (issues.length > 0) throw new InputValidationError(issues, 'gauge check');
  return config;
}

/** The state before the first interval. */
export function initialGaugeTrendState(): GaugeTrendState {
  return { intervals: 0, points: [] };
}

export interface LinearFit {
  readonly slope: number;
  readonly intercept: number;
  /** slope / standard error; capped at ±1e6 for an exact line. */
  readonly t: number;
}

const T_CAP = 1e6;

/** Least-squares line through the points; null with fewer than three points or a single x. */
export function fitLine(points: readonly (readonly [number, number])[]): LinearFit | null {
  const n = points.length;
  if (n < 3) return null;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssr = points.reduce((s, [x, y]) => s + (y - intercept - slope * x) ** 2, 0);
  const se = Math.sqrt(ssr / (n - 2) / sxx);
  // Relative to the data's scale: a residual of rounding size is an exact line.
  const exact = se <= 1e-12 * Math.max(1, Math.abs(my));
  const t = exact ? (slope === 0 ? 0 : Math.sign(slope) * T_CAP) : Math.max(-T_CAP, Math.min(T_CAP, slope / se));
  return { slope, intercept, t };
}

/** Judges one interval's gauge value (null: the query returned nothing); `projectIntervals` overrides the config's. */
export function stepGaugeTrend(config: GaugeTrendConfig, state: GaugeTrendState, value: number | null, projectIntervals = config.projectIntervals): GaugeTrendResult {
  const index = state.intervals;
  const usable = value !== null && Number.isFinite(value);
  const points = usable ? [...state.points, [index, value] as const].filter(([x]) => x > index - config.windowIntervals) : state.points.filter(([x]) => x > index - config.windowIntervals);
  const next: GaugeTrendState = { intervals: index + 1, points };
  const fit = points.length >= config.minPoints ? fitLine(points) : null;
  const projected = fit === null ? null : fit.intercept + fit.slope * (index + projectIntervals);
  const numbers = {
    value: usable ? value : null,
    max: config.max,
    slope: fit === null ? null : significant(fit.slope, 4),
    slopeT: fit === null ? null : significant(fit.t, 3),
    projected: projected === null ? null : significant(projected, 4),
    projectIntervals,
  };
  const fmt = (v: number) => String(significant(v, 4));
  if (!usable) return { state: next, verdict: 'no-data', reason: 'no-value', numbers, detail: 'no data: the gauge query returned nothing this interval' };
  if (value > config.max) return { state: next, verdict: 'fail', reason: 'above-max', numbers, detail: `${fmt(value)} above max ${fmt(config.max)}` };
  if (fit !== null && projected !== null && fit.slope > 0 && fit.t >= config.minTrendT && projected > config.max) {
    return {
      state: next,
      verdict: 'fail',
      reason: 'projected-breach',
      numbers,
      detail: `${fmt(value)} rising ${fmt(fit.slope)} per interval (t ${fmt(fit.t)}): projected ${fmt(projected)} in ${projectIntervals} intervals, above max ${fmt(config.max)}`,
    };
  }
  const trend = fit === null ? 'no trend yet' : `slope ${fmt(fit.slope)} per interval (t ${fmt(fit.t)})`;
  return { state: next, verdict: 'pass', reason: 'within', numbers, detail: `${fmt(value)} within max ${fmt(config.max)}; ${trend}` };
}
