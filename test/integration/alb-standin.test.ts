import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type ElasticLoadBalancingV2ClientConfig,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { startAlbStandIn, type AlbStandIn, type WeightsChangedEvent } from '../../local/alb-standin';

// ---- targets: tiny HTTP servers that answer with their own name ----

interface TestTarget {
  readonly name: string;
  readonly port: number;
  /** Requests served, health checks excluded. */
  hits: number;
  /** Status of GET /health. */
  healthStatus: number;
  close(): Promise<void>;
}

async function startTarget(name: string, healthStatus = 200): Promise<TestTarget> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(target.healthStatus).end();
      return;
    }
    target.hits += 1;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-echo-method': req.method ?? '', 'x-echo-path': req.url ?? '', 'x-echo-body': body });
      res.end(name);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target: TestTarget = {
    name,
    port: (server.address() as AddressInfo).port,
    hits: 0,
    healthStatus,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return target;
}

// ---- an HTTP client with a cookie jar ----

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly targetGroup: string | undefined;
  readonly setCookies: string[];
  readonly headers: Record<string, string | string[] | undefined>;
}

function send(url: string, options: { cookie?: string; method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.cookie !== undefined && options.cookie !== '') headers.cookie = options.cookie;
    const req = request(url, { method: options.method ?? 'GET', agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const group = res.headers['x-standin-target-group'];
        resolve({
          status: res.statusCode ?? 0,
          body,
          targetGroup: typeof group === 'string' ? group : undefined,
          setCookies: res.headers['set-cookie'] ?? [],
          headers: res.headers,
        });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A client that keeps the cookies it is given, as a browser or the demo's load generator does. */
class CookieClient {
  readonly jar = new Map<string, string>();

  async get(url: string): Promise<Reply> {
    const reply = await send(url, { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') });
    for (const cookie of reply.setCookies) {
      const pair = cookie.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return reply;
  }
}

/** Runs `count` requests, `concurrency` at a time. */
async function many<T>(count: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await one(i);
      }
    }),
  );
  return results;
}

/** A deterministic uniform [0, 1) source, so the statistical assertions cannot flake. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- SDK helpers ----

function elb(standin: AlbStandIn, extra: Partial<ElasticLoadBalancingV2ClientConfig> = {}): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({
    endpoint: standin.apiEndpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ElasticLoadBalancingV2ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ElasticLoadBalancingV2ServiceException) return error;
    throw new Error(`expected an ELBv2 service exception, got ${String(error)}`);
  }
  throw new Error('expected the call to fail, it succeeded');
}

const ARN_PREFIX = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:';
const OIDC_SECRET = 'oidc-client-secret';

function oidcAction(clientId: string): Action {
  return {
    Type: 'authenticate-oidc',
    Order: 1,
    AuthenticateOidcConfig: {
      Issuer: 'https://idp.example.com',
      AuthorizationEndpoint: 'https://idp.example.com/authorize',
      TokenEndpoint: 'https://idp.example.com/token',
      UserInfoEndpoint: 'https://idp.example.com/userinfo',
      ClientId: clientId,
      ClientSecret: OIDC_SECRET,
      SessionCookieName: 'session',
      Scope: 'openid email',
      SessionTimeout: 3600,
      AuthenticationRequestExtraParams: { prompt: 'login', display: 'page' },
      OnUnauthenticatedRequest: 'authenticate',
    },
  };
}

/** The OIDC action as Describe* reports it: AWS never returns the client secret. */
function describedOidc(clientId: string): Action {
  const action = oidcAction(clientId);
  const config = { ...action.AuthenticateOidcConfig! };
  delete config.ClientSecret;
  return { ...action, AuthenticateOidcConfig: config };
}

/** An OIDC action to send back on Modify*, as the AWS API wants it: no secret, `UseExistingClientSecret`. */
function resentOidc(described: Action): Action {
  return { ...described, AuthenticateOidcConfig: { ...described.AuthenticateOidcConfig!, UseExistingClientSecret: true } };
}

function weightedForward(order: number, groups: [string, number][], stickySeconds?: number): Action {
  return {
    Type: 'forward',
    Order: order,
    ForwardConfig: {
      TargetGroups: groups.map(([arn, weight]) => ({ TargetGroupArn: arn, Weight: weight })),
      TargetGroupStickinessConfig: stickySeconds === undefined ? { Enabled: false } : { Enabled: true, DurationSeconds: stickySeconds },
    },
  };
}

// ---- fixture: a listener (OIDC + weighted sticky forward) and a rule (OIDC + weighted forward) ----

let stableA: TestTarget;
let stableB: TestTarget;
let canary: TestTarget;
let apiTarget: TestTarget;
let sick: TestTarget;

beforeAll(async () => {
  [stableA, stableB, canary, apiTarget, sick] = await Promise.all([
    startTarget('stable-a'),
    startTarget('stable-b'),
    startTarget('canary'),
    startTarget('api'),
    startTarget('sick', 500),
  ]);
});

afterAll(async () => {
  agent.destroy();
  await Promise.all([stableA, stableB, canary, apiTarget, sick].map((t) => t.close()));
});

interface Fixture {
  standin: AlbStandIn;
  client: ElasticLoadBalancingV2Client;
  lbArn: string;
  stableArn: string;
  canaryArn: string;
  apiArn: string;
  listenerArn: string;
  url: string;
  ruleArn: string;
  events: WeightsChangedEvent[];
}

async function setUp(listenerActions: (f: { stableArn: string; canaryArn: string }) => Action[]): Promise<Fixture> {
  const events: WeightsChangedEvent[] = [];
  const standin = await startAlbStandIn({ healthCheckIntervalMs: 100, random: seededRandom(42), onWeightsChanged: (e) => events.push(e) });
  const lbArn = standin.createLoadBalancer('web');
  const stableArn = standin.createTargetGroup({
    name: 'web-stable',
    targets: [stableA, stableB].map((t) => ({ host: '127.0.0.1', port: t.port })),
    healthCheckPath: '/health',
  });
  const canaryArn = standin.createTargetGroup({ name: 'web-canary', targets: [{ host: '127.0.0.1', port: canary.port }], healthCheckPath: '/health' });
  const apiArn = standin.createTargetGroup({ name: 'web-api', targets: [{ host: '127.0.0.1', port: apiTarget.port }], healthCheckPath: '/health' });
  const { arn: listenerArn, url } = await standin.createListener({ loadBalancerArn: lbArn, defaultActions: listenerActions({ stableArn, canaryArn }) });
  const ruleArn = standin.createRule({
    listenerArn,
    priority: 10,
    conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
    actions: [oidcAction('rule-client'), weightedForward(2, [[apiArn, 999], [canaryArn, 0]])],
  });
  await Promise.all([stableArn, canaryArn, apiArn].map((arn) => standin.waitForHealthy(arn, 5000)));
  return { standin, client: elb(standin), lbArn, stableArn, canaryArn, apiArn, listenerArn, url, ruleArn, events };
}

async function tearDown(f: Fixture | undefined): Promise<void> {
  f?.client.destroy();
  await f?.standin.stop();
}

describe('ALB stand-in: the ELBv2 API through the real SDK', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await setUp(({ stableArn, canaryArn }) => [oidcAction('listener-client'), weightedForward(2, [[stableArn, 950], [canaryArn, 50]], 300)]);
  });
  afterEach(() => tearDown(f));

  it('DescribeListeners returns the default actions in AWS shape: OIDC (no secret) then a weighted forward with stickiness', async () => {
    const out = await f.client.send(new DescribeListenersCommand({ ListenerArns: [f.listenerArn] }));

    expect(f.listenerArn).toMatch(new RegExp(`^${ARN_PREFIX}listener/app/web/[0-9a-f]{16}/[0-9a-f]{16}$`));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.Listeners).toEqual([
      {
        ListenerArn: f.listenerArn,
        LoadBalancerArn: f.lbArn,
        Port: Number(new URL(f.url).port),
        Protocol: 'HTTP',
        DefaultActions: [
          describedOidc('listener-client'),
          {
            Type: 'forward',
            Order: 2,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: f.stableArn, Weight: 950 },
                { TargetGroupArn: f.canaryArn, Weight: 50 },
              ],
              TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
            },
          },
        ],
      },
    ]);
    const byLoadBalancer = await f.client.send(new DescribeListenersCommand({ LoadBalancerArn: f.lbArn }));
    expect(byLoadBalancer.Listeners?.map((l) => l.ListenerArn)).toEqual([f.listenerArn]);
  });

  it('DescribeRules lists a listener\'s rules by priority and then its default rule; by ARN it returns that rule', async () => {
    const byListener = await f.client.send(new DescribeRulesCommand({ ListenerArn: f.listenerArn }));
    const byArn = await f.client.send(new DescribeRulesCommand({ RuleArns: [f.ruleArn] }));

    expect(f.ruleArn).toMatch(new RegExp(`^${ARN_PREFIX}listener-rule/app/web/[0-9a-f]{16}/[0-9a-f]{16}/[0-9a-f]{16}$`));
    expect(f.ruleArn.startsWith(f.listenerArn.replace(':listener/', ':listener-rule/'))).toBe(true);
    const rule = {
      RuleArn: f.ruleArn,
      Priority: '10',
      IsDefault: false,
      Conditions: [{ Field: 'path-pattern', Values: ['/api/*'], PathPatternConfig: { Values: ['/api/*'] } }],
      Actions: [
        describedOidc('rule-client'),
        {
          Type: 'forward',
          Order: 2,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: f.apiArn, Weight: 999 },
              { TargetGroupArn: f.canaryArn, Weight: 0 },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        },
      ],
    };
    expect(byArn.Rules).toEqual([rule]);
    expect(byListener.Rules).toHaveLength(2);
    expect(byListener.Rules?.[0]).toEqual(rule);
    expect(byListener.Rules?.[1]).toMatchObject({ Priority: 'default', IsDefault: true, Conditions: [] });
    expect(byListener.Rules?.[1]?.Actions?.[1]?.ForwardConfig?.TargetGroups?.map((t) => t.Weight)).toEqual([950, 50]);
  });

  it('a forward to one target group reports TargetGroupArn and a ForwardConfig of weight 1, as AWS does', async () => {
    const single = await f.standin.createListener({ defaultActions: [{ Type: 'forward', TargetGroupArn: f.apiArn }] });

    const out = await f.client.send(new DescribeListenersCommand({ ListenerArns: [single.arn] }));

    expect(out.Listeners?.[0]?.DefaultActions).toEqual([
      {
        Type: 'forward',
        Order: 1,
        TargetGroupArn: f.apiArn,
        ForwardConfig: { TargetGroups: [{ TargetGroupArn: f.apiArn, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: false } },
      },
    ]);
  });

  it('DescribeTargetGroups finds groups by ARN and by name, with their health-check settings', async () => {
    const byArn = await f.client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [f.stableArn, f.canaryArn] }));
    const byName = await f.client.send(new DescribeTargetGroupsCommand({ Names: ['web-canary'] }));
    const all = await f.client.send(new DescribeTargetGroupsCommand({}));

    expect(f.stableArn).toMatch(new RegExp(`^${ARN_PREFIX}targetgroup/web-stable/[0-9a-f]{16}$`));
    expect(byArn.TargetGroups?.map((tg) => tg.TargetGroupName)).toEqual(['web-stable', 'web-canary']);
    expect(byArn.TargetGroups?.[0]).toEqual({
      TargetGroupArn: f.stableArn,
      TargetGroupName: 'web-stable',
      Protocol: 'HTTP',
      Port: stableA.port,
      VpcId: expect.stringMatching(/^vpc-/),
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: 'traffic-port',
      HealthCheckEnabled: true,
      HealthCheckIntervalSeconds: 1,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200' },
      LoadBalancerArns: [f.lbArn],
      TargetType: 'ip',
      ProtocolVersion: 'HTTP1',
      IpAddressType: 'ipv4',
    });
    expect(byName.TargetGroups?.map((tg) => tg.TargetGroupArn)).toEqual([f.canaryArn]);
    expect(all.TargetGroups?.map((tg) => tg.TargetGroupName)).toEqual(['web-stable', 'web-canary', 'web-api']);
  });

  it('DescribeTargetHealth reports real health checks: healthy, unhealthy with the reason, unused when not routed to', async () => {
    const mixedArn = f.standin.createTargetGroup({
      name: 'web-mixed',
      targets: [
        { host: '127.0.0.1', port: stableA.port },
        { host: '127.0.0.1', port: sick.port },
      ],
      healthCheckPath: '/health',
    });
    const idleArn = f.standin.createTargetGroup({ name: 'web-idle', targets: [{ host: '127.0.0.1', port: stableB.port }], healthCheckPath: '/health' });
    const initial = await f.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: mixedArn }));
    await f.standin.createListener({ defaultActions: [weightedForward(1, [[mixedArn, 1]])] });
    await waitFor(() => f.standin.targetHealth(mixedArn).every((t) => t.state !== 'initial'));

    const mixed = await f.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: mixedArn }));
    const idle = await f.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: idleArn }));
    const asked = await f.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: mixedArn, Targets: [{ Id: '127.0.0.1', Port: sick.port }] }));

    expect(initial.TargetHealthDescriptions?.map((d) => d.TargetHealth?.State)).toEqual(['unused', 'unused']);
    expect(mixed.TargetHealthDescriptions).toEqual([
      { Target: { Id: '127.0.0.1', Port: stableA.port }, HealthCheckPort: String(stableA.port), TargetHealth: { State: 'healthy' } },
      {
        Target: { Id: '127.0.0.1', Port: sick.port },
        HealthCheckPort: String(sick.port),
        TargetHealth: { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [500]' },
      },
    ]);
    expect(idle.TargetHealthDescriptions?.[0]?.TargetHealth).toEqual({
      State: 'unused',
      Reason: 'Target.NotInUse',
      Description: 'Target group is not configured to receive traffic from the load balancer',
    });
    expect(asked.TargetHealthDescriptions?.map((d) => d.Target?.Port)).toEqual([sick.port]);
  });

  it('ModifyListener changes the weights and keeps the authenticate-oidc action exactly', async () => {
    const before = await f.client.send(new DescribeListenersCommand({ ListenerArns: [f.listenerArn] }));
    const [oidc, forward] = before.Listeners?.[0]?.DefaultActions ?? [];

    const out = await f.client.send(
      new ModifyListenerCommand({
        ListenerArn: f.listenerArn,
        DefaultActions: [
          resentOidc(oidc),
          { ...forward, ForwardConfig: { ...forward.ForwardConfig, TargetGroups: [{ TargetGroupArn: f.stableArn, Weight: 750 }, { TargetGroupArn: f.canaryArn, Weight: 250 }] } },
        ],
      }),
    );
    const after = await f.client.send(new DescribeListenersCommand({ ListenerArns: [f.listenerArn] }));

    expect(out.Listeners?.[0]?.DefaultActions).toEqual(after.Listeners?.[0]?.DefaultActions);
    expect(after.Listeners?.[0]?.DefaultActions?.[0]).toEqual(oidc);
    expect(after.Listeners?.[0]?.DefaultActions?.[0]).toEqual(describedOidc('listener-client'));
    expect(after.Listeners?.[0]?.DefaultActions?.[1]?.ForwardConfig).toEqual({
      TargetGroups: [
        { TargetGroupArn: f.stableArn, Weight: 750 },
        { TargetGroupArn: f.canaryArn, Weight: 250 },
      ],
      TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
    });
    expect(f.standin.weights(f.listenerArn)).toEqual({ 'web-stable': 750, 'web-canary': 250 });
  });

  it('ModifyListener refuses the OIDC action without a secret or with both a secret and UseExistingClientSecret, as AWS does', async () => {
    const before = await f.client.send(new DescribeListenersCommand({ ListenerArns: [f.listenerArn] }));
    const [oidc, forward] = before.Listeners?.[0]?.DefaultActions ?? [];

    const noSecret = await rejection(f.client.send(new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [oidc, forward] })));
    const both = await rejection(
      f.client.send(
        new ModifyListenerCommand({
          ListenerArn: f.listenerArn,
          DefaultActions: [{ ...oidc, AuthenticateOidcConfig: { ...oidc.AuthenticateOidcConfig!, ClientSecret: 'x', UseExistingClientSecret: true } }, forward],
        }),
      ),
    );

    expect(noSecret.name).toBe('ValidationError');
    expect(noSecret.message).toContain('clientSecret');
    expect(both.name).toBe('InvalidLoadBalancerActionException');
    expect(f.standin.weights(f.listenerArn)).toEqual({ 'web-stable': 950, 'web-canary': 50 });
  });

  it('ModifyRule changes the rule\'s weights and keeps its conditions and its authenticate-oidc action exactly', async () => {
    const before = await f.client.send(new DescribeRulesCommand({ RuleArns: [f.ruleArn] }));
    const [oidc] = before.Rules?.[0]?.Actions ?? [];

    await f.client.send(new ModifyRuleCommand({ RuleArn: f.ruleArn, Actions: [resentOidc(oidc), weightedForward(2, [[f.apiArn, 500], [f.canaryArn, 500]])] }));
    const after = await f.client.send(new DescribeRulesCommand({ RuleArns: [f.ruleArn] }));

    expect(after.Rules?.[0]?.Conditions).toEqual(before.Rules?.[0]?.Conditions);
    expect(after.Rules?.[0]?.Actions?.[0]).toEqual(oidc);
    expect(after.Rules?.[0]?.Actions?.[1]?.ForwardConfig?.TargetGroups).toEqual([
      { TargetGroupArn: f.apiArn, Weight: 500 },
      { TargetGroupArn: f.canaryArn, Weight: 500 },
    ]);
    expect(f.standin.weights(f.ruleArn)).toEqual({ 'web-api': 500, 'web-canary': 500 });
    expect(f.standin.weights(f.listenerArn)).toEqual({ 'web-stable': 950, 'web-canary': 50 });
  });

  it('answers unknown listeners, rules and target groups with AWS\'s error codes, which the SDK names', async () => {
    const missingListener = f.listenerArn.replace(/[0-9a-f]{16}$/, '0000000000000000');
    const missingRule = f.ruleArn.replace(/[0-9a-f]{16}$/, '0000000000000000');
    const missingGroup = f.canaryArn.replace(/[0-9a-f]{16}$/, '0000000000000000');

    const listener = await rejection(f.client.send(new DescribeListenersCommand({ ListenerArns: [missingListener] })));
    const modifyListener = await rejection(
      f.client.send(new ModifyListenerCommand({ ListenerArn: missingListener, DefaultActions: [weightedForward(1, [[f.stableArn, 1]])] })),
    );
    const rule = await rejection(f.client.send(new DescribeRulesCommand({ RuleArns: [missingRule] })));
    const modifyRule = await rejection(f.client.send(new ModifyRuleCommand({ RuleArn: missingRule, Actions: [weightedForward(1, [[f.stableArn, 1]])] })));
    const group = await rejection(
      f.client.send(new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [weightedForward(1, [[f.stableArn, 999], [missingGroup, 0]])] })),
    );
    const health = await rejection(f.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: missingGroup })));

    for (const [error, name, code] of [
      [listener, 'ListenerNotFoundException', 'ListenerNotFound'],
      [modifyListener, 'ListenerNotFoundException', 'ListenerNotFound'],
      [rule, 'RuleNotFoundException', 'RuleNotFound'],
      [modifyRule, 'RuleNotFoundException', 'RuleNotFound'],
      [group, 'TargetGroupNotFoundException', 'TargetGroupNotFound'],
      [health, 'TargetGroupNotFoundException', 'TargetGroupNotFound'],
    ] as const) {
      expect({ name: error.name, Code: (error as unknown as { Code: string }).Code, status: error.$metadata.httpStatusCode, fault: error.$fault }).toEqual({
        name,
        Code: code,
        status: 400,
        fault: 'client',
      });
      expect(error.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(f.standin.weights(f.listenerArn)).toEqual({ 'web-stable': 950, 'web-canary': 50 });
  });

  it('refuses a weight of 1000 and a TargetGroupArn beside a two-group ForwardConfig with ValidationError, changing nothing', async () => {
    const weight = await rejection(
      f.client.send(new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [weightedForward(1, [[f.stableArn, 1000], [f.canaryArn, 0]])] })),
    );
    const both = await rejection(
      f.client.send(
        new ModifyRuleCommand({
          RuleArn: f.ruleArn,
          Actions: [{ ...weightedForward(1, [[f.apiArn, 500], [f.canaryArn, 500]]), TargetGroupArn: f.apiArn }],
        }),
      ),
    );

    expect(weight.name).toBe('ValidationError');
    expect(weight.$metadata.httpStatusCode).toBe(400);
    expect(weight.message).toBe(
      "1 validation error detected: Value '1000' at 'defaultActions.1.member.forwardConfig.targetGroups.1.member.weight' failed to satisfy constraint: Member must have value less than or equal to 999",
    );
    expect(both.name).toBe('ValidationError');
    expect(f.standin.weights(f.listenerArn)).toEqual({ 'web-stable': 950, 'web-canary': 50 });
    expect(f.standin.weights(f.ruleArn)).toEqual({ 'web-api': 999, 'web-canary': 0 });
    expect(f.events).toEqual([]);
  });

  it('answers an unknown Query action with InvalidAction in AWS\'s XML error shape', async () => {
    const res = await fetch(f.standin.apiEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DeleteLoadBalancer&Version=2015-12-01&LoadBalancerArn=x',
    });
    const xml = await res.text();

    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(xml).toMatch(
      /<ErrorResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
    );
  });

  it('injected Throttling surfaces as name Throttling (400, client fault) and the throttled Modify changes nothing', async () => {
    const once = elb(f.standin, { maxAttempts: 1 });
    f.standin.faults.throttleNext(1, { action: 'ModifyListener' });

    const described = await once.send(new DescribeListenersCommand({ ListenerArns: [f.listenerArn] }));
    const error = await rejection(
      once.send(new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [resentOidc(describedOidc('listener-client')), weightedForward(2, [[f.stableArn, 999], [f.canaryArn, 0]])] })),
    );
    once.destroy();

    expect(described.Listeners).toHaveLength(1);
    expect(error.name).toBe('Throttling');
    expect(error.message).toBe('Rate exceeded');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.$fault).toBe('client');
    expect(f.standin.weights(f.listenerArn)).toEqual({ 'web-stable': 950, 'web-canary': 50 });
    expect(f.events).toEqual([]);
    expect(f.standin.faults.remaining()).toBe(0);
    expect(f.standin.apiCalls().map((c) => [c.action, c.status, c.errorCode])).toEqual([
      ['DescribeListeners', 200, undefined],
      ['ModifyListener', 400, 'Throttling'],
    ]);
  });

  it('a client with the default retries gets through one injected Throttling: two calls, one change', async () => {
    f.standin.faults.throttleNext(1, { action: 'ModifyListener' });

    await f.client.send(
      new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [resentOidc(describedOidc('listener-client')), weightedForward(2, [[f.stableArn, 999], [f.canaryArn, 0]])] }),
    );

    expect(f.standin.apiCalls().map((c) => c.errorCode ?? c.status)).toEqual(['Throttling', 200]);
    expect(f.standin.weights(f.listenerArn)).toEqual({ 'web-stable': 999, 'web-canary': 0 });
    expect(f.events).toHaveLength(1);
  });

  it('injected server faults surface with their code as name and a server fault; clear() drops pending faults', async () => {
    const once = elb(f.standin, { maxAttempts: 1 });
    f.standin.faults.failNext(1, { code: 'ServiceUnavailable', status: 503 });
    f.standin.faults.failNext(1, { code: 'InternalFailure' });

    const unavailable = await rejection(once.send(new DescribeRulesCommand({ RuleArns: [f.ruleArn] })));
    const internal = await rejection(once.send(new DescribeTargetHealthCommand({ TargetGroupArn: f.stableArn })));
    f.standin.faults.throttleNext(5);
    f.standin.faults.clear();
    const fine = await once.send(new DescribeTargetHealthCommand({ TargetGroupArn: f.stableArn }));
    once.destroy();

    expect([unavailable.name, unavailable.$metadata.httpStatusCode, unavailable.$fault]).toEqual(['ServiceUnavailable', 503, 'server']);
    expect([internal.name, internal.$metadata.httpStatusCode, internal.$fault]).toEqual(['InternalFailure', 500, 'server']);
    expect(fine.TargetHealthDescriptions?.map((d) => d.TargetHealth?.State)).toEqual(['healthy', 'healthy']);
  });

  it('the SDK reaches the stand-in through AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, without an endpoint in code', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
    process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = f.standin.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
    try {
      const fromEnv = new ElasticLoadBalancingV2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 's' } });
      const out = await fromEnv.send(new DescribeListenersCommand({ ListenerArns: [f.listenerArn] }));
      fromEnv.destroy();
      expect(out.Listeners?.[0]?.ListenerArn).toBe(f.listenerArn);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
      else process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = saved;
    }
  });

  it('fires the weights-changed hook with the new weights on ModifyListener and ModifyRule, and not when weights stay', async () => {
    const seen: WeightsChangedEvent[] = [];
    const unsubscribe = f.standin.onWeightsChanged((e) => seen.push(e));
    const start = Date.now();

    await f.client.send(
      new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [resentOidc(describedOidc('listener-client')), weightedForward(2, [[f.stableArn, 999], [f.canaryArn, 0]], 300)] }),
    );
    await f.client.send(
      new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [resentOidc(describedOidc('listener-client')), weightedForward(2, [[f.stableArn, 999], [f.canaryArn, 0]], 300)] }),
    );
    await f.client.send(new ModifyRuleCommand({ RuleArn: f.ruleArn, Actions: [resentOidc(describedOidc('rule-client')), weightedForward(2, [[f.apiArn, 900], [f.canaryArn, 100]])] }));
    unsubscribe();
    await f.client.send(new ModifyRuleCommand({ RuleArn: f.ruleArn, Actions: [resentOidc(describedOidc('rule-client')), weightedForward(2, [[f.apiArn, 800], [f.canaryArn, 200]])] }));

    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({
      source: 'ModifyListener',
      listenerArn: f.listenerArn,
      ruleArn: undefined,
      weights: { 'web-stable': 999, 'web-canary': 0 },
      previous: { targetGroups: [{ targetGroupName: 'web-stable', weight: 950 }, { targetGroupName: 'web-canary', weight: 50 }] },
      current: { stickiness: { enabled: true, durationSeconds: 300 } },
    });
    expect(seen[0]?.at).toBeGreaterThanOrEqual(start);
    expect(seen[0]?.at).toBeLessThanOrEqual(Date.now());
    expect(seen[1]).toMatchObject({ source: 'ModifyRule', listenerArn: f.listenerArn, ruleArn: f.ruleArn, weights: { 'web-api': 900, 'web-canary': 100 } });
    expect(f.events.map((e) => e.weights)).toEqual([
      { 'web-stable': 999, 'web-canary': 0 },
      { 'web-api': 900, 'web-canary': 100 },
      { 'web-api': 800, 'web-canary': 200 },
    ]);
  });
});

describe('ALB stand-in: the data plane routes real requests', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await setUp(({ stableArn, canaryArn }) => [weightedForward(1, [[stableArn, 750], [canaryArn, 250]])]);
    for (const t of [stableA, stableB, canary, apiTarget]) t.hits = 0;
  });
  afterEach(() => tearDown(f));

  async function setListenerWeights(stable: number, canaryWeight: number, stickySeconds?: number): Promise<void> {
    await f.client.send(
      new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [weightedForward(1, [[f.stableArn, stable], [f.canaryArn, canaryWeight]], stickySeconds)] }),
    );
  }

  it('splits 2000 cookie-less requests 750/250 within 25% ± 3 points, round-robin inside a group', async () => {
    const replies = await many(2000, 20, () => send(`${f.url}/checkout`));

    const canaryShare = replies.filter((r) => r.targetGroup === 'web-canary').length / replies.length;
    expect(statusCounts(replies)).toEqual({ 200: 2000 });
    expect(canaryShare).toBeGreaterThanOrEqual(0.22);
    expect(canaryShare).toBeLessThanOrEqual(0.28);
    expect(replies.every((r) => (r.targetGroup === 'web-canary' ? r.body === 'canary' : ['stable-a', 'stable-b'].includes(r.body)))).toBe(true);
    expect(Math.abs(stableA.hits - stableB.hits)).toBeLessThanOrEqual(1);
    expect(canary.hits + stableA.hits + stableB.hits).toBe(2000);
    expect(f.standin.routedCounts()).toEqual({ 'web-stable': stableA.hits + stableB.hits, 'web-canary': canary.hits });
    expect(replies.every((r) => r.setCookies.length === 0)).toBe(true);
  });

  it('forwards method, path, query and body, and the response with x-standin-target-group', async () => {
    await setListenerWeights(0, 1);

    const reply = await send(`${f.url}/orders?id=7`, { method: 'POST', body: 'hello' });

    expect(reply).toMatchObject({ status: 200, body: 'canary', targetGroup: 'web-canary' });
    expect(reply.headers).toMatchObject({ 'x-echo-method': 'POST', 'x-echo-path': '/orders?id=7', 'x-echo-body': 'hello' });
  });

  it('sends nothing to a group of weight 0', async () => {
    await setListenerWeights(999, 0);

    const replies = await many(300, 10, () => send(`${f.url}/`));

    expect(replies.every((r) => r.status === 200 && r.targetGroup === 'web-stable')).toBe(true);
    expect(canary.hits).toBe(0);
  });

  it('evaluates rules by priority before the default actions', async () => {
    const api = await send(`${f.url}/api/orders`);
    const other = await many(20, 5, () => send(`${f.url}/apiary`));

    expect(api).toMatchObject({ status: 200, body: 'api', targetGroup: 'web-api' });
    expect(other.every((r) => r.targetGroup !== 'web-api')).toBe(true);
  });

  it('with stickiness, a client that keeps its cookie stays on its group; clients without one are spread by weight', async () => {
    await setListenerWeights(500, 500, 120);

    const sticky = new CookieClient();
    const first = await sticky.get(`${f.url}/`);
    const firstAt = Date.now();
    const followUps = await many(60, 1, () => sticky.get(`${f.url}/`));
    const fresh = await many(600, 20, () => send(`${f.url}/`));

    const stickyCookie = first.setCookies.find((c) => c.startsWith('AWSALBTG='));
    const corsCookie = first.setCookies.find((c) => c.startsWith('AWSALBTGCORS='));
    const expires = Date.parse(/Expires=([^;]+)/.exec(stickyCookie ?? '')?.[1] ?? '');
    expect(stickyCookie).toBeDefined();
    expect(corsCookie).toContain('SameSite=None');
    expect(Math.abs(expires - (firstAt + 120_000))).toBeLessThan(2_000);
    expect(followUps.every((r) => r.targetGroup === first.targetGroup)).toBe(true);
    expect(followUps.every((r) => r.setCookies.some((c) => c.startsWith('AWSALBTG=')))).toBe(true);
    const freshCanary = fresh.filter((r) => r.targetGroup === 'web-canary').length / fresh.length;
    expect(freshCanary).toBeGreaterThan(0.42);
    expect(freshCanary).toBeLessThan(0.58);
  });

  it('ignores a forged or foreign stickiness cookie and routes by weight', async () => {
    await setListenerWeights(999, 0, 120);

    const forged = await many(50, 5, () => send(`${f.url}/`, { cookie: 'AWSALBTG=Zm9v.YmFy; AWSALBTGCORS=garbage' }));

    expect(forged.every((r) => r.targetGroup === 'web-stable')).toBe(true);
  });

  it('after ModifyListener takes the canary out of the action, its sticky clients move to stable and get a stable cookie', async () => {
    await setListenerWeights(500, 500, 300);
    const clients = Array.from({ length: 30 }, () => new CookieClient());
    const firstReplies = await Promise.all(clients.map((c) => c.get(`${f.url}/`)));
    const onCanary = clients.filter((_, i) => firstReplies[i]?.targetGroup === 'web-canary');
    const onStable = clients.filter((_, i) => firstReplies[i]?.targetGroup === 'web-stable');
    const stillSticky = await Promise.all(onCanary.map((c) => c.get(`${f.url}/`)));

    // A cookie naming a group the action no longer forwards to is ignored; a weight of 0 alone would keep them.
    await f.client.send(new ModifyListenerCommand({ ListenerArn: f.listenerArn, DefaultActions: [weightedForward(1, [[f.stableArn, 999]], 300)] }));
    const canaryHitsAtShift = canary.hits;
    const moved = await Promise.all(onCanary.map((c) => c.get(`${f.url}/`)));
    const movedAgain = await Promise.all(onCanary.map((c) => c.get(`${f.url}/`)));
    const stableStay = await Promise.all(onStable.map((c) => c.get(`${f.url}/`)));

    expect(onCanary.length).toBeGreaterThan(3);
    expect(onStable.length).toBeGreaterThan(3);
    expect(stillSticky.every((r) => r.targetGroup === 'web-canary')).toBe(true);
    expect(moved.every((r) => r.targetGroup === 'web-stable')).toBe(true);
    expect(moved.every((r) => r.setCookies.some((c) => c.startsWith('AWSALBTG=')))).toBe(true);
    expect(movedAgain.every((r) => r.targetGroup === 'web-stable')).toBe(true);
    expect(stableStay.every((r) => r.targetGroup === 'web-stable')).toBe(true);
    expect(canary.hits).toBe(canaryHitsAtShift);
  });

  it('answers 502 when the chosen target is down and 503 when a group has no healthy target', async () => {
    const doomed = await startTarget('doomed');
    const doomedArn = f.standin.createTargetGroup({
      name: 'web-doomed',
      targets: [{ host: '127.0.0.1', port: doomed.port }],
      healthCheckPath: '/health',
      healthCheckIntervalMs: 60_000,
      healthyThresholdCount: 1,
    });
    const sickArn = f.standin.createTargetGroup({ name: 'web-sick', targets: [{ host: '127.0.0.1', port: sick.port }], healthCheckPath: '/health', unhealthyThresholdCount: 1 });
    const doomedListener = await f.standin.createListener({ defaultActions: [{ Type: 'forward', TargetGroupArn: doomedArn }] });
    const sickListener = await f.standin.createListener({ defaultActions: [{ Type: 'forward', TargetGroupArn: sickArn }] });
    await f.standin.waitForHealthy(doomedArn, 5000);
    await waitFor(() => f.standin.targetHealth(sickArn)[0]?.state === 'unhealthy');

    const alive = await send(`${doomedListener.url}/`);
    await doomed.close();
    const down = await send(`${doomedListener.url}/`);
    const noHealthy = await send(`${sickListener.url}/`);

    expect(alive).toMatchObject({ status: 200, body: 'doomed' });
    expect(down.status).toBe(502);
    expect(down.body).toContain('502 Bad Gateway');
    expect(noHealthy.status).toBe(503);
    expect(sick.hits).toBe(0);
  });

  it('keeps up with a steady 200 requests a second over keep-alive connections', async () => {
    const rate = 200;
    const total = 600;
    const started = performance.now();
    const pending: Promise<Reply>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(send(`${f.url}/`));
    }
    const lastSent = performance.now();
    const replies = await Promise.all(pending);
    const drained = performance.now();

    expect(statusCounts(replies)).toEqual({ 200: total });
    expect(lastSent - started).toBeLessThan(((total / rate) * 1000) * 1.5);
    expect(drained - lastSent).toBeLessThan(1000);
  });
});

function statusCounts(replies: readonly Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const reply of replies) counts[reply.status] = (counts[reply.status] ?? 0) + 1;
  return counts;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
