import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// A session as a user has it, every part a process: `npm run local` (cli/local.ts) in one terminal, the `canary` CLI
// (cli/main.ts) in another: start, watch, abort, watch, history; the same history through AWS_ENDPOINT_URL_*
// (the AWS path); Ctrl-C on the local environment stops everything and removes its file.

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../..');
const TSX = pathToFileURL(require.resolve('tsx')).href;
const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-api';

// A short plan whose checks carry their own queries: runs of about ten seconds.
const PLAN_FILE = resolve(ROOT, 'cli/plans/fast-plan.json');

let dir: string;
let envFile: string;
let local: (ChildProcessWithoutNullStreams & { output: { stdout: string; stderr: string } }) | undefined;

function spawnTsx(script: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', TSX, resolve(ROOT, script), ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return Object.assign(child, { output });
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((done) => (child.exitCode !== null ? done(child.exitCode) : child.once('exit', (code) => done(code))));

/** `npm run canary -- …` in another terminal: finds the local environment through CANARY_LOCAL_ENV. */
async function canary(args: readonly string[], env: NodeJS.ProcessEnv = { ...process.env, CANARY_LOCAL_ENV: envFile }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnTsx('cli/main.ts', args, env);
  const code = await exited(child);
  return { code, ...child.output };
}

async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canary-cli-session-'));
  envFile = join(dir, 'env.json');
  const { CANARY_LOCAL_ENV: _ignored, ...env } = process.env;
  local = spawnTsx('cli/local.ts', ['--plan', PLAN_FILE, '--env-out', envFile, '--rps', '60'], env);
  await waitFor(() => local!.output.stdout.includes('Ctrl-C stops everything.') || local!.exitCode !== null, 90_000, 'npm run local to be ready');
  if (local.exitCode !== null) throw new Error(`npm run local exited ${local.exitCode}: ${local.output.stderr}`);
});

afterAll(async () => {
  if (local && local.exitCode === null) {
    local.kill('SIGINT');
    const timer = setTimeout(() => local?.kill('SIGKILL'), 15_000);
    await exited(local);
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a CLI session on the local environment', () => {
  it('start → watch (promoted, exit 0); start → abort → watch (rolled back, exit 3); history --rollbacks; Ctrl-C cleans up', async () => {
    // The environment says where it is.
    expect(local!.output.stdout).toContain(`Endpoints in ${envFile} (the canary CLI finds it):`);
    const file = JSON.parse(readFileSync(envFile, 'utf8')) as { pid: number; env: Record<string, string> };
    expect(file.pid).toBe(local!.pid);

    // start, watch to the end
    const started = await canary(['start', '--service', 'demo-api', '--image', `${REPO}:v2`]);
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    const first = /^Started run (\S+):/.exec(started.stdout)?.[1] ?? '';
    const watched = await canary(['watch', first]);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain('step 0: canary 20%, stable 80%');
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^Run ${first} PROMOTED after .+: all checks passed for 2 intervals at step 1 \\(50%\\)$`));

    // start another, abort it, watch it roll back
    const second = (await canary(['start', '--service', 'demo-api', '--image', `${REPO}:v3`, '--quiet'])).stdout.trim();
    const abort = await canary(['abort', second, '--reason', 'bad build']);
    expect(abort.code).toBe(0);
    expect(abort.stdout).toMatch(new RegExp(`^Abort of run ${second} recorded \\(by ${userInfo().username} at \\S+ \\S+, reason: bad build\\): it rolls back at the next interval \\(within 2 s\\)\\.\\n$`));
    const rolledBack = await canary(['watch', second]);
    expect(rolledBack.code).toBe(3);
    expect(rolledBack.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^Run ${second} ROLLED BACK at step 0 \\(20%\\) after .+: aborted by ${userInfo().username} at \\S+ \\(bad build\\); time to rollback .+$`));

    // history, locally and through the AWS path (the same SDK clients, pointed by AWS_ENDPOINT_URL_*)
    const history = await canary(['history', '--rollbacks', '--since', '30d']);
    const { CANARY_LOCAL_ENV: _ignored, ...inherited } = process.env;
    const viaAws = await canary(['history', '--rollbacks', '--format', 'csv', '--aws'], { ...inherited, ...file.env });
    expect(history.code).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Rollbacks since \S+ \S+ \(last 30d\), newest first: 1$/);
    expect(lines[1]).toBe('date                  version      stage    trigger metric = value  time to rollback');
    expect(lines[3]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  demo-api:v3  0 \\(20%\\)  operator abort \\(${userInfo().username}\\) +\\d+(\\.\\d)? s$`));
    expect(viaAws.code).toBe(0);
    expect(viaAws.stdout.split('\n')[1]).toMatch(new RegExp(`^\\S+,${second},demo-api,v3,${REPO}:v3,false,0,20,,,,,[\\d.]+,rolled_back,aborted by ${userInfo().username} at \\S+ \\(bad build\\)$`));

    // Ctrl-C: executions stopped, the file removed, every process it started gone
    const children = childrenOf(local!.pid!);
    expect(children.length).toBeGreaterThanOrEqual(3);
    local!.kill('SIGINT');
    expect(await exited(local!)).toBe(130);
    expect(existsSync(envFile)).toBe(false);
    // tsx's esbuild service leaves once its parent's pipe closes, a moment after.
    await waitFor(() => children.filter(alive).length === 0, 5000, `the processes it started (${children.join(', ')}) to exit`);
    const after = await canary(['history', '--local']);
    expect(after).toMatchObject({ code: 2, stderr: `error: --local: no local environment found (.local/env.json, or the file CANARY_LOCAL_ENV names); start one with \`npm run local\`\n` });
  });
});
