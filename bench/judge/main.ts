import { readFileSync, writeFileSync } from 'node:fs';
import { describeError } from '../../lambdas/domain/errors';
import { DEFAULT_CONTINUATION, DEFAULT_SEED, FAMILY_ORDER, generateScenarios } from './generator';
import { benchJudges, type PowerHold } from './judges';
import { comparisonTable, judgeTable, jsonLine, targetChecks } from './report';
import { runBenchmark } from './run';
import { parseScenarioText, type ScenarioFile } from './scenario';

/**
 * `npm run bench:judge -- [--scenarios FILE] [--json] [--seed N] [--emit FILE] [--power-hold promotion|every-step] [--continuation N]`
 * Runs the seeded scenarios (or a scenario file) through every judge in this process and prints a table
 * per judge; with --json the last line of stdout is the summary JSON. --emit writes the scenarios used.
 * --power-hold runs ours with that plan.analysis.powerHold (default: the engine's default, promotion).
 * --continuation N: intervals generated after the plan's 15 for runs still held (default 30, the engine's underpoweredLimit).
 * The plan semantics, the judges and the generator are described in bench/judge/README.md.
 */

export interface BenchArgs {
  readonly scenarios?: string;
  readonly json: boolean;
  readonly seed: number;
  readonly emit?: string;
  readonly powerHold?: PowerHold;
  readonly continuation?: number;
}

/** Parses the command line; throws with a usage line on anything unknown. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const usage = 'usage: npm run bench:judge -- [--scenarios FILE] [--json] [--seed N] [--emit FILE] [--power-hold promotion|every-step] [--continuation N]';
  let scenarios: string | undefined;
  let emit: string | undefined;
  let powerHold: PowerHold | undefined;
  let continuation: number | undefined;
  let json = false;
  let seed = DEFAULT_SEED;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value; ${usage}`);
      return v;
    };
    if (arg === '--json') json = true;
    else if (arg === '--scenarios') scenarios = value();
    else if (arg === '--emit') emit = value();
    else if (arg === '--power-hold') {
      const mode = value();
      if (mode !== 'promotion' && mode !== 'every-step') throw new Error(`--power-hold must be promotion or every-step; ${usage}`);
      powerHold = mode;
    }
    else if (arg === '--continuation') {
      continuation = Number(value());
      if (!Number.isInteger(continuation) || continuation < 0) throw new Error(`--continuation must be a whole number ≥ 0; ${usage}`);
    } else if (arg === '--seed') {
      seed = Number(value());
      if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number; ${usage}`);
    } else throw new Error(`unknown argument '${arg}'; ${usage}`);
  }
  if (continuation !== undefined && scenarios !== undefined) {
    throw new Error(`--continuation applies to generated scenarios; a file's intervals after the 15th are its continuation; ${usage}`);
  }
  return {
    json,
    seed,
    ...(scenarios !== undefined && { scenarios }),
    ...(emit !== undefined && { emit }),
    ...(powerHold !== undefined && { powerHold }),
    ...(continuation !== undefined && { continuation }),
  };
}

/** Runs the benchmark and returns what it prints, line by line (the JSON line last with --json). */
export function bench(args: BenchArgs, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  const file: ScenarioFile = args.scenarios === undefined ? generateScenarios(args.seed, args.continuation) : parseScenarioText(read(args.scenarios));
  if (args.emit !== undefined) writeFileSync(args.emit, `${JSON.stringify(file)}\n`);
  const started = Date.now();
  const summaries = runBenchmark(benchJudges(args.powerHold), file.scenarios, FAMILY_ORDER);
  const generated = `generated, seed ${args.seed}, ${args.continuation ?? DEFAULT_CONTINUATION} continuation intervals`;
  const source = `${args.scenarios ?? generated}${args.powerHold ? `, power hold ${args.powerHold}` : ''}`;
  const lines = [`judge benchmark: ${file.scenarios.length} scenarios (${source}), ${summaries.length} judges, ${Date.now() - started} ms`, ''];
  for (const s of summaries) lines.push(judgeTable(s), '');
  lines.push('== all judges', comparisonTable(summaries), '');
  for (const t of targetChecks(summaries)) lines.push(`target ${t.met ? 'met' : 'NOT met'}: ${t.target}: ${t.detail}`);
  if (args.json) lines.push(jsonLine(summaries));
  return lines;
}

function main(): void {
  try {
    const args = parseArgs(process.argv.slice(2));
    process.stdout.write(`${bench(args).join('\n')}\n`);
  } catch (error) {
    process.stderr.write(`bench:judge: ${describeError(error).message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) main();
