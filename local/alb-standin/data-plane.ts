import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Action, RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2';
import { closeServer } from './control-plane';
import type { AlbModel, ForwardTarget, ForwardView, ListenerState, TargetGroupState, TargetState } from './model';

/**
 * The listeners' HTTP servers: each request goes through the first rule (by priority) whose
 * conditions match, else the default actions; a forward action picks a target group by weight (or, with
 * target group stickiness on, by its `AWSALBTG` cookie, which weight and health do not override) and a
 * healthy target round-robin (or by the group's `AWSALB` cookie), then the request is proxied to it.
 * Authentication actions pass through: there is no IdP here.
 */

/** Hop-by-hop headers a proxy does not forward. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
const TARGET_GROUP_COOKIE = 'AWSALBTG';
const TARGET_GROUP_CORS_COOKIE = 'AWSALBTGCORS';
const TARGET_COOKIE = 'AWSALB';
const TARGET_CORS_COOKIE = 'AWSALBCORS';
/** ALB's default idle timeout. */
const IDLE_TIMEOUT_MS = 60_000;

export interface DataPlaneOptions {
  /** Uniform [0, 1) source for weighted choice; tests pass a seeded one. */
  readonly random: () => number;
}

/** The HTTP servers of all listeners, sharing one keep-alive agent towards the targets. */
export class DataPlane {
  private readonly servers = new Map<string, Server>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 32, timeout: IDLE_TIMEOUT_MS });
  private readonly cookieKey = randomBytes(32);
  private readonly roundRobin = new Map<string, number>();
  /** Requests forwarded per target group name since the last reset. */
  readonly routed = new Map<string, number>();

  constructor(
    private readonly model: AlbModel,
    private readonly options: DataPlaneOptions,
  ) {}

  /** Starts the HTTP server of a listener on 127.0.0.1 and records its port on the listener. */
  async listen(listener: ListenerState, port = 0): Promise<string> {
    const server = createServer((req, res) => this.handle(listener, req, res));
    server.keepAliveTimeout = IDLE_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    listener.port = (server.address() as AddressInfo).port;
    this.servers.set(listener.arn, server);
    return `http://127.0.0.1:${listener.port}`;
  }

  /** Closes every listener server and upstream connection. */
  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => closeServer(s)));
    this.servers.clear();
    this.agent.destroy();
  }

  private handle(listener: ListenerState, req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rule = this.model.rulesOf(listener.arn).find((r) => r.conditions.every((c) => matches(c, req, url)));
    const actions = rule?.actions ?? listener.defaultActions;
    for (const action of actions) {
      switch (action.Type) {
        case 'forward':
          this.forward(listener, action, req, res);
          return;
        case 'fixed-response':
          fixedResponse(action, res);
          return;
        case 'redirect':
          redirect(listener, action, req, url, res);
          return;
        default:
          // authenticate-oidc, authenticate-cognito, jwt-validation: no identity provider locally.
          continue;
      }
    }
    albError(res, 503, 'Service Temporarily Unavailable');
  }

  private forward(listener: ListenerState, action: Action, req: IncomingMessage, res: ServerResponse): void {
    const view = this.model.forwardOf([action]);
    if (view === undefined) return albError(res, 503, 'Service Temporarily Unavailable');
    const cookies = parseCookies(req.headers.cookie);
    const now = Date.now();
    // Stickiness off on the action: the cookie is not read and none is set (ELB User Guide, "Listeners for your
    // Application Load Balancers" → Forward actions: weighted routing alone "does not guarantee that sticky sessions
    // are honored"; the AWSALBTG cookie belongs to "a rule with target group stickiness enabled").
    const sticky = view.stickiness.enabled ? this.stickyGroup(cookies, view, now) : undefined;
    const choice = sticky ?? this.weightedGroup(view);
    const group = choice && this.model.targetGroups.get(choice.targetGroupArn);
    if (choice === undefined || group === undefined) return albError(res, 503, 'Service Temporarily Unavailable');
    // A sticky group without a healthy target is not swapped for another: the request fails here, 503, as a
    // request routed by weight to such a group does (the cookie wins over weight and health alike, see stickyGroup).
    const target = this.pickTarget(group, cookies, now);
    if (target === undefined) return albError(res, 503, 'Service Temporarily Unavailable');

    const setCookies: string[] = [];
    if (view.stickiness.enabled) {
      const seconds = view.stickiness.durationSeconds ?? 86_400;
      const value = this.sign(`g|${group.arn}|${now + seconds * 1000}`);
      setCookies.push(...cookiePair(TARGET_GROUP_COOKIE, TARGET_GROUP_CORS_COOKIE, value, now, seconds));
    }
    if (group.stickiness.enabled) {
      const seconds = group.stickiness.durationSeconds;
      const value = this.sign(`t|${group.arn}|${target.host}:${target.port}|${now + seconds * 1000}`);
      setCookies.push(...cookiePair(TARGET_COOKIE, TARGET_CORS_COOKIE, value, now, seconds));
    }
    this.routed.set(group.name, (this.routed.get(group.name) ?? 0) + 1);
    this.proxy(listener, req, res, group, target, setCookies);
  }

  /**
   * The group a valid, unexpired AWSALBTG cookie names if it is still in the action, whatever its weight (0 too)
   * and its health. ELB User Guide, "Listeners for your Application Load Balancers" → Forward actions: a request
   * that "matches a rule with target group stickiness enabled and contains the cookie" is "routed to the target
   * group specified in the cookie"; AWS re:Post, "ALB to automatically redirect traffic": "Stickiness takes
   * precedence over adjusting Weight", so sticky clients stay until the cookie expires. A group no longer in the
   * action is not one the action forwards to ("Forward requests to the specified target groups"): that cookie is
   * ignored and the request goes by weight, which is how clients are moved off a group for good.
   */
  private stickyGroup(cookies: Map<string, string>, view: ForwardView, now: number): ForwardTarget | undefined {
    for (const name of [TARGET_GROUP_COOKIE, TARGET_GROUP_CORS_COOKIE]) {
      const payload = this.verify(cookies.get(name));
      const [kind, arn, expires] = payload?.split('|') ?? [];
      if (kind !== 'g' || Number(expires) <= now) continue;
      const group = view.targetGroups.find((t) => t.targetGroupArn === arn);
      if (group !== undefined) return group;
    }
    return undefined;
  }

  private weightedGroup(view: ForwardView): ForwardTarget | undefined {
    const total = view.targetGroups.reduce((sum, t) => sum + t.weight, 0);
    if (total <= 0) return undefined;
    let point = this.options.random() * total;
    for (const group of view.targetGroups) {
      if (group.weight <= 0) continue;
      if (point < group.weight) return group;
      point -= group.weight;
    }
    return view.targetGroups.filter((t) => t.weight > 0).at(-1);
  }

  private pickTarget(group: TargetGroupState, cookies: Map<string, string>, now: number): TargetState | undefined {
    const healthy = healthyTargets(group);
    if (healthy.length === 0) return undefined;
    if (group.stickiness.enabled) {
      for (const name of [TARGET_COOKIE, TARGET_CORS_COOKIE]) {
        const [kind, arn, hostPort, expires] = this.verify(cookies.get(name))?.split('|') ?? [];
        if (kind !== 't' || arn !== group.arn || Number(expires) <= now) continue;
        const target = healthy.find((t) => `${t.host}:${t.port}` === hostPort);
        if (target !== undefined) return target;
      }
    }
    const next = this.roundRobin.get(group.arn) ?? 0;
    this.roundRobin.set(group.arn, next + 1);
    return healthy[next % healthy.length];
  }

  private proxy(
    listener: ListenerState,
    req: IncomingMessage,
    res: ServerResponse,
    group: TargetGroupState,
    target: TargetState,
    setCookies: readonly string[],
  ): void {
    const headers = withoutHopByHop(req.headers);
    const client = req.socket.remoteAddress ?? '127.0.0.1';
    const forwardedFor = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor === undefined ? client : `${String(forwardedFor)}, ${client}`;
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-port'] = String(listener.port);
    headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent,
    });
    upstream.setTimeout(IDLE_TIMEOUT_MS, () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('response', (up) => {
      const out = withoutHopByHop(up.headers);
      const upstreamCookies = up.headers['set-cookie'] ?? [];
      if (upstreamCookies.length + setCookies.length > 0) out['set-cookie'] = [...upstreamCookies, ...setCookies];
      out['x-standin-target-group'] = group.name;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const timedOut = error.message === 'upstream timeout';
      albError(res, timedOut ? 504 : 502, timedOut ? 'Gateway Time-out' : 'Bad Gateway', group.name);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  private sign(payload: string): string {
    const body = Buffer.from(payload).toString('base64url');
    return `${body}.${createHmac('sha256', this.cookieKey).update(body).digest('base64url').slice(0, 22)}`;
  }

  private verify(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const [body, mac] = value.split('.');
    if (body === undefined || mac === undefined) return undefined;
    const expected = Buffer.from(createHmac('sha256', this.cookieKey).update(body).digest('base64url').slice(0, 22));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return Buffer.from(body, 'base64url').toString('utf8');
  }
}

function healthyTargets(group: TargetGroupState): TargetState[] {
  return group.targets.filter((t) => t.health === 'healthy');
}

function cookiePair(name: string, corsName: string, value: string, now: number, seconds: number): string[] {
  const expires = new Date(now + seconds * 1000).toUTCString();
  // Locally there is no TLS, so the CORS cookie leaves out `Secure` (which ALB sets); clients keep it over plain HTTP.
  return [`${name}=${value}; Expires=${expires}; Path=/`, `${corsName}=${value}; Expires=${expires}; Path=/; SameSite=None`];
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function albError(res: ServerResponse, status: number, text: string, targetGroup?: string): void {
  const body = `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n</body>\r\n</html>\r\n`;
  res.writeHead(status, {
    server: 'awselb/2.0',
    'content-type': 'text/html',
    'content-length': Buffer.byteLength(body),
    ...(targetGroup === undefined ? {} : { 'x-standin-target-group': targetGroup }),
  });
  res.end(body);
}

function fixedResponse(action: Action, res: ServerResponse): void {
  const config = action.FixedResponseConfig;
  const body = config?.MessageBody ?? '';
  res.writeHead(Number(config?.StatusCode ?? '200'), {
    server: 'awselb/2.0',
    'content-type': config?.ContentType ?? 'text/plain',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function redirect(listener: ListenerState, action: Action, req: IncomingMessage, url: URL, res: ServerResponse): void {
  const config = action.RedirectConfig;
  const host = (req.headers.host ?? `127.0.0.1:${listener.port}`).replace(/:[0-9]+$/, '');
  const fill = (template: string) =>
    template
      .replaceAll('#{protocol}', 'http')
      .replaceAll('#{host}', host)
      .replaceAll('#{port}', String(listener.port))
      .replaceAll('#{path}', url.pathname.replace(/^\//, ''))
      .replaceAll('#{query}', url.search.replace(/^\?/, ''));
  const protocol = fill(config?.Protocol ?? '#{protocol}').toLowerCase();
  const query = fill(config?.Query ?? '#{query}');
  const location = `${protocol}://${fill(config?.Host ?? '#{host}')}:${fill(config?.Port ?? '#{port}')}${fill(config?.Path ?? '/#{path}')}${query === '' ? '' : `?${query}`}`;
  res.writeHead(config?.StatusCode === 'HTTP_302' ? 302 : 301, { server: 'awselb/2.0', location, 'content-length': 0 });
  res.end();
}

/** Whether a request meets one rule condition (any of its values; patterns with `*` and `?`). */
function matches(condition: RuleCondition, req: IncomingMessage, url: URL): boolean {
  switch (condition.Field) {
    case 'path-pattern':
      return anyMatch(url.pathname, condition.PathPatternConfig?.Values ?? condition.Values, condition.PathPatternConfig?.RegexValues, false);
    case 'host-header': {
      const host = (req.headers.host ?? '').replace(/:[0-9]+$/, '');
      return anyMatch(host, condition.HostHeaderConfig?.Values ?? condition.Values, condition.HostHeaderConfig?.RegexValues, true);
    }
    case 'http-header': {
      const name = (condition.HttpHeaderConfig?.HttpHeaderName ?? '').toLowerCase();
      const raw = req.headers[name];
      const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      return values.some((v) => anyMatch(v, condition.HttpHeaderConfig?.Values, condition.HttpHeaderConfig?.RegexValues, true));
    }
    case 'http-request-method':
      return (condition.HttpRequestMethodConfig?.Values ?? []).includes(req.method ?? 'GET');
    case 'query-string':
      return (condition.QueryStringConfig?.Values ?? []).some((pair) =>
        [...url.searchParams.entries()].some(
          ([key, value]) => (pair.Key === undefined || glob(pair.Key, true).test(key)) && glob(pair.Value ?? '*', true).test(value),
        ),
      );
    case 'source-ip': {
      const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      return (condition.SourceIpConfig?.Values ?? []).some((cidr) => inCidr(ip, cidr));
    }
    default:
      return false;
  }
}

function anyMatch(subject: string, values: readonly string[] | undefined, regexValues: readonly string[] | undefined, ignoreCase: boolean): boolean {
  return (
    (values ?? []).some((pattern) => glob(pattern, ignoreCase).test(subject)) ||
    (regexValues ?? []).some((pattern) => new RegExp(pattern, ignoreCase ? 'i' : '').test(subject))
  );
}

function glob(pattern: string, ignoreCase: boolean): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '');
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const toNumber = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  if (base === undefined || !/^[0-9.]+$/.test(ip) || !/^[0-9.]+$/.test(base)) return false;
  const bits = Number(bitsText ?? '32');
  const size = 2 ** (32 - bits);
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
}
