import { Agent, request } from 'undici';

/**
 * A bounded constant-rate load generator with clients that keep cookies, like browsers behind an ALB.
 *
 * Requests leave on a fixed schedule (default 100 per second), whatever the answers take: an open model,
 * so a slow canary does not slow the load down. Each request is sent by a client of a pool: an idle one if
 * there is one, else a new one. A client sends the `AWSALBTG` cookie the load balancer gave it, so it sticks
 * to its target group, and retires after `requestsPerClient` requests, a short visit. New clients keep
 * arriving, so the share of requests on the canary follows the weights within a second of a change, as it
 * does on a busy ALB; sticky clients that never left would keep the split of the moment they arrived.
 * It stops by itself after `maxSeconds`.
 */

export interface LoadOptions {
  /** Base URL of the load balancer's listener. */
  readonly url: string;
  /** Requests per second; default 100. */
  readonly rps?: number;
  /** Requests each client sends before it leaves; default 3. */
  readonly requestsPerClient?: number;
  /** The generator stops by itself after this many seconds; default 600. */
  readonly maxSeconds?: number;
  /** Requests in flight above which a due request is skipped (and counted); default 1000. */
  readonly maxInFlight?: number;
  /** Path of each request; default `/`. */
  readonly path?: string;
}

export interface LoadStats {
  readonly sent: number;
  readonly completed: number;
  /** Answers by HTTP status. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Answers by the target group the stand-in named (`x-standin-target-group`). */
  readonly byTargetGroup: Readonly<Record<string, number>>;
  /** Requests that got no answer (connection errors, timeouts). */
  readonly failed: number;
  /** Due requests skipped because too many were in flight. */
  readonly skipped: number;
  /** Clients that arrived so far. */
  readonly clients: number;
  readonly inFlight: number;
}

interface Cookie {
  readonly value: string;
  /** Epoch ms; Infinity for a session cookie. */
  readonly expires: number;
}

/** A browser-like client: its own cookie jar and a number of requests before it leaves. */
class Client {
  readonly cookies = new Map<string, Cookie>();
  constructor(public remaining: number) {}

  /** The Cookie header for a request now, without expired cookies. */
  header(now: number): string | undefined {
    const pairs: string[] = [];
    for (const [name, cookie] of this.cookies) {
      if (cookie.expires <= now) this.cookies.delete(name);
      else pairs.push(`${name}=${cookie.value}`);
    }
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  /** Keeps the cookies of a response's Set-Cookie headers. */
  store(setCookie: string | string[] | undefined, now: number): void {
    for (const line of typeof setCookie === 'string' ? [setCookie] : (setCookie ?? [])) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      let expires = Infinity;
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=');
        if (key.trim().toLowerCase() === 'expires') expires = Date.parse(value.trim());
        if (key.trim().toLowerCase() === 'max-age') expires = now + Number(value.trim()) * 1000;
      }
      if (Number.isNaN(expires) || expires <= now) this.cookies.delete(name);
      else this.cookies.set(name, { value: pair.slice(eq + 1).trim(), expires });
    }
  }
}

const TICK_MS = 5;

/** Sends load until stop() or its time bound; counts what came back. */
export class LoadGenerator {
  private readonly agent = new Agent({ connections: 256, keepAliveTimeout: 10_000, pipelining: 0 });
  private readonly rps: number;
  private readonly requestsPerClient: number;
  private readonly maxInFlight: number;
  private readonly maxMs: number;
  private readonly idle: Client[] = [];
  private timer: NodeJS.Timeout | undefined;
  private bound: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private counts = { sent: 0, completed: 0, failed: 0, skipped: 0, clients: 0, due: 0 };
  private readonly byStatus = new Map<string, number>();
  private readonly byTargetGroup = new Map<string, number>();

  constructor(private readonly options: LoadOptions) {
    this.rps = options.rps ?? 100;
    this.requestsPerClient = options.requestsPerClient ?? 3;
    this.maxInFlight = options.maxInFlight ?? 1000;
    this.maxMs = (options.maxSeconds ?? 600) * 1000;
    if (!(this.rps > 0)) throw new Error(`rps must be greater than 0, got ${this.rps}`);
    if (!Number.isInteger(this.requestsPerClient) || this.requestsPerClient < 1) throw new Error(`requestsPerClient must be a whole number of at least 1, got ${this.requestsPerClient}`);
  }

  /** Starts sending; the generator stops by itself after maxSeconds. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.bound = setTimeout(() => void this.stop(), this.maxMs);
    this.bound.unref();
  }

  /** Stops sending and waits (up to 5 s) for the requests in flight, then closes the connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.bound !== undefined) clearTimeout(this.bound);
    this.timer = undefined;
    const drained = Promise.allSettled([...this.inFlight]);
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    await this.agent.destroy().catch(() => undefined);
  }

  /** Whether it is sending now. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  stats(): LoadStats {
    return {
      sent: this.counts.sent,
      completed: this.counts.completed,
      byStatus: Object.fromEntries(this.byStatus),
      byTargetGroup: Object.fromEntries(this.byTargetGroup),
      failed: this.counts.failed,
      skipped: this.counts.skipped,
      clients: this.counts.clients,
      inFlight: this.inFlight.size,
    };
  }

  private tick(): void {
    const due = Math.floor(((Date.now() - this.startedAt) * this.rps) / 1000);
    while (this.counts.due < due && !this.stopped) {
      this.counts.due++;
      if (this.inFlight.size >= this.maxInFlight) {
        this.counts.skipped++;
        continue;
      }
      this.send(this.idle.pop() ?? this.newClient());
    }
  }

  private newClient(): Client {
    this.counts.clients++;
    return new Client(this.requestsPerClient);
  }

  private send(client: Client): void {
    this.counts.sent++;
    client.remaining--;
    const now = Date.now();
    const cookie = client.header(now);
    const done = (async () => {
      try {
        const response = await request(new URL(this.options.path ?? '/', this.options.url), {
          dispatcher: this.agent,
          method: 'GET',
          headers: { 'user-agent': 'canary-demo-load/1.0', ...(cookie !== undefined && { cookie }) },
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        await response.body.dump();
        client.store(response.headers['set-cookie'], Date.now());
        this.counts.completed++;
        const status = String(response.statusCode);
        this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
        const group = response.headers['x-standin-target-group'];
        if (typeof group === 'string') this.byTargetGroup.set(group, (this.byTargetGroup.get(group) ?? 0) + 1);
      } catch {
        this.counts.failed++;
      }
      if (client.remaining > 0 && !this.stopped) this.idle.push(client);
    })();
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}
