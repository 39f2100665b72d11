import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigurationError, InputValidationError, ServiceNotRegisteredError } from '../../lambdas/domain/errors';
import { validateExecution, type RegistrationSource } from '../../lambdas/domain/execution-validation';
import { CliFailure, EXIT, messageOf, UsageError, type ExitCode } from '../errors';
import { print, type CliIo } from '../io';
import type { Target } from '../target';

/**
 * `canary validate --input FILE [--services FILE]`: checks an execution input exactly as Start would (the same
 * function, execution-validation.ts): its fields, the service's registration, the plan within the registration's
 * policy and the history budget. Prints `ok`, or every error on a line of its own (field: what was expected, and the
 * policy rule it breaks). The registration comes from a services file as the CDK app reads it, or else from the
 * registry of the local environment (or of --table / CANARY_TABLE).
 */

export interface ValidateOptions {
  readonly input: string;
  readonly services?: string;
  readonly table?: string;
}

/** A JSON file, or a UsageError naming the option and the file. */
async function readJson(option: string, file: string, cwd: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(`${option} ${file}: cannot read it: ${messageOf(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${option} ${file}: not valid JSON: ${messageOf(error)}`);
  }
}

/** The registrations of a services file `{ "services": [registration, ...] }`, the shape infra/canary-stack.ts reads. */
async function servicesFileSource(file: string, cwd: string): Promise<RegistrationSource> {
  const parsed = await readJson('--services', file, cwd);
  const services = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as { services?: unknown }).services : undefined;
  if (!Array.isArray(services)) throw new UsageError(`--services ${file}: expected { "services": [ ...registrations ] }, as the CDK app reads it`);
  const nameOf = (entry: unknown) => (typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined);
  return {
    async registration(service) {
      const indices = services.flatMap((entry, i) => (nameOf(entry) === service ? [i] : []));
      // The CDK app refuses a service registered twice (CanaryOrchestrator.addService); so does this.
      if (indices.length > 1) throw new CliFailure(`${file}: service '${service}' is registered twice (services[${indices.join('] and services[')}]); the CDK app refuses that`);
      return indices.length === 0 ? undefined : { value: services[indices[0]], root: `${file} services[${indices[0]}]` };
    },
    services: async () => services.map(nameOf).filter((n): n is string => typeof n === 'string'),
  };
}

/** The registry of the table the target names: the local environment's, or --table / CANARY_TABLE on AWS. */
function registrySource(target: Target, options: ValidateOptions, io: CliIo): RegistrationSource {
  if (target.kind === 'aws' && options.table === undefined && (io.env.CANARY_TABLE ?? '') === '') {
    throw new UsageError(
      '--services FILE is needed: no local environment is running (`npm run local`) and no table is named (--table or CANARY_TABLE) to read the registration from; give the services file the CDK app deploys, e.g. --services infra/services.example.json',
    );
  }
  const runLog = target.runLog();
  return {
    registration: async (service) => {
      const value = await runLog.getServiceConfig(service);
      return value === undefined ? undefined : { value, root: `registration of '${service}'` };
    },
    services: () => runLog.listServices(),
  };
}

/** The lines of a refusal: one per field, or the error's own sentence. */
function refusalLines(error: unknown, where: string): string[] | undefined {
  if (error instanceof InputValidationError) return error.issues.map((i) => `${i.field}: ${i.message}`);
  if (error instanceof ServiceNotRegisteredError) return [error.message.replace(' is not registered', ` is not registered in ${where}`)];
  if (error instanceof ConfigurationError) {
    const cause = error.cause;
    if (cause instanceof InputValidationError) return [`the registration in ${where} is invalid (the CDK app refuses it at synth):`, ...cause.issues.map((i) => `${i.field}: ${i.message}`)];
    return [error.message];
  }
  return undefined;
}

/** `canary validate`: ok (exit 0) or the errors (exit 1). */
export async function validate(options: ValidateOptions, target: Target, io: CliIo): Promise<ExitCode> {
  const input = await readJson('--input', options.input, io.cwd);
  const source = options.services !== undefined ? await servicesFileSource(options.services, io.cwd) : registrySource(target, options, io);
  const where = options.services ?? target.where;
  try {
    await validateExecution(input, source);
  } catch (error) {
    const lines = refusalLines(error, where);
    if (lines === undefined) throw error;
    print(io, ...lines);
    return EXIT.failed;
  }
  print(io, 'ok');
  return EXIT.ok;
}
