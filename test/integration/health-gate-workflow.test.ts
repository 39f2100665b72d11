import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAST_PLAN, IMAGE, WorkflowEnv } from '../support/workflow-env';
import { SyntheticTraffic } from '../support/synthetic-traffic';
import { startKubeStandIn, type JsonObject, type KubeStandIn } from '../../local/k8s-standin';

// Health gates on an ALB: before the final flip, stable's target group must report its targets healthy
// (DescribeTargetHealth); otherwise the promotion holds, and past the deadline the run rolls back, putting the
// previous image back on stable. The Deployments live in the Kubernetes stand-in; the ALB stand-in health-checks
// real HTTP targets.

jest.setTimeout(150_000);

const V1 = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.0';
const NS = 'shop';

let env: WorkflowEnv;
let kube: KubeStandIn;
const servers: Server[] = [];
const traffic: SyntheticTraffic[] = [];

beforeAll(async () => {
  kube = await startKubeStandIn({ auth: { eks: { clusterName: 'prod' } }, readyDelayMs: 300 });
  Object.assign(process.env, kube.env);
  env = await WorkflowEnv.start();
});

afterAll(async () => {
  for (const t of traffic) t.stop();
  for (const s of servers) s.close();
  await Promise.allSettled([env.stop(), kube.stop()]);
});

/** An HTTP target whose health answer the test controls. */
async function target(healthy: boolean) {
  const state = { healthy };
  const server = createServer((_req, res) => {
    res.writeHead(state.healthy ? 200 : 503);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { state, port: (server.address() as AddressInfo).port };
}

const deployment = (name: string, replicas: number, image: string): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } } },
});

async function albWithDeployments(name: string) {
  const [stableTarget, canaryTarget] = await Promise.all([target(true), target(true)]);
  const tg = (role: string, port: number) =>
    env.alb.createTargetGroup({ name: `${name}-${role}`, targets: [{ host: '127.0.0.1', port }], healthCheckPath: '/health', healthCheckIntervalMs: 200, healthyThresholdCount: 2, unhealthyThresholdCount: 2 });
  const stableTargetGroupArn = tg('s', stableTarget.port);
  const canaryTargetGroupArn = tg('c', canaryTarget.port);
  const { arn: listenerArn } = await env.alb.createListener({
    defaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: stableTargetGroupArn, Weight: 1 }, { TargetGroupArn: canaryTargetGroupArn, Weight: 0 }] } }],
  });
  await Promise.all([env.alb.waitForHealthy(stableTargetGroupArn), env.alb.waitForHealthy(canaryTargetGroupArn)]);
  kube.put(deployment(`${name}-stable`, 2, V1));
  kube.put(deployment(`${name}-canary`, 0, V1));
  await env.runLog.putServiceConfig(name, {
    name,
    traffic: { kind: 'alb', listenerArn, stableTargetGroupArn, canaryTargetGroupArn },
    metrics: { kind: 'prometheus', url: env.prometheus.url },
    workload: { kind: 'eks-deployment', cluster: 'prod', namespace: NS, stableDeployment: `${name}-stable`, canaryDeployment: `${name}-canary`, readyTimeoutSeconds: 30, pollSeconds: 1 },
    plan: { ...FAST_PLAN, steps: [{ weight: 20, holdSeconds: 2 }, { weight: 100 }] },
  });
  const canaryShare = () => {
    const weights = env.alb.weights(listenerArn);
    const canary = weights[`${name}-c`] ?? 0;
    const total = canary + (weights[`${name}-s`] ?? 0);
    return total === 0 ? 0 : (100 * canary) / total;
  };
  const t = new SyntheticTraffic(env.exporter, { service: name, rps: 200, canaryShare });
  t.start();
  traffic.push(t);
  const image = (role: string) => ((kube.object('Deployment', NS, `${name}-${role}`) as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0].image);
  return { stableTarget, canaryShare, image };
}

describe('ALB health gate before the final flip', () => {
  it('holds the promotion while stable is unhealthy and flips once it is healthy', async () => {
    const svc = await albWithDeployments('gate-api');
    let polls = 0;

    const result = await env.run(
      { service: 'gate-api', image: IMAGE },
      {
        onStateEntered: (state, input) => {
          // Stable's targets go unhealthy as the promotion starts, and heal after a few polls.
          if (state === 'Promote' && polls === 0) svc.stableTarget.state.healthy = false;
          const detail = (input as { cursor?: { promotion?: { detail?: string } } }).cursor?.promotion?.detail ?? '';
          if (state === 'PromoteWait' && detail.includes('targets healthy') && ++polls === 4) svc.stableTarget.state.healthy = true;
        },
      },
    );

    expect(result.output).toMatchObject({ outcome: 'promoted' });
    expect(polls).toBeGreaterThanOrEqual(4);
    expect(svc.canaryShare()).toBe(0);
    expect(svc.image('stable')).toBe(IMAGE);
  });

  it('rolls back past the deadline and puts the previous image back on stable', async () => {
    const svc = await albWithDeployments('sick-api');

    const result = await env.run({ service: 'sick-api', image: IMAGE }, { onStateEntered: (state) => void (state === 'Promote' && (svc.stableTarget.state.healthy = false)) });

    expect(result.error).toBe('CanaryRolledBack');
    expect(result.cause).toMatch(/^step failed at step \d \(\d+%\): WorkloadError: stable did not become healthy by \S+: stable target group \S+: 0\/1 targets healthy/);
    expect(svc.image('stable')).toBe(V1);
    expect(svc.canaryShare()).toBe(0);
    const messages = (await env.runLog.listEvents(result.runId)).map((e) => e.message ?? '');
    expect(messages.some((m) => m.startsWith(`putting ${V1} back on Deployment ${NS}/sick-api-stable`))).toBe(true);
  });
});
