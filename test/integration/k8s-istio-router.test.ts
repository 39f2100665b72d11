import { IstioRouter, type IstioRouteConfig } from '../../lambdas/adapters/k8s/istio-router';
import { KubeClient, staticToken } from '../../lambdas/adapters/k8s/kube-client';
import { RouteNotFoundError, TransientError } from '../../lambdas/domain/errors';
import { startKubeStandIn, type KubeStandIn } from '../../local/k8s-standin';

// The Istio router against the Kubernetes API stand-in, whose VirtualService validation demands that
// the weights of an http route with several destinations sum to 100, as Istio's webhook does.

const NS = 'payments';
let standin: KubeStandIn;
let client: KubeClient;

beforeAll(async () => {
  standin = await startKubeStandIn();
  client = new KubeClient({ endpoint: standin.endpoint, caPem: standin.caPem, token: staticToken(standin.token ?? '') });
});

afterAll(async () => {
  await client.close();
  await standin.stop();
});

type Route = { destination: { host: string; subset?: string }; weight?: number };

const CONFIG = (virtualService: string): IstioRouteConfig => ({
  namespace: NS,
  virtualService,
  stable: { host: 'payments', subset: 'stable' },
  canary: { host: 'payments', subset: 'canary' },
});

const stable = (weight?: number): Route => ({ destination: { host: 'payments', subset: 'stable' }, ...(weight !== undefined && { weight }) });
const canary = (weight?: number): Route => ({ destination: { host: 'payments', subset: 'canary' }, ...(weight !== undefined && { weight }) });

function seed(name: string, http: { route: Route[]; match?: unknown[] }[]): IstioRouteConfig {
  standin.put({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: NS },
    spec: { hosts: ['payments'], http: JSON.parse(JSON.stringify(http)) as never },
  });
  return CONFIG(name);
}

function httpOf(name: string): { route: Route[] }[] {
  return (standin.object('VirtualService', NS, name)?.spec as { http: { route: Route[] }[] }).http;
}

describe('IstioRouter', () => {
  it('shifts 25% to the canary subset and reads it back; a zero weight Istio left out counts as 0', async () => {
    // Prepare
    const router = new IstioRouter(client, seed('shift', [{ route: [stable(100), canary()] }]));

    // Act
    const before = await router.getWeights();
    const weights = await router.setWeights(25);

    // Assess
    expect(before).toEqual({ canary: 0, stable: 100 });
    expect(weights).toEqual({ canary: 25, stable: 75 });
    expect(httpOf('shift')[0]?.route).toEqual([stable(75), canary(25)]);
    expect(await router.getWeights()).toEqual({ canary: 25, stable: 75 });
  });

  it('writes whole percents that sum to 100, as Istio demands: 2.5% becomes 3% and is reported as such', async () => {
    // Prepare
    const router = new IstioRouter(client, seed('whole', [{ route: [stable(100), canary(0)] }]));

    // Act
    const weights = await router.setWeights(2.5);

    // Assess
    expect(weights).toEqual({ canary: 3, stable: 97 });
    expect(httpOf('whole')[0]?.route).toEqual([stable(97), canary(3)]);
  });

  it('rolls back to 0 on every http route that splits, leaving a route to another host alone', async () => {
    // Prepare
    const other = { match: [{ uri: { prefix: '/legacy' } }], route: [{ destination: { host: 'legacy' } }] };
    const router = new IstioRouter(client, seed('rollback', [other, { route: [stable(50), canary(50)] }]));

    // Act
    const weights = await router.setWeights(0);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(httpOf('rollback')).toEqual([other, { route: [stable(100), canary(0)] }]);
  });

  it('refuses to patch routes reordered since they were read: TransientError, nothing changed', async () => {
    // Prepare
    const router = new IstioRouter(client, seed('reordered', [{ route: [stable(90), canary(10)] }]));
    standin.beforeNextPatch('VirtualService', NS, 'reordered', (vs) => {
      (vs.spec as { http: { route: Route[] }[] }).http[0]?.route.reverse();
    });

    // Act
    const error = await router.setWeights(50).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/VirtualService payments\/reordered changed since it was read/);
    expect(httpOf('reordered')[0]?.route).toEqual([canary(10), stable(90)]);
  });

  it('tells a missing destination from a missing VirtualService', async () => {
    // Prepare
    seed('other-subsets', [{ route: [{ destination: { host: 'payments', subset: 'v1' } }] }]);

    // Act
    const noSplit = await new IstioRouter(client, CONFIG('other-subsets')).setWeights(5).catch((e: unknown) => e);
    const missing = await new IstioRouter(client, CONFIG('absent')).getWeights().catch((e: unknown) => e);

    // Assess
    expect(noSplit).toBeInstanceOf(RouteNotFoundError);
    expect((noSplit as Error).message).toBe('VirtualService payments/other-subsets: no http route sends traffic to both payments subset stable and payments subset canary');
    expect(missing).toBeInstanceOf(RouteNotFoundError);
    expect((missing as Error).message).toContain('virtualservices.networking.istio.io "absent" not found');
  });

  it('gives a restore command that tests host and subset of each destination', async () => {
    // Prepare
    const router = new IstioRouter(client, seed('restore', [{ route: [stable(70), canary(30)] }]));
    await router.getWeights();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    expect(command).toBe(
      `kubectl patch virtualservices.networking.istio.io restore -n payments --type=json -p '[` +
        `{"op":"test","path":"/spec/http/0/route/0/destination/host","value":"payments"},` +
        `{"op":"test","path":"/spec/http/0/route/0/destination/subset","value":"stable"},` +
        `{"op":"test","path":"/spec/http/0/route/1/destination/host","value":"payments"},` +
        `{"op":"test","path":"/spec/http/0/route/1/destination/subset","value":"canary"},` +
        `{"op":"add","path":"/spec/http/0/route/0/weight","value":100},` +
        `{"op":"add","path":"/spec/http/0/route/1/weight","value":0}]'`,
    );
  });
});
