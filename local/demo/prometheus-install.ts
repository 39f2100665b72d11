import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { findPrometheusBinary } from '../prometheus/prometheus-server';

/**
 * Prometheus for the demo: the `prometheus` binary on PATH. When it is missing and this process may install
 * Debian packages (root, apt-get present), the demo installs it; otherwise it stops with the exact command.
 */

/** The commands that install Prometheus on Debian or Ubuntu. */
export const INSTALL_COMMANDS: readonly (readonly string[])[] = [
  ['apt-get', 'update'],
  ['apt-get', 'install', '-y', 'prometheus'],
];

/** Prometheus is missing and the demo cannot install it. */
export class PrometheusMissingError extends Error {
  override readonly name = 'PrometheusMissingError';
}

export interface PrometheusInstallDeps {
  /** The binary's path, or a rejection when it is not on PATH. */
  readonly findBinary: () => Promise<string>;
  readonly isRoot: () => boolean;
  readonly hasAptGet: () => Promise<boolean>;
  /** Runs one command, its output shown to the user; rejects when it fails. */
  readonly run: (command: readonly string[]) => Promise<void>;
  readonly log: (line: string) => void;
}

/** The exact command a person runs to install Prometheus (with sudo when this process is not root). */
export function installCommandLine(root: boolean): string {
  const sudo = root ? '' : 'sudo ';
  return INSTALL_COMMANDS.map((command) => `${sudo}${command.join(' ')}`).join(' && ');
}

/** The path of the prometheus binary, installing Debian's package first when it is missing and that is possible. */
export async function ensurePrometheus(deps: PrometheusInstallDeps = systemDeps()): Promise<string> {
  try {
    return await deps.findBinary();
  } catch {
    // not on PATH: install it, or say how
  }
  const root = deps.isRoot();
  if (!root || !(await deps.hasAptGet())) {
    const how = (await deps.hasAptGet())
      ? installCommandLine(root)
      : `install Prometheus 2.x so that 'prometheus' is on PATH (on Debian or Ubuntu: ${installCommandLine(false)})`;
    throw new PrometheusMissingError(`Prometheus is not installed and the demo cannot install it${root ? '' : ' (not root)'}. Run:\n  ${how}\nthen run the demo again.`);
  }
  deps.log(`Prometheus is not installed; installing Debian's package: ${installCommandLine(true)}`);
  for (const command of INSTALL_COMMANDS) {
    try {
      await deps.run(command);
    } catch (error) {
      throw new PrometheusMissingError(`installing Prometheus failed at '${command.join(' ')}': ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    return await deps.findBinary();
  } catch {
    throw new PrometheusMissingError(`'${installCommandLine(true)}' finished, but 'prometheus' is still not on PATH`);
  }
}

/** The real machine: PATH, the effective user, apt-get run with its output on stderr. */
export function systemDeps(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): PrometheusInstallDeps {
  return {
    findBinary: findPrometheusBinary,
    isRoot: () => process.getuid?.() === 0,
    hasAptGet: async () => {
      for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
        try {
          await access(join(dir, 'apt-get'), fsConstants.X_OK);
          return true;
        } catch {
          // not here
        }
      }
      return false;
    },
    run: ([program, ...args]) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(program, args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
        child.once('error', reject);
        child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`exited with ${code ?? signal}`))));
      }),
    log,
  };
}
