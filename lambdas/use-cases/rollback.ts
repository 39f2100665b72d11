import type { DecisionReason } from '../domain/decision';
import { describeError } from '../domain/errors';
import { formatNumber } from '../domain/judge';
import type { RunContext, RunEvent } from '../domain/run';
import { nextRollbackWeight } from '../domain/schedule';
import type { ReadinessWindow } from '../ports/workload';
import type { Deps } from './deps';
import { writeRecords, type PendingRecord } from './records';
import { rolloutTiming, windowFrom, type RunCursor } from './progress';

export type RollbackPhase = 'restore-stable' | 'await-stable' | 'stable-capacity' | 'weights' | 'health-gate' | 'scale-down' | 'done';

/** How long a rollback waits for stable to be back at its size before it moves traffic anyway (and says so). */
export const CAPACITY_WAIT_SECONDS = 120;

/** Where a rollback stands; it travels in the workflow state at `$.rollback`. */
export interface RollbackProgress {
  readonly startedAt: string;
  /** Why the run is rolling back: the decision's reason, or the failed step. */
  readonly reason: DecisionReason;
  readonly phase: RollbackPhase;
  /** Canary weight now applied, percent. */
  readonly weight: number;
  /** The whole rollback is done: the workflow's Choice reads this. */
  readonly complete: boolean;
  /** When all traffic was back on stable (verified): the end of `timeToRollbackSeconds`. */
  readonly restoredAt?: string;
  /** When the rollback finished (the canary scaled down, when there is a workload). */
  readonly completedAt?: string;
  /** Seconds the workflow holds before the next call (a step down in gradual mode, a readiness poll). */
  readonly waitSeconds: number;
  readonly window?: ReadinessWindow;
  /** Until when the rollback waits for stable's capacity before moving traffic anyway. */
  readonly capacityDeadline?: string;
  /** Something that did not stop the rollback but someone should know. */
  readonly warning?: string;
  /** Next event sequence number (of the rollback lane). */
  readonly seq: number;
  /** Records the table refused so far: Finish writes them (traffic first, records after). */
  readonly pending?: readonly PendingRecord[];
}

export interface RollbackState {
  readonly run: RunContext;
  readonly cursor: RunCursor;
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
 * Rollback: put traffic back on stable, then clean up; records after. If the promotion had started putting the new
 * image on stable, the previous image goes back on it first. With a workload, stable is brought back to the size it had
 * before the rollout (an autoscaler may have shrunk it while the canary took traffic) and waited for, at most
 * CAPACITY_WAIT_SECONDS, unless that check fails: then traffic moves anyway and the record says so. Immediate mode moves
 * all traffic at once; gradual mode steps down the plan's weights, one call per step. With a workload, stable's targets
 * must pass the health gate before the canary is scaled to zero. One step per call; the workflow waits between calls.
 * Every weight is verified. Nothing here waits for the table: the events of a call are written after its traffic
 * moved, and what the table refused rides on in `pending` for Finish.
 */
export async function rollback(deps: Deps, state: RollbackState): Promise<RollbackProgress> {
  const pending: PendingRecord[] = [...(state.rollback?.pending ?? [])];
  const progress = await rollbackStep(deps, state, (event) => pending.push({ kind: 'event', event }));
  const left = await writeRecords(deps, pending);
  const { pending: _written, ...rest } = progress;
  return { ...rest, ...(left.length > 0 && { pending: left }) };
}

type Recorder = (event: RunEvent) => void;

async function rollbackStep(deps: Deps, state: RollbackState, keep: Recorder): Promise<RollbackProgress> {
  const { run, cursor } = state;
  const now = deps.now();
  const at = now.toISOString();
  const reason = rollbackReason(state);
  const workload = deps.workloadFor(run.workload);
  const router = deps.routerFor(run.traffic);
  const timing = rolloutTiming(run.workload);
  let seq = state.rollback?.seq ?? cursor.seq;
  const record = (type: 'rollback-started' | 'rollback-step' | 'rolled-back' | 'workload', message: string, weight?: number) =>
    keep({
      runId: run.runId,
      seq: seq++,
      lane: 'rollback',
      at,
      type,
      stepIndex: cursor.stepIndex,
      ...(weight !== undefined && { weight }),
      ...(type === 'rollback-started' && { decision: { action: 'rollback' as const, reason } }),
      message,
    });
  const capacityFirst = workload !== undefined && run.stableDesired !== undefined && run.stableDesired > 0;
  const afterStable: RollbackPhase = capacityFirst ? 'stable-capacity' : 'weights';

  let p: RollbackProgress = state.rollback ?? {
    startedAt: at,
    reason,
    // From the promotion on, stable may be getting the new image (even when the failed call recorded nothing):
    // putting the previous image back is idempotent, so do it whenever the run reached promotion.
    phase: workload && run.previousImage && (cursor.decision?.action === 'promote' || cursor.promotion) ? 'restore-stable' : afterStable,
    weight: cursor.weight,
    complete: false,
    waitSeconds: run.plan.rollback.stepHoldSeconds,
    seq,
  };
  if (!state.rollback) record('rollback-started', reason.message, cursor.weight);
  const progress = (changes: Partial<RollbackProgress>): RollbackProgress => ({ ...p, ...changes, seq });
  const warn = (warning: string) => progress({ warning: p.warning ? `${p.warning}; ${warning}` : warning });

  if (workload && run.previousImage && p.phase === 'restore-stable') {
    const status = await workload.promoteStable(run.previousImage);
    record('workload', `putting ${run.previousImage} back on ${workload.describe('stable')}: ${status.detail}`);
    p = progress({ phase: 'await-stable', window: windowFrom(now, timing.readyTimeoutSeconds), waitSeconds: timing.pollSeconds });
  }
  if (workload && run.previousImage && p.phase === 'await-stable') {
    const status = await workload.stableStatus(run.previousImage, p.window);
    if (!status.ready) return progress({ waitSeconds: timing.pollSeconds });
    record('workload', `${workload.describe('stable')} runs ${run.previousImage} again: ${status.detail}`);
    p = progress({ phase: afterStable });
  }
  if (workload && run.stableDesired !== undefined && p.phase === 'stable-capacity') {
    const desired = run.stableDesired;
    try {
      if (p.capacityDeadline === undefined) {
        const before = await workload.restoreStableCapacity(desired);
        if (!before.ready) record('workload', `before traffic moves back to stable: ${before.detail}`);
        p = progress({ capacityDeadline: new Date(now.getTime() + Math.min(CAPACITY_WAIT_SECONDS, timing.readyTimeoutSeconds) * 1000).toISOString() });
      }
      const status = await workload.stableCapacity(desired);
      const expired = now.getTime() > Date.parse(p.capacityDeadline ?? at);
      if (!status.ready && !expired) return progress({ waitSeconds: Math.min(timing.pollSeconds, 10) });
      if (!status.ready) p = warn(`stable was not back at its size when traffic moved to it (${status.detail})`);
    } catch (error) {
      // The check itself failed: traffic still moves (a canary that breached is the worse place for it), and the record says so.
      p = warn(`stable's capacity could not be checked before traffic moved back: ${describeError(error).message}`);
    }
    p = progress({ phase: 'weights' });
  }
  if (p.phase === 'weights') {
    const target = run.plan.rollback.mode === 'immediate' ? 0 : (nextRollbackWeight(run.plan, p.weight) ?? 0);
    const weights = await router.setWeights(target);
    if (weights.canary > 0) {
      record('rollback-step', `rolling back: canary ${formatNumber(weights.canary)}%`, weights.canary);
      return progress({ weight: weights.canary, waitSeconds: run.plan.rollback.stepHoldSeconds });
    }
    record('rolled-back', `all traffic back on stable (${reason.message})${p.warning ? `; note: ${p.warning}` : ''}`, 0);
    p = progress({ weight: 0, restoredAt: at, phase: workload ? 'health-gate' : 'done', window: windowFrom(now, timing.readyTimeoutSeconds), waitSeconds: timing.pollSeconds });
  }
  if (workload && p.phase === 'health-gate') {
    const health = await router.healthOf('stable');
    const expired = now.getTime() > Date.parse(p.window?.deadline ?? at);
    if (!health.ready && !expired) return progress({ waitSeconds: timing.pollSeconds });
    // Past the deadline the canary goes anyway: it takes no traffic, and stable's health is not its to fix.
    if (!health.ready) p = warn(`stable was still not healthy when the canary was scaled down: ${health.detail}`);
    p = progress({ phase: 'scale-down' });
  }
  if (workload && p.phase === 'scale-down') {
    try {
      const status = await workload.scaleDownCanary();
      record('workload', `${workload.describe('canary')} scaled down: ${status.detail}`);
    } catch (error) {
      const warning = `the canary could not be scaled down: ${describeError(error).message}`;
      record('workload', warning);
      p = warn(warning);
    }
    p = progress({ phase: 'done' });
  }
  return progress({ complete: p.phase === 'done', ...(p.phase === 'done' && { completedAt: at }) });
}
