import { userInfo } from 'node:os';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CliFailure, UsageError } from './errors';
import type { Target } from './target';

/**
 * Who gives a control or starts a run, as it is recorded: `--as NAME`; otherwise the IAM principal of the
 * caller (STS GetCallerIdentity) against AWS, the OS user against the local environment.
 */

const MAX_LENGTH = 256;

/** The name to record. */
export async function operatorName(as: string | undefined, target: Target, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (as !== undefined) {
    const name = as.trim();
    if (name === '' || name.length > MAX_LENGTH || /[\u0000-\u001f]/.test(name)) throw new UsageError(`--as: '${as}' is not a name (1-${MAX_LENGTH} printable characters)`);
    return name;
  }
  if (target.kind === 'local') return localUser(env);
  try {
    const identity = await target.sts().send(new GetCallerIdentityCommand({}));
    if (identity.Arn !== undefined && identity.Arn !== '') return identity.Arn;
    throw new Error('STS answered without an ARN');
  } catch (error) {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CliFailure(`cannot tell who you are (STS GetCallerIdentity failed: ${why}); give --as NAME`);
  }
}

function localUser(env: Readonly<Record<string, string | undefined>>): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.USERNAME ?? 'unknown';
  }
}
