import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeListenersCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  type Action,
  type TargetGroupStickinessConfig,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AlbTrafficRouter } from '../../lambdas/adapters/alb/alb-traffic-router';
import type { AlbRunTraffic } from '../../lambdas/domain/traffic';
import { startAlbStandIn, type AlbStandIn } from '../../local/alb-standin';
import { evenlySpread } from '../../local/demo/environment';

// Target group stickiness through the real stand-in data plane: clients that keep their cookies, counted at the
// targets, while AlbTrafficRouter moves the weights as the workflow's steps, rollback and promotion do.

jest.setTimeout(60_000);

const CLIENTS = 20;
const STICKY_SECONDS = 3600;
const STICKINESS = { Enabled: true, DurationSeconds: STICKY_SECONDS };

interface CountingTarget {
  readonly name: string;
  readonly port: number;
  /** Requests served, health checks excluded. */
  hits: number;
  /** Status of GET /health. */
  healthStatus: number;
  close(): Promise<void>;
}

async function startTarget(name: string): Promise<CountingTarget> {
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url === '/health') {
      res.writeHead(target.healthStatus).end();
      return;
    }
    target.hits += 1;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target: CountingTarget = {
    name,
    port: (server.address() as AddressInfo).port,
    hits: 0,
    healthStatus: 200,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return target;
}

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });

interface Reply {
  readonly status: number;
  readonly targetGroup: string | undefined;
  readonly setCookies: readonly string[];
}

/** A client that keeps the cookies it is given and sends them back, as a browser does. */
class CookieClient {
  private readonly jar = new Map<string, string>();

  get(url: string): Promise<Reply> {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = request(url, { agent, headers: cookie === '' ? {} : { cookie } }, (res) => {
        res.resume();
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          for (const set of setCookies) {
            const pair = set.split(';')[0] ?? '';
            const eq = pair.indexOf('=');
            this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
          }
          const group = res.headers['x-standin-target-group'];
          resolve({ status: res.statusCode ?? 0, targetGroup: typeof group === 'string' ? group : undefined, setCookies });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  has(name: string): boolean {
    return this.jar.has(name);
  }
}

/** Every client sends `perClient` requests one after another, all clients at once; replies by client. */
function loop(clients: readonly CookieClient[], url: string, perClient: number): Promise<Reply[][]> {
  return Promise.all(
    clients.map(async (client) => {
      const replies: Reply[] = [];
      for (let i = 0; i < perClient; i++) replies.push(await client.get(`${url}/`));
      return replies;
    }),
  );
}

let stableA: CountingTarget;
let stableB: CountingTarget;
let canary: CountingTarget;

beforeAll(async () => {
  [stableA, stableB, canary] = await Promise.all([startTarget('stable-a'), startTarget('stable-b'), startTarget('canary')]);
});

afterAll(async () => {
  agent.destroy();
  await Promise.all([stableA, stableB, canary].map((t) => t.close()));
});

interface Fixture {
  readonly standin: AlbStandIn;
  readonly elb: ElasticLoadBalancingV2Client;
  readonly traffic: AlbRunTraffic;
  readonly router: AlbTrafficRouter;
  readonly url: string;
}

let f: Fixture;

beforeEach(async () => {
  for (const t of [stableA, stableB, canary]) {
    t.hits = 0;
    t.healthStatus = 200;
  }
  const standin = await startAlbStandIn({ healthCheckIntervalMs: 100, random: evenlySpread(0.5) });
  const stableTargetGroupArn = standin.createTargetGroup({
    name: 'shop-stable',
    targets: [stableA, stableB].map((t) => ({ host: '127.0.0.1', port: t.port })),
    healthCheckPath: '/health',
  });
  const canaryTargetGroupArn = standin.createTargetGroup({ name: 'shop-canary', targets: [{ host: '127.0.0.1', port: canary.port }], healthCheckPath: '/health' });
  // As a service is registered: all traffic on stable, target group stickiness on the forward action.
  const { arn: listenerArn, url } = await standin.createListener({ defaultActions: [forward([[stableTargetGroupArn, 1], [canaryTargetGroupArn, 0]], STICKINESS)] });
  await Promise.all([standin.waitForHealthy(stableTargetGroupArn, 5000), standin.waitForHealthy(canaryTargetGroupArn, 5000)]);
  const elb = new ElasticLoadBalancingV2Client({
    endpoint: standin.apiEndpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
  });
  const traffic: AlbRunTraffic = { kind: 'alb', listenerArn, stableTargetGroupArn, canaryTargetGroupArn, swapped: false };
  f = { standin, elb, traffic, router: new AlbTrafficRouter(elb, traffic), url };
});

afterEach(async () => {
  f.elb.destroy();
  await f.standin.stop();
});

async function forwardAction(): Promise<Action | undefined> {
  const out = await f.elb.send(new DescribeListenersCommand({ ListenerArns: [f.traffic.listenerArn] }));
  return out.Listeners?.[0]?.DefaultActions?.find((a) => a.Type === 'forward');
}

/** A forward action to `groups` (ARN, weight) with that target group stickiness. */
function forward(groups: readonly [string, number][], stickiness: TargetGroupStickinessConfig): Action {
  return { Type: 'forward', ForwardConfig: { TargetGroups: groups.map(([arn, weight]) => ({ TargetGroupArn: arn, Weight: weight })), TargetGroupStickinessConfig: stickiness } };
}

/** ModifyListener as an operator (or another tool) would write it, without the router. */
async function writeForward(groups: readonly [string, number][], stickiness: TargetGroupStickinessConfig): Promise<void> {
  await f.elb.send(new ModifyListenerCommand({ ListenerArn: f.traffic.listenerArn, DefaultActions: [forward(groups, stickiness)] }));
}

/** Twenty clients stuck at a 25% canary step: all of them, those on the canary and those on stable. */
async function stickAt25(): Promise<{ clients: CookieClient[]; onCanary: CookieClient[]; onStable: CookieClient[] }> {
  await f.router.setWeights(25);
  const clients = Array.from({ length: CLIENTS }, () => new CookieClient());
  const replies = await loop(clients, f.url, 10);
  // Each client stays on the group of its first answer for all ten requests.
  expect(replies.every((mine) => mine.every((r) => r.status === 200 && r.targetGroup === mine[0]?.targetGroup))).toBe(true);
  const onCanary = clients.filter((_, i) => replies[i]?.[0]?.targetGroup === 'shop-canary');
  const onStable = clients.filter((_, i) => replies[i]?.[0]?.targetGroup === 'shop-stable');
  expect(onCanary.length).toBeGreaterThanOrEqual(2);
  expect(onStable.length).toBeGreaterThanOrEqual(2);
  expect(clients.every((c) => c.has('AWSALBTG'))).toBe(true);
  return { clients, onCanary, onStable };
}

function resetHits(): void {
  for (const t of [stableA, stableB, canary]) t.hits = 0;
  f.standin.resetRoutedCounts();
}

describe('AlbTrafficRouter with target group stickiness: no sticky client stays on the wrong version', () => {
  it('after a rollback (setWeights(0)) not one request reaches the canary, sticky clients included', async () => {
    // Prepare
    const { clients, onCanary } = await stickAt25();
    resetHits();

    // Act
    const weights = await f.router.setWeights(0);
    const after = await loop(clients, f.url, 10);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(canary.hits).toBe(0);
    expect(f.standin.routedCounts()).toEqual({ 'shop-stable': CLIENTS * 10 });
    // The clients that held a canary cookie are the ones a weight of 0 alone would have left on the canary.
    const movedOff = after.filter((_, i) => onCanary.some((c) => c === clients[i]));
    expect(movedOff).toHaveLength(onCanary.length);
    expect(movedOff.flat().every((r) => r.targetGroup === 'shop-stable')).toBe(true);
    expect(stableA.hits + stableB.hits).toBe(CLIENTS * 10);
    expect(after.flat().every((r) => r.status === 200 && r.targetGroup === 'shop-stable')).toBe(true);
    expect(await forwardAction()).toMatchObject({
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: f.traffic.stableTargetGroupArn, Weight: 999 }], TargetGroupStickinessConfig: STICKINESS },
    });
  });

  it('after a promotion (setWeights(100)) not one request reaches stable, sticky clients included', async () => {
    // Prepare
    const { clients } = await stickAt25();
    resetHits();

    // Act
    const weights = await f.router.setWeights(100);
    const after = await loop(clients, f.url, 10);

    // Assess
    expect(weights).toEqual({ canary: 100, stable: 0 });
    expect(stableA.hits + stableB.hits).toBe(0);
    expect(canary.hits).toBe(CLIENTS * 10);
    expect(after.flat().every((r) => r.status === 200 && r.targetGroup === 'shop-canary')).toBe(true);
  });

  it("the next rollout's first step puts the canary back, with the stickiness the service was registered with", async () => {
    // Prepare
    await stickAt25();
    await f.router.setWeights(0);

    // Act
    const weights = await f.router.setWeights(5);
    const fresh = await loop(Array.from({ length: CLIENTS }, () => new CookieClient()), f.url, 1);

    // Assess
    expect(weights).toEqual({ canary: 5, stable: 95 });
    expect(await forwardAction()).toEqual({
      Type: 'forward',
      Order: 1,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: f.traffic.stableTargetGroupArn, Weight: 950 },
          { TargetGroupArn: f.traffic.canaryTargetGroupArn, Weight: 50 },
        ],
        TargetGroupStickinessConfig: STICKINESS,
      },
    });
    expect(fresh.flat().every((r) => r.status === 200)).toBe(true);
    expect(fresh.flat().every((r) => r.setCookies.some((c) => c.startsWith('AWSALBTG=')))).toBe(true);
  });

  it("the next run's canary health gate puts the canary back at weight 0, since ALB health-checks only groups in use", async () => {
    // Prepare
    await f.router.setWeights(25);
    await f.router.setWeights(0);
    const out = f.standin.targetHealth(f.traffic.canaryTargetGroupArn).map((t) => t.state);

    // Act
    const health = await f.router.healthOf('canary');
    const fresh = await loop(Array.from({ length: CLIENTS }, () => new CookieClient()), f.url, 3);

    // Assess
    expect(out).toEqual(['unused']);
    expect(health).toMatchObject({ ready: true, healthy: 1, total: 1 });
    expect(health.detail).toContain('back in at weight 0');
    expect((await forwardAction())?.ForwardConfig).toEqual({
      TargetGroups: [
        { TargetGroupArn: f.traffic.stableTargetGroupArn, Weight: 999 },
        { TargetGroupArn: f.traffic.canaryTargetGroupArn, Weight: 0 },
      ],
      TargetGroupStickinessConfig: STICKINESS,
    });
    expect(fresh.flat().every((r) => r.targetGroup === 'shop-stable')).toBe(true);
  });

  it('after a promotion without workload, Start reads canary 100% and the swapped run steps from the promoted group', async () => {
    // Prepare
    await f.router.setWeights(25);
    await f.router.setWeights(100);
    const swapped: AlbRunTraffic = {
      ...f.traffic,
      stableTargetGroupArn: f.traffic.canaryTargetGroupArn,
      canaryTargetGroupArn: f.traffic.stableTargetGroupArn,
      swapped: true,
    };

    // Act
    const registered = await new AlbTrafficRouter(f.elb, f.traffic).getWeights();
    const next = new AlbTrafficRouter(f.elb, swapped);
    const before = await next.getWeights();
    const stepped = await next.setWeights(5);

    // Assess
    expect(registered).toEqual({ canary: 100, stable: 0 });
    expect(before).toEqual({ canary: 0, stable: 100 });
    expect(stepped).toEqual({ canary: 5, stable: 95 });
    expect((await forwardAction())?.ForwardConfig).toEqual({
      TargetGroups: [
        { TargetGroupArn: f.traffic.canaryTargetGroupArn, Weight: 950 },
        { TargetGroupArn: f.traffic.stableTargetGroupArn, Weight: 50 },
      ],
      TargetGroupStickinessConfig: STICKINESS,
    });
  });
});

describe('ALB stand-in: target group stickiness takes precedence over weight', () => {
  it('keeps a sticky client on a group at weight 0 that is still in the action, while new clients go by weight', async () => {
    // Prepare
    const { onCanary } = await stickAt25();
    await writeForward([[f.traffic.stableTargetGroupArn, 999], [f.traffic.canaryTargetGroupArn, 0]], STICKINESS);
    resetHits();

    // Act
    const stuck = await loop(onCanary, f.url, 5);
    const canaryHitsFromStuck = canary.hits;
    const fresh = await loop(Array.from({ length: CLIENTS }, () => new CookieClient()), f.url, 3);

    // Assess
    expect(stuck.flat().every((r) => r.status === 200 && r.targetGroup === 'shop-canary')).toBe(true);
    expect(canaryHitsFromStuck).toBe(onCanary.length * 5);
    expect(fresh.flat().every((r) => r.targetGroup === 'shop-stable')).toBe(true);
    expect(canary.hits).toBe(canaryHitsFromStuck);
  });

  it('with stickiness disabled on the action, the cookie is ignored and none is set', async () => {
    // Prepare
    const { onCanary } = await stickAt25();
    await writeForward([[f.traffic.stableTargetGroupArn, 999], [f.traffic.canaryTargetGroupArn, 0]], { Enabled: false });
    resetHits();

    // Act
    const replies = (await loop(onCanary, f.url, 5)).flat();

    // Assess
    expect(replies.every((r) => r.status === 200 && r.targetGroup === 'shop-stable')).toBe(true);
    expect(replies.every((r) => r.setCookies.length === 0)).toBe(true);
    expect(canary.hits).toBe(0);
  });

  it('sends a sticky client to its group even with no healthy target there: 503, not another group', async () => {
    // Prepare
    const { onCanary, onStable } = await stickAt25();
    await writeForward([[f.traffic.stableTargetGroupArn, 999], [f.traffic.canaryTargetGroupArn, 0]], STICKINESS);
    canary.healthStatus = 500;
    await waitFor(() => f.standin.targetHealth(f.traffic.canaryTargetGroupArn).every((t) => t.state === 'unhealthy'));
    resetHits();

    // Act
    const stuck = (await loop(onCanary, f.url, 3)).flat();
    const others = (await loop(onStable, f.url, 3)).flat();

    // Assess
    expect(stuck.every((r) => r.status === 503)).toBe(true);
    expect(stableA.hits + stableB.hits).toBe(others.length);
    expect(others.every((r) => r.status === 200 && r.targetGroup === 'shop-stable')).toBe(true);
    expect(canary.hits).toBe(0);
  });

  it('routes by weight once the cookie has expired', async () => {
    // Prepare
    await writeForward([[f.traffic.stableTargetGroupArn, 0], [f.traffic.canaryTargetGroupArn, 999]], { Enabled: true, DurationSeconds: 1 });
    const clients = Array.from({ length: 5 }, () => new CookieClient());
    const first = (await loop(clients, f.url, 1)).flat();
    await writeForward([[f.traffic.stableTargetGroupArn, 999], [f.traffic.canaryTargetGroupArn, 0]], { Enabled: true, DurationSeconds: 1 });
    const stillSticky = (await loop(clients, f.url, 1)).flat();

    // Act
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const expired = (await loop(clients, f.url, 1)).flat();

    // Assess
    expect(first.every((r) => r.targetGroup === 'shop-canary')).toBe(true);
    expect(stillSticky.every((r) => r.targetGroup === 'shop-canary')).toBe(true);
    expect(expired.every((r) => r.status === 200 && r.targetGroup === 'shop-stable')).toBe(true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
