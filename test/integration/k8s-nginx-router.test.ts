import { KubeClient, staticToken } from '../../lambdas/adapters/k8s/kube-client';
import { NginxRouter, type NginxRouteConfig } from '../../lambdas/adapters/k8s/nginx-router';
import { RouteNotFoundError, RouterError, TransientError } from '../../lambdas/domain/errors';
import { startKubeStandIn, type KubeStandIn } from '../../local/k8s-standin';

// The NGINX Ingress canary router against the Kubernetes API stand-in, which, like the API server,
// refuses an annotation value that is not a string.

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

function seed(name: string, annotations: Record<string, string>, service = 'payments-canary'): NginxRouteConfig {
  standin.put({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS, annotations: { 'kubernetes.io/ingress.class': 'nginx', ...annotations } },
    spec: {
      rules: [
        { host: 'admin.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'admin', port: { number: 80 } } } }] } },
        { host: 'payments.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 8080 } } } }] } },
      ],
    },
  });
  return { namespace: NS, canaryIngress: name, canaryService: 'payments-canary' };
}

function annotationsOf(name: string): Record<string, string> {
  return (standin.object('Ingress', NS, name)?.metadata as { annotations: Record<string, string> }).annotations;
}

const CANARY = { 'nginx.ingress.kubernetes.io/canary': 'true' };

describe('NginxRouter', () => {
  it('sets the canary-weight annotation as a string through a JSON Pointer with / escaped as ~1, and reads it back', async () => {
    // Prepare
    const router = new NginxRouter(client, seed('shift', CANARY));

    // Act
    const weights = await router.setWeights(5);

    // Assess
    expect(weights).toEqual({ canary: 5, stable: 95 });
    expect(annotationsOf('shift')).toEqual({ 'kubernetes.io/ingress.class': 'nginx', ...CANARY, 'nginx.ingress.kubernetes.io/canary-weight': '5' });
    const patch = standin.requests().find((r) => r.method === 'PATCH' && r.path.endsWith('/ingresses/shift'))?.patch;
    expect(patch).toEqual([
      { op: 'test', path: '/metadata/annotations/nginx.ingress.kubernetes.io~1canary', value: 'true' },
      { op: 'test', path: '/spec/rules/1/http/paths/0/backend/service/name', value: 'payments-canary' },
      { op: 'add', path: '/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight', value: '5' },
    ]);
    expect(await router.getWeights()).toEqual({ canary: 5, stable: 95 });
  });

  it('uses canary-weight-total when present: out of 1000, 2.5% is "25"', async () => {
    // Prepare
    const router = new NginxRouter(client, seed('total', { ...CANARY, 'nginx.ingress.kubernetes.io/canary-weight-total': '1000' }));

    // Act
    const weights = await router.setWeights(2.5);

    // Assess
    expect(weights).toEqual({ canary: 2.5, stable: 97.5 });
    expect(annotationsOf('total')['nginx.ingress.kubernetes.io/canary-weight']).toBe('25');
  });

  it('rolls back to "0", and sends nothing when already there', async () => {
    // Prepare
    const router = new NginxRouter(client, seed('rollback', { ...CANARY, 'nginx.ingress.kubernetes.io/canary-weight': '40' }));

    // Act
    const first = await router.setWeights(0);
    const again = await router.setWeights(0);

    // Assess
    expect(first).toEqual({ canary: 0, stable: 100 });
    expect(again).toEqual({ canary: 0, stable: 100 });
    expect(annotationsOf('rollback')['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
    expect(standin.requests().filter((r) => r.method === 'PATCH' && r.path.endsWith('/ingresses/rollback'))).toHaveLength(1);
  });

  it('refuses an Ingress repointed since it was read: the test op on the backend fails, TransientError, nothing changed', async () => {
    // Prepare
    const router = new NginxRouter(client, seed('repointed', CANARY));
    standin.beforeNextPatch('Ingress', NS, 'repointed', (ingress) => {
      const rules = (ingress.spec as { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] }).rules;
      rules.reverse();
    });

    // Act
    const error = await router.setWeights(25).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/Ingress payments\/repointed changed since it was read/);
    expect(annotationsOf('repointed')['nginx.ingress.kubernetes.io/canary-weight']).toBeUndefined();
  });

  it('refuses an Ingress that is not a canary Ingress, or does not send to the canary Service', async () => {
    // Prepare
    seed('main', {});
    seed('elsewhere', CANARY, 'payments-other');

    // Act
    const notCanary = await new NginxRouter(client, { namespace: NS, canaryIngress: 'main', canaryService: 'payments-canary' }).setWeights(5).catch((e: unknown) => e);
    const elsewhere = await new NginxRouter(client, { namespace: NS, canaryIngress: 'elsewhere', canaryService: 'payments-canary' }).setWeights(5).catch((e: unknown) => e);

    // Assess
    expect(notCanary).toBeInstanceOf(RouterError);
    expect((notCanary as Error).message).toBe('Ingress payments/main is not a canary Ingress: it lacks the annotation nginx.ingress.kubernetes.io/canary: "true"');
    expect(elsewhere).toBeInstanceOf(RouteNotFoundError);
    expect(annotationsOf('main')['nginx.ingress.kubernetes.io/canary-weight']).toBeUndefined();
  });

  it('gives the restore command that sets the annotation to "0" on the canary Ingress', async () => {
    // Prepare
    const router = new NginxRouter(client, seed('restore', { ...CANARY, 'nginx.ingress.kubernetes.io/canary-weight': '30' }));
    await router.getWeights();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    expect(command).toBe(
      `kubectl patch ingresses.networking.k8s.io restore -n payments --type=json -p '[` +
        `{"op":"test","path":"/metadata/annotations/nginx.ingress.kubernetes.io~1canary","value":"true"},` +
        `{"op":"test","path":"/spec/rules/1/http/paths/0/backend/service/name","value":"payments-canary"},` +
        `{"op":"add","path":"/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight","value":"0"}]'`,
    );
  });
});
