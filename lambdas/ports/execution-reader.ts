/**
 * Reads a workflow execution from Step Functions itself, not from the run table: the safety net finds the run's
 * traffic roles and how far it got even when DynamoDB is down (throttled, unreachable, access denied).
 */
export interface ExecutionSnapshot {
  /** The execution input, as StartExecution received it (JSON). */
  readonly input: unknown;
  /** The last workflow state the execution entered that carries the run (`{ run, cursor, rollback?, result? }`), JSON. */
  readonly state?: unknown;
  /** The name of that state in the ASL (e.g. `WaitInterval`, `Rollback`, `RolledBack`). */
  readonly stateName?: string;
}

export interface ExecutionReader {
  /** The execution's input and the last state it entered that carries the run; undefined when the execution is unknown. */
  snapshot(executionArn: string): Promise<ExecutionSnapshot | undefined>;
}
