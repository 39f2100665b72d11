import { Sha256 } from '@aws-crypto/sha256-js';
import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { CanaryError, ConfigurationError, ThrottlingError, TransientError } from '../../domain/errors';
import type { AwsCredentials, AwsCredentialsProvider } from '../prometheus/sigv4-signer';
import { KubeClient, type BearerTokenSource, type JsonPatchOp, type KubeApi, type KubeRef } from './kube-client';

/**
 * EKS access from a Lambda without kubectl or aws-iam-authenticator: DescribeCluster for the endpoint
 * and CA, and the bearer token EKS accepts: `k8s-aws-v1.` + the unpadded base64url of a presigned STS
 * GetCallerIdentity URL with the header `x-k8s-aws-id: <cluster>` signed in. EKS checks the URL by
 * calling STS with it, so the token proves the caller's IAM identity for that cluster only.
 */

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/**
 * X-Amz-Expires of the presigned URL. EKS refuses more than 900 (presign()'s default of 3600 is refused);
 * aws-iam-authenticator sends 60, and STS honours the signature for 15 minutes from X-Amz-Date regardless.
 */
export const EKS_PRESIGN_EXPIRES_SECONDS = 60;
/** How long EKS accepts a token after its signing time. */
export const EKS_TOKEN_LIFETIME_MS = 15 * 60_000;
/** A cached token is renewed this long after signing: well inside its lifetime, even for a Lambda that runs 15 minutes. */
export const DEFAULT_TOKEN_REFRESH_AFTER_MS = 10 * 60_000;
/** A token is renewed this long before the credentials that signed it expire. */
const CREDENTIALS_MARGIN_MS = 60_000;

export interface EksTokenOptions {
  readonly clusterName: string;
  /** Region of the cluster; the token is signed for STS of this region. */
  readonly region: string;
  /** Where credentials come from; default the Node provider chain (the Lambda's role). */
  readonly credentials?: AwsCredentialsProvider;
  /** Signing clock; tests pin it. */
  readonly now?: () => Date;
  /** Renew a cached token this long after signing; default 10 minutes, at most 14. */
  readonly refreshAfterMs?: number;
}

/** The STS endpoint host of a region: sts.<region>.amazonaws.com (.com.cn in China). */
export function stsHost(region: string): string {
  return `sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** One EKS bearer token for `clusterName`, signed with `credentials` at `signingDate`. */
export async function createEksToken(clusterName: string, region: string, credentials: AwsCredentials, signingDate: Date): Promise<string> {
  const hostname = stsHost(region);
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256, applyChecksum: false });
  const presigned = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      // `x-k8s-aws-id` does not start with x-amz-, so it stays a signed header and is not hoisted into the query.
      headers: { host: hostname, 'x-k8s-aws-id': clusterName },
    }),
    { expiresIn: EKS_PRESIGN_EXPIRES_SECONDS, signingDate },
  );
  const query = Object.entries(presigned.query ?? {})
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string').map((v) => `${rfc3986(key)}=${rfc3986(v)}`))
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

/** EKS tokens for one cluster, cached until shortly before they (or the credentials behind them) expire. */
export class EksTokenSource implements BearerTokenSource {
  private readonly credentials: AwsCredentialsProvider;
  private readonly now: () => Date;
  private readonly refreshAfterMs: number;
  private cached: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly options: EksTokenOptions) {
    this.credentials = options.credentials ?? defaultProvider();
    this.now = options.now ?? (() => new Date());
    this.refreshAfterMs = options.refreshAfterMs ?? DEFAULT_TOKEN_REFRESH_AFTER_MS;
    if (!(this.refreshAfterMs > 0 && this.refreshAfterMs <= EKS_TOKEN_LIFETIME_MS - CREDENTIALS_MARGIN_MS)) {
      throw new ConfigurationError(`EKS token refresh must be after more than 0 and at most 14 minutes, got ${this.refreshAfterMs} ms`);
    }
  }

  /** The cached token while it is fresh, otherwise a new one (one signing even for concurrent callers). */
  async token(): Promise<string> {
    if (this.cached !== undefined && this.now().getTime() < this.cached.renewAt) return this.cached.token;
    this.pending ??= this.renew().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the cached token, e.g. after the API server answered 401. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async renew(): Promise<string> {
    const credentials = await this.credentials();
    const signedAt = this.now();
    const token = await createEksToken(this.options.clusterName, this.options.region, credentials, signedAt);
    const expires = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    this.cached = { token, renewAt: Math.min(signedAt.getTime() + this.refreshAfterMs, expires - CREDENTIALS_MARGIN_MS) };
    return token;
  }
}

/** Where a cluster's API server is and which CA signs its certificate. */
export interface EksClusterEndpoint {
  readonly name: string;
  /** https://… */
  readonly endpoint: string;
  /** The cluster CA certificate, PEM. */
  readonly caPem: string;
}

/** DescribeCluster: the endpoint and the CA (base64 of PEM in the answer, decoded here). */
export async function describeEksCluster(eks: EKSClient, clusterName: string): Promise<EksClusterEndpoint> {
  let cluster;
  try {
    ({ cluster } = await eks.send(new DescribeClusterCommand({ name: clusterName })));
  } catch (error) {
    throw translateEksError(error, clusterName);
  }
  const endpoint = cluster?.endpoint;
  const caData = cluster?.certificateAuthority?.data;
  if (endpoint === undefined || caData === undefined) {
    throw new ConfigurationError(`EKS cluster ${clusterName} (status ${cluster?.status ?? 'unknown'}) has no API endpoint or CA yet`);
  }
  const caPem = Buffer.from(caData, 'base64').toString('utf8');
  if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigurationError(`EKS cluster ${clusterName}: certificateAuthority.data is not a base64 PEM certificate`);
  }
  return { name: clusterName, endpoint, caPem };
}

export interface EksClusterAccessOptions {
  /** Region of the clusters; default the EKS client's region. */
  readonly region?: string;
  /** Credentials for the tokens; default the Node provider chain (the Lambda's role). */
  readonly credentials?: AwsCredentialsProvider;
  /** Limit for one Kubernetes API request; default 10 s. */
  readonly timeoutMs?: number;
}

/** Kubernetes API clients for EKS clusters by name, each built once per container (DescribeCluster once). */
export class EksClusterAccess {
  private readonly clients = new Map<string, Promise<KubeClient>>();

  constructor(
    private readonly eks: EKSClient,
    private readonly options: EksClusterAccessOptions = {},
  ) {}

  /** The client of `clusterName`: its endpoint, its CA trusted, EKS tokens; a failed lookup is not kept. */
  async kubeClient(clusterName: string): Promise<KubeClient> {
    let client = this.clients.get(clusterName);
    if (client === undefined) {
      client = this.build(clusterName);
      this.clients.set(clusterName, client);
      client.catch(() => this.clients.delete(clusterName));
    }
    return client;
  }

  /** The same client, returned at once: DescribeCluster runs on its first request (so a router can be built synchronously). */
  api(clusterName: string): KubeApi {
    return {
      get: async (ref: KubeRef) => (await this.kubeClient(clusterName)).get(ref),
      patch: async (ref: KubeRef, ops: readonly JsonPatchOp[]) => (await this.kubeClient(clusterName)).patch(ref, ops),
    };
  }

  private async build(clusterName: string): Promise<KubeClient> {
    const { endpoint, caPem } = await describeEksCluster(this.eks, clusterName);
    const region = this.options.region ?? (await this.eks.config.region());
    const token = new EksTokenSource({ clusterName, region, ...(this.options.credentials && { credentials: this.options.credentials }) });
    return new KubeClient({ endpoint, caPem, token, clusterLabel: `EKS cluster ${clusterName}`, ...(this.options.timeoutMs && { timeoutMs: this.options.timeoutMs }) });
  }
}

/** The domain error for an EKS SDK error; anything not recognised comes back as it was. */
export function translateEksError(error: unknown, clusterName: string): unknown {
  if (error instanceof CanaryError || !(error instanceof Error)) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = `DescribeCluster ${clusterName} failed: ${error.name}: ${error.message}`;
  if (error.name === 'ResourceNotFoundException') return new ConfigurationError(`${message}; check the registered cluster name and region`, { cause: error });
  if (['AccessDeniedException', 'UnrecognizedClientException', 'ExpiredTokenException', 'InvalidClientTokenId'].includes(error.name)) {
    return new ConfigurationError(`${message}; the orchestrator's role needs eks:DescribeCluster on this cluster`, { cause: error });
  }
  if (['ThrottlingException', 'TooManyRequestsException'].includes(error.name) || status === 429) return new ThrottlingError(message, { cause: error });
  if (['ServerException', 'ServiceUnavailableException'].includes(error.name) || (status !== undefined && status >= 500)) {
    return new TransientError(message, { cause: error });
  }
  return error;
}

/** RFC 3986 percent-encoding, as SigV4 canonicalises query strings. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
