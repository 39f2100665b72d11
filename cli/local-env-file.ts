import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { messageOf, UsageError } from './errors';

/**
 * The file `npm run local` writes while it runs (default `.local/env.json`): the endpoints of the local
 * environment, for the CLI to point its SDK clients at. `CANARY_LOCAL_ENV` names another file.
 */

export const LOCAL_ENV_FILE = join('.local', 'env.json');
export const LOCAL_ENV_VARIABLE = 'CANARY_LOCAL_ENV';

const url = z.string().regex(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL' });

export const localEnvSchema = z.object({
  version: z.literal(1),
  /** The process of `npm run local`: the file is stale once it has exited. */
  pid: z.number().int().positive(),
  startedAt: z.string(),
  region: z.string().min(1),
  tableName: z.string().min(1),
  stateMachineArn: z.string().startsWith('arn:'),
  endpoints: z.object({ dynamodb: url, sfn: url, elasticLoadBalancingV2: url }),
  services: z.array(
    z.object({
      name: z.string(),
      /** The listener of the ALB stand-in: the service's URL. */
      listenerUrl: url,
      prometheusUrl: url,
      stableImage: z.string(),
      canaryImage: z.string(),
    }),
  ),
  /** The same endpoints as environment variables, for the AWS CLI and SDKs: AWS_ENDPOINT_URL_*, CANARY_*. */
  env: z.record(z.string(), z.string()),
});

export type LocalEnv = z.infer<typeof localEnvSchema>;

/** The env file this CLI would use, if it exists: CANARY_LOCAL_ENV, else `.local/env.json` in the working directory or a parent. */
export function findLocalEnvFile(cwd: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const named = env[LOCAL_ENV_VARIABLE];
  if (named !== undefined && named !== '') return existsSync(resolve(cwd, named)) ? resolve(cwd, named) : undefined;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, LOCAL_ENV_FILE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Reads and validates an env file; UsageError naming the file when it is unreadable or malformed. */
export async function readLocalEnv(file: string): Promise<LocalEnv> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the local environment file ${file}: ${messageOf(error)}`);
  }
  const parsed = localEnvSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`the local environment file ${file} is not one \`npm run local\` wrote: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Writes the env file atomically (a reader never sees half of it). */
export async function writeLocalEnv(file: string, env: LocalEnv): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(env, null, 2)}\n`);
  await rename(temporary, file);
}

/** Removes the env file if it is still this process's. */
export async function removeLocalEnv(file: string, pid = process.pid): Promise<void> {
  try {
    const current = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown };
    if (current.pid === pid) await rm(file, { force: true });
  } catch {
    // gone already, or not ours to remove
  }
}

/** Whether a process of that id is alive. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
