import { NETWORK_ERROR_CODES } from '../network-errors';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type ContainerDefinition,
  type Deployment,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type Tag,
  type TaskDefinition,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { CanaryError, ConfigurationError, ThrottlingError, TransientError, WorkloadError } from '../../domain/errors';
import { capacityStatus, checkCapacityTarget, enforceDeadline, type ReadinessWindow, type Workload, type WorkloadRole, type WorkloadStatus } from '../../ports/workload';

/** The registration of an ECS workload: two services of one cluster, each behind its own target group. */
export interface EcsWorkloadConfig {
  /** Cluster name or ARN. */
  readonly cluster: string;
  /** Service (name or ARN) that serves stable traffic. */
  readonly stableService: string;
  /** Service (name or ARN) that serves canary traffic; scaled to zero between runs. */
  readonly canaryService: string;
  /** Container whose image changes; may be left out when the task definition has exactly one container. */
  readonly containerName?: string;
  /** Tasks the canary runs during a rollout; default the stable service's desired count (the last step may send it all traffic). */
  readonly canaryDesiredCount?: number;
}

export interface EcsWorkloadOptions {
  /** Clock of the deadline check; tests pin it. */
  readonly now?: () => Date;
}

/**
 * Fields DescribeTaskDefinition reports that RegisterTaskDefinition does not take. The type below
 * fails to compile when an SDK update adds another, so a copy never sends a field AWS would refuse.
 */
const READ_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
  'deleteRequestedAt',
] as const;
type ReadOnlyField = (typeof READ_ONLY_FIELDS)[number];
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const readOnlyFieldsAreExact: Exact<ReadOnlyField, Exclude<keyof TaskDefinition, keyof RegisterTaskDefinitionCommandInput>> = true;
void readOnlyFieldsAreExact;

/** One service as this adapter needs it: its settings, its primary deployment, and the image that runs. */
interface ServiceView {
  readonly service: Service;
  readonly primary: Deployment | undefined;
}

/**
 * The ECS adapter of the Workload port. A new image is a copy of the service's current task definition
 * with only that container's image changed, registered as a new revision, then UpdateService. Ready is
 * the primary deployment's rollout COMPLETED with every desired task running.
 */
export class EcsWorkload implements Workload {
  private readonly now: () => Date;

  constructor(
    private readonly client: ECSClient,
    private readonly config: EcsWorkloadConfig,
    options: EcsWorkloadOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    if (config.canaryDesiredCount !== undefined && !(Number.isInteger(config.canaryDesiredCount) && config.canaryDesiredCount > 0)) {
      throw new ConfigurationError(`ECS workload: canaryDesiredCount must be a positive integer, got ${config.canaryDesiredCount}`);
    }
  }

  /** Registers the image on a copy of the canary's task definition and scales the canary up (no change when already so). */
  async prepareCanary(image: string): Promise<WorkloadStatus> {
    const [canary, stable] = await this.describeServices(['canary', 'stable']);
    const desiredCount = this.config.canaryDesiredCount ?? stable.service.desiredCount ?? 0;
    if (desiredCount < 1) {
      throw new WorkloadError(`${this.describe('stable')} wants 0 tasks; give the canary a size with canaryDesiredCount or scale stable up first`);
    }
    return this.rollOut('canary', canary, image, desiredCount);
  }

  /** Progress of the canary towards `image`; WorkloadError when its rollout failed or the window has passed. */
  async canaryStatus(image: string, window?: ReadinessWindow): Promise<WorkloadStatus> {
    return this.statusOf('canary', image, window);
  }

  /** Registers the image on a copy of stable's task definition and updates stable, at its current size. */
  async promoteStable(image: string): Promise<WorkloadStatus> {
    const [stable] = await this.describeServices(['stable']);
    return this.rollOut('stable', stable, image, undefined);
  }

  /** Progress of stable towards `image`; WorkloadError when its rollout failed or the window has passed. */
  async stableStatus(image: string, window?: ReadinessWindow): Promise<WorkloadStatus> {
    return this.statusOf('stable', image, window);
  }

  /** UpdateService desiredCount 0 on the canary, unless it already wants none. */
  async scaleDownCanary(): Promise<WorkloadStatus> {
    const [canary] = await this.describeServices(['canary']);
    if ((canary.service.desiredCount ?? 0) !== 0) {
      await this.updateService('canary', { cluster: this.config.cluster, service: this.config.canaryService, desiredCount: 0 });
    }
    const image = await this.imageOf('canary', canary.service.taskDefinition);
    const running = canary.primary?.runningCount ?? 0;
    return { ready: true, detail: `${this.describe('canary')} scaled to 0 tasks (${running} still running until they drain)`, desired: 0, updated: running, available: running, image };
  }

  /** Healthy: wants at least one task, runs all of them, one deployment and no rollout in progress or failed. */
  async isHealthy(role: WorkloadRole): Promise<WorkloadStatus> {
    const [view] = await this.describeServices([role]);
    const image = await this.imageOf(role, view.primary?.taskDefinition ?? view.service.taskDefinition);
    const desired = view.service.desiredCount ?? 0;
    const running = view.service.runningCount ?? 0;
    const deployments = view.service.deployments?.length ?? 0;
    const rollout = view.primary?.rolloutState;
    const ready = desired > 0 && running >= desired && deployments === 1 && (rollout === undefined || rollout === 'COMPLETED');
    const detail = ready
      ? `${this.describe(role)} is healthy: ${running} of ${desired} tasks running ${image}`
      : `${this.describe(role)} is not healthy: ${running} of ${desired} tasks running, ${deployments} deployment(s), primary rollout ${rollout ?? 'unknown'}`;
    return { ready, detail, desired, updated: view.primary?.runningCount ?? 0, available: view.primary?.runningCount ?? 0, image };
  }

  /** UpdateService desiredCount `desired` on stable when it wants fewer; never lowers it. */
  async restoreStableCapacity(desired: number): Promise<WorkloadStatus> {
    const needed = checkCapacityTarget(this.describe('stable'), desired);
    const [stable] = await this.describeServices(['stable']);
    const before = stable.service.desiredCount ?? 0;
    // Read first: a stable that already wants enough (a retried step, or an autoscaler that scaled it out) gets no write.
    if (before >= needed) return this.capacityOf(stable, needed, undefined);
    // UpdateService has no condition: a scale-out landing between the read and this write is undone until the autoscaler's next evaluation.
    await this.updateService('stable', { cluster: this.config.cluster, service: this.config.stableService, desiredCount: needed });
    return this.capacityOf(stable, needed, before);
  }

  /** Running tasks of stable's primary deployment (its current task definition) against `desired`. */
  async stableCapacity(desired: number): Promise<WorkloadStatus> {
    const needed = checkCapacityTarget(this.describe('stable'), desired);
    const [stable] = await this.describeServices(['stable']);
    return this.capacityOf(stable, needed, undefined);
  }

  /** `ECS service <cluster>/<service>`. */
  describe(role: WorkloadRole): string {
    return `ECS service ${shortName(this.config.cluster)}/${shortName(this.serviceOf(role))}`;
  }

  private async rollOut(role: WorkloadRole, view: ServiceView, image: string, desiredCount: number | undefined): Promise<WorkloadStatus> {
    const current = view.service.taskDefinition;
    if (current === undefined) throw new WorkloadError(`${this.describe(role)} has no task definition`);
    const { taskDefinition, tags } = await this.describeTaskDefinition(role, current);
    const container = this.containerOf(role, taskDefinition);
    let taskDefinitionArn = current;
    // A retried step finds its own revision in place: no new revision, no new deployment.
    if (container.image !== image) {
      taskDefinitionArn = await this.registerCopy(role, taskDefinition, tags, container.name ?? '', image);
    }
    const sizeChanges = desiredCount !== undefined && view.service.desiredCount !== desiredCount;
    if (taskDefinitionArn !== current || sizeChanges) {
      await this.updateService(role, {
        cluster: this.config.cluster,
        service: this.serviceOf(role),
        ...(taskDefinitionArn !== current && { taskDefinition: taskDefinitionArn }),
        ...(desiredCount !== undefined && { desiredCount }),
      });
      const desired = desiredCount ?? view.service.desiredCount ?? 0;
      return { ready: false, detail: `${this.describe(role)}: rollout of ${image} to ${desired} tasks started`, desired, updated: 0, available: 0, image };
    }
    return this.statusOf(role, image, undefined);
  }

  /** Stable's capacity as read in `view`; after a raise from `raisedFrom`, the service wants `needed` (the tasks follow). */
  private async capacityOf(view: ServiceView, needed: number, raisedFrom: number | undefined): Promise<WorkloadStatus> {
    const { service, primary } = view;
    const image = await this.imageOf('stable', primary?.taskDefinition ?? service.taskDefinition);
    const note =
      primary === undefined
        ? 'it has no primary deployment yet'
        : primary.rolloutState === 'FAILED'
          ? `its deployment ${primary.id ?? ''} FAILED: ${primary.rolloutStateReason ?? 'no reason given'}`
          : undefined;
    return capacityStatus(this.describe('stable'), 'tasks', needed, {
      desired: raisedFrom === undefined ? (service.desiredCount ?? 0) : needed,
      updated: (primary?.runningCount ?? 0) + (primary?.pendingCount ?? 0),
      available: primary?.runningCount ?? 0,
      image,
      ...(raisedFrom !== undefined && { raisedFrom }),
      ...(note !== undefined && { note }),
    });
  }

  /** Registers a copy of `taskDefinition` in which only the named container's image differs; returns the new ARN. */
  private async registerCopy(role: WorkloadRole, taskDefinition: TaskDefinition, tags: readonly Tag[], containerName: string, image: string): Promise<string> {
    const input = registrationCopy(taskDefinition, tags, containerName, image);
    const out = await this.call(role, 'RegisterTaskDefinition', () => this.client.send(new RegisterTaskDefinitionCommand(input)));
    const arn = out.taskDefinition?.taskDefinitionArn;
    if (arn === undefined) throw new WorkloadError(`RegisterTaskDefinition for ${this.describe(role)} returned no task definition ARN`);
    return arn;
  }

  private async statusOf(role: WorkloadRole, image: string, window: ReadinessWindow | undefined): Promise<WorkloadStatus> {
    const [view] = await this.describeServices([role]);
    const subject = this.describe(role);
    const { primary, service } = view;
    const desired = service.desiredCount ?? 0;
    if (primary === undefined) {
      return enforceDeadline(subject, { ready: false, detail: `${subject} has no primary deployment yet`, desired, updated: 0, available: 0, image: '' }, window, this.now());
    }
    if (primary.rolloutState === 'FAILED') {
      throw new WorkloadError(`${subject}: deployment ${primary.id ?? ''} FAILED: ${primary.rolloutStateReason ?? 'no reason given'}`);
    }
    const running = await this.imageOf(role, primary.taskDefinition);
    if (running !== image) {
      // The circuit breaker rolls a failed deployment back by making the previous revision primary again.
      const failed = (service.deployments ?? []).find((d) => d.rolloutState === 'FAILED');
      if (failed !== undefined) {
        throw new WorkloadError(`${subject}: deployment ${failed.id ?? ''} FAILED and was rolled back to ${running}: ${failed.rolloutStateReason ?? 'no reason given'}`);
      }
      const status = { ready: false, detail: `${subject}: the primary deployment runs ${running}, not ${image}`, desired, updated: 0, available: 0, image: running };
      return enforceDeadline(subject, status, window, this.now());
    }
    const started = (primary.runningCount ?? 0) + (primary.pendingCount ?? 0);
    const available = primary.runningCount ?? 0;
    const others = (service.deployments?.length ?? 1) - 1;
    const completed = primary.rolloutState === undefined ? others === 0 : primary.rolloutState === 'COMPLETED';
    const ready = completed && available === desired && (service.runningCount ?? 0) === desired;
    const detail =
      `${subject}: ${available} of ${desired} tasks running ${image}` +
      (primary.pendingCount ? `, ${primary.pendingCount} pending` : '') +
      (others > 0 ? `, ${others} older deployment(s) draining` : '') +
      `, rollout ${primary.rolloutState ?? (completed ? 'complete' : 'in progress')}`;
    return enforceDeadline(subject, { ready, detail, desired, updated: started, available, image }, window, this.now());
  }

  /** One DescribeServices call for the given roles, in that order. */
  private async describeServices(roles: readonly WorkloadRole[]): Promise<ServiceView[]> {
    const { cluster } = this.config;
    const names = roles.map((role) => this.serviceOf(role));
    const out = await this.call(roles[0] ?? 'canary', 'DescribeServices', () => this.client.send(new DescribeServicesCommand({ cluster, services: names })));
    return roles.map((role) => {
      const name = this.serviceOf(role);
      const service = (out.services ?? []).find((s) => s.serviceName === shortName(name) || s.serviceArn === name);
      if (service === undefined) {
        const failure = (out.failures ?? []).find((f) => f.arn?.endsWith(`/${shortName(name)}`) === true);
        throw new WorkloadError(`${this.describe(role)} not found (${failure?.reason ?? 'not in the DescribeServices answer'})`);
      }
      if (service.status !== undefined && service.status !== 'ACTIVE') {
        throw new WorkloadError(`${this.describe(role)} is ${service.status}, not ACTIVE`);
      }
      return { service, primary: service.deployments?.find((d) => d.status === 'PRIMARY') };
    });
  }

  private async describeTaskDefinition(role: WorkloadRole, arn: string): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] }> {
    const out = await this.call(role, 'DescribeTaskDefinition', () =>
      this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
    );
    if (out.taskDefinition === undefined) throw new WorkloadError(`task definition ${arn} of ${this.describe(role)} not found`);
    return { taskDefinition: out.taskDefinition, tags: out.tags ?? [] };
  }

  private async imageOf(role: WorkloadRole, taskDefinitionArn: string | undefined): Promise<string> {
    if (taskDefinitionArn === undefined) return '';
    const { taskDefinition } = await this.describeTaskDefinition(role, taskDefinitionArn);
    return this.containerOf(role, taskDefinition).image ?? '';
  }

  private containerOf(role: WorkloadRole, taskDefinition: TaskDefinition): ContainerDefinition {
    const containers = taskDefinition.containerDefinitions ?? [];
    const names = containers.map((c) => c.name ?? '').join(', ');
    const { containerName } = this.config;
    if (containerName === undefined) {
      const [only] = containers;
      if (containers.length === 1 && only !== undefined) return only;
      throw new ConfigurationError(`${this.describe(role)}: task definition ${taskDefinition.taskDefinitionArn ?? ''} has ${containers.length} containers (${names}); register containerName`);
    }
    const container = containers.find((c) => c.name === containerName);
    if (container === undefined) {
      throw new ConfigurationError(`${this.describe(role)}: task definition ${taskDefinition.taskDefinitionArn ?? ''} has no container '${containerName}' (it has ${names || 'none'})`);
    }
    return container;
  }

  private async updateService(role: WorkloadRole, input: UpdateServiceCommandInput): Promise<void> {
    await this.call(role, 'UpdateService', () => this.client.send(new UpdateServiceCommand(input)));
  }

  private async call<T>(role: WorkloadRole, operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw translateEcsError(error, `${operation} on ${this.describe(role)}`);
    }
  }

  private serviceOf(role: WorkloadRole): string {
    return role === 'stable' ? this.config.stableService : this.config.canaryService;
  }
}

/** The RegisterTaskDefinition input that copies `taskDefinition` with `containerName`'s image set to `image`, tags kept. */
export function registrationCopy(taskDefinition: TaskDefinition, tags: readonly Tag[], containerName: string, image: string): RegisterTaskDefinitionCommandInput {
  const writable: Record<string, unknown> = { ...taskDefinition };
  for (const field of READ_ONLY_FIELDS) delete writable[field];
  const copy = writable as Omit<TaskDefinition, ReadOnlyField>;
  return {
    ...copy,
    family: taskDefinition.family,
    containerDefinitions: (taskDefinition.containerDefinitions ?? []).map((c) => (c.name === containerName ? { ...c, image } : c)),
    ...(tags.length > 0 && { tags: [...tags] }),
  };
}

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded']);
const TRANSIENT = new Set(['ServerException', 'InternalFailure', 'ServiceUnavailable', 'RequestTimeout', 'TimeoutError', ...NETWORK_ERROR_CODES]);
const NOT_AUTHORIZED = new Set(['AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredTokenException', 'ExpiredToken', 'SignatureDoesNotMatch']);
const REFUSED = new Set([
  'ClientException',
  'InvalidParameterException',
  'ClusterNotFoundException',
  'ServiceNotFoundException',
  'ServiceNotActiveException',
  'PlatformUnknownException',
  'PlatformTaskDefinitionIncompatibilityException',
  'UnsupportedFeatureException',
  'LimitExceededException',
  'NamespaceNotFoundException',
  'ValidationException',
]);

/**
 * The domain error for an ECS SDK error, `operation` saying what was attempted on which service.
 * Anything not recognised (and any domain error) comes back as it was, for the caller to rethrow.
 */
export function translateEcsError(error: unknown, operation: string): unknown {
  if (error instanceof CanaryError || !(error instanceof Error)) return error;
  const codes = [error.name, (error as { code?: unknown }).code].filter((c): c is string => typeof c === 'string');
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = `${operation} failed: ${codes[0] ?? 'Error'}: ${error.message}`;
  const has = (set: ReadonlySet<string>) => codes.some((c) => set.has(c));
  if (has(THROTTLING) || status === 429) return new ThrottlingError(message, { cause: error });
  if (has(NOT_AUTHORIZED)) return new ConfigurationError(`${message}; the orchestrator's role needs ecs:DescribeServices, ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition, ecs:UpdateService and iam:PassRole on the task roles`, { cause: error });
  if (has(REFUSED)) return new WorkloadError(message, { cause: error });
  if (has(TRANSIENT) || (status !== undefined && status >= 500)) return new TransientError(message, { cause: error });
  return error;
}

/** The last part of a name-or-ARN: `arn:…:service/shop/payments` → `payments`. */
function shortName(nameOrArn: string): string {
  return nameOrArn.split('/').pop() ?? nameOrArn;
}
