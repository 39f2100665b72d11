import { InputValidationError, type FieldIssue } from '../errors';
import { priorWithMean, proportionBounds } from './confidence-sequence';
import { addCounts, rateOf, validProportion, NO_COUNTS, type PairCounts, type ProportionCounts } from './counts';
import { finiteLog, formatEvidence, logSumExp, significant, xLogY } from './numeric';

/**
 * The sequential judge of one proportion check (errors/requests or slow/requests): is the canary worse
 * than the stable version by more than the allowed ratio and/or absolute increase? Judged after every
 * interval on counts, with a false-rollback rate of at most α over the whole rollout however often it looks.
 *
 * Method — a mixture sequential probability ratio test (mSPRT) per axis, on counts:
 *
 * • Ratio axis, H0: p_canary ≤ maxRatio·p_stable. Bad requests of the two versions in an interval are (close
 *   to) Poisson with rates n_c·p_c·λ_t and n_s·p_s·λ_t, so given their total E_t the canary's share is
 *   Binomial(E_t, θ_t(ρ)), θ_t(ρ) = ρ·n_c / (ρ·n_c + n_s), ρ = p_c/p_s. Conditioning removes λ_t, whatever the
 *   two versions share in that interval (a dependency outage, a traffic surge): only the split of bad
 *   requests between them carries evidence, and the split of traffic may change every interval (weights).
 *   This is the test of time-inhomogeneous Poisson counting processes with a common multiplicative time
 *   effect of Lindon & Malek, "Anytime-valid inference for multinomial count data" (NeurIPS 2022,
 *   arXiv 2011.03567), applied to canaries as in Lindon, Sanden, Shirikian, "Rapid regression detection in
 *   software deployments through sequential testing" (KDD 2022, arXiv 2205.14762); here the traffic split is
 *   read per interval rather than fixed, and the mixture is over a grid of ratios rather than a Beta prior.
 * • Increase axis, H0: p_canary ≤ p_stable + maxIncrease. A one-sample test of the canary's bad requests
 *   against q_t = U_t + maxIncrease, where U_t is the stable's upper bound from an anytime-valid confidence
 *   sequence (confidence-sequence.ts) over the stable's counts up to and including interval t (independent
 *   of the canary's counts of interval t). Half of α goes to that sequence, half to the test. Its
 *   alternatives are fixed rates (maxIncrease·√2^k, k = 1…16); one not above q_t sits the interval out.
 * • SLO axis (optional), H0: p_canary ≤ slo. A one-sample test against the fixed rate.
 *
 * Each axis keeps, for each alternative of its grid (ratio and SLO axes: multipliers √2, 2, …, 64 of the
 * null), the cumulative log-likelihood ratio L_k. The mixture E_t = Σ_k w_k·exp(L_k) (equal weights) is a
 * nonnegative supermartingale with E_0 = 1 under every point of H0 (each per-interval factor has
 * conditional mean ≤ 1: the binomial family has a monotone likelihood ratio, so alternatives above the null
 * lose on average when the truth is at or below it), so by Ville's inequality P(∃t: E_t ≥ 1/α) ≤ α. That is
 * why it may be read after every interval, unlike a fixed-sample test: a z-test at 1% read after each of 15
 * intervals false-alarms in about one healthy rollout in ten (test/unit/statistics-error-control.test.ts). See H. Robbins (1970) on mixtures, and Ramdas, Grünwald,
 * Vovk, Shafer, "Game-theoretic statistics and safe anytime-valid inference" (Statist. Sci. 2023).
 *
 * A single transient interval must not roll back (a cold start, one bad minute): the judge reads the robust
 * mixture E'_t = Σ_k w_k·exp(L_k − M_k), M_k = max(0, largest single-interval contribution to L_k). Since
 * M_k ≥ the first interval's contribution, E'_t ≤ the mixture started one interval later, itself a test
 * supermartingale: E'_t is valid at the same α and needs at least two intervals of evidence.
 *
 * Decisions (IUT: every configured axis must reject, so no α is split between axes):
 *   fail  — every axis' robust E' ≥ 1/(0.9·α_axis): the canary is proven worse than the tolerance.
 *   fast abort (fail at once) — every axis' plain E ≥ 1/(0.1·α_axis), and this interval alone proves the
 *         canary above fastAbortFactor × slo at that level. A breach so large and certain that waiting for a
 *         second interval only adds exposure. 0.9 + 0.1: the two paths together spend α.
 *   no-data — the canary served nothing this interval, or fewer than minSamples requests so far: never a pass.
 *   pass  — enough samples and no proven breach. `provenHealthy` also says whether the canary is proven
 *         within tolerance (its confidence-sequence upper bound under the tolerated rate at healthyAlpha),
 *         the evidence to advance early.
 *   powered — with detectFactor set, whether the data could by now have detected a canary at detectFactor × slo:
 *         the canary's confidence-sequence upper bound (level 1 − healthyAlpha/2, anytime-valid) is at most
 *         detectFactor × slo (a canary that bad is ruled out), or the canary is proven within tolerance of stable
 *         (`provenHealthy`, which also holds when a shared incident lifted both versions' rates for a while).
 *         "No evidence of a breach" on too little data is not evidence of health: the engine holds before promotion
 *         (or before every step) until every sequential check is powered (decision.ts). The dual of power: a canary
 *         truly at detectFactor × slo stays unpowered at every look with probability ≥ 1 − healthyAlpha/2, unless it
 *         is proven no worse than a stable that is itself that bad (the stable guard's case).
 *
 * Parameters: alpha (per check over the rollout; split the rollout's α across checks with `splitAlpha`),
 * maxRatio and/or maxIncrease (the tolerance against stable), slo with requireAboveSlo (fail only when also
 * proven above the SLO), minSamples, fastAbortFactor, healthyAlpha, detectFactor (the power requirement).
 * Assumptions: requests are independent given the interval's rates (overdispersion shared by both versions
 * cancels on the ratio axis); the ratio axis is exact for Poisson counts and close for rare bad outcomes.
 *
 * State: cumulative counts and, per axis, two arrays of 12 (increase axis: 16) finite numbers — plain JSON,
 * about 1 KB, so it travels in the Step Functions state between intervals. Pure: the same state and counts
 * give the same result, so a retried analysis decides the same.
 */

export interface SequentialTestConfig {
  /** False-rollback rate of this check over the whole rollout. */
  readonly alpha: number;
  /** The SLO as a proportion (0.01 = 1% errors; 1 − 0.99 for a p99 latency SLO); the fast-abort reference. */
  readonly slo?: number;
  /** Tolerated canary/stable ratio of the proportions (1.5: the canary may be 50% worse). */
  readonly maxRatio?: number;
  /** Tolerated canary − stable difference of the proportions (0.0025: a quarter point worse). */
  readonly maxIncrease?: number;
  /** Fail only when the canary is also proven above `slo` (regressions inside the SLO are tolerated). */
  readonly requireAboveSlo: boolean;
  /** Canary requests, since the rollout began, before the check may pass. */
  readonly minSamples: number;
  /** Abort at once when the canary is proven above this multiple of `slo`; unset disables fast abort. */
  readonly fastAbortFactor?: number;
  /** Confidence level of the "proven healthy" statement (1 − healthyAlpha). */
  readonly healthyAlpha: number;
  /** The regression, as a multiple of `slo`, the data must rule out before a step may pass (`powered`); unset: no such requirement. */
  readonly detectFactor?: number;
}

export type SequentialTestInput = Partial<SequentialTestConfig>;

export const SEQUENTIAL_DEFAULTS = {
  alpha: 0.01,
  minSamples: 50,
  fastAbortFactor: 5,
  healthyAlpha: 0.05,
  requireAboveSlo: false,
} as const;

export type Axis = 'ratio' | 'increase' | 'slo';

/** One axis' running evidence: per alternative, the cumulative log-likelihood ratio and its largest single step. */
export interface AxisState {
  readonly logLr: readonly number[];
  readonly maxStep: readonly number[];
}

export interface SequentialTestState {
  /** Intervals judged (with valid counts). */
  readonly intervals: number;
  /** Cumulative counts since the rollout began. */
  readonly canary: ProportionCounts;
  readonly stable: ProportionCounts;
  readonly ratio?: AxisState;
  readonly increase?: AxisState;
  readonly slo?: AxisState;
}

export type SequentialVerdict = 'pass' | 'fail' | 'no-data' | 'error';

export type SequentialReason =
  | 'fast-abort'
  | 'breach'
  | 'proven-healthy'
  | 'no-evidence-of-breach'
  | 'no-traffic'
  | 'below-min-samples'
  | 'invalid-counts';

export interface AxisReport {
  readonly axis: Axis;
  /** The tolerated value under test: the ratio, the rate q_t, or the SLO. */
  readonly bound: number;
  /** log10 of the robust mixture E'_t and the level it must reach to fail. */
  readonly log10Evidence: number;
  readonly log10Threshold: number;
  /** log10 of the plain mixture E_t and the level it must reach for a fast abort. */
  readonly log10FastEvidence: number;
  readonly log10FastThreshold: number;
}

export interface SequentialNumbers {
  readonly intervals: number;
  readonly canary: ProportionCounts;
  readonly stable: ProportionCounts;
  readonly canaryRate: number | null;
  readonly stableRate: number | null;
  /** The canary's rate in this interval alone. */
  readonly intervalCanaryRate: number | null;
  readonly ratio: number | null;
  /** Anytime-valid bounds at healthyAlpha/2 each: canary's upper, stable's lower. */
  readonly canaryUpper: number;
  readonly stableLower: number;
  /** The SLO as a proportion, when the check has one. */
  readonly slo: number | null;
  /** detectFactor × slo: the rate the canary's upper bound must be under for `powered`; null without detectFactor. */
  readonly detectRate: number | null;
  /** The canary's counts of this interval alone. */
  readonly intervalCanary: ProportionCounts;
  /** The fast-abort test of this interval (proven above fastAbortFactor × slo), when the plain mixture got that far. */
  readonly fastAbort?: { readonly factor: number; readonly log10Evidence: number; readonly log10Threshold: number };
  readonly axes: readonly AxisReport[];
}

export interface SequentialTestResult {
  readonly state: SequentialTestState;
  readonly verdict: SequentialVerdict;
  readonly reason: SequentialReason;
  /** Roll back now, without waiting for consecutive failures. Set only with verdict `fail`. */
  readonly fastAbort: boolean;
  /** The canary is proven within tolerance (only with verdict `pass`). */
  readonly provenHealthy: boolean;
  /** The data rule out a canary at detectFactor × slo (always true without detectFactor; false without enough samples). */
  readonly powered: boolean;
  readonly numbers: SequentialNumbers;
  /** One line with the numbers, for the record and the notification. */
  readonly detail: string;
}

// Module-scope aliases for the per-interval loops (a global lookup is slow inside the test runner's vm context).
const { log, min, max } = Math;

// Alternatives: multipliers √2, 2, 2√2, …, 64 of the null's ratio or rate; equal prior weights.
const GRID = Array.from({ length: 12 }, (_, k) => Math.SQRT2 ** (k + 1));
// A proportion alternative stays below 1 so that every log-likelihood is finite.
const P_MAX = 0.999;
const ROBUST_SHARE = 0.9;
// The increase axis' null moves (q_t tightens as the stable's bound does), so its alternatives are fixed rates,
// multiples √2 … 256 of a scale, and an alternative not above q_t sits the interval out (factor 1): betting
// relative to a loose early null would bury the evidence under intervals that could never have shown a breach.
const INCREASE_GRID = Array.from({ length: 16 }, (_, k) => Math.SQRT2 ** (k + 1));

/** Which axes a configuration tests; the SLO axis alone when no baseline tolerance is set. */
export function axesOf(config: SequentialTestConfig): Axis[] {
  const axes: Axis[] = [];
  if (config.maxRatio !== undefined) axes.push('ratio');
  if (config.maxIncrease !== undefined) axes.push('increase');
  if (config.slo !== undefined && (config.requireAboveSlo || axes.length === 0)) axes.push('slo');
  return axes;
}

/** What is wrong with a configuration, as `root.field: message` issues (empty when valid). */
export function sequentialConfigIssues(config: SequentialTestConfig, root: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const at = (field: string, message: string) => issues.push({ field: `${root}.${field}`, message });
  const inOpen01 = (v: number) => Number.isFinite(v) && v > 0 && v < 1;
  if (!inOpen01(config.alpha) || config.alpha > 0.5) at('alpha', 'must be greater than 0 and at most 0.5');
  if (!inOpen01(config.healthyAlpha) || config.healthyAlpha > 0.5) at('healthyAlpha', 'must be greater than 0 and at most 0.5');
  if (config.slo !== undefined && !inOpen01(config.slo)) at('slo', 'must be a proportion between 0 and 1 (exclusive)');
  if (config.maxRatio !== undefined && !(Number.isFinite(config.maxRatio) && config.maxRatio >= 1)) at('maxRatio', 'must be at least 1');
  if (config.maxIncrease !== undefined && !(Number.isFinite(config.maxIncrease) && config.maxIncrease >= 0 && config.maxIncrease < 1)) {
    at('maxIncrease', 'must be at least 0 and less than 1');
  }
  if (!Number.isInteger(config.minSamples) || config.minSamples < 1) at('minSamples', 'must be a whole number ≥ 1');
  if (config.fastAbortFactor !== undefined) {
    if (!(Number.isFinite(config.fastAbortFactor) && config.fastAbortFactor > 1)) at('fastAbortFactor', 'must be greater than 1');
    else if (config.slo === undefined) at('fastAbortFactor', 'needs slo (the abort is "proven above factor × slo")');
  }
  if (config.requireAboveSlo && config.slo === undefined) at('requireAboveSlo', 'needs slo');
  if (config.detectFactor !== undefined) {
    if (!(Number.isFinite(config.detectFactor) && config.detectFactor >= 1)) at('detectFactor', 'must be at least 1');
    else if (config.slo === undefined) at('detectFactor', 'needs slo (the regression to detect is detectFactor × slo)');
  }
  if (axesOf(config).length === 0) at('(check)', 'needs maxRatio and/or maxIncrease (against stable), or slo');
  return issues;
}

/** A configuration with the defaults filled in; throws InputValidationError naming every bad field. */
export function resolveSequentialConfig(input: SequentialTestInput, root = 'check'): SequentialTestConfig {
  const config: SequentialTestConfig = {
    alpha: input.alpha ?? SEQUENTIAL_DEFAULTS.alpha,
    minSamples: input.minSamples ?? SEQUENTIAL_DEFAULTS.minSamples,
    healthyAlpha: input.healthyAlpha ?? SEQUENTIAL_DEFAULTS.healthyAlpha,
    requireAboveSlo: input.requireAboveSlo ?? SEQUENTIAL_DEFAULTS.requireAboveSlo,
    ...(input.slo !== undefined && { slo: input.slo }),
    ...(input.maxRatio !== undefined && { maxRatio: input.maxRatio }),
    ...(input.maxIncrease !== undefined && { maxIncrease: input.maxIncrease }),
    ...(input.detectFactor !== undefined && { detectFactor: input.detectFactor }),
    // Fast abort is on by default wherever it can be (it needs an SLO to measure "large" against).
    ...((input.fastAbortFactor ?? (input.slo !== undefined ? SEQUENTIAL_DEFAULTS.fastAbortFactor : undefined)) !== undefined && {
      fastAbortFactor: input.fastAbortFactor ?? SEQUENTIAL_DEFAULTS.fastAbortFactor,
    }),
  };
  const issues = sequentialConfigIssues(config, root);
  if (issues.length > 0) throw new InputValidationError(issues, 'sequential check');
  return config;
}

/** Splits a rollout's false-rollback rate evenly across its sequential checks (Bonferroni). */
export function splitAlpha(alpha: number, checks: number): number {
  return alpha / max(1, checks);
}

const gridOf = (axis: Axis) => (axis === 'increase' ? INCREASE_GRID : GRID);
const emptyAxis = (axis: Axis): AxisState => ({ logLr: gridOf(axis).map(() => 0), maxStep: gridOf(axis).map(() => 0) });

/** The state before the first interval of a rollout. */
export function initialSequentialState(config: SequentialTestConfig): SequentialTestState {
  const axes = axesOf(config);
  return {
    intervals: 0,
    canary: NO_COUNTS,
    stable: NO_COUNTS,
    ...(axes.includes('ratio') && { ratio: emptyAxis('ratio') }),
    ...(axes.includes('increase') && { increase: emptyAxis('increase') }),
    ...(axes.includes('slo') && { slo: emptyAxis('slo') }),
  };
}

/** Per-alternative log-likelihood ratios of one interval on the ratio axis (conditional binomial split). */
export function ratioStep(counts: PairCounts, maxRatio: number): number[] {
  const nc = counts.canary.requests;
  const ns = counts.stable.requests;
  const events = counts.canary.bad + counts.stable.bad;
  if (nc === 0 || ns === 0 || events === 0) return GRID.map(() => 0);
  const nullTotal = log(maxRatio * nc + ns);
  // ln L(ρ)/L(ρ0) = e_c·ln(ρ/ρ0) + E·[ln(ρ0·n_c + n_s) − ln(ρ·n_c + n_s)]
  return GRID.map((m) => xLogY(counts.canary.bad, m) + events * (nullTotal - log(maxRatio * m * nc + ns)));
}

/** Per-alternative log-likelihood ratios of one interval's canary counts against a fixed rate q. */
export function oneSampleStep(counts: ProportionCounts, q: number): number[] {
  if (counts.requests === 0 || q >= P_MAX) return GRID.map(() => 0);
  return GRID.map((m) => {
    const p = min(P_MAX, q * m);
    return xLogY(counts.bad, p / q) + xLogY(counts.requests - counts.bad, (1 - p) / (1 - q));
  });
}

/**
 * Per-alternative log-likelihood ratios of one interval's canary counts against a moving rate q (the increase
 * axis): the alternatives are the fixed rates scale·√2^k; one not above q contributes nothing.
 */
export function movingNullStep(counts: ProportionCounts, q: number, scale: number): number[] {
  return INCREASE_GRID.map((m) => {
    const p = min(P_MAX, scale * m);
    if (counts.requests === 0 || p <= q) return 0;
    return xLogY(counts.bad, p / q) + xLogY(counts.requests - counts.bad, (1 - p) / (1 - q));
  });
}

/** ln of the mixture (equal weights) of the alternatives' likelihood ratios, each reduced by `minus`. */
function logMixture(logLr: readonly number[], minus?: readonly number[]): number {
  const logWeight = -log(logLr.length);
  return logSumExp(logLr.map((l, k) => logWeight + l - (minus?.[k] ?? 0)));
}

/** ln of the mixture e-value of `counts` against "the rate is at most q" (one interval or pooled counts). */
export function oneSampleLogEvidence(counts: ProportionCounts, q: number): number {
  return logMixture(oneSampleStep(counts, q));
}

const advance = (axis: AxisState, step: readonly number[]): AxisState => ({
  logLr: axis.logLr.map((l, k) => finiteLog(l + step[k])),
  maxStep: axis.maxStep.map((m, k) => max(m, finiteLog(step[k]))),
});

const LOG10 = log(10);
const percent = (v: number | null) => (v === null ? 'n/a' : `${significant(v * 100, 3)}%`);

/** The unit of the increase axis' alternatives: the tolerated increase, or a quarter of the SLO when that is 0. */
function increaseScale(config: SequentialTestConfig): number {
  return config.maxIncrease! > 0 ? config.maxIncrease! : (config.slo ?? 0.01) / 4;
}

/** Judges one interval: folds its counts into the state and returns the verdict with the numbers behind it. */
export function stepSequentialTest(config: SequentialTestConfig, state: SequentialTestState, counts: PairCounts): SequentialTestResult {
  const axes = axesOf(config);
  if (!validProportion(counts.canary) || !validProportion(counts.stable)) {
    return {
      state,
      verdict: 'error',
      reason: 'invalid-counts',
      fastAbort: false,
      provenHealthy: false,
      powered: false,
      numbers: numbersOf(config, state, counts, [], healthBounds(config, state)),
      detail: `invalid counts: canary ${counts.canary.bad}/${counts.canary.requests}, stable ${counts.stable.bad}/${counts.stable.requests}`,
    };
  }

  const canary = addCounts(state.canary, counts.canary);
  const stable = addCounts(state.stable, counts.stable);
  const reports: AxisReport[] = [];
  const next: { -readonly [K in keyof SequentialTestState]: SequentialTestState[K] } = { intervals: state.intervals + 1, canary, stable };

  for (const axis of axes) {
    const current = state[axis] ?? emptyAxis(axis);
    let step: number[];
    let bound: number;
    // The increase axis spends half its α on the stable's confidence sequence.
    let martingaleAlpha = config.alpha;
    if (axis === 'ratio') {
      bound = config.maxRatio!;
      step = ratioStep(counts, bound);
    } else if (axis === 'increase') {
      martingaleAlpha = config.alpha / 2;
      const stableUpper = proportionBounds(stable.bad, stable.requests, config.alpha / 2, priorWithMean(config.slo ?? 0.01)).upper;
      bound = min(1, stableUpper + config.maxIncrease!);
      step = movingNullStep(counts.canary, bound, increaseScale(config));
    } else {
      bound = config.slo!;
      step = oneSampleStep(counts.canary, bound);
    }
    const updated = advance(current, step);
    next[axis] = updated;
    reports.push({
      axis,
      bound: significant(bound, 6),
      log10Evidence: logMixture(updated.logLr, updated.maxStep) / LOG10,
      log10Threshold: log(1 / (ROBUST_SHARE * martingaleAlpha)) / LOG10,
      log10FastEvidence: logMixture(updated.logLr) / LOG10,
      log10FastThreshold: log(1 / ((1 - ROBUST_SHARE) * martingaleAlpha)) / LOG10,
    });
  }

  const breach = reports.length > 0 && reports.every((r) => r.log10Evidence >= r.log10Threshold);
  const fastEvidence = reports.length > 0 && reports.every((r) => r.log10FastEvidence >= r.log10FastThreshold);
  let fastAbort = false;
  let fastAbortNumbers: SequentialNumbers['fastAbort'];
  if (fastEvidence && config.fastAbortFactor !== undefined && config.slo !== undefined) {
    // "So large": this interval alone proves the canary above factor × slo, at the fast path's level.
    const magnitude = oneSampleLogEvidence(counts.canary, config.fastAbortFactor * config.slo) / LOG10;
    const level = log(1 / ((1 - ROBUST_SHARE) * config.alpha)) / LOG10;
    fastAbort = magnitude >= level;
    fastAbortNumbers = { factor: config.fastAbortFactor, log10Evidence: significant(magnitude, 4), log10Threshold: significant(level, 4) };
  }

  const newState: SequentialTestState = next;
  const bounds = healthBounds(config, newState);
  const numbers = { ...numbersOf(config, newState, counts, reports, bounds), ...(fastAbortNumbers && { fastAbort: fastAbortNumbers }) };
  // Ruling out the regression size, or proving the canary within tolerance of stable: either says the data would
  // have shown a canary at detectFactor × slo (the second also when a shared incident lifts both versions' rates).
  const powered =
    config.detectFactor === undefined ||
    (canary.requests >= config.minSamples && ((numbers.detectRate !== null && bounds.canaryUpper <= numbers.detectRate) || provenHealthy(config, axes, bounds)));
  const rates = `canary ${percent(numbers.canaryRate)} of ${canary.requests}, stable ${percent(numbers.stableRate)} of ${stable.requests}`;
  const evidence = reports
    .map((r) => `${r.axis} ${formatEvidence(r.log10Evidence)}/${formatEvidence(r.log10Threshold)}`)
    .join(', ');
  const result = (verdict: SequentialVerdict, reason: SequentialReason, why: string, provenHealthy = false): SequentialTestResult => ({
    state: newState,
    verdict,
    reason,
    fastAbort: reason === 'fast-abort',
    provenHealthy,
    powered: verdict === 'pass' && powered,
    numbers,
    detail: `${why}: ${rates}; evidence ${evidence}`,
  });

  if (fastAbort) {
    return result('fail', 'fast-abort', `fast abort: canary ${percent(rateOf(counts.canary))} this interval, proven above ${config.fastAbortFactor} × slo ${percent(config.slo ?? null)}`);
  }
  if (breach) return result('fail', 'breach', `canary proven worse than tolerated`);
  if (counts.canary.requests === 0) return result('no-data', 'no-traffic', 'no data: the canary served no requests this interval');
  if (canary.requests < config.minSamples) {
    return result('no-data', 'below-min-samples', `no data: ${canary.requests} canary requests so far, fewer than minSamples ${config.minSamples}`);
  }
  return provenHealthy(config, axes, bounds)
    ? result('pass', 'proven-healthy', `proven within tolerance (upper bound ${percent(numbers.canaryUpper)})`, true)
    : result('pass', 'no-evidence-of-breach', 'no evidence of a breach');
}

/** The anytime-valid bounds behind "proven healthy": canary's upper and stable's lower, at healthyAlpha/2 each. */
interface HealthBounds {
  readonly canaryUpper: number;
  readonly stableLower: number;
}

function healthBounds(config: SequentialTestConfig, state: SequentialTestState): HealthBounds {
  const gamma = config.healthyAlpha / 2;
  const prior = priorWithMean(config.slo ?? 0.01);
  return {
    canaryUpper: proportionBounds(state.canary.bad, state.canary.requests, gamma, prior).upper,
    stableLower: proportionBounds(state.stable.bad, state.stable.requests, gamma, prior).lower,
  };
}

function numbersOf(config: SequentialTestConfig, state: SequentialTestState, counts: PairCounts, axes: AxisReport[], bounds: HealthBounds): SequentialNumbers {
  const canaryRate = rateOf(state.canary);
  const stableRate = rateOf(state.stable);
  return {
    intervals: state.intervals,
    canary: state.canary,
    stable: state.stable,
    canaryRate: canaryRate === null ? null : significant(canaryRate, 6),
    stableRate: stableRate === null ? null : significant(stableRate, 6),
    intervalCanaryRate: rateOf(counts.canary),
    ratio: canaryRate !== null && stableRate !== null && stableRate > 0 ? significant(canaryRate / stableRate, 4) : null,
    canaryUpper: significant(bounds.canaryUpper, 6),
    stableLower: significant(bounds.stableLower, 6),
    slo: config.slo ?? null,
    detectRate: config.detectFactor !== undefined && config.slo !== undefined ? significant(Math.min(1, config.detectFactor * config.slo), 6) : null,
    intervalCanary: counts.canary,
    axes: axes.map((a) => ({
      ...a,
      log10Evidence: significant(a.log10Evidence, 4),
      log10Threshold: significant(a.log10Threshold, 4),
      log10FastEvidence: significant(a.log10FastEvidence, 4),
      log10FastThreshold: significant(a.log10FastThreshold, 4),
    })),
  };
}

/** Whether some axis is proven within tolerance: then the breach (which needs every axis) is ruled out. */
function provenHealthy(config: SequentialTestConfig, axes: readonly Axis[], n: HealthBounds): boolean {
  return axes.some((axis) => {
    if (axis === 'ratio') return n.canaryUpper <= config.maxRatio! * n.stableLower;
    if (axis === 'increase') return n.canaryUpper <= n.stableLower + config.maxIncrease!;
    return n.canaryUpper <= config.slo!;
  });
}
