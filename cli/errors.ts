/**
 * How the `canary` CLI ends: one exit code per way, documented in `canary --help`.
 * `watch` ends with the code of how the run ended.
 */
export const EXIT = {
  ok: 0,
  /** The CLI could not do what was asked: the engine refused, AWS answered an error, the run does not exist. */
  failed: 1,
  /** A bad argument or option: the message names it. */
  usage: 2,
  /** watch: the run rolled back; all traffic is on stable. */
  rolledBack: 3,
  /** watch: the rollback failed; traffic may still be on the canary (the record holds the manual command). */
  rollbackFailed: 4,
  /** watch: the execution was stopped or failed outside the workflow; the safety net restored stable. */
  aborted: 5,
  /** Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A bad argument or option; the message names it. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The CLI could not do what was asked; the message says why. Exit 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

/** The message of anything thrown (errors from node core fail `instanceof Error` under test sandboxes). */
export function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return String(error);
}
