import type { Cursor, DecisionReason } from '../domain/decision';
import { formatNumber } from '../domain/judge';
import type { RunContext } from '../domain/run';
import { nextRollbackWeight } from '../domain/schedule';
import type { Deps } from './deps';

/** Where a rollback stands; it travels in the workflow state at `$.rollback`. */
export interface RollbackProgress {
  readonly startedAt: string;
  /** Why the run is rolling back: the decision's reason, or the failed step. */
  readonly reason: DecisionReason;
  /** Canary weight now applied, percent. */
  readonly weight: number;
  readonly complete: boolean;
  readonly completedAt?: string;
  /** Seconds the workflow holds before the next step down (gradual mode). */
  readonly waitSeconds: number;
  /** Next event sequence number. */
  readonly seq: number;
}

export interface RollbackState {
  readonly run: RunContext;
  readonly cursor: Cursor;
  /** Set by a Catch when a step failed. */
  readonly error?: { readonly Error: string; readonly Cause: string };
  readonly rollback?: RollbackProgress;
}

/** A failed step's message: Lambda wraps it as JSON ({"errorType","errorMessage"}), a local run does not. */
export function errorMessage(error: { Error: string; Cause: string }): string {
  try {
    const parsed = JSON.parse(error.Cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return `${error.Error}: ${parsed.errorMessage}`;
  } catch {
    // not JSON: a plain message
  }
  return `${error.Error}: ${error.Cause}`;
}

/** Why this run rolls back: a failed step outranks the last decision, which may have been `continue`. */
export function rollbackReason(state: Pick<RollbackState, 'cursor' | 'error' | 'rollback'>): DecisionReason {
  if (state.rollback) return state.rollback.reason;
  const { cursor } = state;
  if (state.error) {
    return { kind: 'task-failed', stepIndex: cursor.stepIndex, weight: cursor.weight, verdict: 'error', message: `step failed at step ${cursor.stepIndex} (${formatNumber(cursor.weight)}%): ${errorMessage(state.error)}` };
  }
  if (cursor.decision?.action === 'rollback') return cursor.decision.reason;
  return { kind: 'task-failed', stepIndex: cursor.stepIndex, weight: cursor.weight, verdict: 'error', message: 'rollback requested without a reason' };
}

/**
 * Rollback: put traffic back on stable. Immediate mode goes to 0% at once; gradual mode steps down the
 * plan's weights, one call per step, with the workflow holding in between. Each weight is verified.
 */
export async function rollback(deps: Deps, state: RollbackState): Promise<RollbackProgress> {
  const { run, cursor } = state;
  const at = deps.now().toISOString();
  const reason = rollbackReason(state);
  let seq = state.rollback?.seq ?? cursor.seq;
  const current = state.rollback?.weight ?? cursor.weight;
  const target = run.plan.rollback.mode === 'immediate' ? 0 : (nextRollbackWeight(run.plan, current) ?? 0);

  if (!state.rollback) {
    await deps.runLog.appendEvent({ runId: run.runId, seq: seq++, at, type: 'rollback-started', stepIndex: cursor.stepIndex, weight: current, decision: { action: 'rollback', reason }, message: reason.message });
  }
  const weights = await deps.routerFor(run.traffic).setWeights(target);
  const complete = weights.canary === 0;
  await deps.runLog.appendEvent({
    runId: run.runId,
    seq: seq++,
    at,
    type: complete ? 'rolled-back' : 'rollback-step',
    stepIndex: cursor.stepIndex,
    weight: weights.canary,
    message: complete ? `all traffic back on stable (${reason.message})` : `rolling back: canary ${formatNumber(weights.canary)}%`,
  });
  return {
    startedAt: state.rollback?.startedAt ?? at,
    reason,
    weight: weights.canary,
    complete,
    ...(complete && { completedAt: at }),
    waitSeconds: run.plan.rollback.stepHoldSeconds,
    seq,
  };
}
