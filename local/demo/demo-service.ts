import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parseProfile, phaseAt, type Profile } from './profile';

/**
 * The demo service: one small HTTP program, run twice (stable and canary) as separate processes. It answers
 * every path but its own (`/healthz`, `/metrics`, `/__demo/…`) as its profile says, and exports Prometheus
 * metrics in the default conventions with prom-client:
 *   http_requests_total{service,version,status}, http_request_duration_seconds_bucket{service,version,le},
 *   and the default process metrics (process_resident_memory_bytes, …) labelled {service,version}.
 *
 * Errors are spread evenly, not drawn at random: errorRate 0.25 fails every 4th request. At the demo's few
 * requests per second a random 0.1% could put one 5xx into a 10 s window of 50 requests and fail a healthy
 * canary; evenly spread, the rate in each window is the profile's rate. Latency is log-normal with the
 * profile's p50 and p99. Memory is really allocated and kept: `memoryMb.start` resident from the start, then
 * `growthPerMinute` more per minute from the first request on.
 */

export type Role = 'stable' | 'canary';

export interface DemoServiceConfig {
  /** The `service` label, which is the registered service name. */
  readonly service: string;
  readonly role: Role;
  readonly profile: Profile;
  /** Port on 127.0.0.1; default 0 (a free port). */
  readonly port?: number;
}

/** What `GET /__demo/state` answers. */
export interface DemoServiceState {
  readonly role: Role;
  /** The version label its metrics carry. */
  readonly versionLabel: string;
  /** Epoch ms of the first request since start (or since the profile was last replaced); null before it. */
  readonly firstRequestAt: number | null;
  /** Index of the phase in force; null before the first request. */
  readonly phaseIndex: number | null;
  readonly requests: number;
  readonly errors: number;
  readonly rssBytes: number;
  /** Memory the profile asked for and the service holds on purpose, MB. */
  readonly retainedMb: number;
}

export interface RunningDemoService {
  readonly port: number;
  state(): DemoServiceState;
  /** Replaces the profile; the phase clock restarts at the next request. */
  setProfile(profile: Profile): void;
  close(): Promise<void>;
}

const MB = 1024 * 1024;
/** z of the 99th percentile of a standard normal distribution. */
const Z99 = 2.3263478740408408;
const MAX_LATENCY_MS = 10_000;
const MEMORY_TICK_MS = 200;

/** One draw from the log-normal distribution with the given median and 99th percentile, ms. */
export function sampleLatencyMs(p50: number, p99: number, random: () => number = Math.random): number {
  const sigma = Math.log(p99 / p50) / Z99;
  // Box-Muller: a standard normal draw from two uniform ones.
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(MAX_LATENCY_MS, p50 * Math.exp(sigma * z));
}

/** Starts the service on 127.0.0.1 and resolves once it listens. */
export async function startDemoService(config: DemoServiceConfig): Promise<RunningDemoService> {
  const versionLabel = config.profile.versionLabel ?? config.role;
  const labels = { service: config.service, version: versionLabel };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, labels });
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered, by status code.', labelNames: ['service', 'version', 'status'], registers: [registry] });
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration in seconds.', labelNames: ['service', 'version'], registers: [registry] });
  // Series exist from the start at 0, so the first 5xx is an increase Prometheus sees, not a new series' first sample.
  for (const status of ['200', '500']) requests.inc({ ...labels, status }, 0);
  duration.zero(labels);

  let profile = config.profile;
  let firstRequestAt: number | null = null;
  let phaseIndex: number | null = null;
  let errorCredit = 0;
  let served = 0;
  let failed = 0;
  const ballast: Buffer[] = [];
  // What the process holds without the profile's memory; the start size is measured against it.
  const baselineBytes = process.memoryUsage().rss;

  const wantedMb = () => {
    const minutes = firstRequestAt === null ? 0 : (Date.now() - firstRequestAt) / 60_000;
    return Math.max(0, profile.memoryMb.start - baselineBytes / MB) + profile.memoryMb.growthPerMinute * minutes;
  };
  const adjustMemory = () => {
    const wanted = Math.floor(wantedMb());
    // Filled, so the pages are really resident (a zeroed allocation may not be).
    while (ballast.length < wanted) ballast.push(Buffer.allocUnsafeSlow(MB).fill(ballast.length % 251));
    if (ballast.length > wanted) ballast.length = wanted;
  };
  adjustMemory();
  const memoryTimer = setInterval(adjustMemory, MEMORY_TICK_MS);

  const state = (): DemoServiceState => ({
    role: config.role,
    versionLabel,
    firstRequestAt,
    phaseIndex,
    requests: served,
    errors: failed,
    rssBytes: process.memoryUsage().rss,
    retainedMb: ballast.length,
  });

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const now = Date.now();
    firstRequestAt ??= now;
    const current = phaseAt(profile, (now - firstRequestAt) / 1000);
    if (current.index !== phaseIndex) {
      phaseIndex = current.index;
      // Half a credit: the first error of a phase comes after half its spacing, not a whole one.
      errorCredit = 0.5;
    }
    errorCredit += current.phase.errorRate;
    const fail = errorCredit >= 1;
    if (fail) errorCredit -= 1;
    const latency = sampleLatencyMs(current.phase.latencyMs.p50, current.phase.latencyMs.p99);
    req.resume();
    setTimeout(() => {
      const status = fail ? 500 : 200;
      const body = JSON.stringify(fail ? { error: 'injected by the demo profile', version: versionLabel } : { service: config.service, version: versionLabel, role: config.role });
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-demo-role': config.role });
      res.end(body);
      served++;
      if (fail) failed++;
      requests.inc({ ...labels, status: String(status) });
      duration.observe(labels, (performance.now() - started) / 1000);
    }, latency);
  };

  const replaceProfile = (next: Profile) => {
    if ((next.versionLabel ?? config.role) !== versionLabel) {
      throw new Error(`versionLabel cannot change while the service runs (it reports '${versionLabel}')`);
    }
    profile = next;
    firstRequestAt = null;
    phaseIndex = null;
    adjustMemory();
  };

  const control = (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (path === '/__demo/state' && req.method === 'GET') return json(res, 200, state());
    if (path === '/__demo/profile' && req.method === 'PUT') {
      void readBody(req).then((text) => {
        try {
          replaceProfile(parseProfile(JSON.parse(text)));
          return json(res, 200, state());
        } catch (error) {
          return json(res, 400, { error: error instanceof Error ? error.message : String(error) });
        }
      });
      return;
    }
    return json(res, 404, { error: `no ${req.method ?? ''} ${path}` });
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    } else if (path === '/metrics') {
      req.resume();
      void registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
    } else if (path.startsWith('/__demo/')) {
      control(req, res, path);
    } else {
      serve(req, res);
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 0, '127.0.0.1', () => resolve());
  });

  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    state,
    setProfile: replaceProfile,
    close() {
      closed ??= new Promise<void>((resolve) => {
        clearInterval(memoryTimer);
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
