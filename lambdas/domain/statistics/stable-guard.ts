import { InputValidationError, type FieldIssue } from '../errors';
import { addCounts, rateOf, validProportion, NO_COUNTS, type ProportionCounts } from './counts';
import { oneSampleLogEvidence } from './sequential-test';
import { formatEvidence, significant } from './numeric';

/**
 * The stable guard: checks on the stable version while the canary runs, for what only shows there —
 * a canary whose failures make clients retry, so the stable drowns in a retry storm while the canary's own
 * numbers look fine. The stable is compared with its own pre-rollout baseline (a rate measured before the
 * first shift) and/or the absolute SLO, never with the canary.
 *
 * Method: a windowed test with α spent over intervals. At interval t, the last `sustainIntervals` intervals
 * of the stable are pooled and tested against H0: "the stable's rate is at most the bound" with the same
 * one-sample mixture likelihood ratio as the canary's SLO axis (sequential-test.ts): under H0 its expected
 * value is at most 1, so by Markov's inequality P(e-value ≥ 1/α_t) ≤ α_t. The levels α_t = α/(2·horizon) for
 * the first `horizonIntervals` intervals, then (α/2)·6/(π²·(t − horizon)²), sum to at most α: the guard may be
 * read every interval and false-alarms in at most α of rollouts whose stable stays within the bound.
 * It breaches only when, besides, every interval of the window on its own shows the stable above the bound
 * (its own mixture e-value at least 1/intervalAlpha, 10 by default): a one- or two-minute incident on stable
 * (a transient blip) never rolls back, even when the window's pooled evidence is overwhelming because of it;
 * a storm that lasts does, after `sustainIntervals` intervals. (The extra condition only removes rejections,
 * so the guarantee above still holds.)
 * References: Ville's/Markov's inequality for e-values (Ramdas et al., Statist. Sci. 2023); the window + α-
 * spending construction is a Bonferroni bound over looks (not a change-point detector with ARL control).
 *
 * State: the intervals seen and the last sustainIntervals − 1 intervals' counts: small JSON.
 */

export interface StableGuardConfig {
  /** False-rollback rate of this guard over the whole rollout. */
  readonly alpha: number;
  /** Absolute bound: the SLO as a proportion. */
  readonly slo?: number;
  /** The stable's own rate before the rollout began. */
  readonly baselineRate?: number;
  /** Tolerated multiple of the baseline rate. */
  readonly maxRatio: number;
  /** Tolerated increase over the baseline rate; with maxRatio, the larger tolerance applies. */
  readonly maxIncrease?: number;
  /** Intervals in a row the stable must be above the bound. */
  readonly sustainIntervals: number;
  /** Intervals over which α is spent evenly (the rollout's expected length); later ones get a shrinking share. */
  readonly horizonIntervals: number;
  /** Each interval of the window must on its own reach an e-value of 1/intervalAlpha against the bound. */
  readonly intervalAlpha: number;
}

export type StableGuardInput = Partial<StableGuardConfig>;

export const STABLE_GUARD_DEFAULTS = { alpha: 0.01, maxRatio: 2, sustainIntervals: 3, horizonIntervals: 30, intervalAlpha: 0.1 } as const;

export interface StableGuardState {
  readonly intervals: number;
  /** The stable's counts of the last sustainIntervals − 1 intervals, oldest first. */
  readonly recent: readonly ProportionCounts[];
}

export type StableGuardReason = 'sustained-breach' | 'within-bound' | 'no-traffic' | 'invalid-counts';

export interface StableGuardResult {
  readonly state: StableGuardState;
  readonly verdict: 'pass' | 'fail' | 'no-data' | 'error';
  readonly reason: StableGuardReason;
  readonly numbers: {
    readonly bound: number;
    readonly intervalRate: number | null;
    readonly windowRate: number | null;
    readonly windowRequests: number;
    /** Intervals in a row (up to sustainIntervals), ending with this one, that on their own showed the stable above the bound. */
    readonly intervalsAbove: number;
    readonly log10Evidence: number;
    readonly log10Threshold: number;
  };
  readonly detail: string;
}

/** The rate the stable must be proven above: the largest configured tolerance (all must be exceeded). */
export function guardBound(config: StableGuardConfig): number {
  const bounds: number[] = [];
  if (config.slo !== undefined) bounds.push(config.slo);
  if (config.baselineRate !== undefined) {
    bounds.push(Math.max(config.baselineRate * config.maxRatio, config.baselineRate + (config.maxIncrease ?? 0)));
  }
  return Math.min(1, Math.max(...bounds));
}

/** What is wrong with a guard configuration, as `root.field: message` issues. */
export function stableGuardConfigIssues(config: StableGuardConfig, root: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const at = (field: string, message: string) => issues.push({ field: `${root}.${field}`, message });
  if (!(config.alpha > 0 && config.alpha <= 0.5)) at('alpha', 'must be greater than 0 and at most 0.5');
  if (config.slo !== undefined && !(config.slo > 0 && config.slo < 1)) at('slo', 'must be a proportion between 0 and 1 (exclusive)');
  if (config.baselineRate !== undefined && !(config.baselineRate >= 0 && config.baselineRate < 1)) at('baselineRate', 'must be a proportion in [0, 1)');
  if (!(Number.isFinite(config.maxRatio) && config.maxRatio >= 1)) at('maxRatio', 'must be at least 1');
  if (config.maxIncrease !== undefined && !(config.maxIncrease >= 0 && config.maxIncrease < 1)) at('maxIncrease', 'must be at least 0 and less than 1');
  if (!Number.isInteger(config.sustainIntervals) || config.sustainIntervals < 1) at('sustainIntervals', 'must be a whole number ≥ 1');
  if (!Number.isInteger(config.horizonIntervals) || config.horizonIntervals < 1) at('horizonIntervals', 'must be a whole number ≥ 1');
  if (!(config.intervalAlpha > 0 && config.intervalAlpha <= 1)) at('intervalAlpha', 'must be greater than 0 and at most 1');
  if (config.slo === undefined && config.baselineRate === undefined) at('(guard)', 'needs slo and/or baselineRate');
  else if (issues.length === 0 && !(guardBound(config) > 0 && guardBound(config) < 1)) at('(guard)', 'the bound it implies must be between 0 and 1');
  return issues;
}

/** A guard configuration with defaults filled in; throws InputValidationError naming every bad field. */
export function resolveStableGuardConfig(input: StableGuardInput, root = 'stableGuard'): StableGuardConfig {
  const config: StableGuardConfig = {
    alpha: input.alpha ?? STABLE_GUARD_DEFAULTS.alpha,
    maxRatio: input.maxRatio ?? STABLE_GUARD_DEFAULTS.maxRatio,
    sustainIntervals: input.sustainIntervals ?? STABLE_GUARD_DEFAULTS.sustainIntervals,
    horizonIntervals: input.horizonIntervals ?? STABLE_GUARD_DEFAULTS.horizonIntervals,
    intervalAlpha: input.intervalAlpha ?? STABLE_GUARD_DEFAULTS.intervalAlpha,
    ...(input.slo !== undefined && { slo: input.slo }),
    ...(input.baselineRate !== undefined && { baselineRate: input.baselineRate }),
    ...(input.maxIncrease !== undefined && { maxIncrease: input.maxIncrease }),
  };
  const issues = stableGuardConfigIssues(config, root);
  if (issues.length > 0) throw new InputValidationError(issues, 'stable guard');
  return config;
}

/** The state before the first interval. */
export function initialStableGuardState(): StableGuardState {
  return { intervals: 0, recent: [] };
}

/** The level the guard's window must reach at interval t (1-based): α spent over the looks. */
export function guardAlphaAt(config: StableGuardConfig, t: number): number {
  const h = config.horizonIntervals;
  if (t <= h) return config.alpha / (2 * h);
  return ((config.alpha / 2) * 6) / (Math.PI ** 2 * (t - h) ** 2);
}

/** Judges one interval of the stable's counts (errors or slow of stable requests). */
export function stepStableGuard(config: StableGuardConfig, state: StableGuardState, stable: ProportionCounts): StableGuardResult {
  const bound = guardBound(config);
  if (!validProportion(stable)) {
    return {
      state,
      verdict: 'error',
      reason: 'invalid-counts',
      numbers: { bound, intervalRate: null, windowRate: null, windowRequests: 0, intervalsAbove: 0, log10Evidence: 0, log10Threshold: 0 },
      detail: `invalid stable counts ${stable.bad}/${stable.requests}`,
    };
  }
  const t = state.intervals + 1;
  const window = [...state.recent, stable].slice(-config.sustainIntervals);
  const pooled = window.reduce(addCounts, NO_COUNTS);
  const intervalLevel = Math.log(1 / config.intervalAlpha);
  let intervalsAbove = 0;
  for (let i = window.length - 1; i >= 0; i--) {
    const rate = rateOf(window[i]);
    if (rate === null || rate <= bound || oneSampleLogEvidence(window[i], bound) < intervalLevel) break;
    intervalsAbove++;
  }
  const log10Evidence = oneSampleLogEvidence(pooled, bound) / Math.LN10;
  const log10Threshold = Math.log10(1 / guardAlphaAt(config, t));
  const sustained = window.length === config.sustainIntervals && intervalsAbove === config.sustainIntervals;
  const breach = sustained && log10Evidence >= log10Threshold;

  const next: StableGuardState = { intervals: t, recent: config.sustainIntervals > 1 ? window.slice(-(config.sustainIntervals - 1)) : [] };
  const windowRate = rateOf(pooled);
  const numbers = {
    bound: significant(bound, 6),
    intervalRate: rateOf(stable),
    windowRate: windowRate === null ? null : significant(windowRate, 6),
    windowRequests: pooled.requests,
    intervalsAbove,
    log10Evidence: significant(log10Evidence, 4),
    log10Threshold: significant(log10Threshold, 4),
  };
  const pct = (v: number | null) => (v === null ? 'n/a' : `${significant(v * 100, 3)}%`);
  const summary = `stable ${pct(rateOf(stable))} this interval, ${pct(windowRate)} over the last ${window.length}; bound ${pct(bound)}; evidence ${formatEvidence(log10Evidence)}/${formatEvidence(log10Threshold)}`;
  if (breach) return { state: next, verdict: 'fail', reason: 'sustained-breach', numbers, detail: `stable above its bound for ${intervalsAbove} intervals: ${summary}` };
  if (stable.requests === 0) return { state: next, verdict: 'no-data', reason: 'no-traffic', numbers, detail: `no data: the stable served no requests this interval` };
  return { state: next, verdict: 'pass', reason: 'within-bound', numbers, detail: summary };
}
