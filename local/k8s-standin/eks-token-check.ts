/**
 * What the stand-in can check of an EKS bearer token without calling STS: its shape. EKS itself calls
 * STS with the URL inside, which checks the signature; here the URL must be a presigned STS
 * GetCallerIdentity with x-k8s-aws-id signed in, an expiry of at most 900 s and a fresh signing date.
 */

const PREFIX = 'k8s-aws-v1.';
/** EKS accepts a token for 15 minutes after its signing date. */
const LIFETIME_MS = 15 * 60_000;
/** Clock skew allowed for a signing date in the future. */
const SKEW_MS = 5 * 60_000;

/** Why `token` is not a well-formed, fresh EKS token, or undefined when it is. */
export function eksTokenProblem(token: string, now: number): string | undefined {
  if (!token.startsWith(PREFIX)) return `token does not start with ${PREFIX}`;
  const encoded = token.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return 'token is not unpadded base64url after the prefix';
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return 'token does not decode to a URL';
  }
  const q = url.searchParams;
  if (url.protocol !== 'https:' || !/^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(url.hostname)) return `token URL host ${url.host} is not STS`;
  if (url.pathname !== '/') return `token URL path ${url.pathname} is not /`;
  if (q.get('Action') !== 'GetCallerIdentity' || q.get('Version') !== '2011-06-15') return 'token URL is not GetCallerIdentity of 2011-06-15';
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'token URL is not SigV4-presigned';
  if (!/^[0-9a-f]{64}$/.test(q.get('X-Amz-Signature') ?? '')) return 'token URL has no signature';
  if (!/\/sts\/aws4_request$/.test(q.get('X-Amz-Credential') ?? '')) return 'token URL credential scope is not sts';
  const signed = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signed.includes('host') || !signed.includes('x-k8s-aws-id')) return `token URL signs ${signed.join(';')}, not host and x-k8s-aws-id`;
  const expires = Number(q.get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > 900) return `X-Amz-Expires ${q.get('X-Amz-Expires') ?? 'missing'} is not 1-900`;
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('X-Amz-Date') ?? '');
  if (date === null) return 'X-Amz-Date is missing or malformed';
  const signedAt = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]), Number(date[4]), Number(date[5]), Number(date[6]));
  if (now - signedAt > LIFETIME_MS) return 'token expired (signed more than 15 minutes ago)';
  if (signedAt - now > SKEW_MS) return 'token signed in the future';
  return undefined;
}
