import { Agent, request } from 'undici';
import { startKubeStandIn, type KubeStandIn } from '../../local/k8s-standin';

// The Kubernetes API stand-in behaves like the API server where the adapters' tests rely on it:
// a JSON Patch applies atomically or not at all, refusals are Status objects, discovery lists served versions.

let standin: KubeStandIn;
let dispatcher: Agent;
const ROUTE_URL = '/apis/gateway.networking.k8s.io/v1/namespaces/payments/httproutes/web';

beforeAll(async () => {
  standin = await startKubeStandIn({ servedVersions: { 'split.smi-spec.io': ['v1alpha2', 'v1alpha1'] } });
  dispatcher = new Agent({ connect: { ca: standin.caPem } });
  standin.put({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: 'payments', annotations: { team: 'payments' } },
    spec: { rules: [{ backendRefs: [{ name: 'a', weight: 1 }, { name: 'b', weight: 0 }] }] },
  });
});

afterAll(async () => {
  await dispatcher.close();
  await standin.stop();
});

async function call(method: 'GET' | 'PATCH', path: string, body?: unknown, contentType = 'application/json-patch+json') {
  const res = await request(`${standin.endpoint}${path}`, {
    method,
    dispatcher,
    headers: { authorization: `Bearer ${standin.token ?? ''}`, ...(body !== undefined && { 'content-type': contentType }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('Kubernetes API stand-in', () => {
  it('applies a JSON Patch atomically: a failing test after an add changes nothing and answers 422 with the reason in details.causes', async () => {
    // Prepare
    const before = standin.object('HTTPRoute', 'payments', 'web');

    // Act
    const answer = await call('PATCH', ROUTE_URL, [
      { op: 'add', path: '/spec/rules/0/backendRefs/1/weight', value: 500 },
      { op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'b' },
    ]);

    // Assess
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      kind: 'Status',
      code: 422,
      reason: 'Invalid',
      message: 'the server rejected our request due to an error in our request',
      details: { causes: [{ message: 'testing value /spec/rules/0/backendRefs/0/name failed: test failed (found "a", expected "b")' }] },
    });
    expect(standin.object('HTTPRoute', 'payments', 'web')).toEqual(before);
  });

  it('applies every RFC 6902 op, with ~1 for / in annotation keys, and bumps generation only for a spec change', async () => {
    // Prepare
    const generation = (standin.object('HTTPRoute', 'payments', 'web')?.metadata as { generation: number }).generation;

    // Act
    const annotated = await call('PATCH', ROUTE_URL, [{ op: 'add', path: '/metadata/annotations/example.com~1owner', value: 'sre' }]);
    const reshaped = await call('PATCH', ROUTE_URL, [
      { op: 'copy', from: '/spec/rules/0', path: '/spec/rules/-' },
      { op: 'replace', path: '/spec/rules/1/backendRefs/0/name', value: 'c' },
      { op: 'move', from: '/spec/rules/1/backendRefs/1', path: '/spec/rules/1/backendRefs/0' },
      { op: 'remove', path: '/spec/rules/1/backendRefs/1/weight' },
    ]);

    // Assess
    expect(annotated.status).toBe(200);
    expect((annotated.body.metadata as { annotations: unknown; generation: number }).annotations).toEqual({ team: 'payments', 'example.com/owner': 'sre' });
    expect((annotated.body.metadata as { generation: number }).generation).toBe(generation);
    expect(reshaped.status).toBe(200);
    expect((reshaped.body.spec as { rules: unknown[] }).rules).toEqual([
      { backendRefs: [{ name: 'a', weight: 1 }, { name: 'b', weight: 0 }] },
      { backendRefs: [{ name: 'b', weight: 0 }, { name: 'c' }] },
    ]);
    expect((reshaped.body.metadata as { generation: number }).generation).toBe(generation + 1);
  });

  it('refuses a merge patch content type (415) and lists only the served versions in discovery', async () => {
    // Act
    const merge = await call('PATCH', ROUTE_URL, { spec: {} }, 'application/merge-patch+json');
    const smi = await call('GET', '/apis/split.smi-spec.io');
    const unserved = await call('GET', '/apis/split.smi-spec.io/v1alpha4/namespaces/payments/trafficsplits/payments-split');

    // Assess
    expect(merge.status).toBe(415);
    expect(smi.body).toMatchObject({ kind: 'APIGroup', preferredVersion: { version: 'v1alpha2' }, versions: [{ version: 'v1alpha2' }, { version: 'v1alpha1' }] });
    expect(unserved.status).toBe(404);
  });
});
