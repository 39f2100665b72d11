import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import type { DemoEnvironment } from './environment';
import { DEFAULT_PLAN_FILE, QUICK_PLAN_FILE, SCENARIO_NAMES, SCENARIOS, type ScenarioName } from './scenarios';

/**
 * `npm run demo`: a real canary release on this machine, no AWS account. The production workflow
 * (statemachine/canary.asl.json with the deployed handlers) runs against dynalite, the ALB stand-in routing
 * real requests from the load generator to two real service processes, and a real Prometheus scraping them.
 *
 * Exit codes: 0 the scenario did what it shows, 1 the demo could not run, 2 bad arguments,
 * 3 the run did not end as the scenario expects, 130/143 interrupted.
 */

// Before any handler module loads: the handlers' logger reads its level when it is created.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

interface CliOptions {
  readonly scenario: ScenarioName;
  readonly plan?: string;
  readonly canaryProfile?: string;
  readonly stableProfile?: string;
  readonly rps: number;
  readonly json: boolean;
  readonly router: 'alb' | 'gateway-api';
}

const relative = (file: string) => file.replace(`${process.cwd()}/`, '');

function program(): Command {
  const scenarioHelp = SCENARIO_NAMES.map((name) => `  ${name.padEnd(12)} ${SCENARIOS[name].story}`).join('\n');
  return new Command('npm run demo --')
    .description('A canary release on this machine: the real workflow, real traffic through an ALB stand-in that routes by weight, a real Prometheus.')
    .addOption(new Option('--scenario <name>', 'what the canary does').choices([...SCENARIO_NAMES]).default('healthy'))
    .option('--plan <file>', `a plan JSON file (default: the demo plan, local/demo/plans/demo-plan.json; ${relative(QUICK_PLAN_FILE)} is shorter)`)
    .option('--canary-profile <file>', "the canary's behaviour (a profile file, see local/demo/profiles/)")
    .option('--stable-profile <file>', "the stable version's behaviour (default: profiles/healthy.json)")
    .option('--rps <n>', 'requests per second of the load', positiveNumber, 100)
    .addOption(new Option('--router <kind>', 'how traffic is shifted: ALB target-group weights, or a Gateway API HTTPRoute on an EKS cluster (the Kubernetes API stand-in)').choices(['alb', 'gateway-api']).default('alb'))
    .option('--json', 'print the result as one JSON object on the last line of stdout (dry-run: the dry run; the provoked run is the line before)', false)
    .addHelpText(
      'after',
      `\nScenarios:\n${scenarioHelp}\n\nExamples:\n  npm run demo\n  npm run demo -- --scenario error-spike\n  npm run demo -- --scenario dry-run --json\n  npm run demo -- --router gateway-api --scenario error-spike\n  npm run demo -- --canary-profile my-profile.json --plan ${relative(QUICK_PLAN_FILE)}\n\nNeeds the 'prometheus' binary (Debian: apt-get install -y prometheus); as root with apt-get the demo installs it.\nExit codes: 0 the scenario did what it shows, 1 the demo could not run, 2 bad arguments, 3 the run did not end as the scenario expects.`,
    )
    .exitOverride()
    .configureOutput({ writeOut: (text) => process.stdout.write(text), writeErr: (text) => process.stderr.write(text) });
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number greater than 0');
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  const cli = program();
  try {
    cli.parse([...argv], { from: 'user' });
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const options = cli.opts<CliOptions>();

  // Plan and profiles are checked before anything starts, so a typo costs no waiting.
  const { loadPlan } = await import('./runner');
  const { loadProfile } = await import('./profile');
  try {
    await loadPlan(resolve(options.plan ?? DEFAULT_PLAN_FILE));
    for (const file of [options.canaryProfile, options.stableProfile]) if (file !== undefined) await loadProfile(resolve(file));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  const { ensurePrometheus } = await import('./prometheus-install');
  try {
    await ensurePrometheus();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  // The handler modules load here, after the environment above.
  const { DemoEnvironment: Environment } = await import('./environment');
  const { runScenario } = await import('./runner');
  const { streamTerminal } = await import('./live-view');

  const { handleInterrupts } = await import('./interrupt');
  let env: DemoEnvironment | undefined;
  const interrupt = handleInterrupts(async () => {
    await env?.stop();
  });

  const began = Date.now();
  try {
    process.stdout.write(`Starting DynamoDB (dynalite), the ALB stand-in${options.router === 'gateway-api' ? ' and the Kubernetes API stand-in (EKS cluster "demo")' : ''}…\n`);
    env = await Environment.start({ router: options.router });
    const outcome = await runScenario(env, {
      scenario: options.scenario,
      terminal: streamTerminal(process.stdout),
      signal: interrupt.signal,
      rps: options.rps,
      ...(options.plan !== undefined && { planFile: resolve(options.plan) }),
      ...(options.canaryProfile !== undefined && { canaryProfileFile: resolve(options.canaryProfile) }),
      ...(options.stableProfile !== undefined && { stableProfileFile: resolve(options.stableProfile) }),
    });
    await env.stop();
    if (interrupt.interrupted) return 130;
    const wall = (Date.now() - began) / 1000;
    process.stdout.write(`\nScenario ${outcome.scenario} took ${wall.toFixed(1)} s (${outcome.stageSeconds.toFixed(1)} s to start the services and Prometheus).\n`);
    if (outcome.problems.length > 0) process.stdout.write(`The scenario did not end as expected:\n${outcome.problems.map((p) => `  - ${p}\n`).join('')}`);
    if (options.json) {
      for (const run of outcome.runs.filter((r) => r !== outcome.primary)) process.stdout.write(`${JSON.stringify(run.json)}\n`);
      process.stdout.write(`${JSON.stringify(outcome.primary.json)}\n`);
    }
    return outcome.problems.length > 0 ? 3 : 0;
  } catch (error) {
    if (interrupt.interrupted) return 130;
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await env?.stop().catch(() => undefined);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
