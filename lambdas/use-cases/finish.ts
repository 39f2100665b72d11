import type { DecisionReason } from '../domain/decision';
import type { RunCursor } from './progress';
import type { Outcome, RunContext, RunRecord } from '../domain/run';
import { errorMessage, rollbackReason, type RollbackProgress } from './rollback';
import type { NotificationKind } from '../ports/notifier';
import { notificationRun, notifySafely, type Deps } from './deps';

export interface FinishState {
  readonly run: RunContext;
  readonly cursor: RunCursor;
  readonly error?: { readonly Error: string; readonly Cause: string };
  readonly rollback?: RollbackProgress;
  /** Set by the Catch of Rollback: putting traffic back on stable failed after every retry. */
  readonly rollbackError?: { readonly Error: string; readonly Cause: string };
}

/** The run's result: the workflow's output, and the Choice that ends it reads `outcome`. The record's own fields. */
export type FinishResult = Pick<
  RunRecord,
  'runId' | 'service' | 'image' | 'stageReached' | 'triggerCheck' | 'triggerValue' | 'thresholdMin' | 'thresholdMax' | 'timeToRollbackSeconds' | 'manualCommand'
> & {
  readonly outcome: Exclude<Outcome, 'running' | 'aborted'>;
  readonly reason: string;
};

const seconds = (from: string, to: string) => Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10);

function triggerFields(reason: DecisionReason) {
  return {
    ...(reason.check !== undefined && { triggerCheck: reason.check }),
    ...(reason.value !== undefined && { triggerValue: reason.value }),
    ...(reason.min !== undefined && { thresholdMin: reason.min }),
    ...(reason.max !== undefined && { thresholdMax: reason.max }),
  };
}

function outcomeOf(state: FinishState, deps: Deps): Omit<FinishResult, 'runId' | 'service' | 'image'> {
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

/** Finish: record the outcome with its numbers, release the service's lock, notify. Repeatable. */
export async function finish(deps: Deps, state: FinishState): Promise<FinishResult> {
  const { run, cursor } = state;
  const endedAt = deps.now().toISOString();
  const result = outcomeOf(state, deps);
  await deps.runLog.finishRun(run.runId, run.service, { ...result, endedAt });
  await deps.runLog.appendEvent({
    runId: run.runId,
    seq: state.rollback?.seq ?? cursor.seq,
    at: endedAt,
    type: result.outcome === 'rollback_failed' ? 'rollback-failed' : 'finished',
    stepIndex: result.stageReached,
    message: `${result.outcome}: ${result.reason}`,
  });
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
  return { runId: run.runId, service: run.service, image: run.image, ...result };
}
