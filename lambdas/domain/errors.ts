/**
 * The one error hierarchy. Each class sets `name` to its class name: that name is the error
 * Step Functions sees (Lambda reports it as the error type) and the name the ASL Retry/Catch match.
 * A test pins every name used in statemachine/*.asl.json to a class here.
 */

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `plan.steps[1].weight`. */
  readonly field: string;
  /** What was expected, e.g. `must be between 0 and 100`. */
  readonly message: string;
}

export abstract class CanaryError extends Error {
  /** Whether a retry of the same call may succeed (throttling, timeouts, 5xx). */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The execution input or a plan failed validation; nothing was changed. */
export class InputValidationError extends CanaryError {
  readonly retryable = false;
  constructor(readonly issues: readonly FieldIssue[], subject = 'input') {
    super(`Invalid ${subject}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

/** The registered configuration of a service is missing a part or does not parse. */
export class ConfigurationError extends CanaryError {
  readonly retryable = false;
}

/** No service of that name was registered with the orchestrator. */
export class ServiceNotRegisteredError extends CanaryError {
  readonly retryable = false;
  constructor(readonly service: string, known: readonly string[] = []) {
    super(
      `service: '${service}' is not registered` +
        (known.length > 0 ? ` (registered: ${known.join(', ')})` : '') +
        '; register it with CanaryOrchestrator.addService(...) and deploy',
    );
  }
}

/** Another rollout of the same service holds the lock. */
export class RolloutInProgressError extends CanaryError {
  readonly retryable = false;
  constructor(readonly service: string, readonly holderRunId: string, readonly since: string) {
    super(`service: '${service}' already has a rollout in progress (run ${holderRunId}, started ${since}); wait for it to finish or abort it`);
  }
}

/** Traffic was not entirely on one version when a run wanted to start; a previous run did not end cleanly. */
export class TrafficNotSettledError extends CanaryError {
  readonly retryable = false;
}

/** The listener, rule, route or target named in the configuration does not exist. */
export class RouteNotFoundError extends CanaryError {
  readonly retryable = false;
}

/** The traffic router refused a change for a reason a retry will not fix (permissions, validation). */
export class RouterError extends CanaryError {
  readonly retryable = false;
}

/** Weights read back after a change differ from the weights written. */
export class WeightVerificationError extends CanaryError {
  readonly retryable = true;
}

/** An AWS API or a server asked us to slow down. */
export class ThrottlingError extends CanaryError {
  readonly retryable = true;
}

/** A passing fault: timeout, connection reset, 5xx. */
export class TransientError extends CanaryError {
  readonly retryable = true;
}

/** A metrics query failed; the analyze step turns it into an `error` measurement, never a pass. */
export class MetricsQueryError extends CanaryError {
  readonly retryable = false;
}

/** The run record store refused a write for a reason other than an idempotent repeat. */
export class RecordStoreError extends CanaryError {
  readonly retryable = false;
}

/** A workload (ECS service, Kubernetes Deployment) could not be changed or did not become ready. */
export class WorkloadError extends CanaryError {
  readonly retryable = false;
}

/** Putting traffic back on stable failed even after retries; a person must act. */
export class RollbackFailedError extends CanaryError {
  readonly retryable = false;
}

/** Traffic is settled but the table refused the run's records; a later attempt writes them (the message lists them). */
export class RecordsPendingError extends CanaryError {
  readonly retryable = true;
}

/** An operator control named a run that is not running (unknown, or already ended). */
export class RunNotRunningError extends CanaryError {
  readonly retryable = false;
}

/** Every class above, by name: the ASL pin test and error translation use it. */
export const ERROR_CLASSES = {
  InputValidationError,
  ConfigurationError,
  ServiceNotRegisteredError,
  RolloutInProgressError,
  TrafficNotSettledError,
  RouteNotFoundError,
  RouterError,
  WeightVerificationError,
  ThrottlingError,
  TransientError,
  MetricsQueryError,
  RecordStoreError,
  WorkloadError,
  RollbackFailedError,
  RecordsPendingError,
  RunNotRunningError,
} as const;

export type ErrorName = keyof typeof ERROR_CLASSES;

/**
 * Names the workflow's own Fail states end with. They are outcomes, not thrown errors:
 * a rolled-back run fails its execution so that CodePipeline and the console show it failed.
 */
export const OUTCOME_ERROR_NAMES = ['CanaryRolledBack', 'CanaryRollbackFailed', 'CanaryRecordsPending', 'CanaryRefused', 'CanaryAborted'] as const;

/** A short, single-line description of any thrown value, for records and notifications. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
