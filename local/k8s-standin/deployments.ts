import type { Json, JsonObject } from './json-patch';
import { jsonEqual } from './json-patch';

/**
 * How a Deployment's status follows its spec in the stand-in, computed from the clock on every read
 * (no timers to stop): after a change the controller observes the new generation (30 ms), then pods of
 * the new template become updated and available over `readyDelayMs` while old ones go. Pods of a broken
 * image are created but never become available, and past `progressDeadlineMs` the Progressing
 * condition says ProgressDeadlineExceeded, as the real controller does.
 */

export interface RolloutTiming {
  /** Time for all new pods to become available; default 300 ms. */
  readonly readyDelayMs: number;
  /** After this long without completing, Progressing turns False with ProgressDeadlineExceeded. */
  readonly progressDeadlineMs: number;
}

/** The state of one Deployment's last rollout: what was running when its spec changed. */
export interface Rollout {
  readonly startedAt: number;
  /** Available pods that already ran the current template when the rollout started (a scale-only change). */
  readonly fromCurrent: number;
  /** Available pods of the previous template when the rollout started. */
  readonly oldPods: number;
  /** Whether the current template names a broken image. */
  readonly broken: boolean;
  /** observedGeneration until the controller catches up. */
  readonly previousObserved: number;
}

/** What a Deployment runs at an instant. */
interface Pods {
  readonly updated: number;
  readonly currentAvailable: number;
  readonly old: number;
  readonly observed: number;
  readonly complete: boolean;
  readonly deadlineExceeded: boolean;
}

/** The controller catches up with a new generation after this long (or the ready delay, if shorter). */
const OBSERVE_DELAY_MS = 30;

export function specReplicas(object: JsonObject): number {
  const replicas = field(field(object, 'spec'), 'replicas');
  return typeof replicas === 'number' ? replicas : 1;
}

export function generationOf(object: JsonObject): number {
  const generation = field(field(object, 'metadata'), 'generation');
  return typeof generation === 'number' ? generation : 1;
}

/** Images of the pod template's containers. */
export function imagesOf(object: JsonObject): string[] {
  const containers = field(field(field(field(object, 'spec'), 'template'), 'spec'), 'containers');
  return Array.isArray(containers) ? containers.map((c) => field(c, 'image')).filter((i): i is string => typeof i === 'string') : [];
}

/** A rollout that finished long ago: every replica available. */
export function settledRollout(object: JsonObject, broken: boolean): Rollout {
  return { startedAt: Number.NEGATIVE_INFINITY, fromCurrent: broken ? 0 : specReplicas(object), oldPods: 0, broken, previousObserved: generationOf(object) };
}

/** The rollout that a change from `before` to `after` starts at `now`. */
export function nextRollout(before: JsonObject, previous: Rollout, after: JsonObject, now: number, timing: RolloutTiming, broken: boolean): Rollout {
  const pods = podsAt(before, previous, now, timing);
  const templateChanged = !jsonEqual(field(field(before, 'spec'), 'template') ?? null, field(field(after, 'spec'), 'template') ?? null);
  return {
    startedAt: now,
    fromCurrent: templateChanged ? 0 : pods.currentAvailable,
    oldPods: templateChanged ? pods.currentAvailable + pods.old : pods.old,
    broken,
    previousObserved: pods.observed,
  };
}

/** The status a GET of the Deployment shows at `now`. */
export function deploymentStatus(object: JsonObject, rollout: Rollout, now: number, timing: RolloutTiming): JsonObject {
  const pods = podsAt(object, rollout, now, timing);
  const available = pods.currentAvailable + pods.old;
  const replicas = specReplicas(object);
  const found = field(field(object, 'metadata'), 'name');
  const name = typeof found === 'string' ? found : '';
  const progressing: JsonObject = pods.deadlineExceeded
    ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}-new" has timed out progressing.` }
    : pods.complete
      ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-new" has successfully progressed.` }
      : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}-new" is progressing.` };
  return {
    observedGeneration: pods.observed,
    replicas: pods.updated + pods.old,
    updatedReplicas: pods.updated,
    readyReplicas: available,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicas - available),
    conditions: [
      { type: 'Available', status: available >= replicas ? 'True' : 'False', reason: available >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
      progressing,
    ],
  };
}

function podsAt(object: JsonObject, rollout: Rollout, now: number, timing: RolloutTiming): Pods {
  const replicas = specReplicas(object);
  const elapsed = now - rollout.startedAt;
  // The controller acts on a change only once it has observed it: pods start moving from then on.
  const observeAfter = Math.min(OBSERVE_DELAY_MS, timing.readyDelayMs);
  const observed = elapsed >= observeAfter ? generationOf(object) : rollout.previousObserved;
  const progress = timing.readyDelayMs <= 0 ? 1 : Math.min(1, Math.max(0, (elapsed - observeAfter) / timing.readyDelayMs));
  if (rollout.broken) {
    // The rolling update surges a quarter of new pods that never become available; the old ones keep serving.
    const old = Math.min(rollout.oldPods, replicas);
    const updated = replicas === 0 ? 0 : old > 0 ? Math.min(replicas, Math.max(1, Math.ceil(replicas / 4))) : replicas;
    const complete = replicas === 0;
    return { updated, currentAvailable: 0, old, observed, complete, deadlineExceeded: !complete && elapsed > timing.progressDeadlineMs };
  }
  const start = Math.min(rollout.fromCurrent, replicas);
  const currentAvailable = start + Math.floor((replicas - start) * progress);
  const updated = start + Math.ceil((replicas - start) * progress);
  const old = progress >= 1 ? 0 : Math.max(0, Math.min(rollout.oldPods, replicas) - currentAvailable);
  return { updated, currentAvailable, old, observed, complete: progress >= 1, deadlineExceeded: false };
}

function field(value: Json | undefined, key: string): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value[key] : undefined;
}
