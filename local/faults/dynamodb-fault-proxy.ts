import { startHttpFaultProxy, type HttpFaultProxy, type ProxyAction, type ProxyReply } from './http-fault-proxy';

/**
 * A DynamoDB endpoint with faults: a proxy in front of dynalite (AWS_ENDPOINT_URL_DYNAMODB → this) that answers
 * chosen requests with the errors DynamoDB sends, in its JSON 1.0 protocol: an HTTP status and a body whose
 * `__type` names the exception, which the SDK turns into the error of that name. Rules match by operation and by
 * a text the request body contains (a service name, a run id, a key), so concurrent cases do not see each other's
 * faults. Shapes follow the DynamoDB Developer Guide, "Error handling with DynamoDB"
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
 */

export type DynamoDbFault =
  /** "ThrottlingException … Rate of requests exceeds the allowed throughput" — HTTP 400 (Error handling: 400 errors). */
  | 'throttling'
  /** "ProvisionedThroughputExceededException … You exceeded your maximum allowed provisioned throughput" — HTTP 400. */
  | 'provisioned-throughput'
  /** "InternalServerError (HTTP 500) DynamoDB could not process your request" (Error handling: 5xx errors). */
  | 'internal-server-error'
  /** "ServiceUnavailable (HTTP 503) DynamoDB is currently unavailable. (This should be a temporary state.)" */
  | 'service-unavailable'
  /** "ConditionalCheckFailedException … The conditional request failed" — HTTP 400; nothing is written. */
  | 'conditional-check-failed'
  /** "TransactionCanceledException … The transaction was canceled", one CancellationReason per item (Transactional errors). */
  | { readonly kind: 'transaction-canceled'; readonly reasons: readonly string[] }
  /** The write is applied, then the answer is a 500: the caller sees a failure of a write that happened (Error handling: "the request may have succeeded"). */
  | 'applied-then-internal-error'
  /** The connection is reset without an answer: the table's endpoint is down (a network error, ECONNRESET). */
  | 'down';

export interface DynamoDbFaultRule {
  /** Operations it applies to, e.g. ['PutItem', 'TransactWriteItems']; every operation when absent. */
  readonly operations?: readonly string[];
  /** A text the request body must contain (e.g. the case's service name, which every key of its runs carries). */
  readonly bodyContains?: string | readonly string[];
  readonly fault: DynamoDbFault;
  /** How many matching requests get the fault; unlimited when absent (until removed). */
  readonly count?: number;
}

/** A rule in force: how many requests it has answered, and its removal. */
export interface DynamoDbFaultHandle {
  readonly served: number;
  remove(): void;
}

export interface DynamoDbFaultProxy {
  /** For AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  /** Adds a rule, in force until removed or its count is used up. */
  add(rule: DynamoDbFaultRule): DynamoDbFaultHandle;
  /** How many requests have been faulted, over all rules. */
  readonly faulted: number;
  /** Closes the port (connections refused) for every caller, until accept(). */
  refuse(): Promise<void>;
  accept(): Promise<void>;
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const JSON_TYPE = 'application/x-amz-json-1.0';

function errorReply(status: number, type: string, message: string, extra: object = {}): ProxyReply {
  return { status, headers: { 'content-type': JSON_TYPE, 'x-amzn-requestid': `fault-${Date.now()}` }, body: JSON.stringify({ __type: type, message, ...extra }) };
}

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810#';

/** The proxy's action for one fault. */
function actionOf(fault: DynamoDbFault): ProxyAction {
  if (typeof fault === 'object') {
    const reasons = fault.reasons.map((code) => (code === 'None' ? { Code: 'None' } : { Code: code, Message: code === 'ConditionalCheckFailed' ? 'The conditional request failed' : code }));
    return {
      kind: 'reply',
      reply: errorReply(400, `${DYNAMODB}TransactionCanceledException`, `Transaction cancelled, please refer cancellation reasons for specific reasons [${fault.reasons.join(', ')}]`, { CancellationReasons: reasons }),
    };
  }
  switch (fault) {
    case 'throttling':
      return { kind: 'reply', reply: errorReply(400, 'com.amazon.coral.availability#ThrottlingException', 'Rate of requests exceeds the allowed throughput.') };
    case 'provisioned-throughput':
      return { kind: 'reply', reply: errorReply(400, `${DYNAMODB}ProvisionedThroughputExceededException`, 'You exceeded your maximum allowed provisioned throughput for a table or for one or more global secondary indexes.') };
    case 'internal-server-error':
      return { kind: 'reply', reply: errorReply(500, `${DYNAMODB}InternalServerError`, 'Internal server error') };
    case 'service-unavailable':
      return { kind: 'reply', reply: errorReply(503, `${DYNAMODB}ServiceUnavailable`, 'DynamoDB is currently unavailable. (This should be a temporary state.)') };
    case 'conditional-check-failed':
      return { kind: 'reply', reply: errorReply(400, `${DYNAMODB}ConditionalCheckFailedException`, 'The conditional request failed') };
    case 'applied-then-internal-error':
      return { kind: 'forward-then-reply', reply: errorReply(500, `${DYNAMODB}InternalServerError`, 'Internal server error') };
    case 'down':
      return { kind: 'reset' };
  }
}

interface LiveRule {
  readonly rule: DynamoDbFaultRule;
  remaining: number;
  served: number;
}

/** Starts the proxy in front of `upstreamEndpoint` (http://127.0.0.1:<port>, e.g. dynalite's). */
export async function startDynamoDbFaultProxy(upstreamEndpoint: string): Promise<DynamoDbFaultProxy> {
  const rules: LiveRule[] = [];
  const proxy: HttpFaultProxy = await startHttpFaultProxy({
    upstream: new URL(upstreamEndpoint).host,
    decide: ({ headers, body }) => {
      const target = String(headers['x-amz-target'] ?? '');
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
      const live = rules.find(({ rule, remaining }) => {
        if (remaining <= 0) return false;
        if (rule.operations && !rule.operations.includes(operation)) return false;
        const texts = rule.bodyContains === undefined ? [] : typeof rule.bodyContains === 'string' ? [rule.bodyContains] : rule.bodyContains;
        return texts.every((t) => body.includes(t));
      });
      if (!live) return undefined;
      live.remaining--;
      live.served++;
      return actionOf(live.rule.fault);
    },
  });
  return {
    endpoint: proxy.endpoint,
    add(rule) {
      if (rule.count !== undefined && !(Number.isInteger(rule.count) && rule.count > 0)) throw new Error(`DynamoDB fault rule: count must be a positive integer, got ${rule.count}`);
      const live: LiveRule = { rule, remaining: rule.count ?? Number.POSITIVE_INFINITY, served: 0 };
      rules.push(live);
      return {
        get served() {
          return live.served;
        },
        remove() {
          const index = rules.indexOf(live);
          if (index >= 0) rules.splice(index, 1);
        },
      };
    },
    get faulted() {
      return proxy.faulted;
    },
    refuse: () => proxy.refuse(),
    accept: () => proxy.accept(),
    stop: () => proxy.stop(),
  };
}
