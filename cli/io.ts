import type { Terminal } from '../local/demo/live-view';
import type { RunLog } from '../lambdas/ports/run-log';
import type { RunSnapshot } from './render';

/** What a command reads and writes besides AWS: the streams, the environment, the clock. Tests pass their own. */
export interface CliIo {
  readonly stdout: Terminal;
  readonly stderr: { write(text: string): void };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on Ctrl-C: `watch` stops following. */
  readonly signal?: AbortSignal;
  /** Milliseconds between two reads of `watch` (default 1000) and of `start` waiting for its record (default 300). */
  readonly pollMs?: number;
}

/** Writes lines to stdout. */
export function print(io: CliIo, ...lines: string[]): void {
  io.stdout.write(lines.map((l) => `${l}\n`).join(''));
}

/** The run's record, events and controls; undefined when there is no record. */
export async function readSnapshot(runLog: RunLog, runId: string): Promise<RunSnapshot | undefined> {
  const [record, events, control] = await Promise.all([runLog.getRun(runId), runLog.listEvents(runId), runLog.getControl(runId)]);
  return record === undefined ? undefined : { record, events, control };
}

/** Resolves after `ms`, or at once when `signal` aborts; true when it aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
