import { holdIntervals, type CheckSpec, type Plan } from '../plan';
import { judgeCheck, type Measurement, type QueryOutcome } from '../judge';
import { measuredPair, type MeasuredCounts } from './counts';
import { initialGaugeTrendState, resolveGaugeTrendConfig, stepGaugeTrend, type GaugeTrendConfig, type GaugeTrendState } from './gauge-trend';
import { gaugeMeasurement, sequentialMeasurement, stableGuardMeasurement } from './measurement';
import { initialSequentialState, resolveSequentialConfig, splitAlpha, stepSequentialTest, type SequentialTestConfig, type SequentialTestState } from './sequential-test';
import { initialStableGuardState, resolveStableGuardConfig, stepStableGuard, type StableGuardConfig, type StableGuardState } from './stable-guard';

/**
 * The plan's checks judged for one analysis: the one function the analyze step and the judge benchmark both call.
 * Pure: the plan, the statistical state of the previous analyses and this interval's observations in; the
 * measurements (each check's value, sample count, verdict and evidence) and the next state out.
 *
 * Count-based checks (`sequential`, `stable-guard`) share one set of counts per interval (requests, errors and slow
 * requests of both versions; see counts.ts); threshold and gauge checks have a query each. The rollout's
 * false-rollback rate (`analysis.alpha`) is split across the statistical checks by Bonferroni: 80% to the
 * sequential checks, 20% to the stable guards, evenly within each (all of it to one kind when the other is absent).
 * Each check's state is kept by name in the cursor (`statistics`), small JSON.
 */

/** One check's statistical state: which one is decided by the check's judge. */
export type CheckState = SequentialTestState | StableGuardState | GaugeTrendState;

/** The statistical state of a run's checks, by check name. */
export type StatisticsState = Readonly<Record<string, CheckState>>;

/** Share of the rollout's α that the stable guards get when the plan also has sequential checks. */
export const GUARD_ALPHA_SHARE = 0.2;

/** Whether a check is judged on the shared request counts. */
export function isCountBased(check: CheckSpec): boolean {
  return check.judge === 'sequential' || check.judge === 'stable-guard';
}

/** The latency bounds (seconds) the count-based checks count slow requests at. */
export function latencyBounds(checks: readonly CheckSpec[]): number[] {
  return [...new Set(checks.filter((c) => isCountBased(c) && c.count === 'slow' && c.max !== undefined).map((c) => c.max!))];
}

/** A check's share of the rollout's false-rollback rate. */
export function alphaOf(plan: Plan, check: CheckSpec): number {
  const sequential = plan.checks.filter((c) => c.judge === 'sequential').length;
  const guards = plan.checks.filter((c) => c.judge === 'stable-guard').length;
  const guardShare = sequential === 0 ? 1 : guards === 0 ? 0 : GUARD_ALPHA_SHARE;
  return check.judge === 'stable-guard' ? splitAlpha(plan.analysis.alpha * guardShare, guards) : splitAlpha(plan.analysis.alpha * (1 - guardShare), sequential);
}

/** The sequential test's configuration of a `sequential` check. */
export function sequentialConfigOf(plan: Plan, check: CheckSpec): SequentialTestConfig {
  return resolveSequentialConfig(
    {
      alpha: alphaOf(plan, check),
      minSamples: Math.max(1, check.minSamples),
      ...(check.slo !== undefined && { slo: check.slo }),
      ...(check.maxRatio !== undefined && { maxRatio: check.maxRatio }),
      ...(check.maxIncrease !== undefined && { maxIncrease: check.maxIncrease }),
      ...(check.requireAboveSlo !== undefined && { requireAboveSlo: check.requireAboveSlo }),
      ...(check.fastAbortFactor !== undefined && { fastAbortFactor: check.fastAbortFactor }),
      ...(check.detectFactor !== undefined && { detectFactor: check.detectFactor }),
    },
    `plan.checks[${plan.checks.indexOf(check)}]`,
  );
}

/** The stable guard's configuration of a `stable-guard` check; α is spent evenly over the plan's holds. */
export function stableGuardConfigOf(plan: Plan, check: CheckSpec): StableGuardConfig {
  const horizon = plan.steps.reduce((sum, _step, i) => sum + holdIntervals(plan, i), 0);
  return resolveStableGuardConfig(
    {
      alpha: alphaOf(plan, check),
      horizonIntervals: Math.max(1, horizon),
      ...(check.slo !== undefined && { slo: check.slo }),
      ...(check.sustainIntervals !== undefined && { sustainIntervals: check.sustainIntervals }),
    },
    `plan.checks[${plan.checks.indexOf(check)}]`,
  );
}

/** The gauge's configuration of a `gauge-trend` check. */
export function gaugeConfigOf(check: CheckSpec): GaugeTrendConfig {
  return resolveGaugeTrendConfig({
    max: check.max ?? Number.MAX_VALUE,
    ...(check.windowIntervals !== undefined && { windowIntervals: check.windowIntervals }),
    ...(check.projectIntervals !== undefined && { projectIntervals: check.projectIntervals }),
    ...(check.minPoints !== undefined && { minPoints: check.minPoints }),
    ...(check.minTrendT !== undefined && { minTrendT: check.minTrendT }),
  });
}

/** This interval's counts for the count-based checks, or why there are none (a query failed). */
export type CountsObservation = { readonly kind: 'counts'; readonly counts: MeasuredCounts } | { readonly kind: 'error'; readonly message: string };

/** What one analysis observed: the shared counts, and each query-based check's value and sample count by name. */
export interface Observations {
  readonly counts?: CountsObservation;
  readonly queries: Readonly<Record<string, { readonly value: QueryOutcome; readonly samples?: QueryOutcome }>>;
}

const NO_QUERY: QueryOutcome = { kind: 'error', message: 'the check was not queried' };

/**
 * Judges every check on this analysis' observations; returns the measurements in check order and the next state.
 * `weight` is the canary's share in percent: at 100% the stable serves nothing, and its guards have nothing to judge.
 */
export function judgeChecks(
  plan: Plan,
  checks: readonly CheckSpec[],
  statistics: StatisticsState | undefined,
  observations: Observations,
  weight = 0,
): { measurements: Measurement[]; statistics: Record<string, CheckState> } {
  const next: Record<string, CheckState> = {};
  const measurements = checks.map((check): Measurement => {
    const previous = statistics?.[check.name];
    if (check.judge === 'threshold') {
      const observed = observations.queries[check.name];
      return judgeCheck(check, observed?.value ?? NO_QUERY, observed?.samples);
    }
    if (check.judge === 'gauge-trend') {
      const config = gaugeConfigOf(check);
      const state = (previous as GaugeTrendState | undefined) ?? initialGaugeTrendState();
      const value = observations.queries[check.name]?.value ?? NO_QUERY;
      if (value.kind === 'error') {
        next[check.name] = state;
        return { check: check.name, verdict: 'error', value: null, samples: null, max: config.max, detail: `query failed: ${value.message}` };
      }
      const result = stepGaugeTrend(config, state, value.kind === 'value' && !Number.isNaN(value.value) ? value.value : null);
      next[check.name] = result.state;
      return gaugeMeasurement(check.name, result);
    }
    return judgeCounted(plan, check, previous, observations.counts, next, weight);
  });
  return { measurements, statistics: next };
}

/** A count-based check on this interval's counts; its state moves on only when the counts are there. */
function judgeCounted(
  plan: Plan,
  check: CheckSpec,
  previous: CheckState | undefined,
  counts: CountsObservation | undefined,
  next: Record<string, CheckState>,
  weight: number,
): Measurement {
  const base = { check: check.name, ...(check.slo !== undefined && { max: check.slo }) };
  const sequential = check.judge === 'sequential';
  const keep = (state: CheckState) => (next[check.name] = state);
  const sequentialConfig = sequential ? sequentialConfigOf(plan, check) : undefined;
  const guardConfig = sequential ? undefined : stableGuardConfigOf(plan, check);
  const state: CheckState = previous ?? (sequentialConfig ? initialSequentialState(sequentialConfig) : initialStableGuardState());
  if (counts === undefined || counts.kind === 'error') {
    keep(state);
    return { ...base, verdict: 'error', value: null, samples: null, detail: `query failed: ${counts?.kind === 'error' ? counts.message : 'the counts were not queried'}` };
  }
  const pair = measuredPair(counts.counts, check.count ?? 'errors', check.max);
  if (pair === null) {
    keep(state);
    return {
      ...base,
      verdict: 'no-data',
      value: null,
      samples: null,
      detail: `no data: the duration histogram has no bucket at le=${check.max} s (the latency check counts the requests above it)`,
    };
  }
  if (sequentialConfig) {
    const result = stepSequentialTest(sequentialConfig, state as SequentialTestState, pair);
    keep(result.state);
    return sequentialMeasurement(check.name, sequentialConfig, result);
  }
  if (weight >= 100 && pair.stable.requests === 0) {
    keep(state);
    return { ...base, verdict: 'pass', value: null, samples: 0, detail: 'not judged: at 100% the stable version serves no traffic' };
  }
  const result = stepStableGuard(guardConfig!, state as StableGuardState, pair.stable);
  keep(result.state);
  return stableGuardMeasurement(check.name, result);
}
