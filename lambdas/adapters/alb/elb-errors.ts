import { NETWORK_ERROR_CODES } from '../network-errors';
import {
  CanaryError,
  RouteNotFoundError,
  RouterError,
  ThrottlingError,
  TransientError,
} from '../../domain/errors';

/**
 * ELBv2 speaks the AWS Query protocol. The v3 SDK names a modelled error by its class
 * (`name: 'ListenerNotFoundException'`) and keeps the wire code in `Code` and `Error.Code`
 * (`'ListenerNotFound'`); an unmodelled one (`Throttling`, `ValidationError`, `AccessDenied`,
 * `InternalFailure`) carries the wire code as `name` too. Codes are compared without the
 * `Exception` suffix so both spellings match.
 */

const THROTTLING = new Set(['Throttling', 'TooManyRequests', 'RequestLimitExceeded', 'RequestThrottled']);

const NOT_FOUND = new Set(['ListenerNotFound', 'RuleNotFound', 'TargetGroupNotFound', 'LoadBalancerNotFound']);

/** Refusals a retry will not fix: the request, the configuration or the credentials are wrong. */
const REFUSED = new Set([
  'ValidationError',
  'Validation',
  'InvalidConfigurationRequest',
  'InvalidLoadBalancerAction',
  'IncompatibleProtocols',
  'UnsupportedProtocol',
  'OperationNotPermitted',
  'TargetGroupAssociationLimit',
  'TooManyActions',
  'TooManyTargetGroups',
  'TooManyTargets',
  'TooManyRegistrationsForTargetId',
  'TooManyUniqueTargetGroupsPerLoadBalancer',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MissingParameter',
  'InvalidAction',
  'UnauthorizedOperation',
  'NotAuthorized',
  'AuthFailure',
  'OptInRequired',
  'InvalidClientTokenId',
  'UnrecognizedClient',
  'ExpiredToken',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
]);

/** Passing faults: the service or the network, not the request. `PriorRequestNotComplete` clears by itself. */
const TRANSIENT = new Set([
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'ServiceUnavailable',
  'RequestTimeout',
  'PriorRequestNotComplete',
  'TimeoutError',
  ...NETWORK_ERROR_CODES,
]);

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Every code the error carries (`Code`, `Error.Code`, `name`, Node's `code`), without an `Exception` suffix. */
export function elbErrorCodes(error: unknown): string[] {
  const raw = [field(error, 'Code'), field(field(error, 'Error'), 'Code'), field(error, 'name'), field(error, 'code')];
  const codes = raw.map(text).filter((code): code is string => code !== undefined);
  return [...new Set(codes.map((code) => code.replace(/Exception$/, '')))];
}

function httpStatus(error: unknown): number | undefined {
  const status = field(field(error, '$metadata'), 'httpStatusCode');
  return typeof status === 'number' ? status : undefined;
}

/**
 * The domain error for an ELBv2 SDK error, `operation` saying what was attempted on which ARN.
 * Anything not recognised (and any domain error) comes back as it was, for the caller to rethrow.
 */
export function translateElbError(error: unknown, operation: string): unknown {
  if (error instanceof CanaryError) return error;
  const codes = elbErrorCodes(error);
  const status = httpStatus(error);
  const code = codes.find((c) => c !== 'Error') ?? codes[0] ?? 'UnknownError';
  const message = `${operation} failed: ${code}: ${text(field(error, 'message')) ?? 'no message'}`;
  const has = (set: ReadonlySet<string>) => codes.some((c) => set.has(c));

  if (has(THROTTLING) || status === 429) return new ThrottlingError(message, { cause: error });
  if (has(NOT_FOUND)) return new RouteNotFoundError(message, { cause: error });
  if (has(REFUSED) || codes.some((c) => c.startsWith('AccessDenied'))) return new RouterError(message, { cause: error });
  if (has(TRANSIENT) || (status !== undefined && status >= 500)) return new TransientError(message, { cause: error });
  return error;
}
