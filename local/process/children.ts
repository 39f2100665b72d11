import type { ChildProcess } from 'node:child_process';

/**
 * Child processes the local environment starts (Prometheus, the demo services): stopped politely, and never left
 * behind, even when the parent exits without cleaning up.
 */

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Remembers a child so that it is killed when this process exits. */
export function trackChild(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
