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
