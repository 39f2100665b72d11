import { Agent, request } from 'undici';
import { NETWORK_ERROR_CODES } from '../network-errors';
import {
  CanaryError,
  ConfigurationError,
  RouteNotFoundError,
  RouterError,
  ThrottlingError,
  TransientError,
  WeightVerificationError,
  WorkloadError,
} from '../../domain/errors';
import type { z } from 'zod';
import { renderPath } from '../../domain/validation';
import { sameWeights, weightsFor, type Weights } from '../../domain/weights';
import type { TargetHealth, TrafficRouter } from '../../ports/traffic-router';

/**
 * A minimal Kubernetes API client for the resources the engine touches: GET, JSON Patch
 * (`application/json-patch+json`) and API group discovery, over HTTPS that trusts the cluster's CA
 * (an undici Agent, since the global fetch ignores https agents), with a bearer token. Errors become
 * domain errors whose messages name the resource and say what to fix.
 */

/** A JSON value as it goes on the wire. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One RFC 6902 operation; the engine uses `test` before every change and `add` to set a value. */
export type JsonPatchOp =
  | { readonly op: 'test' | 'add' | 'replace'; readonly path: string; readonly value: JsonValue }
  | { readonly op: 'remove'; readonly path: string };

/** A kind of Kubernetes resource: where it lives in the API and which versions this code reads and writes. */
export interface KubeResourceType {
  readonly kind: string;
  /** API group; '' for the core group. */
  readonly group: string;
  /** Lower-case plural, as in URLs and RBAC rules. */
  readonly plural: string;
  /** Versions whose schema this code knows, most wanted first; with more than one, the served one is discovered. */
  readonly versions: readonly string[];
}

/** A named resource, and whether it is a route or a workload (which error a refusal becomes). */
export interface KubeRef {
  readonly type: KubeResourceType;
  readonly namespace: string;
  readonly name: string;
  readonly role: 'route' | 'workload';
}

/** Where a bearer token comes from (an EKS token, or a fixed token in tests). */
export interface BearerTokenSource {
  /** A token valid for at least the next request. */
  token(): Promise<string>;
  /** Forgets a cached token after the API server refused it. */
  invalidate(): void;
}

export interface KubeClientOptions {
  /** Base URL of the API server, e.g. https://ABCD.gr7.eu-west-1.eks.amazonaws.com */
  readonly endpoint: string;
  /** The cluster's CA certificate(s), PEM; only these are trusted for this endpoint. Default: the system's roots. */
  readonly caPem?: string;
  readonly token: BearerTokenSource;
  /** Limit for one request, connect to last byte; default 10 s. */
  readonly timeoutMs?: number;
  /** How messages name the cluster, e.g. `EKS cluster shop`; default the endpoint. */
  readonly clusterLabel?: string;
}

export const DEFAULT_KUBE_TIMEOUT_MS = 10_000;

const JSON_PATCH = 'application/json-patch+json';
/** How much of an unexpected answer an error message quotes. */
const SNIPPET = 300;

/** TLS failures that mean the endpoint's certificate is not the cluster CA's: wrong CA or wrong endpoint. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** How the API server words a JSON Patch that does not apply to the stored object (kubectl shows the first part). */
const PATCH_NOT_APPLICABLE = /rejected our request due to an error in our request|testing value|test operation|test failed/i;


/** A fixed token (tests, or a service-account token read elsewhere); invalidating it changes nothing. */
export function staticToken(token: string): BearerTokenSource {
  return { token: async () => token, invalidate: () => undefined };
}

/** The HTTP answer of the API server, body parsed when it is JSON. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

/** What mesh routers and workloads need of a Kubernetes API (a KubeClient, or EksClusterAccess.api's lazy one). */
export interface KubeApi {
  /** Reads one resource; RouteNotFoundError (route) or WorkloadError (workload) when it does not exist. */
  get(ref: KubeRef): Promise<unknown>;
  /** Applies a JSON Patch to one resource atomically and returns the resource as patched. */
  patch(ref: KubeRef, ops: readonly JsonPatchOp[]): Promise<unknown>;
}

/** One cluster's API server: its CA trusted, a bearer token on every request, served versions discovered once. */
export class KubeClient implements KubeApi {
  private readonly endpoint: URL;
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  private readonly label: string;
  /** Served versions found by discovery, per group; kept for the life of the client (one container). */
  private readonly served = new Map<string, string>();

  constructor(private readonly options: KubeClientOptions) {
    try {
      this.endpoint = new URL(options.endpoint);
    } catch {
      throw new ConfigurationError(`Kubernetes API endpoint '${options.endpoint}' is not a URL`);
    }
    if (this.endpoint.protocol !== 'https:') throw new ConfigurationError(`Kubernetes API endpoint must be https, got ${options.endpoint}`);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS;
    this.label = options.clusterLabel ?? `the Kubernetes API at ${this.endpoint.host}`;
    this.dispatcher = new Agent({ connect: options.caPem === undefined ? {} : { ca: options.caPem }, keepAliveTimeout: 10_000 });
  }

  /** Reads one resource; RouteNotFoundError (route) or WorkloadError (workload) when it does not exist. */
  async get(ref: KubeRef): Promise<unknown> {
    const path = await this.pathOf(ref);
    return this.expectOk(ref, 'get', await this.send('GET', path, undefined));
  }

  /** Applies a JSON Patch to one resource atomically and returns the resource as patched. */
  async patch(ref: KubeRef, ops: readonly JsonPatchOp[]): Promise<unknown> {
    const path = await this.pathOf(ref);
    return this.expectOk(ref, 'patch', await this.send('PATCH', path, JSON.stringify(ops)));
  }

  /** The version of `type` this client reads and writes: the only one it knows, or the served one it prefers. */
  async servedVersion(type: KubeResourceType, forRef?: KubeRef): Promise<string> {
    const [only] = type.versions;
    if (type.versions.length === 1 && only !== undefined) return only;
    const known = this.served.get(type.group);
    if (known !== undefined) return known;
    const answer = await this.send('GET', `/apis/${type.group}`, undefined);
    const served = servedVersionsOf(answer);
    if (answer.status === 404 || (answer.status === 200 && served.versions.length === 0)) {
      throw new ConfigurationError(
        `${this.label} does not serve the API group ${type.group}: install the ${type.kind} CRDs (this code reads ${type.versions.join(', ')})`,
      );
    }
    if (answer.status !== 200) {
      const subject = `${forRef === undefined ? type.kind : subjectOf(forRef)} (discovering the served version of ${type.group})`;
      throw this.translate(answer, { verb: 'get', subject, resource: type.group, role: 'discovery' });
    }
    const chosen =
      (served.preferred !== undefined && type.versions.includes(served.preferred) ? served.preferred : undefined) ??
      type.versions.find((v) => served.versions.includes(v));
    if (chosen === undefined) {
      throw new ConfigurationError(
        `${this.label} serves ${type.group} ${served.versions.join(', ')}, none of which this code reads (${type.versions.join(', ')})`,
      );
    }
    this.served.set(type.group, chosen);
    return chosen;
  }

  /** Closes the connections; the client is unusable afterwards. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async pathOf(ref: KubeRef): Promise<string> {
    const version = await this.servedVersion(ref.type, ref);
    const { group, plural } = ref.type;
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    return `${base}/namespaces/${encodeURIComponent(ref.namespace)}/${plural}/${encodeURIComponent(ref.name)}`;
  }

  private expectOk(ref: KubeRef, verb: 'get' | 'patch', answer: Answer): unknown {
    if (answer.status >= 200 && answer.status < 300) {
      if (answer.body === undefined) throw new TransientError(`${verb} ${subjectOf(ref)} on ${this.label}: answer is not JSON: ${answer.text.slice(0, SNIPPET)}`);
      return answer.body;
    }
    throw this.translate(answer, { verb, subject: subjectOf(ref), resource: resourceName(ref.type), namespace: ref.namespace, role: ref.role });
  }

  /** One request; on 401 the token is renewed and the request sent once more. */
  private async send(method: 'GET' | 'PATCH', path: string, body: string | undefined): Promise<Answer> {
    const first = await this.sendOnce(method, path, body);
    if (first.status !== 401) return first;
    this.options.token.invalidate();
    return this.sendOnce(method, path, body);
  }

  private async sendOnce(method: 'GET' | 'PATCH', path: string, body: string | undefined): Promise<Answer> {
    const url = new URL(path, this.endpoint);
    const token = await this.options.token.token();
    try {
      const res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${token}`,
          ...(body !== undefined && { 'content-type': JSON_PATCH }),
        },
        ...(body !== undefined && { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: parseJson(text), text };
    } catch (error) {
      throw this.translateNetwork(error, `${method} ${path}`);
    }
  }

  private translateNetwork(error: unknown, what: string): unknown {
    const code = errorCode(error);
    const message = `${what} on ${this.label} failed: ${code ?? ''}${code ? ': ' : ''}${error instanceof Error ? error.message : String(error)}`;
    if (code !== undefined && TLS_CODES.has(code)) {
      return new ConfigurationError(`${message}; the server's certificate is not signed by the cluster CA given (wrong CA data or wrong endpoint)`, { cause: error });
    }
    if ((code !== undefined && NETWORK_ERROR_CODES.has(code)) || isAbort(error)) {
      return new TransientError(`${message}; if the cluster endpoint is private, the Lambda must run in the cluster's VPC`, { cause: error });
    }
    return error;
  }

  private translate(answer: Answer, at: { verb: string; subject: string; resource: string; namespace?: string; role: 'route' | 'workload' | 'discovery' }): CanaryError {
    const status = statusOf(answer);
    const message = `${at.verb} ${at.subject} on ${this.label}: ${answer.status} ${status.reason ?? ''}: ${status.message}`.replace(/ {2}/g, ' ');
    const refused = (text: string) =>
      at.role === 'workload' ? new WorkloadError(text) : at.role === 'route' ? new RouterError(text) : new ConfigurationError(text);
    switch (true) {
      case answer.status === 401:
        return new ConfigurationError(
          `${message}. The API server refused the bearer token: give the orchestrator's IAM role an EKS access entry ` +
            `on this cluster (or an aws-auth mapping) with the Kubernetes group the RBAC binding names`,
        );
      case answer.status === 403 && /admission webhook/i.test(status.message):
        return refused(`${message}. An admission webhook denied the change; nothing was changed`);
      case answer.status === 403 && at.role === 'discovery':
        return new ConfigurationError(
          `${message}. RBAC: the orchestrator's Kubernetes group needs get on the discovery URLs /apis and /apis/* ` +
            '(the system:discovery ClusterRole grants them to every authenticated user unless that binding was changed)',
        );
      case answer.status === 403:
        return new ConfigurationError(
          `${message}. RBAC: the orchestrator's Kubernetes group needs get and patch on ${at.resource}` +
            (at.namespace !== undefined ? ` in namespace ${at.namespace}` : '') +
            ' (a Role and RoleBinding, or a ClusterRole and ClusterRoleBinding)',
        );
      case answer.status === 404:
        return at.role === 'workload'
          ? new WorkloadError(`${message}. Check the registered namespace and name`)
          : at.role === 'route'
            ? new RouteNotFoundError(`${message}. Check the registered namespace and name`)
            : new ConfigurationError(message);
      case answer.status === 409:
        return new TransientError(`${message}. The resource changed while being written; nothing was changed, a retry reads it again`);
      case answer.status === 422 && at.verb === 'patch' && PATCH_NOT_APPLICABLE.test(`${status.message} ${status.causes ?? ''}`):
        // A JSON Patch that does not apply (a failed `test` first among them) gets this generic 422: the
        // resource changed since it was read. The patch is atomic, so nothing was changed. A 422 that says
        // "… is invalid" is a schema refusal instead, below.
        return new TransientError(
          `${message}${status.causes ? ` (${status.causes})` : ''}. ${at.subject} changed since it was read ` +
            '(a `test` op on the destination failed, e.g. its list was reordered); nothing was changed, a retry reads it again',
        );
      case answer.status === 429:
        return new ThrottlingError(message);
      case answer.status >= 500:
        return new TransientError(message);
      default:
        return refused(message);
    }
  }
}

/** Parses a resource read from the API with `schema`; RouterError (route) or WorkloadError (workload) naming the bad fields. */
export function parseResource<S extends z.ZodType>(schema: S, value: unknown, ref: KubeRef): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${renderPath('', issue.path)}: ${issue.message}`).join('; ');
  const message = `${subjectOf(ref)} does not have the shape this code reads: ${issues}`;
  throw ref.role === 'workload' ? new WorkloadError(message) : new RouterError(message);
}

/** The canary share of two relative weights; both 0 (no traffic at all) is reported as all on stable. */
export function shareOf(canaryWeight: number, stableWeight: number): Weights {
  const total = canaryWeight + stableWeight;
  return weightsFor(total === 0 ? 0 : (canaryWeight / total) * 100);
}

/** `HTTPRoute payments/web`. */
export function subjectOf(ref: KubeRef): string {
  return `${ref.type.kind} ${ref.namespace}/${ref.name}`;
}

/** The name kubectl and RBAC rules use: `httproutes.gateway.networking.k8s.io`, or `deployments.apps`. */
export function resourceName(type: KubeResourceType): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

/** A JSON Pointer (RFC 6901) from path segments: `~` becomes `~0` and `/` becomes `~1`. */
export function pointer(...segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The exact `kubectl patch … --type=json -p '…'` command that applies `ops` to `ref`. */
export function kubectlPatchCommand(ref: KubeRef, ops: readonly JsonPatchOp[]): string {
  return `kubectl patch ${resourceName(ref.type)} ${ref.name} -n ${ref.namespace} --type=json -p ${shellQuote(JSON.stringify(ops))}`;
}

/** One single-quoted POSIX shell word; an embedded `'` becomes `'\''`. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The weights a mesh router found in its resource: one per place that splits traffic (rule, http route). */
export interface RouteView {
  /** Weights of each splitting place, in order; a route that splits in one place has one. */
  readonly placeWeights: readonly Weights[];
  /** What the places are, for messages, e.g. `rules[0]`. */
  readonly placeNames: readonly string[];
}

/**
 * The flow every mesh router shares: read, do nothing when already at the target (a retried step),
 * JSON Patch with `test` ops on the destinations' identity first, read back and verify. Subclasses say
 * where the weights are in their resource and how their scale turns percent into weights.
 */
export abstract class KubeWeightRouter<V extends RouteView> implements TrafficRouter {
  /** The view of the last successful read, for a restore command built on its indices. */
  private lastView: V | undefined;

  protected constructor(
    protected readonly client: KubeApi,
    protected readonly ref: KubeRef,
  ) {}

  /** Reads the resource and returns the canary share; RouterError when its places disagree. */
  async getWeights(): Promise<Weights> {
    const view = await this.read();
    const [first] = view.placeWeights;
    if (first === undefined || view.placeWeights.some((w) => !sameWeights(w, first))) {
      throw new RouterError(`${subjectOf(this.ref)}: ${this.describeWeights(view)} disagree; set the weights once to settle them`);
    }
    return first;
  }

  /** Writes `canaryPercent` (rounded to the router's scale) unless already applied, then reads back and verifies. */
  async setWeights(canaryPercent: number): Promise<Weights> {
    const before = await this.read();
    const target = this.applicable(before, canaryPercent);
    if (before.placeWeights.every((w) => sameWeights(w, target))) return target;
    await this.client.patch(this.ref, this.patchFor(before, target));
    const after = await this.read();
    if (!after.placeWeights.every((w) => sameWeights(w, target))) {
      throw new WeightVerificationError(
        `${subjectOf(this.ref)}: wrote canary ${target.canary}% / stable ${target.stable}% but read back ${this.describeWeights(after)}`,
      );
    }
    return target;
  }

  /** Meshes route to Services: whether their pods can take traffic is the workload's readiness, checked before any flip. */
  async healthOf(role: 'stable' | 'canary'): Promise<TargetHealth> {
    return { ready: true, healthy: 0, total: 0, detail: `the ${role} Service's readiness is its Deployment's (checked by the workload)` };
  }

  /** The `kubectl patch` that puts 100% on stable, on the indices of the last read (or the usual layout before any). */
  manualRestoreCommand(): string {
    const ops = this.lastView === undefined ? this.restoreWithoutRead() : this.patchFor(this.lastView, { canary: 0, stable: 100 });
    return kubectlPatchCommand(this.ref, ops);
  }

  /** Where the weights are in `object`; RouteNotFoundError / RouterError when it cannot route between the two. */
  protected abstract locate(object: unknown): V;
  /** The weights this router can write nearest `canaryPercent` (its scale may be coarser than 0.1%). */
  protected abstract applicable(view: V, canaryPercent: number): Weights;
  /** `test` ops on every destination's identity, then the ops that write `target`. */
  protected abstract patchFor(view: V, target: Weights): JsonPatchOp[];
  /** The restore patch for the usual layout, when no read succeeded; its `test` ops keep a wrong guess harmless. */
  protected abstract restoreWithoutRead(): JsonPatchOp[];

  private async read(): Promise<V> {
    const view = this.locate(await this.client.get(this.ref));
    this.lastView = view;
    return view;
  }

  private describeWeights(view: V): string {
    return view.placeWeights.map((w, i) => `${view.placeNames[i] ?? i}: canary ${w.canary}% / stable ${w.stable}%`).join(', ');
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The parts of a `Status` answer messages quote; the real reason of a 422 patch hides in `details.causes`. */
function statusOf(answer: Answer): { reason?: string; message: string; causes?: string } {
  const reason = field(answer.body, 'reason');
  const message = field(answer.body, 'message');
  const causes = field(field(answer.body, 'details'), 'causes');
  const causeText = Array.isArray(causes)
    ? causes.map((c) => field(c, 'message')).filter((m): m is string => typeof m === 'string').join('; ')
    : '';
  return {
    ...(typeof reason === 'string' && { reason }),
    message: typeof message === 'string' ? message : answer.text.slice(0, SNIPPET) || 'no message',
    ...(causeText !== '' && { causes: causeText }),
  };
}

function servedVersionsOf(answer: Answer): { versions: string[]; preferred?: string } {
  const versions = field(answer.body, 'versions');
  const list = Array.isArray(versions) ? versions.map((v) => field(v, 'version')).filter((v): v is string => typeof v === 'string') : [];
  const preferred = field(field(answer.body, 'preferredVersion'), 'version');
  return { versions: list, ...(typeof preferred === 'string' && { preferred }) };
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 4; e = field(e, 'cause'), depth += 1) {
    const code = field(e, 'code');
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function isAbort(error: unknown): boolean {
  const name = field(error, 'name');
  return name === 'TimeoutError' || name === 'AbortError';
}

/** One destination of a weighted list (a backendRef, a route destination, a backend) as a router found it. */
export interface Destination {
  /** Which version it is, or undefined for a destination that is neither. */
  readonly role: 'stable' | 'canary' | undefined;
  /** What it is, for messages, e.g. `payments-canary`. */
  readonly label: string;
  /** Its weight as read, defaults applied. */
  readonly weight: number;
  /** JSON Pointer of its weight field. */
  readonly weightPath: string;
  /** `test` ops that hold only while this entry is still the same destination (name at that index). */
  readonly identity: readonly JsonPatchOp[];
}

/** One place that splits traffic between stable and canary, e.g. one HTTPRoute rule. */
export interface Split {
  readonly name: string;
  readonly stable: Destination;
  readonly canary: Destination;
}

/** What a router with stable/canary weight pairs reads: the splits, and its weight scale. */
export interface SplitView extends RouteView {
  readonly splits: readonly Split[];
}

/**
 * The split of one place, or undefined when it does not send to both versions. A place that also sends
 * traffic elsewhere is refused: writing stable + canary there would silently change that other share.
 */
export function splitOf(subject: string, name: string, destinations: readonly Destination[]): Split | undefined {
  const stable = destinations.find((d) => d.role === 'stable');
  const canary = destinations.find((d) => d.role === 'canary');
  if (stable === undefined || canary === undefined) return undefined;
  const others = destinations.filter((d) => d.role === undefined && d.weight > 0);
  if (others.length > 0) {
    throw new RouterError(
      `${subject}: ${name} also sends traffic to ${others.map((d) => `${d.label} (weight ${d.weight})`).join(', ')}; ` +
        `only ${stable.label} and ${canary.label} may share it, and another destination is never dropped`,
    );
  }
  return { name, stable, canary };
}

/** The view of found splits; RouteNotFoundError when there is none. */
export function splitView(subject: string, splits: readonly (Split | undefined)[], missing: string): SplitView {
  const found = splits.filter((s): s is Split => s !== undefined);
  if (found.length === 0) throw new RouteNotFoundError(`${subject}: ${missing}`);
  return {
    splits: found,
    placeWeights: found.map((s) => shareOf(s.canary.weight, s.stable.weight)),
    placeNames: found.map((s) => s.name),
  };
}

/**
 * A router whose resource holds a stable and a canary weight in each split; they are written as integers
 * summing to `scale` (1000 gives 0.1% steps; Istio demands 100).
 */
export abstract class SplitWeightRouter extends KubeWeightRouter<SplitView> {
  protected abstract readonly scale: number;

  /** The share nearest `canaryPercent` that integer weights summing to `scale` can express. */
  protected applicable(_view: SplitView, canaryPercent: number): Weights {
    const canary = this.canaryWeight(weightsFor(canaryPercent));
    return shareOf(canary, this.scale - canary);
  }

  /** Per split: `test` ops on both destinations' identity, then both weights. */
  protected patchFor(view: SplitView, target: Weights): JsonPatchOp[] {
    const canary = this.canaryWeight(target);
    return view.splits.flatMap((split) => [
      ...split.stable.identity,
      ...split.canary.identity,
      { op: 'add', path: split.stable.weightPath, value: this.weightValue(this.scale - canary) },
      { op: 'add', path: split.canary.weightPath, value: this.weightValue(canary) },
    ]);
  }

  /** How a weight is written; a number unless the resource's schema wants otherwise. */
  protected weightValue(weight: number): JsonValue {
    return weight;
  }

  private canaryWeight(target: Weights): number {
    return Math.round((target.canary * this.scale) / 100);
  }
}
