import type { Cursor } from '../domain/decision';
import { WorkloadError } from '../domain/errors';
import type { WorkloadConfig } from '../domain/service-config';
import type { ReadinessWindow } from '../ports/workload';

/**
 * Progress of the multi-call steps (Prepare, Promote), kept on the cursor: one event sequence for the run, and a
 * retried call sees the same progress and repeats the same (idempotent) step.
 */

export interface WorkloadProgress {
  readonly phase: 'deploying' | 'health-gate' | 'ready';
  /** The workflow's Choice reads this: the canary runs the image and its targets are healthy. */
  readonly ready: boolean;
  readonly waitSeconds: number;
  readonly window: ReadinessWindow;
  readonly detail: string;
}

export type PromotionPhase = 'update-stable' | 'await-stable' | 'health-gate' | 'flip' | 'scale-down' | 'done';

export interface PromotionProgress {
  readonly phase: PromotionPhase;
  /** The workflow's Choice reads this. */
  readonly done: boolean;
  readonly waitSeconds: number;
  readonly window?: ReadinessWindow;
  readonly detail: string;
  /** Something that did not stop the promotion but someone should know (a canary that would not scale down). */
  readonly warning?: string;
}

/** The cursor with the progress of the workload steps. */
export type RunCursor = Cursor & { readonly workload?: WorkloadProgress; readonly promotion?: PromotionProgress };

/** How long a workload rollout may take and how often to look, from the registration. */
export function rolloutTiming(workload: WorkloadConfig): { readyTimeoutSeconds: number; pollSeconds: number } {
  return workload.kind === 'none' ? { readyTimeoutSeconds: 900, pollSeconds: 15 } : { readyTimeoutSeconds: workload.readyTimeoutSeconds, pollSeconds: workload.pollSeconds };
}

export function windowFrom(now: Date, timeoutSeconds: number): ReadinessWindow {
  return { startedAt: now.toISOString(), deadline: new Date(now.getTime() + timeoutSeconds * 1000).toISOString() };
}

/** A health gate that has not opened by the deadline fails the step (and so the run rolls back). */
export function gateDeadline(what: string, detail: string, window: ReadinessWindow, now: Date): void {
  if (now.getTime() > Date.parse(window.deadline)) throw new WorkloadError(`${what} did not become healthy by ${window.deadline}: ${detail}`);
}
