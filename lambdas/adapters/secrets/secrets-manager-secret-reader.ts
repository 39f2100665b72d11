import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, ThrottlingError, TransientError } from '../../domain/errors';

/** Reads secret strings (tokens, webhook URLs), cached for a few minutes per container. Values are never logged. */
export class SecretsManagerSecretReader {
  private readonly cache = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The secret's string value; a missing or binary secret is a ConfigurationError naming the ARN. */
  async read(secretArn: string): Promise<string> {
    const cached = this.cache.get(secretArn);
    if (cached && cached.until > this.now()) return cached.value;
    let value: string | undefined;
    try {
      value = (await this.client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (name === 'ThrottlingException') throw new ThrottlingError(`Secrets Manager throttled reading ${secretArn}`, { cause: error });
      if (name === 'InternalServiceError' || name === 'TimeoutError') throw new TransientError(`Secrets Manager failed reading ${secretArn}`, { cause: error });
      if (name === 'ResourceNotFoundException' || name === 'AccessDeniedException' || name === 'DecryptionFailure') {
        throw new ConfigurationError(`cannot read secret ${secretArn}: ${name}`, { cause: error });
      }
      throw error;
    }
    if (!value) throw new ConfigurationError(`secret ${secretArn} has no string value`);
    this.cache.set(secretArn, { value, until: this.now() + this.ttlMs });
    return value;
  }
}
