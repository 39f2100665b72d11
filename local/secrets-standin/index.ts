import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/**
 * Secrets Manager's GetSecretValue (the only call the handlers make) for local runs, in the AWS JSON 1.1
 * protocol the real @aws-sdk/client-secrets-manager speaks. Point the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export interface SecretsStandIn {
  readonly endpoint: string;
  readonly env: Readonly<Record<string, string>>;
  /** Stores a secret string and returns its ARN. */
  put(name: string, value: string): string;
  /** How many GetSecretValue calls were answered. */
  readonly reads: number;
  stop(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 and a free port. */
export async function startSecretsStandIn(options: { region?: string; accountId?: string } = {}): Promise<SecretsStandIn> {
  const region = options.region ?? 'eu-west-1';
  const accountId = options.accountId ?? '123456789012';
  const secrets = new Map<string, { name: string; arn: string; value: string }>();
  let reads = 0;
  const reply = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target !== 'secretsmanager.GetSecretValue') return reply(res, 400, { __type: 'InvalidRequestException', message: `unsupported operation ${target}` });
      let id = '';
      try {
        const secretId = (JSON.parse(raw) as { SecretId?: unknown }).SecretId;
        id = typeof secretId === 'string' ? secretId : '';
      } catch {
        return reply(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
      }
      const secret = secrets.get(id) ?? [...secrets.values()].find((s) => s.name === id);
      if (!secret) return reply(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      reads++;
      reply(res, 200, { ARN: secret.arn, Name: secret.name, SecretString: secret.value, VersionId: randomUUID(), VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint },
    put(name, value) {
      const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${randomUUID().slice(0, 6)}`;
      secrets.set(arn, { name, arn, value });
      return arn;
    },
    get reads() {
      return reads;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
