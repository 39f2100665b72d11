import { ConfigurationError, WorkloadError } from '../domain/errors';

/**
 * What runs the two versions of one service: a stable and a canary workload (two ECS services, two
 * Kubernetes Deployments). Each call does one step and returns at once with a status the workflow's
 * Choice branches on (`ready`); the workflow holds in Wait states between polls and passes the
 * deadline. No call sleeps or waits for a rollout.
 */

/** Which of the service's two workloads. */
export type WorkloadRole = 'stable' | 'canary';

/** One workload's progress, as JSON the workflow keeps and a Choice reads (`$.workload.ready`). */
export interface WorkloadStatus {
  /** The rollout is complete: every desired replica runs the wanted image and is available, none of an older one is left. */
  readonly ready: boolean;
  /** One sentence with the numbers, for logs, records and notifications. */
  readonly detail: string;
  /** Replicas (tasks) the workload asks for. */
  readonly desired: number;
  /** Replicas started from the current spec (Kubernetes updatedReplicas; ECS tasks of the primary deployment). */
  readonly updated: number;
  /** Of those, replicas that are available (Kubernetes availableReplicas; ECS running tasks of the primary deployment). */
  readonly available: number;
  /** The image the workload's spec names now for the registered container. */
  readonly image: string;
}

/** The time box of one rollout: when it was started and after when "not ready yet" becomes a failure. */
export interface ReadinessWindow {
  /** ISO 8601; when prepareCanary / promoteStable was first called. */
  readonly startedAt: string;
  /** ISO 8601; a status check after this instant that is not ready throws WorkloadError. */
  readonly deadline: string;
}

export interface Workload {
  /** Starts putting `image` on the canary and scales it to its serving size; repeatable, returns at once. */
  prepareCanary(image: string): Promise<WorkloadStatus>;
  /** How far the canary is in running `image`; throws WorkloadError when the rollout failed or `window` has passed. */
  canaryStatus(image: string, window?: ReadinessWindow): Promise<WorkloadStatus>;
  /** Starts putting `image` on stable at its current size; repeatable, returns at once. */
  promoteStable(image: string): Promise<WorkloadStatus>;
  /** How far stable is in running `image`; throws WorkloadError when the rollout failed or `window` has passed. */
  stableStatus(image: string, window?: ReadinessWindow): Promise<WorkloadStatus>;
  /** Sets the canary to zero replicas; repeatable, returns at once (nothing to wait for before traffic is off it). */
  scaleDownCanary(): Promise<WorkloadStatus>;
  /** Whether a workload serves at full strength now, whatever its image: `ready` is true when it is healthy. */
  isHealthy(role: WorkloadRole): Promise<WorkloadStatus>;
  /** Raises stable's desired count to `desired` when below it (never lowers it, no write when not below); repeatable, returns at once with `stableCapacity`'s status. */
  restoreStableCapacity(desired: number): Promise<WorkloadStatus>;
  /** Whether stable has at least `desired` available replicas (tasks) of its current spec; no deadline, the caller decides when to stop waiting. */
  stableCapacity(desired: number): Promise<WorkloadStatus>;
  /** What this workload is, for messages, e.g. `Deployment payments/payments-canary`. */
  describe(role: WorkloadRole): string;
}

/**
 * Throws WorkloadError when `status` is not ready and `window`'s deadline has passed at `now`; returns
 * the status otherwise. Every adapter's status check ends here, so the deadline means the same everywhere.
 */
export function enforceDeadline(subject: string, status: WorkloadStatus, window: ReadinessWindow | undefined, now: Date): WorkloadStatus {
  if (status.ready || window === undefined) return status;
  const deadline = Date.parse(window.deadline);
  const startedAt = Date.parse(window.startedAt);
  if (Number.isNaN(deadline) || Number.isNaN(startedAt)) {
    throw new ConfigurationError(`readiness window of ${subject}: startedAt '${window.startedAt}' and deadline '${window.deadline}' must be ISO 8601 timestamps`);
  }
  if (now.getTime() <= deadline) return status;
  const seconds = Math.round((now.getTime() - startedAt) / 1000);
  throw new WorkloadError(`${subject} is not ready ${seconds} s after its rollout started (deadline ${window.deadline}): ${status.detail}`);
}

/** What an adapter read of stable for a capacity check: its current size and how much of it serves. */
export interface CapacityReading {
  /** Replicas (tasks) stable wants now, after any write of this call. */
  readonly desired: number;
  /** Replicas (tasks) started from the current spec. */
  readonly updated: number;
  /** Replicas (tasks) of the current spec that are available; a lower bound where the API does not say exactly. */
  readonly available: number;
  readonly image: string;
  /** The desired count before this call raised it; undefined when nothing was written. */
  readonly raisedFrom?: number;
  /** Why the counts cannot be trusted yet (the controller has not seen the change): not ready, whatever they say. */
  readonly hold?: string;
  /** Why the count may not grow (a failed rollout, a progress deadline), added to the detail. */
  readonly note?: string;
}

/**
 * Throws WorkloadError unless `desired` is a count of replicas: the stable size recorded at Start.
 * Every adapter's capacity call starts here, so a bad record fails before anything is written.
 */
export function checkCapacityTarget(subject: string, desired: number): number {
  if (!Number.isInteger(desired) || desired < 0) {
    throw new WorkloadError(`${subject}: desired must be a non-negative integer (stable's desired count before the rollout), got ${String(desired)}`);
  }
  return desired;
}

/**
 * The status of a capacity check: ready when stable wants and has at least `needed` available replicas
 * of its current spec, and nothing makes the counts doubtful. Wanting fewer is not ready even while the
 * pods still run: they are about to go. One renderer, so both adapters say it the same way.
 */
export function capacityStatus(subject: string, unit: 'replicas' | 'tasks', needed: number, reading: CapacityReading): WorkloadStatus {
  const { desired, updated, available, image, raisedFrom, hold, note } = reading;
  const ready = hold === undefined && desired >= needed && available >= needed;
  const counts =
    raisedFrom === undefined && desired < needed
      ? `wants only ${desired} of the ${needed} ${unit} needed for the rollback (${available} available)`
      : `${available} of ${desired} ${unit} available (${raisedFrom === undefined ? `${needed} needed for the rollback` : `scaled up from ${raisedFrom} for the rollback`})`;
  const detail = `${subject}: ${counts}` + [hold, note].map((part) => (part === undefined ? '' : `; ${part}`)).join('');
  return { ready, detail, desired, updated, available, image };
}
