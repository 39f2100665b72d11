import { FAST_PLAN, IMAGE, WorkflowEnv } from '../support/workflow-env';
import { HEALTHY, SyntheticTraffic } from '../support/synthetic-traffic';
import { startKubeStandIn, type JsonObject, type KubeStandIn } from '../../local/k8s-standin';

// The workflow on the EKS path: a Gateway API HTTPRoute shifts traffic between two Services, two Deployments run the
// versions. The handlers reach the Kubernetes API stand-in as they reach an EKS cluster (DescribeCluster for endpoint
// and CA, an EKS token); metrics come from a real Prometheus fed by traffic that follows the HTTPRoute's weights.

jest.setTimeout(120_000);

const CLUSTER = 'prod';
const NS = 'payments';
const V1 = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.0';
const V2 = IMAGE;

let env: WorkflowEnv;
let kube: KubeStandIn;
const traffic: SyntheticTraffic[] = [];

beforeAll(async () => {
  kube = await startKubeStandIn({ auth: { eks: { clusterName: CLUSTER } }, readyDelayMs: 500, progressDeadlineMs: 2000 });
  Object.assign(process.env, kube.env);
  env = await WorkflowEnv.start();
});

afterAll(async () => {
  for (const t of traffic) t.stop();
  await Promise.allSettled([env.stop(), kube.stop()]);
});

const deployment = (name: string, replicas: number, image: string): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } } },
});

type Route = { spec: { rules: { backendRefs: { name: string; weight?: number }[] }[] } };
type Spec = { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };

/** Seeds the route and Deployments of a service, registers it, and starts traffic that follows the route. */
async function eksService(name: string) {
  kube.put({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: { parentRefs: [{ name: 'web' }], rules: [{ backendRefs: [{ name: `${name}-stable`, port: 80, weight: 100 }, { name: `${name}-canary`, port: 80, weight: 0 }] }] },
  });
  kube.put(deployment(`${name}-stable`, 3, V1));
  kube.put(deployment(`${name}-canary`, 0, V1));
  await env.runLog.putServiceConfig(name, {
    name,
    traffic: { kind: 'gateway-api', cluster: CLUSTER, namespace: NS, httpRoute: name, stableService: `${name}-stable`, canaryService: `${name}-canary` },
    metrics: { kind: 'prometheus', url: env.prometheus.url },
    workload: { kind: 'eks-deployment', cluster: CLUSTER, namespace: NS, stableDeployment: `${name}-stable`, canaryDeployment: `${name}-canary`, readyTimeoutSeconds: 30, pollSeconds: 1 },
    plan: FAST_PLAN,
  });
  const canaryShare = () => {
    const [stable, canary] = (kube.object('HTTPRoute', NS, name) as unknown as Route).spec.rules[0].backendRefs.map((b) => b.weight ?? 1);
    return stable + canary === 0 ? 0 : (100 * canary) / (stable + canary);
  };
  const t = new SyntheticTraffic(env.exporter, { service: name, rps: 200, canaryShare });
  t.start();
  traffic.push(t);
  const spec = (deploymentName: string) => (kube.object('Deployment', NS, deploymentName) as unknown as Spec).spec;
  return { traffic: t, canaryShare, stable: () => spec(`${name}-stable`), canary: () => spec(`${name}-canary`) };
}

describe('the workflow on EKS (HTTPRoute + Deployments)', () => {
  it('promotes: the canary runs the image first, then stable does and takes all traffic, and the canary scales to zero', async () => {
    const svc = await eksService('payments-api');

    const result = await env.run({ service: 'payments-api', image: V2 });

    expect(result.output).toMatchObject({ outcome: 'promoted' });
    expect(result.states.slice(0, 4)).toEqual(['Start', 'HasWorkload', 'Prepare', 'PrepareProgress']);
    expect(svc.stable().template.spec.containers[0].image).toBe(V2);
    expect(svc.stable().replicas).toBe(3);
    expect(svc.canary()).toMatchObject({ replicas: 0, template: { spec: { containers: [{ image: V2 }] } } });
    expect(svc.canaryShare()).toBe(0);
    const messages = (await env.runLog.listEvents(result.runId)).filter((e) => e.type === 'workload' || e.type === 'promoted').map((e) => e.message);
    expect(messages).toEqual([
      expect.stringMatching(/^deploying .*v2\.4\.1 on Deployment payments\/payments-api-canary/),
      expect.stringMatching(/^Deployment payments\/payments-api-canary runs .*v2\.4\.1/),
      expect.stringMatching(/^canary ready after [\d.]+ s/),
      expect.stringMatching(/^promoting: .*v2\.4\.1 going onto Deployment payments\/payments-api-stable/),
      expect.stringMatching(/^Deployment payments\/payments-api-stable runs .*v2\.4\.1/),
      expect.stringMatching(/promoted: stable runs it and serves 100% of traffic$/),
      expect.stringMatching(/^Deployment payments\/payments-api-canary scaled down/),
    ]);
    expect(await env.runLog.getRun(result.runId)).toMatchObject({ outcome: 'promoted' });
  });

  it('rolls back a bad release: traffic back on stable, the canary scaled to zero, stable untouched', async () => {
    const svc = await eksService('orders-api');
    svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.2 });

    const result = await env.run({ service: 'orders-api', image: V2 });

    expect(result.error).toBe('CanaryRolledBack');
    // The default judge: a 20% error rate is so far past the SLO that it aborts at once, or is a sequential breach.
    expect(result.cause).toMatch(/^(fast abort: )?error-rate: canary \d+(\.\d+)?% .* at step 0 \(20%\)$/);
    expect(svc.canaryShare()).toBe(0);
    expect(svc.canary().replicas).toBe(0);
    expect(svc.stable()).toMatchObject({ replicas: 3, template: { spec: { containers: [{ image: V1 }] } } });
    expect(await env.runLog.getRun(result.runId)).toMatchObject({ outcome: 'rolled_back', triggerCheck: 'error-rate' });
  });

  it('an autoscaler shrank stable while the canary took traffic: the rollback puts it back to its size before traffic returns', async () => {
    const svc = await eksService('cart-api');
    let shrunk = false;
    const result = await env.run(
      { service: 'cart-api', image: V2 },
      {
        onStateEntered: (state, input) => {
          const weight = (input as { cursor?: { weight?: number } }).cursor?.weight;
          if (state !== 'WaitInterval' || weight !== 20 || shrunk) return;
          // As a HorizontalPodAutoscaler would: stable serves 80% now, so it scales from 3 replicas to 1; then the canary breaks.
          shrunk = true;
          kube.put(deployment('cart-api-stable', 1, V1));
          svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.2 });
        },
      },
    );

    expect(shrunk).toBe(true);
    expect(result.error).toBe('CanaryRolledBack');
    expect(svc.canaryShare()).toBe(0);
    expect(svc.stable().replicas).toBe(3);
    const events = await env.runLog.listEvents(result.runId);
    const types = events.map((e) => (e.type === 'workload' ? `workload: ${e.message}` : e.type));
    const raised = types.findIndex((t) => /^workload: before traffic moves back to stable: Deployment payments\/cart-api-stable: \d of 3 replicas available \(scaled up from 1 for the rollback\)/.test(t));
    expect(raised).toBeGreaterThan(-1);
    // Stable was raised, and only then did the traffic come back to it.
    expect(raised).toBeLessThan(types.indexOf('rolled-back'));
    expect(events.find((e) => e.type === 'rolled-back')?.message).not.toMatch(/not back at its size/);
  });

  it('a canary image that never becomes available rolls back before any traffic moves', async () => {
    const svc = await eksService('broken-api');
    const broken = V2.replace('v2.4.1', 'v9.9.9-broken');
    kube.breakImage(broken);

    const result = await env.run({ service: 'broken-api', image: broken });

    expect(result.error).toBe('CanaryRolledBack');
    expect(result.cause).toMatch(/^step failed at step 0 \(0%\): WorkloadError: .*payments\/broken-api-canary/);
    expect(result.states).not.toContain('SetWeight');
    expect(svc.canaryShare()).toBe(0);
    expect(svc.canary().replicas).toBe(0);
    expect(svc.stable().template.spec.containers[0].image).toBe(V1);
  });
});
