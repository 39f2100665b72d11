import { ConfigurationError, MetricsQueryError } from '../../domain/errors';
import type { MetricsSource, QueryOptions, QueryResult } from '../../ports/metrics-source';
import type { RequestSigner } from './sigv4-signer';

export interface PrometheusMetricsSourceOptions {
  /** Base URL of the Prometheus HTTP API (the part before /api/v1), e.g. http://prometheus:9090 or ampWorkspaceUrl(...). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …`; never logged nor put in an error message. */
  readonly bearerToken?: string;
  /** Authenticates each request instead of a bearer token (SigV4 for AMP). */
  readonly signer?: RequestSigner;
  /** Limit for one query, connect to last byte; default 10 s. */
  readonly timeoutMs?: number;
  /** Injected for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

const FORM = 'application/x-www-form-urlencoded';
/** How much of a non-JSON answer an error message quotes. */
const SNIPPET = 200;

interface Sample {
  readonly metric: Record<string, string>;
  readonly value?: unknown;
  readonly histogram?: unknown;
}

/**
 * Instant queries against the Prometheus HTTP API: a Prometheus server or an Amazon Managed Prometheus
 * workspace (the same API behind SigV4). A query must yield one number or nothing; everything else,
 * and every failure, is a MetricsQueryError whose message says what to fix.
 */
export class PrometheusMetricsSource implements MetricsSource {
  private readonly endpoint: URL;
  private readonly shownEndpoint: string;
  private readonly bearerToken: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: PrometheusMetricsSourceOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl.replace(/\/+$/, ''));
    } catch {
      throw new ConfigurationError(`Prometheus base URL '${options.baseUrl}' is not a URL; give one like http://prometheus:9090`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new ConfigurationError(`Prometheus base URL must be http or https, got ${base.protocol}`);
    }
    if (base.username !== '' || base.password !== '') {
      // fetch refuses such URLs, and the password would end up in messages.
      throw new ConfigurationError('Prometheus base URL must not contain user:password; pass a bearer token instead');
    }
    if (options.bearerToken !== undefined && options.signer !== undefined) {
      throw new ConfigurationError('Prometheus metrics source: give a bearer token or a request signer, not both');
    }
    if (options.bearerToken !== undefined) {
      // A secret stored with a trailing newline is common; the bare token is what servers expect.
      this.bearerToken = options.bearerToken.trim();
      if (this.bearerToken === '') throw new ConfigurationError('Prometheus bearer token is empty');
      if (/[\x00-\x1f\x7f]/.test(this.bearerToken)) {
        throw new ConfigurationError('Prometheus bearer token contains a line break or control character; store the bare token');
      }
    }
    this.timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new ConfigurationError(`Prometheus query timeout must be positive, got ${this.timeoutMs} ms`);
    this.endpoint = new URL(`${base.href.replace(/\/+$/, '')}/api/v1/query`);
    this.shownEndpoint = this.endpoint.href;
    this.fetch = options.fetch ?? fetch;
  }

  /** Runs an instant PromQL query that must yield at most one number (NaN and ±Inf included). */
  async query(promql: string, options: QueryOptions = {}): Promise<QueryResult> {
    try {
      return await this.run(promql, options);
    } catch (error) {
      // Every path in run() throws MetricsQueryError; anything else is still wrapped, never let out raw.
      const message = error instanceof MetricsQueryError ? error.message : `query to ${this.shownEndpoint} failed: ${describe(error)}`;
      throw new MetricsQueryError(this.redact(message));
    }
  }

  private async run(promql: string, options: QueryOptions): Promise<QueryResult> {
    const body = new URLSearchParams({ query: promql, ...(options.at && { time: String(options.at.getTime() / 1000) }) }).toString();
    const headers = await this.headersFor(body);
    const signal = AbortSignal.timeout(this.timeoutMs);

    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.endpoint, { method: 'POST', headers, body, redirect: 'manual', signal });
      text = await response.text();
    } catch (error) {
      throw new MetricsQueryError(`cannot reach ${this.shownEndpoint}: ${this.connectionReason(error)}`);
    }
    return this.interpret(response, text);
  }

  private async headersFor(body: string): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'content-type': FORM, accept: 'application/json' };
    if (this.bearerToken !== undefined) headers.authorization = `Bearer ${this.bearerToken}`;
    if (this.options.signer === undefined) return headers;
    try {
      return await this.options.signer.sign({ method: 'POST', url: this.endpoint, headers, body });
    } catch (error) {
      throw new MetricsQueryError(`could not sign the request to ${this.shownEndpoint} (check the AWS credentials and region): ${describe(error)}`);
    }
  }

  private interpret(response: Response, text: string): QueryResult {
    const status = response.status;
    const json = parseJson(text);
    const apiError = json !== undefined && json.status === 'error' ? apiErrorText(json) : undefined;
    const at = this.shownEndpoint;

    if (status >= 300 && status < 400) {
      const location = response.headers.get('location');
      throw new MetricsQueryError(`${at} answered HTTP ${status} redirect${location ? ` to ${location}` : ''}; set the Prometheus base URL to the final address`);
    }
    if (status === 401 || status === 403) {
      const detail = apiError ?? messageField(json) ?? snippet(text);
      throw new MetricsQueryError(`${at} refused the credentials (HTTP ${status})${detail ? `: ${detail}` : ''}; check the bearer token or the IAM permission aps:QueryMetrics`);
    }
    if (status === 404) {
      throw new MetricsQueryError(`${at} answered HTTP 404: no Prometheus query API there; check the base URL (it is the part before /api/v1)`);
    }
    if (status === 429) {
      throw new MetricsQueryError(`${at} is throttling queries (HTTP 429)${apiError ? `: ${apiError}` : ''}`);
    }
    if (status >= 500) {
      throw new MetricsQueryError(`${at} answered HTTP ${status} ${response.statusText}`.trim() + (apiError ? `: ${apiError}` : ''));
    }
    if (status >= 400) {
      // bad_data (400) and execution (422) errors carry Prometheus' own explanation, e.g. the parse error.
      const detail = apiError ?? messageField(json) ?? snippet(text);
      throw new MetricsQueryError(`Prometheus rejected the query (HTTP ${status})${detail ? `: ${detail}` : ''}`);
    }
    if (json === undefined || json.status !== 'success') {
      const type = response.headers.get('content-type') ?? 'no content type';
      throw new MetricsQueryError(`${at} did not answer with the Prometheus API JSON (HTTP ${status}, ${type}); check that the base URL points at the Prometheus API`);
    }
    return readData(json.data);
  }

  private connectionReason(error: unknown): string {
    const name = nameOf(error);
    if (name === 'TimeoutError' || name === 'AbortError') {
      return `no answer within ${this.timeoutMs} ms`;
    }
    const code = errorCode(error);
    const reasons: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ECONNRESET: 'connection reset',
      ENOTFOUND: 'host not found',
      EAI_AGAIN: 'DNS lookup failed',
      ETIMEDOUT: 'connection timed out',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
      UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
      UND_ERR_SOCKET: 'the connection closed before an answer',
      CERT_HAS_EXPIRED: 'TLS certificate expired',
      DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
    };
    if (code !== undefined) return `${reasons[code] ?? 'network error'} (${code})`;
    return describe(innermost(error));
  }

  /** The token must never reach a message, even when a server echoes it back. */
  private redact(message: string): string {
    const token = this.bearerToken;
    return token !== undefined ? message.split(token).join('***') : message;
  }
}

function readData(data: unknown): QueryResult {
  if (!isRecord(data)) throw new MetricsQueryError('Prometheus answered without a data field');
  const { resultType, result } = data;
  switch (resultType) {
    case 'scalar':
      return { kind: 'value', value: sampleValue(result) };
    case 'vector': {
      if (!Array.isArray(result)) throw new MetricsQueryError('Prometheus answered a vector without a result list');
      const series = result.filter(isSample);
      if (series.length !== result.length) throw new MetricsQueryError('Prometheus answered a vector with malformed samples');
      if (series.length === 0) return { kind: 'empty' };
      if (series.length > 1) {
        const shown = series.slice(0, 3).map((s) => labelsOf(s.metric)).join(', ');
        throw new MetricsQueryError(
          `query returned ${series.length} series (${shown}${series.length > 3 ? ', …' : ''}); a check needs one number: aggregate with sum(...) or max(...)`,
        );
      }
      const only = series[0];
      if (only.value === undefined && only.histogram !== undefined) {
        throw new MetricsQueryError('query returned a native histogram, not a number; wrap it in histogram_quantile(...) or histogram_count(...)');
      }
      return { kind: 'value', value: sampleValue(only.value) };
    }
    case 'matrix':
      throw new MetricsQueryError('query returned a range vector (it ends in [window]); wrap it in rate(...), increase(...) or *_over_time(...)');
    case 'string':
      throw new MetricsQueryError('query returned a string, not a number');
    default:
      throw new MetricsQueryError(`Prometheus answered an unknown result type '${String(resultType)}'`);
  }
}

/** A sample is `[unixSeconds, "value"]`; values are strings, with Go's spellings of NaN and the infinities. */
function sampleValue(sample: unknown): number {
  const raw = Array.isArray(sample) ? (sample as unknown[])[1] : undefined;
  if (typeof raw !== 'string') throw new MetricsQueryError('Prometheus answered a sample without a value');
  switch (raw) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  const value = Number(raw);
  if (raw.trim() === '' || Number.isNaN(value)) throw new MetricsQueryError(`Prometheus answered a sample value that is not a number: '${raw.slice(0, 40)}'`);
  return value;
}

function isSample(value: unknown): value is Sample {
  return isRecord(value) && isRecord(value.metric);
}

function labelsOf(metric: Record<string, string>): string {
  const { __name__: name, ...labels } = metric;
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return `${name ?? ''}{${inner}}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function apiErrorText(json: Record<string, unknown>): string | undefined {
  const error = typeof json.error === 'string' ? json.error : undefined;
  const type = typeof json.errorType === 'string' ? json.errorType : undefined;
  if (error === undefined) return type;
  return type === undefined ? error : `${error} (${type})`;
}

/** AWS services answer errors as `{ "message": "..." }`. */
function messageField(json: Record<string, unknown> | undefined): string | undefined {
  if (json === undefined) return undefined;
  const message = json.message ?? json.Message;
  return typeof message === 'string' ? message : undefined;
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > SNIPPET ? `${oneLine.slice(0, SNIPPET)}…` : oneLine;
}

function innermost(error: unknown): unknown {
  let current = error;
  for (let i = 0; i < 5 && isObject(current) && current.cause !== undefined; i++) current = current.cause;
  return current;
}

/** The system error code of a failed fetch: on its cause, or on the first of an AggregateError (several addresses tried). */
function errorCode(error: unknown): string | undefined {
  let current = error;
  for (let i = 0; i < 5 && isObject(current); i++) {
    if (typeof current.code === 'string') return current.code;
    current = Array.isArray(current.errors) && current.errors.length > 0 ? (current.errors as unknown[])[0] : current.cause;
  }
  return undefined;
}

// Duck-typed rather than instanceof: fetch's errors (a DOMException on timeout) may come from another realm.
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function nameOf(error: unknown): string | undefined {
  return isObject(error) && typeof error.name === 'string' ? error.name : undefined;
}

function describe(error: unknown): string {
  if (isObject(error) && typeof error.message === 'string' && error.message !== '') return error.message;
  return nameOf(error) ?? String(error);
}
