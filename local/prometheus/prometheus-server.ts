import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild, trackChild } from '../process/children';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * A real Prometheus server for tests, benchmarks and the local demo: the Debian package's binary
 * (`apt-get install -y prometheus`), started directly on a free loopback port with its own temp
 * storage, scraping the given targets. Quiet: its log goes to a file, shown only when startup fails.
 */

export interface PrometheusOptions {
  /** Scrape targets as host:port; each serves /metrics. */
  readonly targets: readonly string[];
  /** Scrape (and rule evaluation) interval; default 1 s so tests see changes quickly. */
  readonly scrapeIntervalSeconds?: number;
  /** The `job` label of the scraped series; default `test`. */
  readonly jobName?: string;
  /** Labels added to every scraped series, e.g. { cluster: 'local' }. */
  readonly targetLabels?: Readonly<Record<string, string>>;
  /** Extra command-line flags, e.g. ['--query.lookback-delta=30s']. */
  readonly extraArgs?: readonly string[];
  /** How long to wait for /-/ready; default 30 s. */
  readonly startTimeoutMs?: number;
}

export interface RunningPrometheus {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /** Stops the server and removes its storage; safe to call twice. */
  stop(): Promise<void>;
  /** Resolves once every configured target has been scraped successfully (Prometheus 2.42 starts scraping about 5 s after start). */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** Resolves once an instant query of `promql` returns a non-empty result. */
  waitForSeries(promql: string, timeoutMs?: number): Promise<void>;
}

export const PROMETHEUS_INSTALL_HINT = 'apt-get install -y prometheus';

const DEFAULT_WAIT_MS = 15_000;
const POLL_MS = 100;
const LOG_TAIL_LINES = 30;

/** Every server this process started, so that none outlives it if a test forgets stop(). */

/** Starts Prometheus scraping `targets` and resolves when it answers /-/ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = await findPrometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'canary-prometheus-'));
  const interval = options.scrapeIntervalSeconds ?? 1;
  const jobName = options.jobName ?? 'test';
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  // JSON is YAML, so the config needs no YAML writer.
  const config = {
    global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s`, evaluation_interval: `${interval}s` },
    scrape_configs: [
      {
        job_name: jobName,
        static_configs: [{ targets: [...options.targets], ...(options.targetLabels && { labels: { ...options.targetLabels } }) }],
      },
    ],
  };
  await writeFile(configFile, JSON.stringify(config, null, 2));

  // A free port can be taken by a parallel test between probe and bind; then try another one.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(options.extraArgs ?? []),
    ];
    const child = await spawnLogged(binary, args, logFile);
    trackChild(child);
    try {
      await waitUntilReady(url, child, options.startTimeoutMs ?? 30_000);
      // Another test's server may have taken the port first and be the one answering /-/ready.
      if (!(await servesConfig(url, configFile))) throw new PortTakenError(`port ${port} is served by another process`);
      return handle(url, child, dir, options.targets.length);
    } catch (error) {
      lastError = error;
      await stopChild(child);
      const log = await tail(logFile);
      if (!(error instanceof PortTakenError) && !/address already in use/i.test(log)) {
        await rm(dir, { recursive: true, force: true });
        throw new Error(`Prometheus did not start: ${describe(error)}\n--- last lines of its log ---\n${log}`);
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`Prometheus did not start after 3 port attempts: ${describe(lastError)}`);
}

/** The path of the `prometheus` binary on PATH, or an error saying how to install it. */
export async function findPrometheusBinary(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'prometheus');
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`the 'prometheus' binary is not on PATH; install it with: ${PROMETHEUS_INSTALL_HINT} (Debian/Ubuntu; CI does this in .ci/run)`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function handle(url: string, child: ChildProcess, dir: string, targetCount: number): RunningPrometheus {
  let stopped: Promise<void> | undefined;
  return {
    url,
    stop: () => {
      stopped ??= (async () => {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
    waitForTargetsUp: (timeoutMs = DEFAULT_WAIT_MS) => waitForTargetsUp(url, targetCount, timeoutMs),
    waitForSeries: (promql, timeoutMs = DEFAULT_WAIT_MS) => waitForSeries(url, promql, timeoutMs),
  };
}

async function spawnLogged(binary: string, args: string[], logFile: string): Promise<ChildProcess> {
  const log = await open(logFile, 'a');
  try {
    const child = spawn(binary, args, { stdio: ['ignore', log.fd, log.fd] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    return child;
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited with ${child.exitCode ?? child.signalCode} before it was ready`);
    }
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
      await response.body?.cancel();
    } catch {
      // not listening yet
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${url}/-/ready did not answer 200 within ${timeoutMs} ms`);
}

class PortTakenError extends Error {}

/** Whether the Prometheus at `url` is the one started with `configFile`. */
async function servesConfig(url: string, configFile: string): Promise<boolean> {
  try {
    const body = (await (await fetch(`${url}/api/v1/status/flags`)).json()) as { data?: Record<string, string> };
    return body.data?.['config.file'] === configFile;
  } catch {
    return false;
  }
}

interface TargetsResponse {
  data?: { activeTargets?: { scrapeUrl?: string; health?: string; lastError?: string }[] };
}

async function waitForTargetsUp(url: string, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer from /api/v1/targets';
  while (Date.now() < deadline) {
    try {
      const body = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as TargetsResponse;
      const targets = body.data?.activeTargets ?? [];
      const down = targets.filter((t) => t.health !== 'up');
      if (targets.length >= expected && down.length === 0) return;
      last =
        targets.length === 0
          ? 'no targets yet (Prometheus 2.42 applies its scrape targets about 5 s after it starts)'
          : `${targets.length - down.length}/${expected} up` + down.map((t) => `; ${t.scrapeUrl ?? '?'}: ${t.health ?? '?'} ${t.lastError ?? ''}`.trimEnd()).join('');
    } catch (error) {
      last = describe(error);
    }
    await sleep(POLL_MS);
  }
  throw new Error(`Prometheus targets not up within ${timeoutMs} ms: ${last}`);
}

interface QueryResponse {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

async function waitForSeries(url: string, promql: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'empty result';
  while (Date.now() < deadline) {
    let body: QueryResponse | undefined;
    try {
      const response = await fetch(`${url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: promql }).toString(),
      });
      body = (await response.json()) as QueryResponse;
    } catch (error) {
      last = describe(error);
    }
    // A bad query will not get better by waiting.
    if (body !== undefined && body.status !== 'success') throw new Error(`query '${promql}' failed: ${body.error ?? 'unknown error'}`);
    const result = body?.data?.result;
    if (result !== undefined && (!Array.isArray(result) || result.length > 0)) return;
    await sleep(POLL_MS);
  }
  throw new Error(`no series for '${promql}' within ${timeoutMs} ms (${last})`);
}


async function tail(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
