import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CONTROL_COMMANDS, type ControlCommand } from '../lambdas/domain/control';
import { executionNameArgument, imageArgument, parseSince, runIdArgument, serviceArgument, stepArgument } from './arguments';
import { control } from './commands/controls';
import { history } from './commands/history';
import { start } from './commands/start';
import { validate, type ValidateOptions } from './commands/validate';
import { status, watch } from './commands/watch';
import { CliFailure, EXIT, messageOf, UsageError, type ExitCode } from './errors';
import { HISTORY_FORMATS, type HistoryFormat } from './history';
import type { CliIo } from './io';
import { resolveTarget, type Target, type TargetOptions } from './target';

/**
 * The `canary` CLI: start, follow, steer and review canary rollouts, against AWS or the local environment of
 * `npm run local`. Each command parses its arguments with commander, chooses where it works (target.ts) and
 * calls one command module. Exit codes: errors.ts.
 */

const EXAMPLES = `
Examples:
  canary start --service payments-api --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1
  canary watch payments-api-20250518-101500-3f2a
  canary abort payments-api-20250518-101500-3f2a --reason "wrong build"
  canary history --rollbacks --since 30d --format csv
  canary validate --input input.json --services infra/services.example.json

Where it works:
  AWS      start calls Step Functions (--state-machine ARN or CANARY_STATE_MACHINE_ARN); everything else reads and
           writes the table (--table NAME or CANARY_TABLE); region and credentials as for any AWS SDK
           (AWS_REGION, AWS_PROFILE, …). Controls are recorded as the IAM principal (STS GetCallerIdentity).
  local    with --local, or when no AWS target is named and \`npm run local\` is running: its endpoints come from
           .local/env.json (or the file CANARY_LOCAL_ENV names). Controls are recorded as the OS user.

Exit codes:
  0 done (watch: promoted or dry run passed)   1 failed or refused   2 bad argument
  3 watch: rolled back   4 watch: rollback failed   5 watch: execution stopped, safety net restored stable
  130 interrupted`;

const WATCH_EXIT_HELP = `
Exit codes: 0 promoted or dry run passed, 3 rolled back, 4 rollback failed (traffic may still be on the canary),
5 the execution was stopped and the safety net restored stable, 1 no such run, 130 Ctrl-C (the run goes on).`;

interface CommonOptions extends TargetOptions {
  readonly as?: string;
}

/** The options every command takes to choose where it works. */
function withTarget(command: Command, options: { stateMachine?: boolean; as?: boolean } = {}): Command {
  command
    .option('--local', 'use the running local environment (npm run local)')
    .option('--aws', 'use AWS even when a local environment is running')
    .option('--table <name>', 'the DynamoDB table (default: CANARY_TABLE)');
  if (options.stateMachine === true) command.option('--state-machine <arn>', 'the state machine (default: CANARY_STATE_MACHINE_ARN)');
  if (options.as === true) command.option('--as <name>', 'who you are, as recorded (default: your IAM principal; locally the OS user)');
  return command;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('Must be a whole number from 1.');
  return n;
}

type Action = (target: Target) => Promise<ExitCode>;

/** Builds the program; `run` executes an action against its target and keeps its exit code. */
export function buildProgram(io: CliIo, run: (options: CommonOptions, action: Action) => Promise<void>): Command {
  const program = new Command('canary')
    .description('Start, watch, steer and review canary rollouts, on AWS or on the local environment (npm run local).')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXAMPLES);

  withTarget(
    program
      .command('start')
      .description('start a rollout: StartExecution of the canary workflow, then wait until it is recorded (or refused)')
      .requiredOption('--service <name>', 'the registered service', serviceArgument)
      .requiredOption('--image <ref>', 'the new image, with a tag or digest', imageArgument)
      .option('--dry-run', 'deploy the current version as canary to prove routing and metrics; never promotes')
      .option('--plan <file>', 'a JSON file of overrides of the registered plan (checks merge by name)')
      .option('--name <name>', 'the execution name, which is the run id (default: <service>-<date>-<time>-<4 hex>)', executionNameArgument)
      .option('-q, --quiet', 'print only the run id'),
    { stateMachine: true, as: true },
  ).action((options: Parameters<typeof start>[0] & CommonOptions) => run(options, (target) => start(options, target, io)));

  withTarget(
    program
      .command('validate')
      .description('check an execution input exactly as Start would (fields, registration, policy, history budget): prints ok, or each error with its field and rule')
      .requiredOption('--input <file>', 'the execution input, a JSON file ({"service", "image", "plan"?, ...})')
      .option('--services <file>', 'a services file as the CDK app reads it ({"services": [...]}); default: the registry of the local environment, or of --table / CANARY_TABLE')
      .addHelpText('after', '\nExit codes: 0 ok, 1 Start would refuse it (each error printed on its own line), 2 a file cannot be read or is no JSON.'),
  ).action((options: ValidateOptions & CommonOptions) => run(options, (target) => validate(options, target, io)));

  withTarget(
    program
      .command('status')
      .description('a run: its record, stage and weights, the last analysis (each check against its threshold), pending controls')
      .argument('<run>', 'the run id', runIdArgument),
  ).action((runId: string, options: CommonOptions) => run(options, (target) => status(runId, target, io)));

  withTarget(
    program
      .command('watch')
      .description('follow a run live until it ends: stage, weights, each analysis; exits with how it ended')
      .argument('<run>', 'the run id', runIdArgument)
      .addHelpText('after', WATCH_EXIT_HELP),
  ).action((runId: string, options: CommonOptions) => run(options, (target) => watch(runId, target, io)));

  const CONTROL_HELP: Readonly<Record<ControlCommand, string>> = {
    abort: 'roll the run back at its next interval',
    pause: 'hold the run at its current weight from its next interval',
    resume: 'let a paused run go on',
    promote: 'promote now, skipping the remaining steps (at the next passing interval)',
    approve: 'approve an approval gate (default: the gate the run waits at)',
  };
  for (const command of CONTROL_COMMANDS) {
    const sub = program
      .command(command)
      .description(`${CONTROL_HELP[command]}; recorded with who and when`)
      .argument('<run>', 'the run id', runIdArgument)
      .option('--reason <text>', 'why, recorded with the control');
    if (command === 'approve') sub.option('--step <n>', 'the gate to approve: the step the run moves to (on the last step: promotion)', stepArgument);
    withTarget(sub, { as: true }).action((runId: string, options: CommonOptions & { reason?: string; step?: number }) =>
      run(options, (target) => control(command, runId, options, target, io)),
    );
  }

  withTarget(
    program
      .command('history')
      .description('runs that started since --since, or with --rollbacks the rollbacks that ended since then')
      .option('--service <name>', 'only this service', serviceArgument)
      .option('--since <when>', 'how far back: 30d, 12h, 2w, 90m or an ISO date (2025-05-01)', '30d')
      .option('--rollbacks', 'rollbacks only: date, version, stage, trigger metric and value, time to rollback')
      .addOption(new Option('--format <format>', 'output format').choices([...HISTORY_FORMATS]).default('table'))
      .option('--limit <n>', 'at most this many rows', positiveInteger),
  ).action((options: CommonOptions & { service?: string; since: string; rollbacks?: boolean; format: HistoryFormat; limit?: number }) => {
    // Parsed here rather than by commander so that the default, too, is relative to now.
    let since: string;
    try {
      since = parseSince(options.since);
    } catch (error) {
      throw new UsageError(`option '--since <when>' argument '${options.since}' is invalid. ${messageOf(error)}`);
    }
    return run(options, (target) => history({ ...options, since, sinceText: options.since }, target, io));
  });

  return program;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.ok;
  const run = async (options: CommonOptions, action: Action) => {
    const target = await resolveTarget(options, io);
    try {
      code = await action(target);
    } finally {
      target.destroy();
    }
  };
  const program = buildProgram(io, run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const message = messageOf(error);
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${message}\n`);
      return EXIT.usage;
    }
    if (error instanceof CliFailure) {
      io.stderr.write(`error: ${message}\n`);
      return EXIT.failed;
    }
    io.stderr.write(`error: ${describeAwsError(error)}\n`);
    return EXIT.failed;
  }
}

/** An SDK or network error in a sentence, with the hint that usually fixes it. */
function describeAwsError(error: unknown): string {
  const message = messageOf(error);
  const name = typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string' ? (error as { name: string }).name : 'Error';
  const text = `${name === 'Error' ? '' : `${name}: `}${message}`;
  if (/Region is missing/i.test(message)) return `${text} (set AWS_REGION, or use --local with \`npm run local\`)`;
  if (/Could not load credentials|CredentialsProviderError/i.test(text)) return `${text} (configure AWS credentials, e.g. AWS_PROFILE, or use --local with \`npm run local\`)`;
  if (name === 'ResourceNotFoundException') return `${text} (check --table or CANARY_TABLE and the region)`;
  if (/ECONNREFUSED/.test(text)) return `${text} (is the local environment still running? \`npm run local\`)`;
  return text;
}
