import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import type { DemoEnvironment } from '../local/demo/environment';

/**
 * `npm run bench:rollback [-- --runs N]`: the demo's error-spike scenario N times (default 5), each on a fresh
 * stage (new service processes, a new Prometheus), and how long it took from the fault's onset (the fault
 * phase's start, fromSecond after the canary's first request) to the stand-in putting 0% on the canary.
 * Prints min, median and max beside the bound they must stay under, consecutiveFailureLimit × interval +
 * scrape interval + 2 s, and exits 1 if any run exceeded it or did not roll back.
 */

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

interface BenchOptions {
  readonly runs: number;
  readonly plan?: string;
  readonly verbose: boolean;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  const cli = new Command('npm run bench:rollback --')
    .description("Times the demo's error-spike rollback: fault onset → 0% on the canary, against its bound.")
    .option('--runs <n>', 'how many error-spike runs', wholeNumber, 5)
    .option('--plan <file>', 'a plan file (default: the demo plan)')
    .option('--verbose', 'show each run as the demo does', false)
    .exitOverride();
  try {
    cli.parse([...argv], { from: 'user' });
  } catch (error) {
    return (error as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const options = cli.opts<BenchOptions>();

  const { ensurePrometheus } = await import('../local/demo/prometheus-install');
  try {
    await ensurePrometheus();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const { DemoEnvironment: Environment } = await import('../local/demo/environment');
  const { runScenario } = await import('../local/demo/runner');
  const { memoryTerminal, streamTerminal } = await import('../local/demo/live-view');
  const { handleInterrupts } = await import('../local/demo/interrupt');
  const { median } = await import('../local/demo/report');

  const env: DemoEnvironment = await Environment.start();
  const interrupt = handleInterrupts(() => env.stop());
  const seconds: number[] = [];
  let bound = 0;
  let failures = 0;
  try {
    process.stdout.write(`error-spike × ${options.runs}: fault onset → 0% on the canary\n`);
    for (let i = 1; i <= options.runs && !interrupt.interrupted; i++) {
      const outcome = await runScenario(env, {
        scenario: 'error-spike',
        service: `bench-${i}`,
        terminal: options.verbose ? streamTerminal() : memoryTerminal(),
        signal: interrupt.signal,
        ...(options.plan !== undefined && { planFile: resolve(options.plan) }),
      });
      bound = outcome.boundSeconds;
      const json = outcome.primary.json;
      const value = json.faultOnsetToRollbackSeconds;
      const ok = json.outcome === 'rolled_back' && value !== null && value <= bound;
      if (!ok) failures++;
      if (value !== null) seconds.push(value);
      process.stdout.write(
        `  run ${i}: ${value === null ? 'not measured' : `${value.toFixed(1)} s`} · ${json.outcome} at step ${json.stageReached ?? '–'} on ${json.triggerCheck ?? '–'} · ${json.stateTransitions} transitions · run ${json.wallSeconds} s${ok ? '' : '  ← OVER THE BOUND OR NOT ROLLED BACK'}\n`,
      );
    }
  } finally {
    await env.stop();
    interrupt.dispose();
  }
  if (interrupt.interrupted) return 130;
  if (seconds.length > 0) {
    const fmt = (n: number) => `${n.toFixed(1)} s`;
    process.stdout.write(
      `fault onset → rollback over ${seconds.length} runs: min ${fmt(Math.min(...seconds))} · median ${fmt(median(seconds))} · max ${fmt(Math.max(...seconds))} · bound ${fmt(bound)} (consecutiveFailureLimit × interval + scrape interval + 2 s)\n`,
    );
  }
  process.stdout.write(failures === 0 ? 'all runs within the bound\n' : `${failures} of ${options.runs} runs over the bound or not rolled back\n`);
  return failures === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
