import { streamTerminal } from '../local/demo/live-view';
import { runCli } from './program';

/**
 * `npm run canary -- <command>`: the `canary` CLI. Ctrl-C while watching stops watching (exit 130), never the
 * run; a second Ctrl-C exits at once.
 */

const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort();
});

runCli(process.argv.slice(2), {
  stdout: streamTerminal(process.stdout),
  stderr: { write: (text) => void process.stderr.write(text) },
  env: process.env,
  cwd: process.cwd(),
  signal: interrupt.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`canary failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
