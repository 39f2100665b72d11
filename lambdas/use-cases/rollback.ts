import type { DecisionReason } from '../domain/decision';
import { describeError } from '../domain/errors';
import { formatNumber } from '../domain/judge';
import type { RunContext, RunEvent } from '../domain/run';
import { nextRollbackWeight } from '../domain/schedule';
import type { ReadinessWindow, Workload } from '../ports/workload';
import type { TrafficRouter } from '../ports/traffic-router';
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
type EventType = 'rollback-started' | 'rollback-step' | 'rolled-back' | 'workload';

/** What every phase of one Rollback call works with. */
interface Call {
  readonly run: RunContext;
  readonly now: Date;
  readonly at: string;
  readonly router: TrafficRouter;
  readonly workload: Workload | undefined;
  readonly timing: { readyTimeoutSeconds: number; pollSeconds: number };
  /** Keeps an event of the rollback lane, written after the call's traffic moved. */
  record(type: EventType, message: string, weight?: number): void;
  /** The progress with changes and the next seq. */
  progress(p: RollbackProgress, changes: Partial<RollbackProgress>): RollbackProgress;
}

/** A phase's result: the progress, and whether the workflow must wait before the next call (`hold`). */
type Step = { readonly p: RollbackProgress; readonly hold?: boolean };

const warned = (call: Call, p: RollbackProgress, warning: string) => call.progress(p, { warning: p.warning ? `${p.warning}; ${warning}` : warning });

/** The phase after stable runs its previous image again: its capacity first when there is a size to restore. */
const afterStable = (run: RunContext, workload: Workload | undefined): RollbackPhase =>
  workload !== undefined && run.stableDesired !== undefined && run.stableDesired > 0 ? 'stable-capacity' : 'weights';

const PHASES: Readonly<Record<Exclude<RollbackPhase, 'done'>, (call: Call, p: RollbackProgress) => Promise<Step>>> = {
  async 'restore-stable'(call, p) {
    const image = call.run.previousImage!;
    const status = await call.workload!.promoteStable(image);
    call.record('workload', `putting ${image} back on ${call.workload!.describe('stable')}: ${status.detail}`);
    return { p: call.progress(p, { phase: 'await-stable', window: windowFrom(call.now, call.timing.readyTimeoutSeconds), waitSeconds: call.timing.pollSeconds }) };
  },
  async 'await-stable'(call, p) {
    const image = call.run.previousImage!;
    const status = await call.workload!.stableStatus(image, p.window);
    if (!status.ready) return { p: call.progress(p, { waitSeconds: call.timing.pollSeconds }), hold: true };
    call.record('workload', `${call.workload!.describe('stable')} runs ${image} again: ${status.detail}`);
    return { p: call.progress(p, { phase: afterStable(call.run, call.workload) }) };
  },
  async 'stable-capacity'(call, p) {
    const desired = call.run.stableDesired!;
    const workload = call.workload!;
    try {
      if (p.capacityDeadline === undefined) {
        const before = await workload.restoreStableCapacity(desired);
        if (!before.ready) call.record('workload', `before traffic moves back to stable: ${before.detail}`);
        const wait = Math.min(CAPACITY_WAIT_SECONDS, call.timing.readyTimeoutSeconds);
        p = call.progress(p, { capacityDeadline: new Date(call.now.getTime() + wait * 1000).toISOString() });
      }
      const status = await workload.stableCapacity(desired);
      const expired = call.now.getTime() > Date.parse(p.capacityDeadline ?? call.at);
      if (!status.ready && !expired) return { p: call.progress(p, { waitSeconds: Math.min(call.timing.pollSeconds, 10) }), hold: true };
      if (!status.ready) p = warned(call, p, `stable was not back at its size when traffic moved to it (${status.detail})`);
    } catch (error) {
      // The check itself failed: traffic still moves (a canary that breached is the worse place for it), and the record says so.
      p = warned(call, p, `stable's capacity could not be checked before traffic moved back: ${describeError(error).message}`);
    }
    return { p: call.progress(p, { phase: 'weights' }) };
  },
  async weights(call, p) {
    const { run } = call;
    const target = run.plan.rollback.mode === 'immediate' ? 0 : (nextRollbackWeight(run.plan, p.weight) ?? 0);
    const weights = await call.router.setWeights(target);
    if (weights.canary > 0) {
      call.record('rollback-step', `rolling back: canary ${formatNumber(weights.canary)}%`, weights.canary);
      return { p: call.progress(p, { weight: weights.canary, waitSeconds: run.plan.rollback.stepHoldSeconds }), hold: true };
    }
    call.record('rolled-back', `all traffic back on stable (${p.reason.message})${p.warning ? `; note: ${p.warning}` : ''}`, 0);
    const window = windowFrom(call.now, call.timing.readyTimeoutSeconds);
    return { p: call.progress(p, { weight: 0, restoredAt: call.at, phase: call.workload ? 'health-gate' : 'done', window, waitSeconds: call.timing.pollSeconds }) };
  },
  async 'health-gate'(call, p) {
    const health = await call.router.healthOf('stable');
    const expired = call.now.getTime() > Date.parse(p.window?.deadline ?? call.at);
    if (!health.ready && !expired) return { p: call.progress(p, { waitSeconds: call.timing.pollSeconds }), hold: true };
    // Past the deadline the canary goes anyway: it takes no traffic, and stable's health is not its to fix.
    if (!health.ready) p = warned(call, p, `stable was still not healthy when the canary was scaled down: ${health.detail}`);
    return { p: call.progress(p, { phase: 'scale-down' }) };
  },
  async 'scale-down'(call, p) {
    const workload = call.workload!;
    try {
      const status = await workload.scaleDownCanary();
      call.record('workload', `${workload.describe('canary')} scaled down: ${status.detail}`);
    } catch (error) {
      const warning = `the canary could not be scaled down: ${describeError(error).message}`;
      call.record('workload', warning);
      p = warned(call, p, warning);
    }
    return { p: call.progress(p, { phase: 'done' }) };
  },
};

async function rollbackStep(deps: Deps, state: RollbackState, keep: Recorder): Promise<RollbackProgress> {
  const { run, cursor } = state;
  const now = deps.now();
  const at = now.toISOString();
  const reason = rollbackReason(state);
  const workload = deps.workloadFor(run.workload);
  let seq = state.rollback?.seq ?? cursor.seq;
  const call: Call = {
    run,
    now,
    at,
    router: deps.routerFor(run.traffic),
    workload,
    timing: rolloutTiming(run.workload),
    record: (type, message, weight) =>
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
      }),
    progress: (p, changes) => ({ ...p, ...changes, seq }),
  };
  let p: RollbackProgress = state.rollback ?? {
    startedAt: at,
    reason,
    // From the promotion on, stable may be getting the new image (even when the failed call recorded nothing):
    // putting the previous image back is idempotent, so do it whenever the run reached promotion.
    phase: workload && run.previousImage && (cursor.decision?.action === 'promote' || cursor.promotion) ? 'restore-stable' : afterStable(run, workload),
    weight: cursor.weight,
    complete: false,
    waitSeconds: run.plan.rollback.stepHoldSeconds,
    seq,
  };
  if (!state.rollback) call.record('rollback-started', reason.message, cursor.weight);
  // One phase after another until one must wait (a poll, a step down) or the rollback is done.
  while (p.phase !== 'done') {
    const step = await PHASES[p.phase](call, p);
    p = step.p;
    if (step.hold) return call.progress(p, {});
  }
  return call.progress(p, { complete: true, completedAt: at });
}
