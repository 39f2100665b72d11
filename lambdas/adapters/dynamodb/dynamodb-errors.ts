import { ThrottlingError, TransientError } from '../../domain/errors';
import { NETWORK_ERROR_CODES } from '../network-errors';

/**
 * SDK errors the DynamoDB adapter knows, translated into the domain hierarchy so that the ASL Retry can match
 * them; every other error is rethrown as it came. Conditional-check failures are left alone: the callers
 * decide what they mean (an idempotent repeat, a held lock, a missing record).
 */

const THROTTLING_NAMES = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'Throttling']);
const TRANSIENT_NAMES = new Set([
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionConflictException',
  'TransactionInProgressException',
]);
// Socket-level failures of the HTTP handler: the request may not have reached DynamoDB, a retry may succeed.
// Codes of TransactionCanceledException.CancellationReasons[].Code.
const THROTTLING_REASONS = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);
const TRANSIENT_REASONS = new Set(['TransactionConflict']);

/** One entry of TransactionCanceledException.CancellationReasons, as the SDK gives it. */
export interface CancellationReason {
  readonly Code?: string;
  readonly Message?: string;
  readonly Item?: Record<string, unknown>;
}

interface SdkErrorFields {
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly CancellationReasons?: readonly CancellationReason[];
}

const fieldsOf = (error: Error) => error as Error & SdkErrorFields;

/** True for the error DynamoDB gives when a write's ConditionExpression did not hold. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** The cancellation reasons of a cancelled transaction, one per item in order; undefined for any other error. */
export function cancellationReasons(error: unknown): readonly CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  return fieldsOf(error).CancellationReasons ?? [];
}

/** ThrottlingError or TransientError for the SDK errors that mean so; the error itself otherwise. */
export function translateDynamoDbError(error: unknown, action: string): unknown {
  if (!(error instanceof Error)) return error;
  const { code, $metadata } = fieldsOf(error);
  const describe = (what: string) => `DynamoDB ${what} during ${action}: ${error.name}: ${error.message}`;

  const reasons = cancellationReasons(error);
  if (reasons !== undefined) {
    const codes = reasons.map((r) => r.Code ?? 'None');
    // A failed condition is an answer, not a fault: the caller reads it.
    if (codes.includes('ConditionalCheckFailed')) return error;
    if (codes.some((c) => THROTTLING_REASONS.has(c))) return new ThrottlingError(describe('throttled a transaction'), { cause: error });
    if (codes.some((c) => TRANSIENT_REASONS.has(c))) return new TransientError(describe('cancelled a conflicting transaction'), { cause: error });
    return error;
  }
  if (THROTTLING_NAMES.has(error.name)) return new ThrottlingError(describe('throttled'), { cause: error });
  if (TRANSIENT_NAMES.has(error.name) || (typeof code === 'string' && NETWORK_ERROR_CODES.has(code))) {
    return new TransientError(describe('failed transiently'), { cause: error });
  }
  if (($metadata?.httpStatusCode ?? 0) >= 500) return new TransientError(describe('answered a server error'), { cause: error });
  return error;
}

/** Runs one SDK call and translates what it throws. */
export async function withDynamoDbErrors<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateDynamoDbError(error, action);
  }
}
