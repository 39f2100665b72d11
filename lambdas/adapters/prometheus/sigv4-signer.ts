import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** An HTTP request about to be sent; a signer sees exactly the bytes that go on the wire. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Authenticates a request by adding headers (SigV4 for Amazon Managed Prometheus). */
export interface RequestSigner {
  /** Returns the complete set of headers to send: the request's own plus the authentication headers. */
  sign(request: SignableRequest): Promise<Record<string, string>>;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface SigV4SignerOptions {
  /** Region of the AMP workspace, e.g. eu-west-1. */
  readonly region: string;
  /** Where credentials come from; defaults to the Node provider chain (env, SSO, profile, container and instance roles). */
  readonly credentials?: AwsCredentialsProvider;
  /** Signing clock; tests pin it. */
  readonly now?: () => Date;
}

/** Signing name of Amazon Managed Prometheus. */
const AMP_SERVICE = 'aps';

/**
 * AWS Signature Version 4 for Amazon Managed Prometheus. Signs every header it is given (host,
 * content-type included) and the body: the body's SHA-256 goes in x-amz-content-sha256 and into the
 * canonical request, so a changed body fails verification.
 */
export class SigV4Signer implements RequestSigner {
  private readonly signer: SignatureV4;
  private readonly now: () => Date;

  constructor(options: SigV4SignerOptions) {
    this.signer = new SignatureV4({
      service: AMP_SERVICE,
      region: options.region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: Sha256,
      applyChecksum: true,
    });
    this.now = options.now ?? (() => new Date());
  }

  /** Signs method, path, query, headers (with host) and body; returns the headers to send. */
  async sign(request: SignableRequest): Promise<Record<string, string>> {
    const { url } = request;
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of url.searchParams) {
      const seen = query[key];
      query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    const signed = await this.signer.sign(
      {
        method: request.method.toUpperCase(),
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port !== '' && { port: Number(url.port) }),
        path: url.pathname,
        query,
        // `url.host` is what fetch sends as Host (no default port), so the signed value matches the wire.
        headers: { ...lowerCaseKeys(request.headers), host: url.host },
        body: request.body,
      },
      { signingDate: this.now() },
    );
    return { ...signed.headers };
  }
}

/** Base URL of an Amazon Managed Prometheus workspace's Prometheus-compatible API. */
export function ampWorkspaceUrl(region: string, workspaceId: string): string {
  return `https://aps-workspaces.${region}.amazonaws.com/workspaces/${workspaceId}`;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
