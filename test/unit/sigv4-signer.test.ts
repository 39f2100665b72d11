import { createHash, createHmac } from 'node:crypto';
import { ampWorkspaceUrl, SigV4Signer, type AwsCredentials, type SignableRequest } from '../../lambdas/adapters/prometheus/sigv4-signer';

// SigV4 for Amazon Managed Prometheus, checked against an independent implementation of the
// algorithm (node:crypto, written from the AWS documentation) rather than against itself.

const keys: AwsCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const now = () => new Date('2024-03-05T10:20:30.456Z');
const workspace = ampWorkspaceUrl('eu-west-1', 'ws-12345678-abcd-1234-abcd-123456789012');

function request(body = 'query=sum%28up%29', url = `${workspace}/api/v1/query`): SignableRequest {
  return { method: 'POST', url: new URL(url), headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body };
}

function signer(credentials: AwsCredentials = keys): SigV4Signer {
  return new SigV4Signer({ region: 'eu-west-1', credentials: async () => credentials, now });
}

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly scope: string;
  readonly signedHeaders: string[];
  readonly signature: string;
}

function parseAuthorization(value: string | undefined): ParsedAuthorization {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(value ?? '');
  if (!match) throw new Error(`not a SigV4 Authorization header: ${value}`);
  return { accessKeyId: match[1], scope: match[2], signedHeaders: match[3].split(';'), signature: match[4] };
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** Whether `headers` carry a valid signature for method, URL, body as received, per the SigV4 documentation. */
function verifies(sent: { method: string; url: URL; body: string }, headers: Record<string, string>, secretAccessKey: string): boolean {
  const auth = parseAuthorization(headers.authorization);
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = auth.signedHeaders.map((name) => `${name}:${(lower[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [
    sent.method,
    sent.url.pathname, // no characters that need escaping in the paths used here
    [...sent.url.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).sort().join('&'),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    sha256(sent.body),
  ].join('\n');
  const [date, region, service, terminator] = auth.scope.split('/');
  const stringToSign = ['AWS4-HMAC-SHA256', lower['x-amz-date'], auth.scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), terminator);
  return hmac(key, stringToSign).toString('hex') === auth.signature;
}

describe('SigV4Signer', () => {
  test('signs for Amazon Managed Prometheus: credential scope <date>/<region>/aps/aws4_request, host, content-type, date and body hash signed', async () => {
    const req = request();

    const headers = await signer().sign(req);
    const auth = parseAuthorization(headers.authorization);

    expect(auth.accessKeyId).toBe('AKIDEXAMPLE');
    expect(auth.scope).toBe('20240305/eu-west-1/aps/aws4_request');
    expect(auth.signedHeaders).toEqual(['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date']);
    expect(headers.host).toBe('aps-workspaces.eu-west-1.amazonaws.com');
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(headers['x-amz-date']).toBe('20240305T102030Z');
    expect(headers['x-amz-content-sha256']).toBe(sha256(req.body));
    expect(headers['x-amz-security-token']).toBeUndefined();
    expect(verifies(req, headers, keys.secretAccessKey)).toBe(true);
  });

  test('the body is covered: another body gives another signature, and a tampered body or host fails verification', async () => {
    const original = request('query=sum%28up%29');
    const changed = request('query=sum%28down%29');

    const a = await signer().sign(original);
    const again = await signer().sign(original);
    const b = await signer().sign(changed);

    expect(again.authorization).toBe(a.authorization);
    expect(parseAuthorization(b.authorization).signature).not.toBe(parseAuthorization(a.authorization).signature);
    expect(verifies({ ...original, body: changed.body }, a, keys.secretAccessKey)).toBe(false);
    expect(verifies(original, { ...a, host: 'aps-workspaces.us-east-1.amazonaws.com' }, keys.secretAccessKey)).toBe(false);
    expect(verifies(original, a, 'another-secret')).toBe(false);
  });

  test('session credentials add a signed x-amz-security-token', async () => {
    const headers = await signer({ ...keys, sessionToken: 'FwoGZXIvYXdzEXAMPLE//token' }).sign(request());

    expect(headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLE//token');
    expect(parseAuthorization(headers.authorization).signedHeaders).toContain('x-amz-security-token');
    expect(verifies(request(), headers, keys.secretAccessKey)).toBe(true);
  });

  test('a non-default port and a query string are signed as sent', async () => {
    const req = request('query=1', 'http://127.0.0.1:9090/workspaces/ws-1/api/v1/query?timeout=5s&a=b');

    const headers = await signer().sign(req);

    expect(headers.host).toBe('127.0.0.1:9090');
    expect(verifies(req, headers, keys.secretAccessKey)).toBe(true);
  });

  test('asks the credentials provider on every request, so rotated role credentials are used', async () => {
    let calls = 0;
    const rotating = new SigV4Signer({
      region: 'eu-west-1',
      credentials: async () => ({ ...keys, accessKeyId: `AKIDROTATED${++calls}` }),
      now,
    });

    const first = parseAuthorization((await rotating.sign(request())).authorization);
    const second = parseAuthorization((await rotating.sign(request())).authorization);

    expect([first.accessKeyId, second.accessKeyId]).toEqual(['AKIDROTATED1', 'AKIDROTATED2']);
  });

  test('without a credentials provider it uses the Node default chain (here the environment)', async () => {
    const headers = await new SigV4Signer({ region: 'eu-west-1', now }).sign(request());

    expect(parseAuthorization(headers.authorization).accessKeyId).toBe(process.env.AWS_ACCESS_KEY_ID);
    expect(verifies(request(), headers, process.env.AWS_SECRET_ACCESS_KEY!)).toBe(true);
  });
});

describe('ampWorkspaceUrl', () => {
  test('is the workspace base URL that /api/v1/query is appended to', () => {
    expect(ampWorkspaceUrl('us-east-1', 'ws-abc')).toBe('https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-abc');
  });
});
