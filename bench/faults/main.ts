import './process-env';
import { FAULT_CASES, selectCases } from './cases';
import { FaultEnvironment } from './environment';
import { caseLine, jsonSummary, markdownTable, summaryTable } from './report';
import { runMatrix } from './run';

/**
 * `npm run bench:faults -- [--json] [--markdown] [--case NAME|GLOB]... [--list] [--concurrency N]`
 * Runs the real workflow once per fault in one shared local environment (dynalite behind a fault proxy, a real
 * Prometheus, the ALB and Step Functions stand-ins) and prints one line per case; then a summary table, or with
 * --json a last line holding one JSON object, or with --markdown the README's "What happens when…" table.
 * Exit code 0 when every case is ok.
 */

interface Args {
  readonly json: boolean;
  readonly markdown: boolean;
  readonly list: boolean;
  readonly cases: string[];
  readonly concurrency: number;
}

const USAGE = 'usage: npm run bench:faults -- [--json] [--markdown] [--case NAME|GLOB]... [--list] [--concurrency N]';

/** Parses the command line; throws with the usage line on anything unknown. */
export function parseArgs(argv: readonly string[]): Args {
  const args = { json: false, markdown: false, list: false, cases: [] as string[], concurrency: 3 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value; ${USAGE}`);
      return v;
    };
    if (arg === '--json') args.json = true;
    else if (arg === '--markdown') args.markdown = true;
    else if (arg === '--list') args.list = true;
    else if (arg === '--case') args.cases.push(...value().split(','));
    else if (arg.startsWith('--case=')) args.cases.push(...arg.slice('--case='.length).split(','));
    else if (arg === '--concurrency') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`--concurrency must be a positive integer; ${USAGE}`);
      args.concurrency = n;
    } else throw new Error(`unknown argument '${arg}'; ${USAGE}`);
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const c of FAULT_CASES) console.log(`${c.name}${c.exclusive ? ' (runs alone)' : ''}: ${c.fault} → ${c.expected}`);
    return 0;
  }
  const cases = selectCases(args.cases);
  const env = await FaultEnvironment.start();
  try {
    const scored = await runMatrix(env, cases, { concurrency: args.concurrency, onResult: (s) => console.log(caseLine(s)) });
    if (args.markdown) console.log(`\n${markdownTable(scored)}`);
    if (args.json) console.log(jsonSummary(scored));
    else if (!args.markdown) console.log(`\n${summaryTable(scored)}`);
    return scored.every((s) => s.result.ok) ? 0 : 1;
  } finally {
    await env.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  },
);
