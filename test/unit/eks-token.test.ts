import { createHash, createHmac } from 'node:crypto';
import { DescribeClusterCommand, EKSClient, EKSServiceException, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { createEksToken, describeEksCluster, EksTokenSource } from '../../lambdas/adapters/k8s/eks-token';
import type { AwsCredentials } from '../../lambdas/adapters/prometheus/sigv4-signer';
import { ConfigurationError, ThrottlingError } from '../../lambdas/domain/errors';

// The EKS bearer token, decoded and its presigned URL checked against an independent implementation of
// SigV4 query signing (node:crypto, from the AWS documentation), then its cache, then DescribeCluster.

const KEYS: AwsCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SIGNED_AT = new Date('2024-03-05T10:20:30.000Z');

function decode(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const encoded = token.slice('k8s-aws-v1.'.length);
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // base64url without padding
  return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Whether the presigned `url` carries a valid signature for a GET that sends `headers`, per the SigV4 documentation. */
function verifies(url: URL, headers: Record<string, string>, secretAccessKey: string): boolean {
  const q = url.searchParams;
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  const canonicalQuery = [...q]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join('&');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${headers[name] ?? ''}\n`).join('');
  const canonicalRequest = ['GET', url.pathname, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), sha256('')].join('\n');
  const scope = (q.get('X-Amz-Credential') ?? '').split('/').slice(1).join('/');
  const [date = '', region = '', service = '', terminator = ''] = scope.split('/');
  const stringToSign = ['AWS4-HMAC-SHA256', q.get('X-Amz-Date'), scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), terminator);
  return hmac(key, stringToSign).toString('hex') === q.get('X-Amz-Signature');
}

describe('createEksToken', () => {
  it('is k8s-aws-v1. + unpadded base64url of a presigned STS GetCallerIdentity URL of the cluster region', async () => {
    // Prepare
    const cluster = 'shop';

    // Act
    const url = decode(await createEksToken(cluster, 'eu-west-1', KEYS, SIGNED_AT));

    // Assess
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20240305/eu-west-1/sts/aws4_request');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20240305T102030Z');
  });

  it('signs host and x-k8s-aws-id, expires within 900 s, and binds the cluster name: the signature verifies for shop and not for another cluster', async () => {
    // Prepare
    const host = 'sts.eu-west-1.amazonaws.com';

    // Act
    const url = decode(await createEksToken('shop', 'eu-west-1', KEYS, SIGNED_AT));

    // Assess
    const signed = (url.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
    expect(signed).toEqual(expect.arrayContaining(['host', 'x-k8s-aws-id']));
    expect(url.searchParams.has('x-k8s-aws-id')).toBe(false);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(verifies(url, { host, 'x-k8s-aws-id': 'shop' }, KEYS.secretAccessKey)).toBe(true);
    expect(verifies(url, { host, 'x-k8s-aws-id': 'other' }, KEYS.secretAccessKey)).toBe(false);
  });

  it('carries a session token in the signed query, and signs for the China partition host in cn- regions', async () => {
    // Prepare
    const session = { ...KEYS, sessionToken: 'IQoJb3JpZ2luX2VjE+/session==' };

    // Act
    const url = decode(await createEksToken('shop', 'cn-north-1', session, SIGNED_AT));

    // Assess
    expect(url.host).toBe('sts.cn-north-1.amazonaws.com.cn');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(session.sessionToken);
    expect(verifies(url, { host: url.host, 'x-k8s-aws-id': 'shop' }, KEYS.secretAccessKey)).toBe(true);
  });
});

describe('EksTokenSource', () => {
  function source(options: { expiration?: Date; refreshAfterMs?: number } = {}) {
    let now = SIGNED_AT.getTime();
    let credentialCalls = 0;
    const tokens = new EksTokenSource({
      clusterName: 'shop',
      region: 'eu-west-1',
      now: () => new Date(now),
      credentials: async () => {
        credentialCalls += 1;
        return { ...KEYS, ...(options.expiration && { expiration: options.expiration }) };
      },
      ...(options.refreshAfterMs !== undefined && { refreshAfterMs: options.refreshAfterMs }),
    });
    return { tokens, advance: (ms: number) => (now += ms), calls: () => credentialCalls };
  }

  it('keeps a token for 10 minutes, well inside the 15 EKS accepts, then signs a new one', async () => {
    // Prepare
    const { tokens, advance, calls } = source();

    // Act
    const first = await tokens.token();
    advance(9 * 60_000);
    const cached = await tokens.token();
    advance(60_000);
    const renewed = await tokens.token();

    // Assess
    expect(cached).toBe(first);
    expect(renewed).not.toBe(first);
    expect(decode(renewed).searchParams.get('X-Amz-Date')).toBe('20240305T103030Z');
    expect(calls()).toBe(2);
  });

  it('renews early when the credentials that signed expire sooner, and after invalidate()', async () => {
    // Prepare
    const { tokens, advance, calls } = source({ expiration: new Date(SIGNED_AT.getTime() + 3 * 60_000) });

    // Act
    const first = await tokens.token();
    advance(90_000);
    const beforeMargin = await tokens.token();
    const callsBeforeMargin = calls();
    advance(40_000);
    const afterMargin = await tokens.token();
    const callsAfterMargin = calls();
    tokens.invalidate();
    await tokens.token();

    // Assess
    expect(beforeMargin).toBe(first);
    expect(callsBeforeMargin).toBe(1);
    expect(afterMargin).not.toBe(first);
    expect(callsAfterMargin).toBe(2);
    expect(calls()).toBe(3);
  });

  it('signs once for concurrent callers', async () => {
    // Prepare
    const { tokens, calls } = source();

    // Act
    const all = await Promise.all([tokens.token(), tokens.token(), tokens.token()]);

    // Assess
    expect(new Set(all).size).toBe(1);
    expect(calls()).toBe(1);
  });

  it('refuses a refresh interval that would outlive the token', () => {
    // Act
    const build = () => source({ refreshAfterMs: 15 * 60_000 });

    // Assess
    expect(build).toThrow(ConfigurationError);
  });
});

describe('describeEksCluster', () => {
  const eks = mockClient(EKSClient);
  const CA = '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n';

  beforeEach(() => eks.reset());

  it('returns the endpoint and the CA decoded from base64 to PEM', async () => {
    // Prepare
    eks.on(DescribeClusterCommand, { name: 'shop' }).resolves({
      cluster: { name: 'shop', endpoint: 'https://ABCD.gr7.eu-west-1.eks.amazonaws.com', certificateAuthority: { data: Buffer.from(CA).toString('base64') }, status: 'ACTIVE' },
    });

    // Act
    const cluster = await describeEksCluster(new EKSClient({}), 'shop');

    // Assess
    expect(cluster).toEqual({ name: 'shop', endpoint: 'https://ABCD.gr7.eu-west-1.eks.amazonaws.com', caPem: CA });
  });

  it('translates what it knows and rethrows the rest', async () => {
    // Prepare
    const client = new EKSClient({});
    const error = (name: string, status: number) => new EKSServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} happened` });
    const odd = new Error('something else');
    eks
      .on(DescribeClusterCommand)
      .rejectsOnce(new ResourceNotFoundException({ $metadata: {}, message: 'No cluster found for name: shop.' }))
      .rejectsOnce(error('ThrottlingException', 400))
      .rejectsOnce(error('AccessDeniedException', 403))
      .rejectsOnce(odd)
      .resolvesOnce({ cluster: { name: 'shop', status: 'CREATING' } });

    // Act
    const outcomes: unknown[] = [];
    for (let i = 0; i < 5; i += 1) outcomes.push(await describeEksCluster(client, 'shop').catch((e: unknown) => e));
    const [missing, throttled, denied, unknown, creating] = outcomes;

    // Assess
    expect(missing).toBeInstanceOf(ConfigurationError);
    expect((missing as Error).message).toBe('DescribeCluster shop failed: ResourceNotFoundException: No cluster found for name: shop.; check the registered cluster name and region');
    expect(throttled).toBeInstanceOf(ThrottlingError);
    expect(denied).toBeInstanceOf(ConfigurationError);
    expect((denied as Error).message).toMatch(/needs eks:DescribeCluster/);
    expect(unknown).toBe(odd);
    expect((creating as Error).message).toBe('EKS cluster shop (status CREATING) has no API endpoint or CA yet');
  });
});
