import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ECSServiceException,
  RegisterTaskDefinitionCommand,
  ServiceNotFoundException,
  UpdateServiceCommand,
  type Deployment,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EcsWorkload, type EcsWorkloadConfig } from '../../lambdas/adapters/ecs/ecs-workload';
import { ConfigurationError, ThrottlingError, TransientError, WorkloadError } from '../../lambdas/domain/errors';

const ACCOUNT = 'arn:aws:ecs:eu-west-1:123456789012';
const V1 = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:v1';
const V2 = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:v2';
const TD_CANARY_7 = `${ACCOUNT}:task-definition/payments-canary:7`;
const TD_CANARY_8 = `${ACCOUNT}:task-definition/payments-canary:8`;
const CONFIG: EcsWorkloadConfig = { cluster: 'shop', stableService: 'payments-stable', canaryService: 'payments-canary', containerName: 'app' };
const NOW = new Date('2024-03-05T10:30:00.000Z');

/** A task definition as DescribeTaskDefinition returns it: read-only fields included. */
function taskDefinition(arn: string, image: string): TaskDefinition {
  return {
    taskDefinitionArn: arn,
    family: 'payments-canary',
    revision: Number(arn.split(':').pop()),
    status: 'ACTIVE',
    taskRoleArn: 'arn:aws:iam::123456789012:role/payments-task',
    executionRoleArn: 'arn:aws:iam::123456789012:role/payments-execution',
    networkMode: 'awsvpc',
    cpu: '512',
    memory: '1024',
    requiresCompatibilities: ['FARGATE'],
    compatibilities: ['EC2', 'FARGATE'],
    requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.docker-remote-api.1.18' }],
    registeredAt: new Date('2024-01-01T00:00:00Z'),
    registeredBy: 'arn:aws:sts::123456789012:assumed-role/deployer/ci',
    runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
    volumes: [{ name: 'tmp' }],
    containerDefinitions: [
      { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable', essential: true, firelensConfiguration: { type: 'fluentbit' } },
      {
        name: 'app',
        image,
        essential: true,
        portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
        environment: [{ name: 'LOG_LEVEL', value: 'info' }],
        secrets: [{ name: 'DB_PASSWORD', valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf' }],
        healthCheck: { command: ['CMD-SHELL', 'curl -f http://localhost:8080/health || exit 1'], interval: 10 },
      },
    ],
  };
}

function deployment(overrides: Partial<Deployment>): Deployment {
  return { id: 'ecs-svc/1', status: 'PRIMARY', taskDefinition: TD_CANARY_7, desiredCount: 3, runningCount: 3, pendingCount: 0, rolloutState: 'COMPLETED', ...overrides };
}

function service(name: string, overrides: Partial<Service>): Service {
  return {
    serviceName: name,
    serviceArn: `${ACCOUNT}:service/shop/${name}`,
    status: 'ACTIVE',
    taskDefinition: TD_CANARY_7,
    desiredCount: 3,
    runningCount: 3,
    deployments: [deployment({})],
    ...overrides,
  };
}

const ecs = mockClient(ECSClient);

beforeEach(() => {
  ecs.reset();
  ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TD_CANARY_7 }).resolves({ taskDefinition: taskDefinition(TD_CANARY_7, V1), tags: [{ key: 'team', value: 'payments' }] });
  ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TD_CANARY_8 }).resolves({ taskDefinition: taskDefinition(TD_CANARY_8, V2), tags: [{ key: 'team', value: 'payments' }] });
  ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD_CANARY_8 } });
  ecs.on(UpdateServiceCommand).resolves({});
});

function workload(config: EcsWorkloadConfig = CONFIG): EcsWorkload {
  return new EcsWorkload(new ECSClient({}), config, { now: () => NOW });
}

function describes(...services: Service[]) {
  ecs.on(DescribeServicesCommand).resolves({ services, failures: [] });
}

describe('EcsWorkload.prepareCanary', () => {
  it('registers a copy of the task definition in which only the app image differs: read-only fields dropped, tags kept', async () => {
    // Prepare
    describes(service('payments-canary', { desiredCount: 0, runningCount: 0, deployments: [deployment({ desiredCount: 0, runningCount: 0 })] }), service('payments-stable', { desiredCount: 4 }));

    // Act
    await workload().prepareCanary(V2);

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 1);
    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    const { taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt, registeredBy, ...writable } = taskDefinition(TD_CANARY_7, V1);
    expect(input).toStrictEqual({
      ...writable,
      containerDefinitions: [writable.containerDefinitions?.[0], { ...writable.containerDefinitions?.[1], image: V2 }],
      tags: [{ key: 'team', value: 'payments' }],
    });
  });

  it("updates the canary service to the new revision at stable's desired count, with exactly that input", async () => {
    // Prepare
    describes(service('payments-canary', { desiredCount: 0, runningCount: 0 }), service('payments-stable', { desiredCount: 4 }));

    // Act
    const status = await workload().prepareCanary(V2);

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toStrictEqual({ cluster: 'shop', service: 'payments-canary', taskDefinition: TD_CANARY_8, desiredCount: 4 });
    expect(status).toEqual({ ready: false, detail: `ECS service shop/payments-canary: rollout of ${V2} to 4 tasks started`, desired: 4, updated: 0, available: 0, image: V2 });
  });

  it('uses the registered canaryDesiredCount instead of stable size', async () => {
    // Prepare
    describes(service('payments-canary', { desiredCount: 0 }), service('payments-stable', { desiredCount: 12 }));

    // Act
    await workload({ ...CONFIG, canaryDesiredCount: 2 }).prepareCanary(V2);

    // Assess
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toMatchObject({ desiredCount: 2 });
  });

  it('registers nothing and updates nothing when a retried step finds its own rollout in place', async () => {
    // Prepare
    describes(
      service('payments-canary', { taskDefinition: TD_CANARY_8, desiredCount: 4, runningCount: 4, deployments: [deployment({ taskDefinition: TD_CANARY_8, desiredCount: 4, runningCount: 4 })] }),
      service('payments-stable', { desiredCount: 4 }),
    );

    // Act
    const status = await workload().prepareCanary(V2);

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
    expect(status.ready).toBe(true);
  });

  it('refuses to guess the container when the task definition has several and none is registered', async () => {
    // Prepare
    describes(service('payments-canary', {}), service('payments-stable', {}));

    // Act
    const error = await workload({ ...CONFIG, containerName: undefined }).prepareCanary(V2).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(`ECS service shop/payments-canary: task definition ${TD_CANARY_7} has 2 containers (log-router, app); register containerName`);
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });
});

describe('EcsWorkload.canaryStatus', () => {
  const rolling = (primary: Partial<Deployment>, others: Deployment[] = []) =>
    describes(service('payments-canary', { taskDefinition: TD_CANARY_8, desiredCount: 3, runningCount: primary.runningCount ?? 3, deployments: [deployment({ taskDefinition: TD_CANARY_8, ...primary }), ...others] }));

  it('is not ready while the primary deployment is IN_PROGRESS, with the counts', async () => {
    // Prepare
    rolling({ rolloutState: 'IN_PROGRESS', runningCount: 1, pendingCount: 2 }, [deployment({ id: 'ecs-svc/0', status: 'ACTIVE', runningCount: 2 })]);

    // Act
    const status = await workload().canaryStatus(V2);

    // Assess
    expect(status).toEqual({
      ready: false,
      detail: `ECS service shop/payments-canary: 1 of 3 tasks running ${V2}, 2 pending, 1 older deployment(s) draining, rollout IN_PROGRESS`,
      desired: 3,
      updated: 3,
      available: 1,
      image: V2,
    });
  });

  it('is ready when the primary rollout is COMPLETED and every desired task runs', async () => {
    // Prepare
    rolling({ rolloutState: 'COMPLETED', runningCount: 3 });

    // Act
    const status = await workload().canaryStatus(V2);

    // Assess
    expect(status).toMatchObject({ ready: true, desired: 3, updated: 3, available: 3, image: V2 });
  });

  it('is not ready when COMPLETED but fewer tasks run than desired', async () => {
    // Prepare
    rolling({ rolloutState: 'COMPLETED', runningCount: 2 });

    // Act
    const status = await workload().canaryStatus(V2);

    // Assess
    expect(status.ready).toBe(false);
  });

  it('throws WorkloadError when the rollout FAILED, or when the circuit breaker rolled it back', async () => {
    // Prepare
    rolling({ rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' });
    const failed = await workload().canaryStatus(V2).catch((e: unknown) => e);
    describes(
      service('payments-canary', {
        deployments: [deployment({ id: 'ecs-svc/3', taskDefinition: TD_CANARY_7, rolloutState: 'IN_PROGRESS' }), deployment({ id: 'ecs-svc/2', status: 'ACTIVE', taskDefinition: TD_CANARY_8, rolloutState: 'FAILED', rolloutStateReason: 'tasks failed to start' })],
      }),
    );

    // Act
    const rolledBack = await workload().canaryStatus(V2).catch((e: unknown) => e);

    // Assess
    expect(failed).toBeInstanceOf(WorkloadError);
    expect((failed as Error).message).toBe('ECS service shop/payments-canary: deployment ecs-svc/1 FAILED: ECS deployment circuit breaker: tasks failed to start.');
    expect(rolledBack).toBeInstanceOf(WorkloadError);
    expect((rolledBack as Error).message).toBe(`ECS service shop/payments-canary: deployment ecs-svc/2 FAILED and was rolled back to ${V1}: tasks failed to start`);
  });

  it('throws WorkloadError once the deadline has passed and the canary is still not ready', async () => {
    // Prepare
    rolling({ rolloutState: 'IN_PROGRESS', runningCount: 0, pendingCount: 3 });

    // Act
    const inTime = await workload().canaryStatus(V2, { startedAt: '2024-03-05T10:20:00.000Z', deadline: '2024-03-05T10:35:00.000Z' });
    const late = await workload().canaryStatus(V2, { startedAt: '2024-03-05T10:20:00.000Z', deadline: '2024-03-05T10:29:59.000Z' }).catch((e: unknown) => e);

    // Assess
    expect(inTime.ready).toBe(false);
    expect(late).toBeInstanceOf(WorkloadError);
    expect((late as Error).message).toBe(
      `ECS service shop/payments-canary is not ready 600 s after its rollout started (deadline 2024-03-05T10:29:59.000Z): ECS service shop/payments-canary: 0 of 3 tasks running ${V2}, 3 pending, rollout IN_PROGRESS`,
    );
  });
});

describe('EcsWorkload.scaleDownCanary and promoteStable', () => {
  it('scales the canary to 0 with exactly UpdateService desiredCount 0, and not again when already 0', async () => {
    // Prepare
    describes(service('payments-canary', { desiredCount: 3 }));

    // Act
    const status = await workload().scaleDownCanary();
    describes(service('payments-canary', { desiredCount: 0 }));
    await workload().scaleDownCanary();

    // Assess
    expect(status).toMatchObject({ ready: true, desired: 0 });
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toStrictEqual({ cluster: 'shop', service: 'payments-canary', desiredCount: 0 });
  });

  it('promotes stable to a new revision at its own size: no desiredCount sent', async () => {
    // Prepare
    describes(service('payments-stable', { desiredCount: 6 }));

    // Act
    await workload().promoteStable(V2);

    // Assess
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toStrictEqual({ cluster: 'shop', service: 'payments-stable', taskDefinition: TD_CANARY_8 });
  });

  it('calls stable healthy only with one completed deployment running every desired task', async () => {
    // Prepare
    describes(service('payments-stable', { desiredCount: 3, runningCount: 3 }));

    // Act
    const healthy = await workload().isHealthy('stable');
    describes(service('payments-stable', { desiredCount: 3, runningCount: 2 }));
    const short = await workload().isHealthy('stable');

    // Assess
    expect(healthy).toMatchObject({ ready: true, desired: 3, image: V1 });
    expect(short.ready).toBe(false);
  });
});

describe('EcsWorkload errors', () => {
  it('translates throttling, missing services, access denied and server faults, and rethrows the unknown', async () => {
    // Prepare
    const sdkError = (name: string, status: number) =>
      new ECSServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} happened` });
    const odd = new Error('odd');
    ecs
      .on(DescribeServicesCommand)
      .rejectsOnce(sdkError('ThrottlingException', 400))
      .rejectsOnce(new ServiceNotFoundException({ $metadata: {}, message: 'Service not found.' }))
      .rejectsOnce(sdkError('AccessDeniedException', 400))
      .rejectsOnce(sdkError('ServerException', 500))
      .rejectsOnce(odd)
      .resolvesOnce({ services: [], failures: [{ arn: `${ACCOUNT}:service/shop/payments-canary`, reason: 'MISSING' }] });

    // Act
    const outcomes: unknown[] = [];
    for (let i = 0; i < 6; i += 1) outcomes.push(await workload().scaleDownCanary().catch((e: unknown) => e));
    const [throttled, notFound, denied, server, unknown, missing] = outcomes;

    // Assess
    expect(throttled).toBeInstanceOf(ThrottlingError);
    expect((throttled as Error).message).toBe('DescribeServices on ECS service shop/payments-canary failed: ThrottlingException: ThrottlingException happened');
    expect(notFound).toBeInstanceOf(WorkloadError);
    expect(denied).toBeInstanceOf(ConfigurationError);
    expect((denied as Error).message).toMatch(/needs ecs:DescribeServices, ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition, ecs:UpdateService and iam:PassRole/);
    expect(server).toBeInstanceOf(TransientError);
    expect(unknown).toBe(odd);
    expect(missing).toBeInstanceOf(WorkloadError);
    expect((missing as Error).message).toBe('ECS service shop/payments-canary not found (MISSING)');
  });
});

describe('EcsWorkload.restoreStableCapacity and stableCapacity', () => {
  const TD_STABLE_5 = `${ACCOUNT}:task-definition/payments-stable:5`;
  const stable = (desiredCount: number, primary: Partial<Deployment>, others: Deployment[] = []) =>
    service('payments-stable', {
      taskDefinition: TD_STABLE_5,
      desiredCount,
      runningCount: (primary.runningCount ?? desiredCount) + others.reduce((sum, d) => sum + (d.runningCount ?? 0), 0),
      deployments: [deployment({ taskDefinition: TD_STABLE_5, desiredCount, runningCount: desiredCount, ...primary }), ...others],
    });

  beforeEach(() => {
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TD_STABLE_5 }).resolves({ taskDefinition: taskDefinition(TD_STABLE_5, V1), tags: [] });
  });

  it('raises a stable the autoscaler scaled in back to the recorded count, with exactly that UpdateService input', async () => {
    // Prepare
    describes(stable(2, { runningCount: 2 }));

    // Act
    const status = await workload().restoreStableCapacity(6);

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toStrictEqual({ cluster: 'shop', service: 'payments-stable', desiredCount: 6 });
    expect(status).toEqual({
      ready: false,
      detail: 'ECS service shop/payments-stable: 2 of 6 tasks available (scaled up from 2 for the rollback)',
      desired: 6,
      updated: 2,
      available: 2,
      image: V1,
    });
  });

  it('leaves a stable that already wants as many or more alone: no UpdateService, also when the step is retried after a raise', async () => {
    // Prepare
    describes(stable(8, { runningCount: 8 }));

    // Act
    const larger = await workload().restoreStableCapacity(6);
    describes(stable(6, { runningCount: 4, pendingCount: 2 }));
    const retried = await workload().restoreStableCapacity(6);

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
    expect(larger).toMatchObject({ ready: true, desired: 8, available: 8, detail: 'ECS service shop/payments-stable: 8 of 8 tasks available (6 needed for the rollback)' });
    expect(retried).toMatchObject({ ready: false, desired: 6, updated: 6, available: 4 });
  });

  it('counts only running tasks of the primary deployment, and is ready once they reach the recorded count', async () => {
    // Prepare
    const older = deployment({ id: 'ecs-svc/0', status: 'ACTIVE', taskDefinition: TD_CANARY_7, desiredCount: 0, runningCount: 3, rolloutState: 'COMPLETED' });

    // Act
    describes(stable(6, { runningCount: 4, pendingCount: 2, rolloutState: 'IN_PROGRESS' }, [older]));
    const growing = await workload().stableCapacity(6);
    describes(stable(6, { runningCount: 6 }));
    const ready = await workload().stableCapacity(6);

    // Assess
    expect(growing).toEqual({ ready: false, detail: 'ECS service shop/payments-stable: 4 of 6 tasks available (6 needed for the rollback)', desired: 6, updated: 6, available: 4, image: V1 });
    expect(ready).toMatchObject({ ready: true, desired: 6, available: 6 });
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it('is not ready when stable wants fewer than the recorded count again, even while the tasks still run', async () => {
    // Prepare
    describes(stable(3, { runningCount: 6 }));

    // Act
    const status = await workload().stableCapacity(6);

    // Assess
    expect(status.ready).toBe(false);
    expect(status.detail).toBe('ECS service shop/payments-stable: wants only 3 of the 6 tasks needed for the rollback (6 available)');
  });

  it('says when the primary deployment FAILED, so a wait that never ends explains itself', async () => {
    // Prepare
    describes(stable(6, { runningCount: 2, rolloutState: 'FAILED', rolloutStateReason: 'tasks failed to start' }));

    // Act
    const status = await workload().stableCapacity(6);

    // Assess
    expect(status).toMatchObject({ ready: false, available: 2 });
    expect(status.detail).toBe('ECS service shop/payments-stable: 2 of 6 tasks available (6 needed for the rollback); its deployment ecs-svc/1 FAILED: tasks failed to start');
  });

  it('translates throttling of the read and of the write, and refuses a recorded count that is not one', async () => {
    // Prepare
    const throttled = () => new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
    ecs.on(DescribeServicesCommand).rejectsOnce(throttled()).resolves({ services: [stable(2, { runningCount: 2 })], failures: [] });
    ecs.on(UpdateServiceCommand).rejectsOnce(throttled());

    // Act
    const read = await workload().stableCapacity(6).catch((e: unknown) => e);
    const write = await workload().restoreStableCapacity(6).catch((e: unknown) => e);
    const fraction = await workload().restoreStableCapacity(2.5).catch((e: unknown) => e);

    // Assess
    expect(read).toBeInstanceOf(ThrottlingError);
    expect((read as Error).message).toBe('DescribeServices on ECS service shop/payments-stable failed: ThrottlingException: Rate exceeded');
    expect(write).toBeInstanceOf(ThrottlingError);
    expect((write as Error).message).toBe('UpdateService on ECS service shop/payments-stable failed: ThrottlingException: Rate exceeded');
    expect(fraction).toBeInstanceOf(WorkloadError);
    expect((fraction as Error).message).toBe("ECS service shop/payments-stable: desired must be a non-negative integer (stable's desired count before the rollout), got 2.5");
    expect(ecs).toHaveReceivedCommandTimes(DescribeServicesCommand, 2);
  });
});
