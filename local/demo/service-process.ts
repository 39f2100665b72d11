import { spawn } from 'node:child_process';
import { stopChild, trackChild } from '../process/children';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DemoServiceState, Role } from './demo-service';
import { profileToJson, type Profile } from './profile';

/**
 * The parent's side of a demo service: one child process per version, so each has its own memory, started
 * with the tsx loader on service-main.ts. The child tells its port over IPC and exits when this process goes.
 */

const SERVICE_MAIN = resolve(__dirname, 'service-main.ts');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 3_000;
const STDERR_TAIL_CHARS = 4_000;


export interface ServiceProcess {
  readonly role: Role;
  readonly pid: number;
  readonly port: number;
  /** host:port, for Prometheus and the target group. */
  readonly target: string;
  /** The version label its metrics carry. */
  readonly versionLabel: string;
  /** What the service reports about itself (first request, phase, memory). */
  state(): Promise<DemoServiceState>;
  /** Replaces its profile; the phase clock restarts at its next request. */
  setProfile(profile: Profile): Promise<void>;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it has exited. */
  stop(): Promise<void>;
}

export interface StartServiceOptions {
  readonly service: string;
  readonly role: Role;
  readonly profile: Profile;
}

/** Starts one demo service process and resolves once it listens. */
export async function startServiceProcess(options: StartServiceOptions): Promise<ServiceProcess> {
  const loader = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', loader, SERVICE_MAIN], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, DEMO_SERVICE_CONFIG: JSON.stringify({ service: options.service, role: options.role, profile: profileToJson(options.profile) }) },
  });
  trackChild(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });

  let port: number;
  try {
    port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${options.role} service did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      child.on('message', (message: { type?: string; port?: number }) => {
        if (message.type === 'listening' && typeof message.port === 'number') {
          clearTimeout(timer);
          resolvePort(message.port);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the ${options.role} service exited (${code ?? signal}) before it listened${stderr ? `:\n${stderr.trim()}` : ''}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    await stopChild(child, STOP_TIMEOUT_MS);
    throw error;
  }
  // The IPC channel stays open for the child's sake (it exits when it closes) but must not keep this process alive.
  child.channel?.unref();
  child.unref();
  (child.stderr as Socket | null)?.unref();

  const base = `http://127.0.0.1:${port}`;
  return {
    role: options.role,
    pid: child.pid ?? -1,
    port,
    target: `127.0.0.1:${port}`,
    versionLabel: options.profile.versionLabel ?? options.role,
    async state() {
      const response = await fetch(`${base}/__demo/state`, { signal: AbortSignal.timeout(5_000) });
      return (await response.json()) as DemoServiceState;
    },
    async setProfile(profile) {
      const response = await fetch(`${base}/__demo/profile`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(profileToJson(profile)),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) throw new Error(`the ${options.role} service refused the profile: ${await response.text()}`);
      await response.body?.cancel();
    },
    stop: () => stopChild(child, STOP_TIMEOUT_MS),
  };
}

