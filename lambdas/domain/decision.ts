import { finalStepIndex, holdIntervals, type Plan } from './plan';
import { decisiveMeasurement, describeThreshold, formatNumber, intervalVerdict, type Measurement, type Verdict } from './judge';

/**
 * The decision after each analysis. Pure: plan + cursor + measurements → next cursor + decision.
 * The cursor travels in the workflow state, so a retried step sees the same cursor and decides the same.
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
  | 'operator-abort'
  | 'operator-promote';

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

function decideOnce(plan: Plan, cursor: Cursor, measurements: readonly Measurement[], options: DecideOptions): { cursor: Cursor; decision: Decision } {
  const verdict = intervalVerdict(measurements);
  const decisive = decisiveMeasurement(measurements);
  const { troubleSince: _previous, decision: _last, heldSince: _held, ...rest } = countersAfter(cursor, verdict);
  const troubleSince = verdict === 'pass' ? undefined : (cursor.troubleSince ?? options.now);
  const counted: Cursor = { ...rest, waitSeconds: plan.analysis.intervalSeconds, seq: cursor.seq + 1, ...(troubleSince && { troubleSince }) };
  const a = plan.analysis;
  const base = { stepIndex: cursor.stepIndex, weight: cursor.weight, verdict };
  const rollback = (kind: ReasonKind, message: string, m = decisive) => ({
    cursor: counted,
    decision: { action: 'rollback' as const, reason: { ...base, kind, ...checkFields(m), message } },
  });

  if (counted.consecutiveFailures >= a.consecutiveFailureLimit) {
    const m = decisive!;
    return rollback(
      'consecutive-failures',
      `${m.check} ${formatNumber(m.value ?? NaN)} outside ${describeThreshold(m)} for ${counted.consecutiveFailures} interval${counted.consecutiveFailures > 1 ? 's' : ''} in a row ${stage(cursor)}`,
    );
  }
  if (a.failureLimit !== undefined && counted.totalFailures >= a.failureLimit) {
    const m = decisive;
    const what = m?.verdict === 'fail' ? `${m.check} ${formatNumber(m.value ?? NaN)} outside ${describeThreshold(m)}; ` : '';
    return rollback('failure-limit', `${what}${counted.totalFailures} failed intervals reached failureLimit ${a.failureLimit} ${stage(cursor)}`);
  }
  if (counted.consecutiveErrors >= a.errorLimit) {
    return rollback('error-limit', `metrics queries failed ${counted.consecutiveErrors} intervals in a row (errorLimit ${a.errorLimit}) ${stage(cursor)}: ${decisive?.detail ?? ''}`.trim());
  }
  if (counted.consecutiveNoData >= a.noDataLimit) {
    return rollback('no-data-limit', `no data for ${counted.consecutiveNoData} intervals in a row (noDataLimit ${a.noDataLimit}) ${stage(cursor)}: ${decisive?.detail ?? ''}`.trim());
  }

  const hold = holdIntervals(plan, cursor.stepIndex);
  if (verdict === 'pass' && counted.passedIntervals >= hold) {
    const last = finalStepIndex(plan);
    const next = cursor.stepIndex + 1;
    const promoting = cursor.stepIndex >= last || (next === last && plan.steps[last].holdSeconds === undefined);
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

  const progress = `${counted.passedIntervals}/${hold} passing intervals ${stage(cursor)}`;
  const why = verdict === 'pass' ? 'all checks passed' : (decisive?.detail ?? verdict);
  return { cursor: counted, decision: { action: 'continue', reason: { ...base, kind: 'holding', ...checkFields(verdict === 'pass' ? undefined : decisive), message: `${why}; ${progress}` } } };
}
