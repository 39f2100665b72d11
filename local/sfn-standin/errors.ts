/**
 * Errors of the Step Functions API as the AWS JSON 1.0 protocol sends them: HTTP 400 with `__type` naming the
 * error shape of the `com.amazonaws.sfn` model, which the SDK turns into its exception class of that name.
 */

export type SfnErrorCode =
  | 'ExecutionAlreadyExists'
  | 'ExecutionDoesNotExist'
  | 'InvalidArn'
  | 'InvalidName'
  | 'InvalidExecutionInput'
  | 'InvalidToken'
  | 'StateMachineDoesNotExist'
  | 'ValidationException'
  | 'UnknownOperationException'
  | 'SerializationException';

/** One API error; thrown by the model, answered by the server. */
export class SfnApiError extends Error {
  override readonly name = 'SfnApiError';

  constructor(
    readonly code: SfnErrorCode,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }

  /** The response body the SDK parses. */
  body(): { __type: string; message: string } {
    return { __type: `com.amazonaws.sfn#${this.code}`, message: this.message };
  }
}
