import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ElasticLoadBalancingV2Client, ModifyListenerCommand, type Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { startAlbStandIn, type AlbStandIn } from '../../local/alb-standin';
import { evenlySpread } from '../../local/demo/environment';
import { LoadGenerator } from '../../local/demo/load-generator';

// The demo's load: a bounded constant rate through the ALB stand-in, clients that keep the AWSALBTG cookie,
// and a client mix that lets the canary's share follow the weights.

jest.setTimeout(60_000);

interface Backend {
  readonly server: Server;
  readonly port: number;
  /** Requests seen, and how many carried the stand-in's target-group cookie. */
  readonly seen: { requests: number; withCookie: number };
}

async function backend(): Promise<Backend> {
  const seen = { requests: 0, withCookie: 0 };
  const server = createServer((req, res) => {
    req.resume();
    if (req.url !== '/healthz') {
      seen.requests++;
      if ((req.headers.cookie ?? '').includes('AWSALBTG=')) seen.withCookie++;
    }
    setTimeout(() => res.end('ok'), 2);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

let alb: AlbStandIn;
let stable: Backend;
let canary: Backend;
let stableArn: string;
let canaryArn: string;
let listener: { arn: string; url: string };
let elb: ElasticLoadBalancingV2Client;
const loads: LoadGenerator[] = [];

const forward = (canaryWeight: number): Action[] => [
  {
    Type: 'forward',
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: stableArn, Weight: Math.min(999, 1000 - canaryWeight) },
        { TargetGroupArn: canaryArn, Weight: canaryWeight },
      ],
      TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 30 },
    },
  },
];

beforeAll(async () => {
  alb = await startAlbStandIn({ random: evenlySpread(0.5) });
  [stable, canary] = await Promise.all([backend(), backend()]);
  stableArn = alb.createTargetGroup({ name: 'load-stable', targets: [{ host: '127.0.0.1', port: stable.port }], healthCheckPath: '/healthz' });
  canaryArn = alb.createTargetGroup({ name: 'load-canary', targets: [{ host: '127.0.0.1', port: canary.port }], healthCheckPath: '/healthz' });
  listener = await alb.createListener({ defaultActions: forward(0) });
  await Promise.all([alb.waitForHealthy(stableArn), alb.waitForHealthy(canaryArn)]);
  elb = new ElasticLoadBalancingV2Client({ endpoint: alb.apiEndpoint });
});

afterAll(async () => {
  await Promise.all(loads.map((l) => l.stop()));
  elb?.destroy();
  await alb?.stop();
  for (const b of [stable, canary]) b?.server.close();
});

function load(options: ConstructorParameters<typeof LoadGenerator>[0]): LoadGenerator {
  const generator = new LoadGenerator(options);
  loads.push(generator);
  return generator;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the demo load generator', () => {
  it('sends at a constant rate and stops by itself after maxSeconds', async () => {
    // Prepare
    const generator = load({ url: listener.url, rps: 100, maxSeconds: 2 });

    // Act
    generator.start();
    await sleep(2600);
    const running = generator.running;
    await generator.stop();
    const stats = generator.stats();

    // Assess: 100 per second for 2 s (a loaded machine may fire the last ticks a little late).
    expect(running).toBe(false);
    expect(stats.sent).toBeGreaterThanOrEqual(185);
    expect(stats.sent).toBeLessThanOrEqual(201);
    expect(stats.completed).toBe(stats.sent);
    expect(stats.byStatus).toEqual({ '200': stats.sent });
    expect(stats.failed).toBe(0);
  });

  it('keeps the AWSALBTG cookie: every request of a client after its first carries it', async () => {
    // Prepare
    const before = { ...stable.seen };
    const generator = load({ url: listener.url, rps: 100, requestsPerClient: 4, maxSeconds: 1 });

    // Act
    generator.start();
    await sleep(1500);
    await generator.stop();

    // Assess
    const requests = stable.seen.requests - before.requests;
    const withCookie = stable.seen.withCookie - before.withCookie;
    const stats = generator.stats();
    expect(requests).toBe(stats.completed);
    expect(stats.clients).toBeGreaterThanOrEqual(Math.ceil(stats.sent / 4));
    expect(stats.clients).toBeLessThan(stats.sent / 2);
    // 3 of each client's 4 requests come back with the cookie of the first answer.
    expect(withCookie).toBe(stats.sent - stats.clients);
  });

  it('follows a weight change: the canary’s share is the weight within 2 points, a second after the change', async () => {
    // Prepare
    const generator = load({ url: listener.url, rps: 100, maxSeconds: 30 });
    generator.start();
    await sleep(1000);

    // Act
    await elb.send(new ModifyListenerCommand({ ListenerArn: listener.arn, DefaultActions: forward(250) }));
    await sleep(1000);
    const from = generator.stats().byTargetGroup;
    await sleep(5000);
    const to = generator.stats().byTargetGroup;
    await generator.stop();

    // Assess
    const delta = (name: string) => (to[name] ?? 0) - (from[name] ?? 0);
    const share = (100 * delta('load-canary')) / (delta('load-canary') + delta('load-stable'));
    expect(share).toBeGreaterThan(23);
    expect(share).toBeLessThan(27);
  });

  it('refuses a rate that is not positive', () => {
    // Act
    const attempt = () => new LoadGenerator({ url: listener.url, rps: 0 });

    // Assess
    expect(attempt).toThrow('rps must be greater than 0, got 0');
  });
});
