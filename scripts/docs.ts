/**
 * npm run docs [-- --check] [--file PATH]: writes docs/configuration.md from the zod schemas and their JSDoc
 * (scripts/docs/configuration.ts). With --check it writes nothing and exits 1, naming the file, when the file
 * differs from what the schemas give. It lists the fields without a description as a warning, never as a failure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIGURATION_DOC, renderConfiguration, ROOT } from './docs/configuration';

interface Args {
  readonly check: boolean;
  readonly file: string;
}

const USAGE = 'usage: npm run docs -- [--check] [--file PATH]';

/** Parses the command line; throws with the usage line on anything unknown. */
export function parseArgs(argv: readonly string[]): Args {
  let check = false;
  let file = path.join(ROOT, CONFIGURATION_DOC);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') check = true;
    else if (arg === '--file') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`--file needs a path; ${USAGE}`);
      file = path.resolve(value);
    } else throw new Error(`unknown argument '${arg}'; ${USAGE}`);
  }
  return { check, file };
}

/** Runs the generator; returns the exit code. */
export function main(argv: readonly string[], out: (line: string) => void, err: (line: string) => void): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    err((error as Error).message);
    return 2;
  }
  const { markdown, undocumented } = renderConfiguration();
  const shown = path.relative(process.cwd(), args.file) || args.file;
  if (undocumented.length > 0) {
    err(`warning: ${undocumented.length} fields without a description (add a /** … */ comment above them):`);
    for (const field of undocumented) err(`  ${field}`);
  }
  if (args.check) {
    let current: string | undefined;
    try {
      current = readFileSync(args.file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === markdown) {
      out(`${shown} is up to date`);
      return 0;
    }
    err(`${shown} is stale${current === undefined ? ' (missing)' : ''}: run \`npm run docs\` and commit the result`);
    return 1;
  }
  writeFileSync(args.file, markdown);
  out(`wrote ${shown}`);
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), (line) => console.log(line), (line) => console.error(line));
}
