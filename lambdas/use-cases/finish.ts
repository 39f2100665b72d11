import type { DecisionReason } from '../domain/decision';
import type { RunCursor } from './progress';
import type { Outcome, RunContext, RunRecord } from '../domain/run';
import { errorMessage, rollbackReason, type RollbackProgress } from './rollback';
import type { NotificationKind } from '../ports/notifier';
import { notificationRun, notifySafely, type Deps } from './deps';
import { describePending, writeRecords, type PendingRecord } from './records';
import { RECORD_ATTEMPTS, recordRetrySeconds } from '../domain/schedule';

export interface FinishState {
  readonly run: RunContext;
  readonly cursor: RunCursor;
  readonly error?: { readonly Error: string; readonly Cause: string };
  readonly rollback?: RollbackProgress;
  /** Set by the Catch of Rollback: putting traffic back on stable failed after every retry. */
  readonly rollbackError?: { readonly Error: string; readonly Cause: string };
  /** The previous attempt's result, when the workflow came back because the table refused records (RecordLater). */
  readonly result?: FinishResult;
}

/** The run's result: the workflow's output, and the Choice that ends it reads `outcome`. The record's own fields. */
export type FinishResult = Pick<
  RunRecord,
  'runId' | 'service' | 'image' | 'stageReached' | 'triggerCheck' | 'triggerValue' | 'thresholdMin' | 'thresholdMax' | 'timeToRollbackSeconds' | 'manualCommand'
> & {
  readonly outcome: Exclude<Outcome, 'running' | 'aborted'>;
  readonly reason: string;
  readonly endedAt: string;
  /** Records the table refused: the workflow waits `retrySeconds` (RecordLater) and calls Finish again to write them. */
  readonly pending?: readonly PendingRecord[];
  readonly retrySeconds?: number;
  /** Attempts at writing the records so far. */
  readonly recordAttempts?: number;
  /**
   * Set when the table refused the records for RECORD_ATTEMPTS attempts: the execution ends CanaryRecordsPending with
   * the records as its cause (JSON), and the safety net writes them when the table answers.
   */
  readonly pendingCause?: string;
};

export { RECORD_ATTEMPTS } from '../domain/schedule';
/** Step Functions keeps at most 32,768 characters of a Fail state's cause. */
const MAX_CAUSE_CHARS = 32_768;

const seconds = (from: string, to: string) => Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10);

function triggerFields(reason: DecisionReason) {
  return {
    ...(reason.check !== undefined && { triggerCheck: reason.check }),
    ...(reason.value !== undefined && { triggerValue: reason.value }),
    ...(reason.min !== undefined && { thresholdMin: reason.min }),
    ...(reason.max !== undefined && { thresholdMax: reason.max }),
  };
}

type Outcomed = Omit<FinishResult, 'runId' | 'service' | 'image' | 'endedAt' | 'pending' | 'retrySeconds' | 'recordAttempts' | 'pendingCause'>;

function outcomeOf(state: FinishState, deps: Deps): Outcomed {
  const { run, cursor } = state;
  const stageReached = Math.max(cursor.stepIndex, 0);
  if (state.rollbackError) {
    const reason = rollbackReason(state);
    const manualCommand = deps.routerFor(run.traffic).manualRestoreCommand();
    return {
      outcome: 'rollback_failed',
      reason: `rollback failed (${errorMessage(state.rollbackError)}); traffic may still be on the canary. It was rolling back because: ${reason.message}`,
      stageReached,
      ...triggerFields(reason),
      manualCommand,
    };
  }
  if (state.rollback?.complete) {
    const { reason, warning } = state.rollback;
    const noted = warning ? `${reason.message}; note: ${warning}` : reason.message;
    if (reason.kind === 'dry-run-complete') return { outcome: 'dry_run_passed', reason: noted, stageReached };
    const restoredAt = state.rollback.restoredAt ?? state.rollback.completedAt ?? state.rollback.startedAt;
    return {
      outcome: 'rolled_back',
      reason: noted,
      stageReached: reason.stepIndex,
      ...triggerFields(reason),
      timeToRollbackSeconds: seconds(cursor.troubleSince ?? state.rollback.startedAt, restoredAt),
    };
  }
  if (cursor.promotion?.done) {
    const why = cursor.decision?.reason.message ?? 'promoted';
    return { outcome: 'promoted', reason: cursor.promotion.warning ? `${why}; note: ${cursor.promotion.warning}` : why, stageReached: run.plan.steps.length - 1 };
  }
  throw new Error('Finish reached without a promotion or a completed rollback; the workflow definition is wrong');
}

const NOTIFICATION: Record<FinishResult['outcome'], NotificationKind> = {
  promoted: 'promoted',
  rolled_back: 'rolled-back',
  rollback_failed: 'rollback-failed',
  dry_run_passed: 'dry-run-passed',
};

/** The records of a run's end, in order: what Rollback could not write, the outcome (which releases the lock), the last event. */
function finalRecords(state: FinishState, result: Outcomed, endedAt: string): PendingRecord[] {
  const { run, cursor } = state;
  const { outcome, reason, ...fields } = result;
  return [
    ...(state.rollback?.pending ?? []),
    { kind: 'finish', runId: run.runId, service: run.service, update: { outcome, reason, ...fields, endedAt } },
    {
      kind: 'event',
      event: {
        runId: run.runId,
        seq: state.rollback?.seq ?? cursor.seq,
        lane: 'finish',
        at: endedAt,
        type: outcome === 'rollback_failed' ? 'rollback-failed' : 'finished',
        stepIndex: result.stageReached,
        message: `${outcome}: ${reason}`,
      },
    },
  ];
}

/**
 * Finish: notify, and record the outcome with its numbers (which releases the service's lock). Traffic is settled by
 * now; the table may not answer. Then the result carries the records left and the workflow calls again after a wait
 * (RecordLater); after RECORD_ATTEMPTS it ends CanaryRecordsPending with them as its cause, for the safety net.
 * The notification goes out on the first attempt, whatever the table does. Repeatable.
 */
export async function finish(deps: Deps, state: FinishState): Promise<FinishResult> {
  const { run, cursor } = state;
  const previous = state.result;
  const endedAt = previous?.endedAt ?? deps.now().toISOString();
  const result: Outcomed = previous ?? outcomeOf(state, deps);
  const left = await writeRecords(deps, previous ? (previous.pending ?? []) : finalRecords(state, result, endedAt));
  if (!previous) {
    // The decision behind the outcome: check, value, threshold and stage for the notification.
    const reason = state.rollbackError || state.rollback ? rollbackReason(state) : cursor.decision?.reason;
    await notifySafely(deps, run, {
      kind: NOTIFICATION[result.outcome],
      at: endedAt,
      run: notificationRun(run),
      outcome: result.outcome,
      stepIndex: result.stageReached,
      ...(reason && { weight: reason.weight, decision: { action: state.rollbackError || state.rollback ? 'rollback' : 'promote', reason } }),
      message: result.reason,
      ...(result.manualCommand && { manualCommand: result.manualCommand }),
      ...(result.timeToRollbackSeconds !== undefined && { timeToRollbackSeconds: result.timeToRollbackSeconds }),
    });
  }
  const { pending: _pending, retrySeconds: _retry, recordAttempts: _attempts, pendingCause: _cause, ...outcome } = { ...result, endedAt } as FinishResult;
  const done: FinishResult = { ...outcome, runId: run.runId, service: run.service, image: run.image };
  if (left.length === 0) return done;
  const attempts = (previous?.recordAttempts ?? 0) + 1;
  deps.log.warn('the run is settled but its records are not written yet', { runId: run.runId, attempts, pending: describePending(left) });
  if (attempts >= RECORD_ATTEMPTS) {
    const cause = JSON.stringify({ runId: run.runId, service: run.service, pending: left });
    return { ...done, pending: left, recordAttempts: attempts, pendingCause: cause.length <= MAX_CAUSE_CHARS ? cause : JSON.stringify({ runId: run.runId, service: run.service, truncated: true }) };
  }
  return { ...done, pending: left, recordAttempts: attempts, retrySeconds: recordRetrySeconds(attempts) };
}
