import { EKSClient } from '@aws-sdk/client-eks';
import { request } from 'undici';
import { EksClusterAccess } from '../../lambdas/adapters/k8s/eks-token';
import { GatewayApiRouter, HTTP_ROUTE } from '../../lambdas/adapters/k8s/gateway-api-router';
import { KubeClient, staticToken, type BearerTokenSource, type KubeRef } from '../../lambdas/adapters/k8s/kube-client';
import { ConfigurationError, ThrottlingError, TransientError } from '../../lambdas/domain/errors';
import { startKubeStandIn, type KubeStandIn } from '../../local/k8s-standin';

// The Kubernetes API client against the stand-in: trust in the cluster CA only, bearer tokens, and the
// error a user sees for each refusal. Then EKS access end to end: DescribeCluster from the stand-in's
// EKS endpoint, an EKS token whose shape the stand-in checks, and a router that works through both.

const NS = 'payments';
const ROUTE: KubeRef = { type: HTTP_ROUTE, namespace: NS, name: 'web', role: 'route' };
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret', sessionToken: 'local-session' };
let standin: KubeStandIn;
let other: KubeStandIn;
let eksStandin: KubeStandIn;

function seedRoute(at: KubeStandIn): void {
  at.put({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: NS },
    spec: { rules: [{ backendRefs: [{ name: 'payments-stable', weight: 1000 }, { name: 'payments-canary', weight: 0 }] }] },
  });
}

beforeAll(async () => {
  [standin, other, eksStandin] = await Promise.all([startKubeStandIn(), startKubeStandIn(), startKubeStandIn({ auth: { eks: { clusterName: 'shop' } } })]);
  for (const s of [standin, eksStandin]) seedRoute(s);
});

afterAll(async () => {
  await Promise.all([standin.stop(), other.stop(), eksStandin.stop()]);
});

/** A token source that hands out the given tokens in turn and counts invalidations. */
function tokens(...values: string[]): BearerTokenSource & { invalidations: number } {
  let next = 0;
  return {
    invalidations: 0,
    token: async () => values[Math.min(next++, values.length - 1)] ?? '',
    invalidate() {
      this.invalidations += 1;
    },
  };
}

async function withClient<T>(options: Partial<ConstructorParameters<typeof KubeClient>[0]>, use: (client: KubeClient) => Promise<T>): Promise<T> {
  const client = new KubeClient({ endpoint: standin.endpoint, caPem: standin.caPem, token: staticToken(standin.token ?? ''), ...options });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

describe('KubeClient', () => {
  it('trusts only the cluster CA it is given: a server signed by another CA is a ConfigurationError that says so', async () => {
    // Prepare
    const trusted = { caPem: standin.caPem };
    const wrongCa = { caPem: other.caPem };

    // Act
    const route = await withClient(trusted, (client) => client.get(ROUTE));
    const refused = await withClient(wrongCa, (client) => client.get(ROUTE)).catch((e: unknown) => e);

    // Assess
    expect(route).toMatchObject({ kind: 'HTTPRoute', metadata: { name: 'web' } });
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect((refused as Error).message).toMatch(/certificate is not signed by the cluster CA given/);
  });

  it('answers a wrong token with a ConfigurationError naming the EKS access entry, after renewing the token once', async () => {
    // Prepare
    const source = tokens('not-the-token');

    // Act
    const error = await withClient({ token: source, clusterLabel: 'EKS cluster shop' }, (client) => client.get(ROUTE)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(
      /^get HTTPRoute payments\/web \(discovering the served version of gateway.networking.k8s.io\) on EKS cluster shop: 401 Unauthorized: Unauthorized\. The API server refused the bearer token: give the orchestrator's IAM role an EKS access entry/,
    );
    expect(source.invalidations).toBe(1);
  });

  it('recovers from an expired token: after a 401 the renewed token is used and the call succeeds', async () => {
    // Prepare
    const source = tokens('expired', standin.token ?? '');

    // Act
    const route = await withClient({ token: source }, (client) => client.get(ROUTE));

    // Assess
    expect(route).toMatchObject({ kind: 'HTTPRoute' });
    expect(source.invalidations).toBe(1);
  });

  it('rejects a malformed Authorization header with 401 (the stand-in, like the API server)', async () => {
    // Prepare
    const url = `${standin.endpoint}/apis/gateway.networking.k8s.io/v1/namespaces/payments/httproutes/web`;
    const { Agent } = await import('undici');
    const dispatcher = new Agent({ connect: { ca: standin.caPem } });

    // Act
    const statuses = [];
    for (const authorization of [`Token ${standin.token ?? ''}`, `Bearer ${standin.token ?? ''} extra`, 'Bearer ']) {
      const res = await request(url, { dispatcher, headers: { authorization } });
      await res.body.text();
      statuses.push(res.statusCode);
    }
    await dispatcher.close();

    // Assess
    expect(statuses).toEqual([401, 401, 401]);
  });

  it('turns refusals into errors that say what to do: 403 with the RBAC rule, 429 throttling, 5xx transient', async () => {
    // Prepare
    const faults = () => {
      standin.failNext(403, 1, 'httproutes.gateway.networking.k8s.io "web" is forbidden: User "arn:aws:sts::123456789012:assumed-role/orchestrator" cannot patch resource "httproutes"');
      standin.failNext(429);
      standin.failNext(503);
    };

    // Act
    const [forbidden, throttled, unavailable] = await withClient({}, async (client) => {
      await client.get(ROUTE); // the served version is discovered and kept; the faults hit the resource itself
      faults();
      return [
        await client.patch(ROUTE, [{ op: 'test', path: '/metadata/name', value: 'web' }]).catch((e: unknown) => e),
        await client.get(ROUTE).catch((e: unknown) => e),
        await client.get(ROUTE).catch((e: unknown) => e),
      ];
    });

    // Assess
    expect(forbidden).toBeInstanceOf(ConfigurationError);
    expect((forbidden as Error).message).toMatch(/RBAC: the orchestrator's Kubernetes group needs get and patch on httproutes.gateway.networking.k8s.io in namespace payments/);
    expect(throttled).toBeInstanceOf(ThrottlingError);
    expect(unavailable).toBeInstanceOf(TransientError);
  });

  it('reports an unreachable API server as a TransientError that mentions the VPC', async () => {
    // Prepare
    const closed = await startKubeStandIn();
    await closed.stop();

    // Act
    const error = await withClient({ endpoint: closed.endpoint, caPem: closed.caPem }, (client) => client.get(ROUTE)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/ECONNREFUSED.*the Lambda must run in the cluster's VPC/);
  });
});

describe('EksClusterAccess', () => {
  function eksClient(): EKSClient {
    return new EKSClient({ region: 'eu-west-1', endpoint: eksStandin.eksEndpoint, credentials: CREDENTIALS });
  }

  it('reaches the cluster with DescribeCluster and an EKS token, and a router shifts weights through it', async () => {
    // Prepare
    const access = new EksClusterAccess(eksClient(), { credentials: async () => CREDENTIALS });
    const router = new GatewayApiRouter(access.api('shop'), { namespace: NS, httpRoute: 'web', stableService: 'payments-stable', canaryService: 'payments-canary' });

    // Act
    const weights = await router.setWeights(10);

    // Assess
    expect(weights).toEqual({ canary: 10, stable: 90 });
    expect(eksStandin.requests().filter((r) => r.status === 401)).toEqual([]);
    const client = await access.kubeClient('shop');
    expect(await access.kubeClient('shop')).toBe(client);
    await client.close();
  });

  it('says which cluster does not exist', async () => {
    // Prepare
    const access = new EksClusterAccess(eksClient(), { credentials: async () => CREDENTIALS });

    // Act
    const error = await access.kubeClient('nope').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^DescribeCluster nope failed: ResourceNotFoundException: No cluster found for name: nope\.; check the registered cluster name and region$/);
  });

  it('is refused by a cluster that checks EKS tokens when the token is not one', async () => {
    // Prepare
    const client = new KubeClient({ endpoint: eksStandin.endpoint, caPem: eksStandin.caPem, token: staticToken('k8s-aws-v1.bm90LWEtdXJs') });

    // Act
    const error = await client.get(ROUTE).catch((e: unknown) => e);
    await client.close();

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(eksStandin.requests().filter((r) => r.status === 401).map((r) => r.authProblem)).toContain('token does not decode to a URL');
  });
});
