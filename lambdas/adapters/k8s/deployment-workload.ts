import { z } from 'zod';
import { ConfigurationError, WorkloadError } from '../../domain/errors';
import { capacityStatus, checkCapacityTarget, enforceDeadline, type ReadinessWindow, type Workload, type WorkloadRole, type WorkloadStatus } from '../../ports/workload';
import { parseResource, pointer, subjectOf, type JsonPatchOp, type KubeRef, type KubeResourceType, type KubeApi } from './kube-client';

/** The registration of an EKS workload: a stable and a canary Deployment in one namespace. */
export interface DeploymentWorkloadConfig {
  readonly namespace: string;
  /** Deployment whose pods the stable Service selects. */
  readonly stableDeployment: string;
  /** Deployment whose pods the canary Service selects; scaled to zero between runs. */
  readonly canaryDeployment: string;
  /** Container whose image changes; may be left out when the pod template has exactly one container. */
  readonly containerName?: string;
  /** Replicas the canary runs during a rollout; default stable's replicas (the last step may send it all traffic). */
  readonly canaryReplicas?: number;
}

export interface DeploymentWorkloadOptions {
  /** Clock of the deadline check; tests pin it. */
  readonly now?: () => Date;
}

export const DEPLOYMENT: KubeResourceType = { kind: 'Deployment', group: 'apps', plural: 'deployments', versions: ['v1'] };

const count = z.number().int().nonnegative().optional();

const deployment = z.looseObject({
  metadata: z.looseObject({ name: z.string(), generation: count }),
  spec: z.looseObject({
    /** Kubernetes default: 1. */
    replicas: count,
    template: z.looseObject({
      spec: z.looseObject({ containers: z.array(z.looseObject({ name: z.string(), image: z.string().optional() })) }),
    }),
  }),
  status: z
    .looseObject({
      observedGeneration: count,
      replicas: count,
      updatedReplicas: count,
      availableReplicas: count,
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })).optional(),
    })
    .optional(),
});

type Deployment = z.output<typeof deployment>;

/**
 * The Kubernetes adapter of the Workload port: two Deployments. A new image is a JSON Patch of the
 * container's image, preceded by a `test` op on that container's name at its index; size is a patch
 * of `spec.replicas`. Ready is what `kubectl rollout status` calls complete: the controller has seen
 * the spec, every replica is updated and available, and no old replica is left.
 */
export class DeploymentWorkload implements Workload {
  private readonly now: () => Date;

  constructor(
    private readonly client: KubeApi,
    private readonly config: DeploymentWorkloadConfig,
    options: DeploymentWorkloadOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    if (config.canaryReplicas !== undefined && !(Number.isInteger(config.canaryReplicas) && config.canaryReplicas > 0)) {
      throw new ConfigurationError(`Deployment workload: canaryReplicas must be a positive integer, got ${config.canaryReplicas}`);
    }
    if (config.stableDeployment === config.canaryDeployment) {
      throw new ConfigurationError(`Deployment workload: stable and canary must be two Deployments, both are ${config.stableDeployment}`);
    }
  }

  /** Patches the canary's image and scales it to its serving size (no patch when already so). */
  async prepareCanary(image: string): Promise<WorkloadStatus> {
    let replicas = this.config.canaryReplicas;
    if (replicas === undefined) {
      replicas = specReplicas(await this.read('stable'));
      if (replicas < 1) throw new WorkloadError(`${this.describe('stable')} has 0 replicas; give the canary a size with canaryReplicas or scale stable up first`);
    }
    return this.rollOut('canary', image, replicas);
  }

  /** Progress of the canary towards `image`; WorkloadError when its rollout failed or the window has passed. */
  async canaryStatus(image: string, window?: ReadinessWindow): Promise<WorkloadStatus> {
    return enforceDeadline(this.describe('canary'), this.rolloutStatus('canary', await this.read('canary'), image), window, this.now());
  }

  /** Patches stable's image, at its current size. */
  async promoteStable(image: string): Promise<WorkloadStatus> {
    return this.rollOut('stable', image, undefined);
  }

  /** Progress of stable towards `image`; WorkloadError when its rollout failed or the window has passed. */
  async stableStatus(image: string, window?: ReadinessWindow): Promise<WorkloadStatus> {
    return enforceDeadline(this.describe('stable'), this.rolloutStatus('stable', await this.read('stable'), image), window, this.now());
  }

  /** Patches the canary's replicas to 0, unless already so. */
  async scaleDownCanary(): Promise<WorkloadStatus> {
    let found = await this.read('canary');
    if (specReplicas(found) !== 0) {
      found = await this.patch('canary', [
        { op: 'test', path: pointer('metadata', 'name'), value: this.config.canaryDeployment },
        { op: 'add', path: pointer('spec', 'replicas'), value: 0 },
      ]);
    }
    const left = found.status?.replicas ?? 0;
    return {
      ready: true,
      detail: `${this.describe('canary')} scaled to 0 replicas` + (left > 0 ? ` (${left} pods terminating)` : ''),
      desired: 0,
      updated: found.status?.updatedReplicas ?? 0,
      available: found.status?.availableReplicas ?? 0,
      image: this.container('canary', found).image,
    };
  }

  /** Healthy: wants at least one replica, and all are updated, available, and seen by the controller. */
  async isHealthy(role: WorkloadRole): Promise<WorkloadStatus> {
    const found = await this.read(role);
    const { image } = this.container(role, found);
    const status = this.rolloutStatus(role, found, image);
    if (status.desired > 0) return status;
    return { ...status, ready: false, detail: `${this.describe(role)} is scaled to 0 replicas` };
  }

  /** Patches stable's replicas up to `desired` when it wants fewer; never lowers them. */
  async restoreStableCapacity(desired: number): Promise<WorkloadStatus> {
    const needed = checkCapacityTarget(this.describe('stable'), desired);
    const found = await this.read('stable');
    const before = specReplicas(found);
    // Read first: a stable that already wants enough (a retried step, or an autoscaler that scaled it out) gets no patch.
    if (before >= needed) return this.capacityOf(found, needed, undefined);
    // The `test` on spec.replicas fails the patch (422, nothing changed, TransientError) when an autoscaler changed it since the read: a raise never lands as a lowering.
    const unchanged: JsonPatchOp[] = found.spec.replicas === undefined ? [] : [{ op: 'test', path: pointer('spec', 'replicas'), value: found.spec.replicas }];
    const patched = await this.patch('stable', [
      { op: 'test', path: pointer('metadata', 'name'), value: this.config.stableDeployment },
      ...unchanged,
      { op: 'add', path: pointer('spec', 'replicas'), value: needed },
    ]);
    return this.capacityOf(patched, needed, before);
  }

  /** Available replicas of stable's current pod template against `desired`. */
  async stableCapacity(desired: number): Promise<WorkloadStatus> {
    const needed = checkCapacityTarget(this.describe('stable'), desired);
    return this.capacityOf(await this.read('stable'), needed, undefined);
  }

  /** `Deployment <namespace>/<name>`. */
  describe(role: WorkloadRole): string {
    return subjectOf(this.ref(role));
  }

  private async rollOut(role: WorkloadRole, image: string, replicas: number | undefined): Promise<WorkloadStatus> {
    const found = await this.read(role);
    const { index, name, image: current } = this.container(role, found);
    const ops: JsonPatchOp[] = [];
    if (current !== image) ops.push({ op: 'add', path: pointer('spec', 'template', 'spec', 'containers', index, 'image'), value: image });
    if (replicas !== undefined && specReplicas(found) !== replicas) ops.push({ op: 'add', path: pointer('spec', 'replicas'), value: replicas });
    // A retried step finds its own patch applied: no patch, no new generation.
    if (ops.length === 0) return this.rolloutStatus(role, found, image);
    const patched = await this.patch(role, [{ op: 'test', path: pointer('spec', 'template', 'spec', 'containers', index, 'name'), value: name }, ...ops]);
    return this.rolloutStatus(role, patched, image);
  }

  /** The status of `found` against `image`, as `kubectl rollout status` judges it; WorkloadError past the progress deadline. */
  private rolloutStatus(role: WorkloadRole, found: Deployment, image: string): WorkloadStatus {
    const subject = this.describe(role);
    const current = this.container(role, found).image;
    const desired = specReplicas(found);
    const status = found.status ?? {};
    const updated = status.updatedReplicas ?? 0;
    const available = status.availableReplicas ?? 0;
    const total = status.replicas ?? 0;
    const counts = { desired, updated, available, image: current };
    if (current !== image) return { ready: false, detail: `${subject} runs ${current}, not ${image}`, ...counts };
    if ((status.observedGeneration ?? 0) < (found.metadata.generation ?? 0)) {
      return { ready: false, detail: `${subject}: the controller has not yet seen generation ${found.metadata.generation ?? 0}`, ...counts };
    }
    const progressing = status.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      throw new WorkloadError(`${subject}: rollout of ${image} exceeded its progress deadline: ${progressing.message ?? 'no message'} (${updated} of ${desired} updated, ${available} available)`);
    }
    const numbers = `${updated} of ${desired} replicas updated, ${available} available` + (total > updated ? `, ${total - updated} old replica(s) left` : '');
    const ready = updated === desired && available === desired && total === desired;
    return { ready, detail: `${subject} ${ready ? 'is ready' : 'is rolling out'} ${image}: ${numbers}`, ...counts };
  }

  /**
   * Stable's capacity as `found` shows it. DeploymentStatus counts pods across ReplicaSets (replicas: all
   * non-terminating, updatedReplicas: of the current template, availableReplicas: all available;
   * https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#DeploymentStatus),
   * so the current template's available pods are at least availableReplicas minus the old pods: that lower bound counts.
   */
  private capacityOf(found: Deployment, needed: number, raisedFrom: number | undefined): WorkloadStatus {
    const status = found.status ?? {};
    const updated = status.updatedReplicas ?? 0;
    const old = Math.max(0, (status.replicas ?? 0) - updated);
    const available = Math.max(0, (status.availableReplicas ?? 0) - old);
    const generation = found.metadata.generation ?? 0;
    const progressing = status.conditions?.find((c) => c.type === 'Progressing');
    // Before the controller has seen the new generation, the counts are those of the old spec.
    const hold = (status.observedGeneration ?? 0) < generation ? `the controller has not yet seen generation ${generation}` : undefined;
    const note = progressing?.reason === 'ProgressDeadlineExceeded' ? `its rollout exceeded its progress deadline: ${progressing.message ?? 'no message'}` : undefined;
    return capacityStatus(this.describe('stable'), 'replicas', needed, {
      desired: specReplicas(found),
      updated,
      available,
      image: this.container('stable', found).image,
      ...(raisedFrom !== undefined && { raisedFrom }),
      ...(hold !== undefined && { hold }),
      ...(note !== undefined && { note }),
    });
  }

  private container(role: WorkloadRole, found: Deployment): { index: number; name: string; image: string } {
    const containers = found.spec.template.spec.containers;
    const names = containers.map((c) => c.name).join(', ');
    const { containerName } = this.config;
    const index = containerName === undefined ? (containers.length === 1 ? 0 : -1) : containers.findIndex((c) => c.name === containerName);
    const container = containers[index];
    if (container === undefined) {
      throw new ConfigurationError(
        containerName === undefined
          ? `${this.describe(role)} has ${containers.length} containers (${names}); register containerName`
          : `${this.describe(role)} has no container '${containerName}' (it has ${names || 'none'})`,
      );
    }
    return { index, name: container.name, image: container.image ?? '' };
  }

  private async read(role: WorkloadRole): Promise<Deployment> {
    const ref = this.ref(role);
    return parseResource(deployment, await this.client.get(ref), ref);
  }

  private async patch(role: WorkloadRole, ops: JsonPatchOp[]): Promise<Deployment> {
    const ref = this.ref(role);
    return parseResource(deployment, await this.client.patch(ref, ops), ref);
  }

  private ref(role: WorkloadRole): KubeRef {
    const name = role === 'stable' ? this.config.stableDeployment : this.config.canaryDeployment;
    return { type: DEPLOYMENT, namespace: this.config.namespace, name, role: 'workload' };
  }
}

function specReplicas(found: Deployment): number {
  return found.spec.replicas ?? 1;
}
