import type { RunEvent, RunRecord, Outcome } from '../domain/run';
import type { ControlCommand, OperatorAction, RunControl } from '../domain/control';

/** The parts of a run record that change after it starts. */
export type RunUpdate = Partial<Omit<RunRecord, 'runId' | 'service' | 'executionArn' | 'startedAt' | 'image' | 'trigger' | 'dryRun'>>;

export interface ServiceLock {
  readonly service: string;
  readonly runId: string;
  readonly executionArn: string;
  readonly since: string;
}

/**
 * Where runs are recorded: the service registry, the per-service lock, run records and their events.
 * Every write is idempotent for the same run, so Step Functions retries record once.
 */
export interface RunLog {
  /** The registration written at deploy time, unvalidated; undefined when the service is unknown. */
  getServiceConfig(service: string): Promise<unknown>;
  /** Names of all registered services. */
  listServices(): Promise<string[]>;
  /** Writes a registration (deploy time, tests, the local demo). */
  putServiceConfig(service: string, config: unknown): Promise<void>;
  /**
   * Takes the service's lock and writes the run record in one transaction.
   * Repeating it for the same run succeeds; another run holding the lock gives RolloutInProgressError.
   */
  startRun(record: RunRecord): Promise<void>;
  /** Updates fields of a run record. */
  updateRun(runId: string, update: RunUpdate): Promise<void>;
  /** Writes the final outcome and releases the service's lock if this run holds it; repeatable. */
  finishRun(runId: string, service: string, update: RunUpdate & { outcome: Exclude<Outcome, 'running'>; endedAt: string }): Promise<void>;
  /** Appends an event; false when an event with that seq and lane was already recorded (an idempotent repeat). */
  appendEvent(event: RunEvent): Promise<boolean>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Runs of one service, newest first, started at or after `since`. */
  listRuns(service: string, options?: { since?: string; limit?: number }): Promise<RunRecord[]>;
  /** Runs that ended rolled back (or failed to), newest first, that ended at or after `since`. */
  listRollbacks(since: string, options?: { service?: string; limit?: number }): Promise<RunRecord[]>;
  /** Events of one run in order. */
  listEvents(runId: string): Promise<RunEvent[]>;
  /** The lock of a service, if held. */
  getLock(service: string): Promise<ServiceLock | undefined>;
  /** Releases the lock if `runId` holds it; no-op otherwise. */
  releaseLock(service: string, runId: string): Promise<void>;
  /** The operator controls of a run (abort, pause, resume, promote, approvals); undefined when none were given. */
  getControl(runId: string): Promise<RunControl | undefined>;
  /**
   * Records an operator control with who and when, for the workflow to honour at its next interval.
   * `approve` names the step it approves. A run that is unknown or has ended gives RunNotRunningError.
   */
  requestControl(runId: string, command: ControlCommand, action: OperatorAction, options?: { step?: number }): Promise<RunControl>;
}
