/**
 * Ctrl-C and SIGTERM for the demo's programs: the first signal aborts the run and cleans up (child processes,
 * Prometheus and its temp dir, servers), then exits 130 (SIGINT) or 143 (SIGTERM); a second signal, or a
 * cleanup that takes over 10 s, exits at once.
 */

export interface Interrupt {
  /** Aborted on the first signal. */
  readonly signal: AbortSignal;
  /** Whether a signal came. */
  readonly interrupted: boolean;
  /** Removes the handlers. */
  dispose(): void;
}

const FORCE_AFTER_MS = 10_000;

/** Installs the handlers; `cleanup` runs once, on the first signal. */
export function handleInterrupts(cleanup: () => Promise<void>, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Interrupt {
  const controller = new AbortController();
  let interrupted = false;
  const exitCode = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : 143);
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(exitCode(signal));
    interrupted = true;
    log(`\n${signal}: stopping the run and cleaning up (services, Prometheus, load balancer, DynamoDB)…`);
    controller.abort();
    setTimeout(() => process.exit(exitCode(signal)), FORCE_AFTER_MS).unref();
    void cleanup()
      .catch((error: unknown) => log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => process.exit(exitCode(signal)));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    get interrupted() {
      return interrupted;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
