import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { InputValidationError } from '../../lambdas/domain/errors';
import { parseExecutionInput, type ExecutionInput } from '../../lambdas/domain/execution-input';
import { resolvePlan, type Plan } from '../../lambdas/domain/plan';
import { describePlan } from '../../local/demo/report';
import { CliFailure, EXIT, messageOf, UsageError, type ExitCode } from '../errors';
import { print, sleep, type CliIo } from '../io';
import type { Target } from '../target';
import { operatorName } from '../who';

export interface StartOptions {
  readonly service: string;
  readonly image: string;
  readonly dryRun?: boolean;
  readonly plan?: string;
  readonly name?: string;
  readonly as?: string;
  readonly quiet?: boolean;
}

// Lambda cold starts and Start's retries stay well under this.
const RECORD_TIMEOUT_MS = 60_000;

/** `<service>-<yyyymmdd>-<hhmmss>-<4 hex>`, at most 80 characters: the execution name and run id. */
export function defaultRunName(service: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase();
  return `${service.slice(0, 80 - 21)}-${stamp}-${randomBytes(2).toString('hex')}`;
}

async function readPlanFile(file: string, cwd: string): Promise<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(resolve(cwd, file), 'utf8'));
  } catch (error) {
    throw new UsageError(`--plan ${file}: cannot read it: ${messageOf(error)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`--plan ${file}: must be a JSON object (overrides of the registered plan)`);
  return json as Record<string, unknown>;
}

const OPTION_OF: Readonly<Record<string, string>> = { service: '--service', image: '--image', dryRun: '--dry-run' };

/** The engine's own validation of the input, its fields named as the options that gave them. */
function validated(input: Record<string, unknown>, planFile: string | undefined): ExecutionInput {
  try {
    return parseExecutionInput(input);
  } catch (error) {
    if (!(error instanceof InputValidationError)) throw error;
    const issues = error.issues.map((i) => {
      const root = i.field.split(/[.[]/)[0];
      return root === 'plan' ? `--plan ${planFile ?? ''}: ${i.field}: ${i.message}` : `${OPTION_OF[root] ?? root}: ${i.field}: ${i.message}`;
    });
    throw new UsageError(issues.join('; '));
  }
}

/** The message of a failed execution: Lambda wraps it as JSON ({"errorType","errorMessage"}), a local run does not. */
export function causeText(cause: string | undefined): string {
  if (cause === undefined) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // a plain message
  }
  return cause;
}

/** `canary start`: StartExecution, then wait until Start recorded the run or refused it. */
export async function start(options: StartOptions, target: Target, io: CliIo): Promise<ExitCode> {
  const plan = options.plan === undefined ? undefined : await readPlanFile(options.plan, io.cwd);
  const runLog = target.runLog();
  const { client, stateMachineArn } = target.stepFunctions();
  const given = validated({ service: options.service, image: options.image, dryRun: options.dryRun === true, ...(plan !== undefined && { plan }) }, options.plan);

  // What Start would refuse for the service and the plan, said before anything starts.
  const registration = await runLog.getServiceConfig(given.service);
  if (registration === undefined) {
    const known = await runLog.listServices();
    throw new UsageError(`--service: '${given.service}' is not registered in ${target.where}${known.length > 0 ? ` (registered: ${known.join(', ')})` : ' (no service is registered)'}`);
  }
  const registeredPlan = typeof registration === 'object' && registration !== null ? (registration as { plan?: unknown }).plan : undefined;
  let resolved: Plan;
  try {
    resolved = resolvePlan(registeredPlan, given.plan);
  } catch (error) {
    if (error instanceof InputValidationError) throw new UsageError(`--plan ${options.plan ?? ''}: ${error.message}`);
    throw error;
  }

  const actor = await operatorName(options.as, target, io.env);
  const input: ExecutionInput = { ...given, trigger: { source: 'cli', actor: actor.slice(0, 256) } };
  const name = options.name ?? defaultRunName(input.service);
  let executionArn: string;
  try {
    const out = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    executionArn = out.executionArn ?? '';
  } catch (error) {
    const code = error instanceof Error ? error.name : '';
    if (code === 'ExecutionAlreadyExists') throw new UsageError(`--name: an execution named '${name}' already exists; run names are unique, choose another`);
    if (code === 'StateMachineDoesNotExist') throw new CliFailure(`the state machine ${stateMachineArn} does not exist (check --state-machine or CANARY_STATE_MACHINE_ARN)`);
    throw error;
  }

  // Start validates, takes the lock and writes the record within seconds, or fails the execution (Refused).
  const deadline = Date.now() + RECORD_TIMEOUT_MS;
  for (;;) {
    const record = await runLog.getRun(name);
    if (record !== undefined) break;
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') {
      const again = await runLog.getRun(name);
      if (again !== undefined) break;
      throw new CliFailure(`run ${name} was refused (${execution.error ?? execution.status ?? 'FAILED'}): ${causeText(execution.cause)}`);
    }
    if (Date.now() > deadline) {
      io.stderr.write(`warning: execution ${executionArn} is running but has not recorded run ${name} after ${RECORD_TIMEOUT_MS / 1000} s; \`canary watch ${name}\` follows it once it does\n`);
      break;
    }
    if (await sleep(io.pollMs ?? 300, io.signal)) return EXIT.interrupted;
  }

  if (options.quiet === true) {
    print(io, name);
    return EXIT.ok;
  }
  print(
    io,
    `Started run ${name}: ${input.dryRun ? 'dry run of' : 'rollout of'} ${input.image} to ${input.service}, by ${actor}`,
    `  plan       ${describePlan(resolved)}`,
    `  execution  ${executionArn}`,
    `Follow it with \`canary watch ${name}\`; steer it with \`canary abort|pause|resume|promote|approve ${name}\`.`,
  );
  return EXIT.ok;
}
