import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateCertificates } from './certs';
import { deploymentStatus, imagesOf, nextRollout, settledRollout, type Rollout, type RolloutTiming } from './deployments';
import { eksTokenProblem } from './eks-token-check';
import { PatchApplyError, PatchFormatError, applyJsonPatch, clone, jsonEqual, type Json, type JsonObject } from './json-patch';

export type { Json, JsonObject } from './json-patch';

/**
 * A Kubernetes API stand-in for tests: HTTPS on 127.0.0.1 with a CA generated at start (openssl),
 * bearer tokens checked, GET and JSON Patch (RFC 6902, atomic, a failed `test` answered 422 like the
 * API server) on HTTPRoute, VirtualService, TrafficSplit, Ingress and Deployment, `/apis/<group>`
 * discovery with configurable served versions, and a Deployment controller that rolls pods over a
 * delay. Beside it, a plain-HTTP EKS DescribeCluster endpoint (AWS_ENDPOINT_URL_EKS) that hands out
 * this server's endpoint and CA, so EksClusterAccess runs unchanged against it.
 */

/** The kinds the stand-in serves and their default served versions, preferred first. */
export const STANDIN_KINDS = {
  HTTPRoute: { group: 'gateway.networking.k8s.io', plural: 'httproutes', versions: ['v1', 'v1beta1'] },
  VirtualService: { group: 'networking.istio.io', plural: 'virtualservices', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  TrafficSplit: { group: 'split.smi-spec.io', plural: 'trafficsplits', versions: ['v1alpha4', 'v1alpha3', 'v1alpha2', 'v1alpha1'] },
  Ingress: { group: 'networking.k8s.io', plural: 'ingresses', versions: ['v1'] },
  Deployment: { group: 'apps', plural: 'deployments', versions: ['v1'] },
} as const;

export type StandInKind = keyof typeof STANDIN_KINDS;

export interface KubeStandInOptions {
  /**
   * How bearer tokens are checked: one fixed token (default: a random one, see `token`), or the shape
   * and freshness of an EKS token for a cluster (the signature is for STS to check, and is not).
   */
  readonly auth?: { readonly token: string } | { readonly eks: { readonly clusterName: string } };
  /** Served versions per API group, preferred first, e.g. { 'split.smi-spec.io': ['v1alpha2'] }; [] serves none. */
  readonly servedVersions?: Readonly<Record<string, readonly string[]>>;
  /** Time for a Deployment's new pods to become available; default 300 ms. */
  readonly readyDelayMs?: number;
  /** After this long, a Deployment rollout of a broken image reports ProgressDeadlineExceeded; default 600 s. */
  readonly progressDeadlineMs?: number;
  /** Region in the DescribeCluster answer's ARN; default eu-west-1. */
  readonly region?: string;
}

/** One request the API answered. */
export interface StandInRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The parsed body of a PATCH. */
  readonly patch?: unknown;
  /** Why a 401 was answered. */
  readonly authProblem?: string;
}

/** A change to an object: its new state. */
export type ChangeListener = (kind: StandInKind, object: JsonObject) => void;

export interface KubeStandIn {
  /** https://127.0.0.1:<port> */
  readonly endpoint: string;
  /** The CA that signed the server certificate, PEM: what a client must trust. */
  readonly caPem: string;
  /** The accepted bearer token with fixed-token auth; undefined with EKS auth. */
  readonly token: string | undefined;
  /** http://127.0.0.1:<port> of the EKS DescribeCluster stand-in. */
  readonly eksEndpoint: string;
  /** Environment that points the EKS SDK client at the DescribeCluster stand-in. */
  readonly env: Readonly<Record<string, string>>;
  /** Stores an object (apiVersion, kind, metadata.namespace/name, spec); a Deployment starts fully rolled out. */
  put(object: JsonObject): void;
  /** The object as a GET would return it (a copy), or undefined. */
  object(kind: StandInKind, namespace: string, name: string): JsonObject | undefined;
  /** Pods of `image` never become available from now on (for rollouts started after the call). */
  breakImage(image: string): void;
  /** Runs `mutate` on the stored object just before the next PATCH of it applies: a concurrent change. */
  beforeNextPatch(kind: StandInKind, namespace: string, name: string, mutate: (object: JsonObject) => void): void;
  /** Runs `mutate` on the patched object before it is stored: a mutating webhook that rewrites the change. */
  afterNextPatch(kind: StandInKind, namespace: string, name: string, mutate: (object: JsonObject) => void): void;
  /** Answers the next `count` API requests with `status` (429, 500, 403 …) and a Status body. */
  failNext(status: number, count?: number, message?: string): void;
  /** Every API request answered so far, oldest first. */
  requests(): readonly StandInRequest[];
  /** Calls `listener` after every change made through PATCH; returns the unsubscribe. */
  onChange(listener: ChangeListener): () => void;
  /** Stops both servers; resolves when every socket is closed. */
  stop(): Promise<void>;
}

interface Entry {
  readonly kind: StandInKind;
  /** kind/namespace/name */
  readonly key: string;
  object: JsonObject;
  rollout?: Rollout;
}

type Hook = { key: string; mutate: (object: JsonObject) => void };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: readonly string[] = [],
  ) {
    super(message);
  }
}

const DEFAULT_CLUSTER = 'standin';

/** Starts the stand-in on free loopback ports. */
export async function startKubeStandIn(options: KubeStandInOptions = {}): Promise<KubeStandIn> {
  const certs = await generateCertificates();
  const timing: RolloutTiming = { readyDelayMs: options.readyDelayMs ?? 300, progressDeadlineMs: options.progressDeadlineMs ?? 600_000 };
  const auth = options.auth ?? { token: `standin-${randomBytes(12).toString('hex')}` };
  const served = new Map<string, readonly string[]>();
  for (const { group, versions } of Object.values(STANDIN_KINDS)) served.set(group, options.servedVersions?.[group] ?? versions);
  const store = new Map<string, Entry>();
  const broken = new Set<string>();
  const before: Hook[] = [];
  const after: Hook[] = [];
  const faults: { status: number; message: string }[] = [];
  const log: StandInRequest[] = [];
  const listeners = new Set<ChangeListener>();
  let resourceVersion = 1;

  const keyOf = (kind: StandInKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
  const isBroken = (object: JsonObject) => imagesOf(object).some((image) => broken.has(image));
  const view = (entry: Entry, version?: string): JsonObject => {
    const out = clone(entry.object);
    const { group } = STANDIN_KINDS[entry.kind];
    if (version !== undefined) out.apiVersion = `${group}/${version}`;
    if (entry.rollout !== undefined) out.status = deploymentStatus(entry.object, entry.rollout, Date.now(), timing);
    return out;
  };
  /** Records a change made to `entry.object` (from `previous`): versions, generation, rollout. */
  const commit = (entry: Entry, previous: JsonObject) => {
    if (jsonEqual(previous, entry.object)) return;
    const metadata = entry.object.metadata as JsonObject;
    metadata.resourceVersion = String((resourceVersion += 1));
    if (!jsonEqual(previous.spec ?? null, entry.object.spec ?? null)) metadata.generation = Number(metadata.generation ?? 1) + 1;
    if (entry.rollout !== undefined) entry.rollout = nextRollout(previous, entry.rollout, entry.object, Date.now(), timing, isBroken(entry.object));
  };

  const api = createHttpsServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'https://standin').pathname;
    const body = await readBody(req);
    let patch: unknown;
    try {
      const problem = authProblem(req.headers.authorization);
      if (problem !== undefined) {
        log.push({ method, path, status: 401, authProblem: problem });
        sendStatus(res, new HttpError(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      const fault = faults.shift();
      if (fault !== undefined) throw new HttpError(fault.status, reasonFor(fault.status), fault.message);
      if (method === 'PATCH') patch = parseJson(body);
      const answer = route(method, path, req.headers['content-type'], patch);
      log.push({ method, path, status: 200, ...(method === 'PATCH' && { patch }) });
      sendJson(res, 200, answer);
    } catch (error) {
      const httpError = error instanceof HttpError ? error : new HttpError(500, 'InternalError', error instanceof Error ? error.message : String(error));
      log.push({ method, path, status: httpError.status, ...(method === 'PATCH' && { patch }) });
      sendStatus(res, httpError);
    }
  }

  function authProblem(header: string | undefined): string | undefined {
    const match = /^Bearer ([^\s]+)$/.exec(header ?? '');
    if (match === null) return header === undefined ? 'no Authorization header' : 'Authorization is not "Bearer <token>"';
    const token = match[1] ?? '';
    if ('token' in auth) return token === auth.token ? undefined : 'wrong token';
    return eksTokenProblem(token, Date.now());
  }

  function route(method: string, path: string, contentType: string | undefined, patch: unknown): Json {
    const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
    if (method === 'GET' && parts.length === 1 && parts[0] === 'apis') {
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...served.keys()].filter((g) => (served.get(g) ?? []).length > 0).map(apiGroup) };
    }
    if (method === 'GET' && parts.length === 2 && parts[0] === 'apis') {
      const group = parts[1] ?? '';
      if ((served.get(group) ?? []).length === 0) throw notFound();
      return apiGroup(group);
    }
    const [apis, group, version, namespaces, namespace, plural, name, ...rest] = parts;
    const kind = (Object.keys(STANDIN_KINDS) as StandInKind[]).find((k) => STANDIN_KINDS[k].group === group && STANDIN_KINDS[k].plural === plural);
    if (apis !== 'apis' || namespaces !== 'namespaces' || kind === undefined || version === undefined || namespace === undefined || name === undefined || rest.length > 0) {
      throw notFound();
    }
    if (!(served.get(STANDIN_KINDS[kind].group) ?? []).includes(version)) throw notFound();
    const entry = store.get(keyOf(kind, namespace, name));
    if (entry === undefined) throw new HttpError(404, 'NotFound', `${plural}.${group} "${name}" not found`);
    if (method === 'GET') return view(entry, version);
    if (method !== 'PATCH') throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported by the stand-in`);
    if (contentType?.split(';')[0]?.trim() !== 'application/json-patch+json') {
      throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json (got ${contentType ?? 'none'})`);
    }
    return applyPatch(entry, version, patch);
  }

  function applyPatch(entry: Entry, version: string, patch: unknown): Json {
    const { key } = entry;
    takeHook(before, key, (mutate) => {
      const previous = clone(entry.object);
      mutate(entry.object);
      commit(entry, previous);
    });
    const current = view(entry, version);
    let patched: Json;
    try {
      patched = applyJsonPatch(current, patch);
    } catch (error) {
      if (error instanceof PatchFormatError) throw new HttpError(400, 'BadRequest', error.message);
      if (error instanceof PatchApplyError) {
        throw new HttpError(422, 'Invalid', 'the server rejected our request due to an error in our request', [error.message]);
      }
      throw error;
    }
    if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw new HttpError(422, 'Invalid', 'the patched object is not an object');
    const next: JsonObject = patched;
    validate(entry, current, next, version);
    // Status belongs to the status subresource (and a Deployment's to its controller): a patch of the object leaves it.
    if (entry.object.status === undefined) delete next.status;
    else next.status = clone(entry.object.status);
    if (entry.rollout !== undefined) delete next.status;
    next.apiVersion = entry.object.apiVersion ?? null;
    takeHook(after, key, (mutate) => mutate(next));
    const previous = entry.object;
    entry.object = next;
    commit(entry, previous);
    for (const listener of listeners) listener(entry.kind, view(entry));
    return view(entry, version);
  }

  function validate(entry: Entry, current: JsonObject, next: JsonObject, version: string): void {
    const meta = (o: JsonObject) => (typeof o.metadata === 'object' && o.metadata !== null && !Array.isArray(o.metadata) ? o.metadata : {});
    for (const field of ['name', 'namespace'] as const) {
      if (meta(next)[field] !== meta(current)[field]) throw new HttpError(422, 'Invalid', `metadata.${field}: Invalid value: field is immutable`);
    }
    if (next.kind !== current.kind || next.apiVersion !== current.apiVersion) throw new HttpError(422, 'Invalid', 'apiVersion and kind are immutable');
    const annotations = meta(next).annotations;
    if (annotations !== undefined && annotations !== null) {
      const bad = Object.entries(annotations as JsonObject).find(([, v]) => typeof v !== 'string');
      if (bad !== undefined) {
        throw new HttpError(400, 'BadRequest', `json: cannot unmarshal ${typeof bad[1]} into Go struct field ObjectMeta.metadata.annotations of type string (${bad[0]})`);
      }
    }
    const spec = next.spec as JsonObject | undefined;
    const name = text(meta(next).name);
    if (entry.kind === 'Deployment') {
      const replicas = spec?.replicas;
      if (replicas !== undefined && !(typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0)) {
        throw new HttpError(422, 'Invalid', `Deployment.apps "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer`);
      }
    }
    if (entry.kind === 'VirtualService') {
      // Istio's validating webhook: the weights of an http route with several destinations sum to 100.
      for (const http of asArray(spec?.http)) {
        const destinations = asArray((http as JsonObject).route);
        const total = destinations.reduce<number>((sum, d) => sum + Number((d as JsonObject).weight ?? 0), 0);
        if (destinations.length > 1 && total !== 100) {
          throw new HttpError(400, 'BadRequest', `admission webhook "validation.istio.io" denied the request: configuration is invalid: total destination weight ${total} != 100`);
        }
      }
    }
    if (entry.kind === 'TrafficSplit' && version !== 'v1alpha1') {
      for (const [j, backend] of asArray(spec?.backends).entries()) {
        const weight = (backend as JsonObject).weight;
        if (weight !== undefined && !(typeof weight === 'number' && Number.isInteger(weight) && weight >= 0)) {
          throw new HttpError(422, 'Invalid', `TrafficSplit.split.smi-spec.io "${name}" is invalid: spec.backends[${j}].weight: Invalid value: ${JSON.stringify(weight)}: must be of type integer`);
        }
      }
    }
  }

  function apiGroup(group: string): Json {
    const versions = served.get(group) ?? [];
    const gv = (v: string) => ({ groupVersion: `${group}/${v}`, version: v });
    return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: versions.map(gv), preferredVersion: gv(versions[0] ?? '') };
  }

  const eksClusterName = 'eks' in auth ? auth.eks.clusterName : DEFAULT_CLUSTER;
  const region = options.region ?? 'eu-west-1';
  const eks = createHttpServer((req, res) => {
    const match = /^\/clusters\/([^/?]+)/.exec(req.url ?? '');
    const name = match === null ? undefined : decodeURIComponent(match[1] ?? '');
    if (req.method !== 'GET' || name !== eksClusterName) {
      res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
      res.end(JSON.stringify({ message: `No cluster found for name: ${name ?? req.url ?? ''}.` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        cluster: {
          name,
          arn: `arn:aws:eks:${region}:123456789012:cluster/${name}`,
          endpoint,
          certificateAuthority: { data: Buffer.from(certs.caPem, 'utf8').toString('base64') },
          status: 'ACTIVE',
          version: '1.31',
        },
      }),
    );
  });

  await listen(api);
  await listen(eks);
  const endpoint = `https://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const eksEndpoint = `http://127.0.0.1:${(eks.address() as AddressInfo).port}`;
  let stopped: Promise<void> | undefined;

  return {
    endpoint,
    caPem: certs.caPem,
    token: 'token' in auth ? auth.token : undefined,
    eksEndpoint,
    env: { AWS_ENDPOINT_URL_EKS: eksEndpoint },

    put(object) {
      const kind = object.kind;
      if (typeof kind !== 'string' || !(kind in STANDIN_KINDS)) throw new Error(`k8s stand-in: cannot store kind ${JSON.stringify(kind ?? null)}`);
      const standInKind = kind as StandInKind;
      const stored = clone(object);
      const metadata = typeof stored.metadata === 'object' && stored.metadata !== null && !Array.isArray(stored.metadata) ? stored.metadata : {};
      if (typeof metadata.name !== 'string') throw new Error('k8s stand-in: metadata.name is required');
      metadata.namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
      metadata.generation = typeof metadata.generation === 'number' ? metadata.generation : 1;
      metadata.resourceVersion = String((resourceVersion += 1));
      metadata.uid ??= randomUUID();
      stored.metadata = metadata;
      const { group, versions } = STANDIN_KINDS[standInKind];
      stored.apiVersion ??= `${group}/${versions[0]}`;
      const key = keyOf(standInKind, metadata.namespace, metadata.name);
      const entry: Entry = { kind: standInKind, key, object: stored };
      if (standInKind === 'Deployment') {
        delete stored.status;
        entry.rollout = settledRollout(stored, isBroken(stored));
      }
      store.set(key, entry);
    },

    object(kind, namespace, name) {
      const entry = store.get(keyOf(kind, namespace, name));
      return entry === undefined ? undefined : view(entry);
    },

    breakImage: (image) => void broken.add(image),

    beforeNextPatch: (kind, namespace, name, mutate) => void before.push({ key: keyOf(kind, namespace, name), mutate }),
    afterNextPatch: (kind, namespace, name, mutate) => void after.push({ key: keyOf(kind, namespace, name), mutate }),

    failNext(status, count = 1, message = `stand-in fault: ${status}`) {
      for (let i = 0; i < count; i += 1) faults.push({ status, message });
    },

    requests: () => [...log],

    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    stop() {
      stopped ??= Promise.all([close(api), close(eks)]).then(() => undefined);
      return stopped;
    },
  };
}

function takeHook(hooks: Hook[], key: string, run: (mutate: (object: JsonObject) => void) => void): void {
  const index = hooks.findIndex((h) => h.key === key);
  if (index < 0) return;
  const [hook] = hooks.splice(index, 1);
  if (hook !== undefined) run(hook.mutate);
}

function notFound(): HttpError {
  return new HttpError(404, 'NotFound', 'the server could not find the requested resource');
}

function reasonFor(status: number): string {
  const reasons: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable' };
  return reasons[status] ?? 'Unknown';
}

function sendStatus(res: ServerResponse, error: HttpError): void {
  const status: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: error.message, reason: error.reason, code: error.status };
  if (error.causes.length > 0) status.details = { causes: error.causes.map((message) => ({ reason: 'UnexpectedServerResponse', message })) };
  res.writeHead(error.status, { 'content-type': 'application/json', ...(error.status === 429 && { 'retry-after': '1' }) });
  res.end(JSON.stringify(status));
}

function sendJson(res: ServerResponse, status: number, body: Json): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'BadRequest', 'the request body is not JSON');
  }
}

function text(value: Json | undefined): string {
  return typeof value === 'string' ? value : '';
}

function asArray(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function listen(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function close(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
