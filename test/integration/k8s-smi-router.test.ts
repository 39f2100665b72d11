import { KubeClient, staticToken } from '../../lambdas/adapters/k8s/kube-client';
import { SmiRouter, type SmiRouteConfig } from '../../lambdas/adapters/k8s/smi-router';
import { ConfigurationError, RouteNotFoundError, TransientError } from '../../lambdas/domain/errors';
import { startKubeStandIn, type KubeStandIn } from '../../local/k8s-standin';

// The SMI router against Kubernetes API stand-ins that serve different versions of split.smi-spec.io:
// the router discovers the served version and writes weights the way that version's schema wants.

const NS = 'payments';

interface Cluster {
  readonly standin: KubeStandIn;
  readonly client: KubeClient;
}

async function cluster(servedVersions: readonly string[]): Promise<Cluster> {
  const standin = await startKubeStandIn({ servedVersions: { 'split.smi-spec.io': servedVersions } });
  return { standin, client: new KubeClient({ endpoint: standin.endpoint, caPem: standin.caPem, token: staticToken(standin.token ?? '') }) };
}

let current: Cluster; // serves v1alpha3 (preferred) and v1alpha2
let legacy: Cluster; // serves v1alpha1 only: weights are quantities
let bare: Cluster; // serves no SMI at all

beforeAll(async () => {
  [current, legacy, bare] = await Promise.all([cluster(['v1alpha3', 'v1alpha2']), cluster(['v1alpha1']), cluster([])]);
});

afterAll(async () => {
  for (const c of [current, legacy, bare]) {
    await c.client.close();
    await c.standin.stop();
  }
});

type Backend = { service: string; weight?: number | string };

function seed(at: Cluster, name: string, apiVersion: string, backends: Backend[]): SmiRouteConfig {
  at.standin.put({ apiVersion, kind: 'TrafficSplit', metadata: { name, namespace: NS }, spec: { service: 'payments', backends } });
  return { namespace: NS, trafficSplit: name, stableService: 'payments-stable', canaryService: 'payments-canary' };
}

function backendsOf(at: Cluster, name: string): Backend[] {
  return (at.standin.object('TrafficSplit', NS, name)?.spec as { backends: Backend[] }).backends;
}

describe('SmiRouter', () => {
  it('uses the version the cluster prefers and writes integer weights summing to 1000', async () => {
    // Prepare
    const config = seed(current, 'shift', 'split.smi-spec.io/v1alpha3', [
      { service: 'payments-stable', weight: 100 },
      { service: 'payments-canary', weight: 0 },
    ]);
    const router = new SmiRouter(current.client, config);

    // Act
    const weights = await router.setWeights(5);

    // Assess
    expect(weights).toEqual({ canary: 5, stable: 95 });
    expect(backendsOf(current, 'shift')).toEqual([
      { service: 'payments-stable', weight: 950 },
      { service: 'payments-canary', weight: 50 },
    ]);
    const paths = current.standin.requests().filter((r) => r.path.includes('/trafficsplits/shift')).map((r) => r.path);
    expect(new Set(paths)).toEqual(new Set(['/apis/split.smi-spec.io/v1alpha3/namespaces/payments/trafficsplits/shift']));
  });

  it('reads v1alpha1 quantities ("500m") and writes quantity strings back on a v1alpha1-only cluster', async () => {
    // Prepare
    const config = seed(legacy, 'quantities', 'split.smi-spec.io/v1alpha1', [
      { service: 'payments-stable', weight: '500m' },
      { service: 'payments-canary', weight: '500m' },
    ]);
    const router = new SmiRouter(legacy.client, config);

    // Act
    const before = await router.getWeights();
    const after = await router.setWeights(0);

    // Assess
    expect(before).toEqual({ canary: 50, stable: 50 });
    expect(after).toEqual({ canary: 0, stable: 100 });
    expect(backendsOf(legacy, 'quantities')).toEqual([
      { service: 'payments-stable', weight: '1000' },
      { service: 'payments-canary', weight: '0' },
    ]);
  });

  it('refuses a backend list reordered since it was read: TransientError, nothing changed', async () => {
    // Prepare
    const router = new SmiRouter(current.client, seed(current, 'reordered', 'split.smi-spec.io/v1alpha3', [
      { service: 'payments-stable', weight: 1000 },
      { service: 'payments-canary', weight: 0 },
    ]));
    current.standin.beforeNextPatch('TrafficSplit', NS, 'reordered', (split) => {
      (split.spec as { backends: Backend[] }).backends.reverse();
    });

    // Act
    const error = await router.setWeights(25).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/TrafficSplit payments\/reordered changed since it was read/);
    expect(backendsOf(current, 'reordered')).toEqual([
      { service: 'payments-canary', weight: 0 },
      { service: 'payments-stable', weight: 1000 },
    ]);
  });

  it('says the SMI CRDs are missing when the cluster does not serve split.smi-spec.io', async () => {
    // Prepare
    const router = new SmiRouter(bare.client, { namespace: NS, trafficSplit: 'payments-split', stableService: 'payments-stable', canaryService: 'payments-canary' });

    // Act
    const error = await router.getWeights().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/does not serve the API group split.smi-spec.io: install the TrafficSplit CRDs/);
  });

  it('refuses a TrafficSplit without the canary backend and gives the restore command on the read indices', async () => {
    // Prepare
    seed(current, 'stable-only', 'split.smi-spec.io/v1alpha3', [{ service: 'payments-stable', weight: 1 }]);
    const router = new SmiRouter(current.client, seed(current, 'restore', 'split.smi-spec.io/v1alpha3', [
      { service: 'payments-canary', weight: 10 },
      { service: 'payments-stable', weight: 90 },
    ]));
    await router.getWeights();

    // Act
    const error = await new SmiRouter(current.client, { namespace: NS, trafficSplit: 'stable-only', stableService: 'payments-stable', canaryService: 'payments-canary' }).setWeights(5).catch((e: unknown) => e);
    const command = router.manualRestoreCommand();

    // Assess
    expect(error).toBeInstanceOf(RouteNotFoundError);
    expect(command).toBe(
      `kubectl patch trafficsplits.split.smi-spec.io restore -n payments --type=json -p '[` +
        `{"op":"test","path":"/spec/backends/1/service","value":"payments-stable"},` +
        `{"op":"test","path":"/spec/backends/0/service","value":"payments-canary"},` +
        `{"op":"add","path":"/spec/backends/1/weight","value":1000},` +
        `{"op":"add","path":"/spec/backends/0/weight","value":0}]'`,
    );
  });
});
