import { finalStepIndex, holdIntervals, type Plan } from './plan';
import { decisiveMeasurement, describeThreshold, formatNumber, intervalVerdict, type Measurement, type Verdict } from './judge';
import {
  describeStatisticalRollback,
  describeUnderpowered,
  isStatisticalMeasurement,
  statisticalRollbackKind,
  type SequentialMeasurement,
  type StatisticalMeasurement,
} from './statistics/measurement';
import type { CountsCursor } from './statistics/counts';
import type { StatisticsState } from './statistics/plan-checks';

/**
 * The decision after each analysis. Pure: plan + cursor + measurements → next cursor + decision.
 * The cursor travels in the workflow state, so a retried step sees the same cursor and decides the same.
 *
 * Rules, in order:
 * 1. A statistical measurement with `rollbackNow` rolls back at once: a sequential check proved the canary worse
 *    than tolerated (its evidence already spans at least two intervals), a fast abort (one interval proves it far
 *    above the SLO), or a stable guard (the stable above its SLO for sustainIntervals in a row). The reason names
 *    the metric, its value, the threshold and the evidence.
 * 2. The counting limits, as for threshold checks: consecutiveFailureLimit, failureLimit, errorLimit, noDataLimit.
 * 3. A step's hold completes on passing intervals only; then, before promotion (or before every step, with
 *    analysis.powerHold `every-step`), only once every sequential check is powered: the data rule out a canary at
 *    detectFactor × its SLO, or prove it within tolerance of stable (statistics/sequential-test.ts). Until then the
 *    run holds at this weight ("underpowered"); after underpoweredLimit such intervals it fails closed and rolls back,
 *    as noDataLimit does: too little traffic to judge is never a pass.
 * 4. Then the gate (pause, approval), then advance or promote.
 */

export interface Cursor {
  /** The step being held (SetWeight applies this step's weight). */
  readonly stepIndex: number;
  /** Canary weight in percent currently applied; 0 before the first shift. */
  readonly weight: number;
  /** Passing intervals at this step; the step's hold completes on passes only. */
  readonly passedIntervals: number;
  readonly consecutiveFailures: number;
  readonly totalFailures: number;
  readonly consecutiveErrors: number;
  readonly consecutiveNoData: number;
  /** Analyses done in this run. */
  readonly analyses: number;
  /** Analyses done at the current step (0 right after a shift). */
  readonly stepAnalyses: number;
  /** Sequence number of the next recorded event: a retried step writes the same key, so it records once. */
  readonly seq: number;
  /** Seconds the next Wait state waits. */
  readonly waitSeconds: number;
  /** When the current run of bad analyses (fail, error or no data) began; unset after a pass. */
  readonly troubleSince?: string;
  /** When a completed hold started waiting at a gate (a pause, an approval); unset once it moves on. */
  readonly heldSince?: string;
  /** The last analysis' decision; the workflow's Choice state reads its action. */
  readonly decision?: Decision;
  /** Intervals this step has held past its hold because a sequential check could not yet detect its regression size. */
  readonly underpoweredIntervals?: number;
  /** The statistical checks' state by check name (small JSON; see statistics/plan-checks.ts). */
  readonly statistics?: StatisticsState;
  /** The cumulative request counts of the last analysis, for the next one's interval (statistics/counts.ts). */
  readonly counts?: CountsCursor;
}

export type Action = 'continue' | 'advance' | 'promote' | 'rollback';

export type ReasonKind =
  | 'holding'
  | 'hold-complete'
  | 'consecutive-failures'
  | 'failure-limit'
  | 'error-limit'
  | 'no-data-limit'
  | 'dry-run-complete'
  | 'task-failed'
  | 'paused'
  | 'awaiting-approval'
  | 'approval-timeout'
  | 'pause-timeout'
  | 'operator-abort'
  | 'operator-promote'
  | 'sequential-breach'
  | 'fast-abort'
  | 'stable-guard'
  | 'underpowered'
  | 'underpowered-limit';

export interface DecisionReason {
  readonly kind: ReasonKind;
  readonly stepIndex: number;
  readonly weight: number;
  readonly verdict: Verdict;
  /** The check behind the decision, with its value and threshold, when one check explains it. */
  readonly check?: string;
  readonly value?: number | null;
  readonly min?: number;
  readonly max?: number;
  /** One sentence with the numbers, for people. */
  readonly message: string;
}

export interface Decision {
  readonly action: Action;
  readonly reason: DecisionReason;
}

export function initialCursor(plan: Plan): Cursor {
  return {
    stepIndex: 0,
    weight: 0,
    passedIntervals: 0,
    consecutiveFailures: 0,
    totalFailures: 0,
    consecutiveErrors: 0,
    consecutiveNoData: 0,
    analyses: 0,
    stepAnalyses: 0,
    seq: 1,
    waitSeconds: plan.analysis.intervalSeconds,
  };
}

function countersAfter(cursor: Cursor, verdict: Verdict): Cursor {
  const next = { ...cursor, analyses: cursor.analyses + 1, stepAnalyses: cursor.stepAnalyses + 1 };
  switch (verdict) {
    case 'pass':
      return { ...next, passedIntervals: cursor.passedIntervals + 1, consecutiveFailures: 0, consecutiveErrors: 0, consecutiveNoData: 0 };
    case 'fail':
      // Data arrived, so the no-data and error streaks end; no-data never ends a failure streak.
      return { ...next, consecutiveFailures: cursor.consecutiveFailures + 1, totalFailures: cursor.totalFailures + 1, consecutiveErrors: 0, consecutiveNoData: 0 };
    case 'error':
      return { ...next, consecutiveErrors: cursor.consecutiveErrors + 1 };
    case 'no-data':
      return { ...next, consecutiveNoData: cursor.consecutiveNoData + 1, consecutiveErrors: 0 };
  }
}

const stage = (c: Cursor) => `at step ${c.stepIndex} (${formatNumber(c.weight)}%)`;

function checkFields(m: Measurement | undefined) {
  if (!m) return {};
  return { check: m.check, value: m.value, ...(m.min !== undefined && { min: m.min }), ...(m.max !== undefined && { max: m.max }) };
}

/** What a gate says about a move the judging would make: go on (undefined), hold at this weight, or roll back. */
export type GateOutcome =
  | { readonly hold: { readonly kind: ReasonKind; readonly message: string } }
  | { readonly rollback: { readonly kind: ReasonKind; readonly message: string } };

export interface DecideOptions {
  /** The time of this analysis, ISO 8601. */
  readonly now: string;
  /** A dry run proves routing and metrics; where a real run would promote, it restores stable instead. */
  readonly dryRun?: boolean;
  /**
   * Asked before the run advances or promotes (pauses, approval gates). Judging goes on while it holds:
   * a breach still rolls back.
   */
  readonly gate?: (next: { readonly action: 'advance' | 'promote'; readonly stepIndex: number }, heldSince: string | undefined) => GateOutcome | undefined;
}

/** The decision, also kept on the cursor so the workflow's Choice state can read it. */
function withDecision(result: { cursor: Cursor; decision: Decision }): { cursor: Cursor; decision: Decision } {
  return { cursor: { ...result.cursor, decision: result.decision }, decision: result.decision };
}

/** Counts the interval, then decides: roll back on a limit, advance or promote when the hold is done, else continue. */
export function decide(plan: Plan, cursor: Cursor, measurements: readonly Measurement[], options: DecideOptions): { cursor: Cursor; decision: Decision } {
  return withDecision(decideOnce(plan, cursor, measurements, options));
}

/** The statistical rollback that explains an interval best: a fast abort, then a canary breach, then a stable guard. */
function statisticalRollback(measurements: readonly Measurement[]): StatisticalMeasurement | undefined {
  const due = measurements.filter(isStatisticalMeasurement).filter((m) => m.rollbackNow && m.verdict === 'fail');
  const rank = { 'fast-abort': 0, 'sequential-breach': 1, 'stable-guard': 2 } as const;
  return due.reduce<StatisticalMeasurement | undefined>((best, m) => (best === undefined || rank[statisticalRollbackKind(m)] < rank[statisticalRollbackKind(best)] ? m : best), undefined);
}

/** How a failing measurement reads in a limit's message: thresholds as before, statistical checks with their detail. */
function breachText(m: Measurement): string {
  return isStatisticalMeasurement(m) ? `${m.check}: ${m.detail}` : `${m.check} ${formatNumber(m.value ?? NaN)} outside ${describeThreshold(m)}`;
}

function decideOnce(plan: Plan, cursor: Cursor, measurements: readonly Measurement[], options: DecideOptions): { cursor: Cursor; decision: Decision } {
  const verdict = intervalVerdict(measurements);
  const decisive = decisiveMeasurement(measurements);
  const detail = decisive?.detail ?? 'no data: no check was measured in this interval';
  const { troubleSince: _previous, decision: _last, heldSince: _held, underpoweredIntervals: _underpowered, ...rest } = countersAfter(cursor, verdict);
  const troubleSince = verdict === 'pass' ? undefined : (cursor.troubleSince ?? options.now);
  const counted: Cursor = { ...rest, waitSeconds: plan.analysis.intervalSeconds, seq: cursor.seq + 1, ...(troubleSince && { troubleSince }) };
  const a = plan.analysis;
  const base = { stepIndex: cursor.stepIndex, weight: cursor.weight, verdict };
  // A limit of missing data or failed queries names the check but no threshold: nothing was measured against one.
  const unmeasured = (kind: ReasonKind) => kind === 'error-limit' || kind === 'no-data-limit';
  const rollback = (kind: ReasonKind, message: string, m = decisive) => ({
    cursor: counted,
    decision: {
      action: 'rollback' as const,
      reason: { ...base, kind, ...(unmeasured(kind) && m ? { check: m.check, value: null } : checkFields(m)), message },
    },
  });

  const now = statisticalRollback(measurements);
  if (now) return rollback(statisticalRollbackKind(now), `${describeStatisticalRollback(now)} ${stage(cursor)}`, now);

  if (counted.consecutiveFailures >= a.consecutiveFailureLimit) {
    const m = decisive!;
    return rollback(
      'consecutive-failures',
      `${breachText(m)} for ${counted.consecutiveFailures} interval${counted.consecutiveFailures > 1 ? 's' : ''} in a row ${stage(cursor)}`,
    );
  }
  if (a.failureLimit !== undefined && counted.totalFailures >= a.failureLimit) {
    const m = decisive;
    const what = m?.verdict === 'fail' ? `${breachText(m)}; ` : '';
    return rollback('failure-limit', `${what}${counted.totalFailures} failed intervals reached failureLimit ${a.failureLimit} ${stage(cursor)}`);
  }
  if (counted.consecutiveErrors >= a.errorLimit) {
    return rollback('error-limit', `metrics queries failed ${counted.consecutiveErrors} intervals in a row (errorLimit ${a.errorLimit}) ${stage(cursor)}: ${detail}`);
  }
  if (counted.consecutiveNoData >= a.noDataLimit) {
    return rollback('no-data-limit', `no data for ${counted.consecutiveNoData} intervals in a row (noDataLimit ${a.noDataLimit}) ${stage(cursor)}: ${detail}`);
  }

  const hold = holdIntervals(plan, cursor.stepIndex);
  const holdDone = counted.passedIntervals >= hold;
  const last = finalStepIndex(plan);
  const next = cursor.stepIndex + 1;
  const promoting = cursor.stepIndex >= last || (next === last && plan.steps[last].holdSeconds === undefined);
  // The power hold: once the hold's passes are in, every sequential check must be able to detect its regression size
  // (before promotion only, or before every step: analysis.powerHold).
  const powerGated = promoting || a.powerHold === 'every-step';
  const underpowered = powerGated ? measurements.filter(isStatisticalMeasurement).filter((m): m is SequentialMeasurement => m.judge === 'sequential' && !m.powered) : [];
  // The numbers behind a power hold: the canary's upper bound against the rate it must be under.
  const powerFields = (m: SequentialMeasurement | undefined) =>
    m === undefined ? {} : { check: m.check, value: m.statistics.canaryUpper, ...(m.statistics.detectRate !== null && { max: m.statistics.detectRate }) };
  const powerHeld = holdDone && (cursor.underpoweredIntervals !== undefined || (verdict === 'pass' && underpowered.length > 0));
  const waited = powerHeld ? (cursor.underpoweredIntervals ?? 0) + 1 : 0;
  const progress = `${counted.passedIntervals}/${hold} passing intervals ${stage(cursor)}`;
  const lacking = underpowered.map(describeUnderpowered).join('; ');
  if (powerHeld && (verdict !== 'pass' || underpowered.length > 0) && waited >= a.underpoweredLimit) {
    const why = lacking === '' ? detail : lacking;
    const message = `too little data to pass: held ${waited} interval${waited > 1 ? 's' : ''} past the hold (underpoweredLimit ${a.underpoweredLimit}) ${stage(cursor)}: ${why}`;
    if (underpowered.length === 0) return rollback('underpowered-limit', message);
    return { cursor: counted, decision: { action: 'rollback', reason: { ...base, kind: 'underpowered-limit', ...powerFields(underpowered[0]), message } } };
  }

  if (verdict === 'pass' && holdDone && underpowered.length > 0) {
    return {
      cursor: { ...counted, underpoweredIntervals: waited },
      decision: {
        action: 'continue',
        reason: {
          ...base,
          kind: 'underpowered',
          ...powerFields(underpowered[0]),
          message: `all checks passed, but the data cannot yet detect the regression to guard against: ${lacking}; holding (${waited}/${a.underpoweredLimit}) ${stage(cursor)}`,
        },
      },
    };
  }

  if (verdict === 'pass' && holdDone) {
    const message = `all checks passed for ${counted.passedIntervals} interval${counted.passedIntervals > 1 ? 's' : ''} ${stage(cursor)}`;
    const gated = options.gate?.({ action: promoting ? 'promote' : 'advance', stepIndex: promoting ? last : next }, cursor.heldSince);
    if (gated && 'rollback' in gated) return rollback(gated.rollback.kind, gated.rollback.message, undefined);
    if (gated) {
      return {
        cursor: { ...counted, heldSince: cursor.heldSince ?? options.now },
        decision: { action: 'continue', reason: { ...base, kind: gated.hold.kind, message: `${message}; ${gated.hold.message}` } },
      };
    }
    if (promoting && options.dryRun) {
      return {
        cursor: counted,
        decision: { action: 'rollback', reason: { ...base, kind: 'dry-run-complete', message: `dry run complete: ${message}; restoring stable` } },
      };
    }
    if (promoting) return { cursor: counted, decision: { action: 'promote', reason: { ...base, kind: 'hold-complete', message } } };
    return {
      cursor: { ...counted, stepIndex: next, passedIntervals: 0, stepAnalyses: 0 },
      decision: { action: 'advance', reason: { ...base, kind: 'hold-complete', message } },
    };
  }

  const why = verdict === 'pass' ? 'all checks passed' : detail;
  const heldForPower = powerHeld ? { underpoweredIntervals: waited } : {};
  // A gate's clock (approval, pause) runs on through intervals that do not pass: a failing one does not restart it.
  const gateClock = holdDone && cursor.heldSince !== undefined ? { heldSince: cursor.heldSince } : {};
  const powerNote = powerHeld ? `; holding for data (${waited}/${a.underpoweredLimit})` : '';
  return {
    cursor: { ...counted, ...heldForPower, ...gateClock },
    decision: { action: 'continue', reason: { ...base, kind: 'holding', ...checkFields(verdict === 'pass' ? undefined : decisive), message: `${why}; ${progress}${powerNote}` } },
  };
}
