import { DeploymentWorkload, type DeploymentWorkloadConfig } from '../../lambdas/adapters/k8s/deployment-workload';
import { KubeClient, staticToken } from '../../lambdas/adapters/k8s/kube-client';
import { ThrottlingError, TransientError, WorkloadError } from '../../lambdas/domain/errors';
import type { WorkloadStatus } from '../../lambdas/ports/workload';
import { startKubeStandIn, type JsonObject, type KubeStandIn } from '../../local/k8s-standin';

// The Deployment workload against the Kubernetes API stand-in, whose Deployment controller rolls new
// pods out over READY_DELAY_MS and never makes pods of a broken image available.

const NS = 'payments';
const READY_DELAY_MS = 200;
const PROGRESS_DEADLINE_MS = 1200;
const V1 = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:v1';
const V2 = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:v2';
let standin: KubeStandIn;
let client: KubeClient;

beforeAll(async () => {
  standin = await startKubeStandIn({ readyDelayMs: READY_DELAY_MS, progressDeadlineMs: PROGRESS_DEADLINE_MS });
  client = new KubeClient({ endpoint: standin.endpoint, caPem: standin.caPem, token: staticToken(standin.token ?? '') });
});

afterAll(async () => {
  await client.close();
  await standin.stop();
});

function deployment(name: string, replicas: number, image: string): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'log-router', image: 'fluent-bit:3' },
            { name: 'app', image, ports: [{ containerPort: 8080 }] },
          ],
        },
      },
    },
  };
}

/** A stable with 3 replicas of v1 and a canary scaled to zero, named after the test. */
function seed(prefix: string): DeploymentWorkloadConfig {
  standin.put(deployment(`${prefix}-stable`, 3, V1));
  standin.put(deployment(`${prefix}-canary`, 0, V1));
  return { namespace: NS, stableDeployment: `${prefix}-stable`, canaryDeployment: `${prefix}-canary`, containerName: 'app' };
}

function specOf(name: string): { replicas: number; template: { spec: { containers: { name: string; image: string }[] } } } {
  return standin.object('Deployment', NS, name)?.spec as never;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` the way the workflow does (with a Wait between), until ready or `limitMs`; returns every status seen. */
async function pollUntilReady(check: () => Promise<WorkloadStatus>, limitMs = 3000): Promise<WorkloadStatus[]> {
  const seen: WorkloadStatus[] = [];
  const until = Date.now() + limitMs;
  for (;;) {
    const status = await check();
    seen.push(status);
    if (status.ready || Date.now() > until) return seen;
    await sleep(40);
  }
}

describe('DeploymentWorkload', () => {
  it("prepares the canary: patches only the app container's image and scales it to stable's replicas, without touching stable", async () => {
    // Prepare
    const workload = new DeploymentWorkload(client, seed('prepare'));
    const stableBefore = standin.object('Deployment', NS, 'prepare-stable');

    // Act
    const status = await workload.prepareCanary(V2);

    // Assess
    expect(status).toMatchObject({ ready: false, desired: 3, image: V2 });
    expect(specOf('prepare-canary').replicas).toBe(3);
    expect(specOf('prepare-canary').template.spec.containers).toEqual([
      { name: 'log-router', image: 'fluent-bit:3' },
      { name: 'app', image: V2, ports: [{ containerPort: 8080 }] },
    ]);
    expect(standin.object('Deployment', NS, 'prepare-stable')).toEqual(stableBefore);
    const patch = standin.requests().find((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/prepare-canary'))?.patch;
    expect(patch).toEqual([
      { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'app' },
      { op: 'add', path: '/spec/template/spec/containers/1/image', value: V2 },
      { op: 'add', path: '/spec/replicas', value: 3 },
    ]);
  });

  it('reports readiness only once every replica is updated and available, and a repeated prepare sends no patch', async () => {
    // Prepare
    const workload = new DeploymentWorkload(client, seed('progress'));

    // Act
    const started = await workload.prepareCanary(V2);
    const seen = [started, ...(await pollUntilReady(() => workload.canaryStatus(V2)))];
    const again = await workload.prepareCanary(V2);

    // Assess
    const last = seen[seen.length - 1];
    expect(started).toMatchObject({ ready: false, updated: 0, available: 0 });
    expect(started.detail).toBe('Deployment payments/progress-canary: the controller has not yet seen generation 2');
    expect(last).toMatchObject({ ready: true, desired: 3, updated: 3, available: 3, image: V2 });
    expect(last?.detail).toBe('Deployment payments/progress-canary is ready 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:v2: 3 of 3 replicas updated, 3 available');
    expect(seen.slice(0, -1).every((s) => !s.ready && s.available < 3)).toBe(true);
    expect(again.ready).toBe(true);
    expect(standin.requests().filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/progress-canary'))).toHaveLength(1);
  });

  it('scales the canary to zero and leaves stable as it was', async () => {
    // Prepare
    const workload = new DeploymentWorkload(client, seed('scale'));
    await workload.prepareCanary(V2);
    const stableBefore = standin.object('Deployment', NS, 'scale-stable');

    // Act
    const status = await workload.scaleDownCanary();

    // Assess
    expect(status).toMatchObject({ ready: true, desired: 0 });
    expect(specOf('scale-canary').replicas).toBe(0);
    expect(standin.object('Deployment', NS, 'scale-stable')).toEqual(stableBefore);
    expect((await workload.isHealthy('canary')).ready).toBe(false);
  });

  it('promotes stable to the new image at its own size and waits for it like the canary', async () => {
    // Prepare
    const workload = new DeploymentWorkload(client, seed('promote'));

    // Act
    const started = await workload.promoteStable(V2);
    const seen = await pollUntilReady(() => workload.stableStatus(V2));

    // Assess
    expect(started).toMatchObject({ ready: false, desired: 3 });
    expect(seen[seen.length - 1]).toMatchObject({ ready: true, updated: 3, available: 3 });
    expect(specOf('promote-stable').replicas).toBe(3);
    expect(specOf('promote-canary')).toMatchObject({ replicas: 0 });
    expect((await workload.isHealthy('stable')).ready).toBe(true);
  });

  it('never reports a broken image ready: past the window a WorkloadError, past the progress deadline a WorkloadError that says so', async () => {
    // Prepare
    const broken = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:crashloop';
    standin.breakImage(broken);
    const workload = new DeploymentWorkload(client, seed('broken'));
    const startedAt = new Date().toISOString();
    await workload.prepareCanary(broken);
    await sleep(READY_DELAY_MS + 100);

    // Act
    const status = await workload.canaryStatus(broken, { startedAt, deadline: new Date(Date.now() + 60_000).toISOString() });
    const late = await workload.canaryStatus(broken, { startedAt, deadline: new Date(Date.now() - 1).toISOString() }).catch((e: unknown) => e);
    await sleep(PROGRESS_DEADLINE_MS);
    const stuck = await workload.canaryStatus(broken).catch((e: unknown) => e);

    // Assess
    expect(status).toMatchObject({ ready: false, desired: 3, updated: 3, available: 0 });
    expect(late).toBeInstanceOf(WorkloadError);
    expect((late as Error).message).toMatch(/^Deployment payments\/broken-canary is not ready \d+ s after its rollout started .*: .*0 available/);
    expect(stuck).toBeInstanceOf(WorkloadError);
    expect((stuck as Error).message).toMatch(/exceeded its progress deadline: ReplicaSet "broken-canary-new" has timed out progressing/);
  });

  it('refuses to patch a container list reordered since it was read: TransientError, nothing changed', async () => {
    // Prepare
    const workload = new DeploymentWorkload(client, seed('reordered'));
    standin.beforeNextPatch('Deployment', NS, 'reordered-canary', (d) => {
      (d.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers.reverse();
    });

    // Act
    const error = await workload.prepareCanary(V2).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/Deployment payments\/reordered-canary changed since it was read/);
    expect(specOf('reordered-canary').replicas).toBe(0);
    expect(specOf('reordered-canary').template.spec.containers.map((c) => c.image)).toEqual([V1, 'fluent-bit:3']);
  });

  it('names a missing Deployment or container', async () => {
    // Prepare
    const config = seed('names');

    // Act
    const missing = await new DeploymentWorkload(client, { ...config, canaryDeployment: 'absent' }).prepareCanary(V2).catch((e: unknown) => e);
    const container = await new DeploymentWorkload(client, { ...config, containerName: 'web' }).prepareCanary(V2).catch((e: unknown) => e);

    // Assess
    expect(missing).toBeInstanceOf(WorkloadError);
    expect((missing as Error).message).toContain('deployments.apps "absent" not found');
    expect((container as Error).message).toBe("Deployment payments/names-canary has no container 'web' (it has log-router, app)");
  });
});

describe('DeploymentWorkload stable capacity for a rollback', () => {
  /** A stable at `replicas` replicas of v1 (settled) and a canary scaled to zero, named after the test. */
  function sized(prefix: string, replicas: number): { workload: DeploymentWorkload; stable: string } {
    standin.put(deployment(`${prefix}-stable`, replicas, V1));
    standin.put(deployment(`${prefix}-canary`, 0, V1));
    const workload = new DeploymentWorkload(client, { namespace: NS, stableDeployment: `${prefix}-stable`, canaryDeployment: `${prefix}-canary`, containerName: 'app' });
    return { workload, stable: `${prefix}-stable` };
  }

  const patchesOf = (name: string) => standin.requests().filter((r) => r.method === 'PATCH' && r.path.endsWith(`/deployments/${name}`));

  it('raises a Deployment at 1 replica to 3 with one guarded patch, and reports readiness only once 3 are available', async () => {
    // Prepare
    const { workload, stable } = sized('raise', 1);

    // Act
    const started = await workload.restoreStableCapacity(3);
    const seen = await pollUntilReady(() => workload.stableCapacity(3));
    const again = await workload.restoreStableCapacity(3);

    // Assess
    expect(specOf(stable).replicas).toBe(3);
    expect(patchesOf(stable).map((r) => r.patch)).toEqual([
      [
        { op: 'test', path: '/metadata/name', value: stable },
        { op: 'test', path: '/spec/replicas', value: 1 },
        { op: 'add', path: '/spec/replicas', value: 3 },
      ],
    ]);
    expect(started).toEqual({
      ready: false,
      detail: `Deployment payments/${stable}: 1 of 3 replicas available (scaled up from 1 for the rollback); the controller has not yet seen generation 2`,
      desired: 3,
      updated: 1,
      available: 1,
      image: V1,
    });
    const last = seen[seen.length - 1];
    expect(last).toEqual({ ready: true, detail: `Deployment payments/${stable}: 3 of 3 replicas available (3 needed for the rollback)`, desired: 3, updated: 3, available: 3, image: V1 });
    expect(seen.slice(0, -1).every((s) => !s.ready && s.available < 3)).toBe(true);
    expect(again.ready).toBe(true);
  });

  it('leaves a Deployment at 5 replicas at 5: no patch, and ready at once', async () => {
    // Prepare
    const { workload, stable } = sized('larger', 5);
    const before = standin.object('Deployment', NS, stable);

    // Act
    const status = await workload.restoreStableCapacity(3);

    // Assess
    expect(patchesOf(stable)).toHaveLength(0);
    expect(standin.object('Deployment', NS, stable)).toEqual(before);
    expect(status).toEqual({ ready: true, detail: `Deployment payments/${stable}: 5 of 5 replicas available (3 needed for the rollback)`, desired: 5, updated: 5, available: 5, image: V1 });
  });

  it('counts only available replicas of the current pod template, not the old ones that still serve', async () => {
    // Prepare
    const broken = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:oom';
    standin.breakImage(broken);
    const { workload, stable } = sized('template', 3);
    await workload.promoteStable(broken);
    await sleep(READY_DELAY_MS);

    // Act
    const status = await workload.stableCapacity(3);

    // Assess
    const counts = standin.object('Deployment', NS, stable)?.status as { replicas: number; updatedReplicas: number; availableReplicas: number } | undefined;
    expect(counts).toMatchObject({ replicas: 4, updatedReplicas: 1, availableReplicas: 3 });
    expect(status).toEqual({ ready: false, detail: `Deployment payments/${stable}: 0 of 3 replicas available (3 needed for the rollback)`, desired: 3, updated: 1, available: 0, image: broken });
  });

  it('is not ready when stable wants fewer replicas than recorded, even while they still run', async () => {
    // Prepare
    const { workload, stable } = sized('lowered', 2);

    // Act
    const status = await workload.stableCapacity(3);

    // Assess
    expect(status).toMatchObject({ ready: false, desired: 2, available: 2 });
    expect(status.detail).toBe(`Deployment payments/${stable}: wants only 2 of the 3 replicas needed for the rollback (2 available)`);
  });

  it('never lowers a count an autoscaler raised since the read: the guarded patch fails with TransientError and 8 stays', async () => {
    // Prepare
    const { workload, stable } = sized('race', 2);
    standin.beforeNextPatch('Deployment', NS, stable, (d) => {
      (d.spec as { replicas: number }).replicas = 8;
    });

    // Act
    const error = await workload.restoreStableCapacity(6).catch((e: unknown) => e);
    const retried = await workload.restoreStableCapacity(6);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(new RegExp(`Deployment payments/${stable} changed since it was read`));
    expect(specOf(stable).replicas).toBe(8);
    expect(retried.desired).toBe(8);
    expect(patchesOf(stable)).toHaveLength(1);
  });

  it('names a missing Deployment, translates throttling, and refuses a recorded count that is not one', async () => {
    // Prepare
    const { workload } = sized('errors', 1);
    const missing = new DeploymentWorkload(client, { namespace: NS, stableDeployment: 'absent', canaryDeployment: 'errors-canary' });

    // Act
    const restoreMissing = await missing.restoreStableCapacity(3).catch((e: unknown) => e);
    const capacityMissing = await missing.stableCapacity(3).catch((e: unknown) => e);
    standin.failNext(429);
    const throttled = await workload.restoreStableCapacity(3).catch((e: unknown) => e);
    const negative = await workload.restoreStableCapacity(-1).catch((e: unknown) => e);

    // Assess
    for (const error of [restoreMissing, capacityMissing]) {
      expect(error).toBeInstanceOf(WorkloadError);
      expect((error as Error).message).toContain('deployments.apps "absent" not found');
    }
    expect(throttled).toBeInstanceOf(ThrottlingError);
    expect(negative).toBeInstanceOf(WorkloadError);
    expect((negative as Error).message).toBe("Deployment payments/errors-stable: desired must be a non-negative integer (stable's desired count before the rollout), got -1");
    expect(specOf('errors-stable').replicas).toBe(1);
  });
});
