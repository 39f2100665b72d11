import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { messageOf } from './errors';
import { LOCAL_ENV_FILE } from './local-env-file';
import type { ExecutionChange } from '../local/sfn-standin';
import type { LocalEnvironment } from './local-environment';

/**
 * `npm run local`: the local environment for the `canary` CLI, running until Ctrl-C. DynamoDB (dynalite), the ALB
 * stand-in routing real requests to a stable and a canary demo service under constant load, Prometheus scraping
 * them, and a Step Functions stand-in running the real workflow with the deployed handlers. Its endpoints are
 * written to .local/env.json, where the CLI finds them. Ctrl-C stops running executions (the safety net puts
 * traffic back on stable), removes the file and stops everything.
 *
 * Exit codes: 130/143 stopped by Ctrl-C/SIGTERM, 1 it could not start, 2 bad arguments.
 */

// Before any handler module loads: the handlers' logger reads its level when it is created.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

interface Options {
  readonly service: string;
  readonly plan?: string;
  readonly stableProfile?: string;
  readonly canaryProfile?: string;
  readonly rps: number;
  readonly envOut: string;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Must be a number greater than 0.');
  return n;
}

function serviceName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) throw new InvalidArgumentError('Must be lowercase letters, digits and -, at most 63.');
  return value;
}

function program(): Command {
  return new Command('npm run local --')
    .description('The local environment for the canary CLI: DynamoDB, the ALB stand-in, two demo services under load, Prometheus and a Step Functions stand-in running the real workflow. Runs until Ctrl-C.')
    .option('--service <name>', 'the registered service', serviceName, 'demo-api')
    .option('--plan <file>', 'the plan registered with the service (default: local/demo/plans/demo-plan.json)')
    .option('--stable-profile <file>', "the stable version's behaviour (default: local/demo/profiles/healthy.json)")
    .option('--canary-profile <file>', "the canary's behaviour (default: local/demo/profiles/healthy.json)")
    .option('--rps <n>', 'requests per second of the load', positiveNumber, 100)
    // Not --env-file: tsx hands that one to node.
    .option('--env-out <file>', 'where the endpoints are written (point the CLI at another path with CANARY_LOCAL_ENV)', LOCAL_ENV_FILE)
    .addHelpText('after', '\nThen, in another terminal: npm run canary -- start --service demo-api --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-api:v2')
    .exitOverride()
    .configureOutput({ writeOut: (text) => process.stdout.write(text), writeErr: (text) => process.stderr.write(text) });
}

const time = () => new Date().toISOString().slice(11, 19);

/** One line per execution start and end and per safety-net delivery. */
function describeChange(change: ExecutionChange): string {
  switch (change.kind) {
    case 'started':
      return `${time()} execution ${change.execution.name} started`;
    case 'ended': {
      const { name, status, error, cause } = change.execution;
      return `${time()} execution ${name} ${status}${error ? ` (${error}${cause ? `: ${cause.slice(0, 200)}` : ''})` : ''}`;
    }
    case 'delivered': {
      const d = change.delivery;
      const what = d.delivered ? JSON.stringify(d.result) : `failed after ${d.attempts} attempts: ${d.error ?? ''}`;
      return `${time()} safety net for ${d.name} (${d.status}): ${what}`;
    }
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const cli = program();
  try {
    cli.parse([...argv], { from: 'user' });
  } catch (error) {
    return error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
  }
  const options = cli.opts<Options>();
  const envFile = resolve(options.envOut);
  const out = (line: string) => process.stdout.write(`${line}\n`);

  // Plan and profiles are checked before anything starts, so that a typo costs no waiting.
  const { loadPlan } = await import('../local/demo/runner');
  const { loadProfile } = await import('../local/demo/profile');
  try {
    if (options.plan !== undefined) await loadPlan(resolve(options.plan));
    for (const file of [options.stableProfile, options.canaryProfile]) if (file !== undefined) await loadProfile(resolve(file));
  } catch (error) {
    process.stderr.write(`${messageOf(error)}\n`);
    return 2;
  }
  const { ensurePrometheus } = await import('../local/demo/prometheus-install');
  try {
    await ensurePrometheus();
  } catch (error) {
    process.stderr.write(`${messageOf(error)}\n`);
    return 1;
  }

  const { startLocalEnvironment } = await import('./local-environment');
  const { handleInterrupts } = await import('../local/demo/interrupt');
  let local: LocalEnvironment | undefined;
  const interrupt = handleInterrupts(async () => {
    await local?.stop();
  });
  const began = Date.now();
  out('Starting the local environment: DynamoDB (dynalite), the ALB stand-in, two demo services, Prometheus, load, the Step Functions stand-in…');
  try {
    local = await startLocalEnvironment({
      envFile,
      service: options.service,
      rps: options.rps,
      ...(options.plan !== undefined && { planFile: resolve(options.plan) }),
      ...(options.stableProfile !== undefined && { stableProfileFile: resolve(options.stableProfile) }),
      ...(options.canaryProfile !== undefined && { canaryProfileFile: resolve(options.canaryProfile) }),
      log: (line) => out(`  ${line}`),
      onExecution: (change) => out(describeChange(change)),
    });
  } catch (error) {
    if (interrupt.interrupted) return 130;
    process.stderr.write(`the local environment could not start: ${messageOf(error)}\n`);
    return 1;
  }
  if (interrupt.interrupted) return 130;
  const svc = local.env.services[0];
  const cwdRelative = envFile.replace(`${process.cwd()}/`, '');
  out('');
  out(`Ready in ${((Date.now() - began) / 1000).toFixed(1)} s. Endpoints in ${cwdRelative} (the canary CLI finds it):`);
  out(`  DynamoDB        ${local.env.endpoints.dynamodb}  table ${local.env.tableName}`);
  out(`  Step Functions  ${local.env.endpoints.sfn}  ${local.env.stateMachineArn}`);
  out(`  ELBv2           ${local.env.endpoints.elasticLoadBalancingV2}`);
  out(`  ${svc.name.padEnd(14)}  ${svc.listenerUrl} (stable ${svc.stableImage}), Prometheus ${svc.prometheusUrl}`);
  out('');
  out('In another terminal:');
  out(`  npm run canary -- start --service ${svc.name} --image ${svc.canaryImage}`);
  out('  npm run canary -- watch <run>            (abort, pause, resume, promote, approve <run>; history --rollbacks)');
  out(`  For the AWS CLI: export ${Object.entries(local.env.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out('');
  out('Executions are logged here. Ctrl-C stops everything.');
  // Runs until a signal: handleInterrupts cleans up and exits.
  return new Promise<number>(() => undefined);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm run local failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
