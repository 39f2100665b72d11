/**
 * An error the stand-in's ELBv2 API answers with, in AWS's shape: a wire code (`ListenerNotFound`,
 * `ValidationError`, `Throttling`, ...), a message, the HTTP status and who is at fault.
 */
export class ElbApiError extends Error {
  override readonly name = 'ElbApiError';
  readonly type: 'Sender' | 'Receiver';

  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.type = status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** A `ValidationError` (400), the code AWS uses for a request that breaks a parameter constraint. */
export function validationError(message: string): ElbApiError {
  return new ElbApiError('ValidationError', message);
}

/** AWS's wording for one failed constraint, e.g. at 'defaultActions.1.member.forwardConfig.targetGroups.2.member.weight'. */
export function constraintError(value: string | number, at: string, constraint: string): ElbApiError {
  return validationError(`1 validation error detected: Value '${value}' at '${at}' failed to satisfy constraint: ${constraint}`);
}
