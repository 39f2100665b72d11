import { execFileSync } from 'node:child_process';
import { GatewayApiRouter, HTTP_ROUTE, type GatewayApiRouteConfig } from '../../lambdas/adapters/k8s/gateway-api-router';
import { KubeClient, staticToken, type JsonPatchOp } from '../../lambdas/adapters/k8s/kube-client';
import { RouteNotFoundError, RouterError, TransientError, WeightVerificationError } from '../../lambdas/domain/errors';
import { startKubeStandIn, type JsonObject, type KubeStandIn } from '../../local/k8s-standin';

// The Gateway API router against the Kubernetes API stand-in: real HTTPS, real JSON Patch with `test` ops.

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

type BackendRef = { name: string; weight?: number; port?: number };

function seedRoute(name: string, rules: { backendRefs: BackendRef[]; matches?: JsonObject[] }[]): GatewayApiRouteConfig {
  standin.put({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: { parentRefs: [{ name: 'public' }], hostnames: ['payments.example.com'], rules },
  });
  return { namespace: NS, httpRoute: name, stableService: 'payments-stable', canaryService: 'payments-canary' };
}

function rulesOf(name: string): { backendRefs: BackendRef[] }[] {
  const spec = standin.object('HTTPRoute', NS, name)?.spec as { rules: { backendRefs: BackendRef[] }[] };
  return spec.rules;
}

function patchesOf(name: string): number {
  return standin.requests().filter((r) => r.method === 'PATCH' && r.path.endsWith(`/httproutes/${name}`)).length;
}

const split = (stable: number, canary: number): BackendRef[] => [
  { name: 'payments-stable', port: 8080, weight: stable },
  { name: 'payments-canary', port: 8080, weight: canary },
];

/** The arguments a POSIX shell passes to `kubectl` when it runs `command`. */
function kubectlArguments(command: string): string[] {
  const out = execFileSync('sh', ['-c', `kubectl() { printf '%s\\0' "$@"; }; ${command}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('GatewayApiRouter', () => {
  it('shifts 5% to the canary as weights 950/50 on the splitting rule, leaves a canary-only header rule alone, and reads it back', async () => {
    // Prepare
    const headerRule = { matches: [{ headers: [{ name: 'x-canary', value: 'always' }] }], backendRefs: [{ name: 'payments-canary', port: 8080 }] };
    const config = seedRoute('shift', [{ backendRefs: [{ name: 'payments-stable', port: 8080 }, { name: 'payments-canary', port: 8080, weight: 0 }] }, headerRule]);
    const router = new GatewayApiRouter(client, config);

    // Act
    const weights = await router.setWeights(5);

    // Assess
    expect(weights).toEqual({ canary: 5, stable: 95 });
    expect(rulesOf('shift')[0]?.backendRefs).toEqual(split(950, 50));
    expect(rulesOf('shift')[1]).toEqual(headerRule);
    expect(await router.getWeights()).toEqual({ canary: 5, stable: 95 });
  });

  it('keeps 0.1% steps: 2.5% is written as 975/25', async () => {
    // Prepare
    const router = new GatewayApiRouter(client, seedRoute('fine', [{ backendRefs: split(1, 0) }]));

    // Act
    const weights = await router.setWeights(2.5);

    // Assess
    expect(weights).toEqual({ canary: 2.5, stable: 97.5 });
    expect(rulesOf('fine')[0]?.backendRefs).toEqual(split(975, 25));
  });

  it('sends no patch when the weights are already applied (a retried step)', async () => {
    // Prepare
    const router = new GatewayApiRouter(client, seedRoute('retry', [{ backendRefs: split(750, 250) }]));

    // Act
    const weights = await router.setWeights(25);

    // Assess
    expect(weights).toEqual({ canary: 25, stable: 75 });
    expect(patchesOf('retry')).toBe(0);
  });

  it('rolls back to 0: every rule that splits is back on stable in one patch', async () => {
    // Prepare
    const config = seedRoute('rollback', [{ backendRefs: split(750, 250) }, { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: split(750, 250) }]);
    const router = new GatewayApiRouter(client, config);

    // Act
    const weights = await router.setWeights(0);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(rulesOf('rollback').map((r) => r.backendRefs)).toEqual([split(1000, 0), split(1000, 0)]);
    expect(patchesOf('rollback')).toBe(1);
  });

  it('refuses to patch a list reordered since it was read: the test op fails, a TransientError names the route, nothing changes, and a retry patches the right entries', async () => {
    // Prepare
    const router = new GatewayApiRouter(client, seedRoute('reordered', [{ backendRefs: split(1000, 0) }]));
    standin.beforeNextPatch('HTTPRoute', NS, 'reordered', (route) => {
      const rule = (route.spec as { rules: { backendRefs: BackendRef[] }[] }).rules[0];
      rule?.backendRefs.reverse();
    });

    // Act
    const error = await router.setWeights(25).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/HTTPRoute payments\/reordered changed since it was read.*nothing was changed/);
    expect((error as Error).message).toContain('testing value /spec/rules/0/backendRefs/0/name failed');
    expect(rulesOf('reordered')[0]?.backendRefs).toEqual([
      { name: 'payments-canary', port: 8080, weight: 0 },
      { name: 'payments-stable', port: 8080, weight: 1000 },
    ]);
    await router.setWeights(25);
    expect(rulesOf('reordered')[0]?.backendRefs).toEqual([
      { name: 'payments-canary', port: 8080, weight: 250 },
      { name: 'payments-stable', port: 8080, weight: 750 },
    ]);
  });

  it('reports a WeightVerificationError when the weights read back differ from those written (a webhook rewrote them)', async () => {
    // Prepare
    const router = new GatewayApiRouter(client, seedRoute('rewritten', [{ backendRefs: split(1000, 0) }]));
    standin.afterNextPatch('HTTPRoute', NS, 'rewritten', (route) => {
      const refs = (route.spec as { rules: { backendRefs: BackendRef[] }[] }).rules[0]?.backendRefs ?? [];
      for (const ref of refs) ref.weight = ref.name === 'payments-canary' ? 0 : 1;
    });

    // Act
    const error = await router.setWeights(25).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(WeightVerificationError);
    expect((error as Error).message).toBe('HTTPRoute payments/rewritten: wrote canary 25% / stable 75% but read back rules[0]: canary 0% / stable 100%');
  });

  it('names what is wrong with the route and changes nothing: missing route, no canary backend, a third backend with traffic', async () => {
    // Prepare
    seedRoute('no-canary', [{ backendRefs: [{ name: 'payments-stable', port: 8080 }] }]);
    seedRoute('three', [{ backendRefs: [...split(900, 0), { name: 'payments-shadow', port: 8080, weight: 100 }] }]);
    const config = { namespace: NS, stableService: 'payments-stable', canaryService: 'payments-canary' };

    // Act
    const missing = await new GatewayApiRouter(client, { ...config, httpRoute: 'absent' }).setWeights(5).catch((e: unknown) => e);
    const noCanary = await new GatewayApiRouter(client, { ...config, httpRoute: 'no-canary' }).setWeights(5).catch((e: unknown) => e);
    const three = await new GatewayApiRouter(client, { ...config, httpRoute: 'three' }).setWeights(5).catch((e: unknown) => e);

    // Assess
    expect(missing).toBeInstanceOf(RouteNotFoundError);
    expect((missing as Error).message).toMatch(/get HTTPRoute payments\/absent .*404 NotFound: httproutes.gateway.networking.k8s.io "absent" not found/);
    expect(noCanary).toBeInstanceOf(RouteNotFoundError);
    expect((noCanary as Error).message).toBe('HTTPRoute payments/no-canary: no rule sends traffic to both Service payments-stable and Service payments-canary');
    expect(three).toBeInstanceOf(RouterError);
    expect((three as Error).message).toMatch(/rules\[0\] also sends traffic to payments-shadow \(weight 100\)/);
    expect(patchesOf('no-canary') + patchesOf('three')).toBe(0);
  });

  it('gives the exact kubectl patch that restores stable, and that patch does restore it', async () => {
    // Prepare
    const router = new GatewayApiRouter(client, seedRoute('restore', [{ backendRefs: split(1000, 0) }]));
    await router.setWeights(25);

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    expect(command).toBe(
      `kubectl patch httproutes.gateway.networking.k8s.io restore -n payments --type=json -p '[` +
        `{"op":"test","path":"/spec/rules/0/backendRefs/0/name","value":"payments-stable"},` +
        `{"op":"test","path":"/spec/rules/0/backendRefs/1/name","value":"payments-canary"},` +
        `{"op":"add","path":"/spec/rules/0/backendRefs/0/weight","value":1000},` +
        `{"op":"add","path":"/spec/rules/0/backendRefs/1/weight","value":0}]'`,
    );
    const args = kubectlArguments(command);
    const ops = JSON.parse(args[args.indexOf('-p') + 1] ?? '[]') as JsonPatchOp[];
    await client.patch({ type: HTTP_ROUTE, namespace: NS, name: 'restore', role: 'route' }, ops);
    expect(await router.getWeights()).toEqual({ canary: 0, stable: 100 });
  });
});
