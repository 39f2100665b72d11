import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// `npm run demo` end to end as a process: the --json line other tests rely on, and Ctrl-C leaving nothing behind.

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const MAIN = resolve(ROOT, 'local/demo/main.ts');

function demo(args: readonly string[]): ChildProcessWithoutNullStreams & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, MAIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return Object.assign(child, { output });
}

const exited = (child: ChildProcessWithoutNullStreams) => new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('npm run demo as a process', () => {
  it('--json: the last line of stdout is exactly the issue’s JSON object', async () => {
    // Act
    const child = demo(['--scenario', 'error-spike', '--plan', 'local/demo/plans/quick-plan.json', '--json']);
    const code = await exited(child);

    // Assess
    expect({ code, stderr: child.output.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = child.output.stdout.trimEnd().split('\n');
    const json = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['outcome', 'stageReached', 'finalCanaryWeight', 'triggerCheck', 'triggerValue', 'threshold', 'faultOnsetToRollbackSeconds', 'wallSeconds', 'stateTransitions', 'runId']);
    expect(json).toMatchObject({ outcome: 'rolled_back', stageReached: 0, finalCanaryWeight: 0, triggerCheck: 'error-rate', threshold: 0.01, runId: expect.stringMatching(/^demo-api-/) });
    expect(json.faultOnsetToRollbackSeconds).toBeLessThanOrEqual(13);
    expect(json.stateTransitions).toEqual(expect.any(Number));
    // The human output comes first: the live lines, the summary and the rollback report.
    expect(child.output.stdout).toContain('ROLLBACK: error-rate');
    expect(child.output.stdout).toContain('Rollbacks of the last 30 days (1, from the run log):');
  });

  it('a dry run that finds zero canary data fails loudly, naming the mislabelled-metrics trap, and exits non-zero', async () => {
    // Act
    const child = demo(['--scenario', 'dry-run', '--canary-profile', 'local/demo/profiles/mislabelled.json', '--plan', 'local/demo/plans/quick-plan.json', '--json']);
    const code = await exited(child);

    // Assess
    const out = child.output.stdout;
    expect(code).toBe(3);
    expect(out).toContain('!!! ZERO CANARY DATA');
    expect(out).toContain('mislabelled-metrics trap');
    expect(out).toContain('version="v2"');
    expect(out).toContain('DRY RUN FAILED');
    expect(out).not.toContain('Provoked dry run');
    const last = JSON.parse(out.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
    expect(last).toMatchObject({ outcome: 'rolled_back', finalCanaryWeight: 0, triggerValue: null });
  });

  it('Ctrl-C stops the run and removes everything it started: services, Prometheus and its temp dir', async () => {
    // Prepare
    const child = demo(['--scenario', 'healthy']);
    await waitFor(() => child.output.stdout.includes('step 0: canary weight → 5%'), 60_000, 'the first shift');
    const pids = [...child.output.stdout.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    const prometheusUrl = /prometheus {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(child.output.stdout)?.[1];
    const flags = (await (await fetch(`${prometheusUrl}/api/v1/status/flags`)).json()) as { data: Record<string, string> };
    const prometheusDir = dirname(flags.data['config.file']);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    expect(existsSync(prometheusDir)).toBe(true);

    // Act
    child.kill('SIGINT');
    const code = await exited(child);

    // Assess
    expect(code).toBe(130);
    expect(child.output.stderr).toContain('SIGINT: stopping the run and cleaning up');
    expect(pids.filter(alive)).toEqual([]);
    expect(processesMentioning(prometheusDir)).toEqual([]);
    expect(existsSync(prometheusDir)).toBe(false);
    await expect(fetch(`${prometheusUrl}/-/ready`)).rejects.toThrow();
  });
});
