import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// `npm run demo` as a user types it: help, and the refusals that come before anything starts.

jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '../..');
const MAIN = resolve(ROOT, 'local/demo/main.ts');

function demo(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('--help lists every scenario and option, and exits 0', async () => {
    // Act
    const { code, stdout } = await demo(['--help']);

    // Assess
    expect(code).toBe(0);
    for (const word of ['--scenario', '--plan', '--canary-profile', '--stable-profile', '--json', 'healthy', 'error-spike', 'latency', 'memory-leak', 'mislabelled', 'dry-run']) {
      expect(stdout).toContain(word);
    }
    expect(stdout).toContain('Usage: npm run demo -- [options]');
  });

  it('refuses an unknown scenario with the choices, exit 2', async () => {
    // Act
    const { code, stderr } = await demo(['--scenario', 'chaos']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain("error: option '--scenario <name>' argument 'chaos' is invalid. Allowed choices are healthy, error-spike, latency, memory-leak, mislabelled, dry-run.");
  });

  it('refuses a bad profile or plan before starting anything, naming the file and the field, exit 2', async () => {
    // Act
    const [profile, plan] = await Promise.all([
      demo(['--canary-profile', 'local/demo/plans/demo-plan.json']),
      demo(['--plan', 'local/demo/profiles/healthy.json']),
    ]);

    // Assess
    expect(profile.code).toBe(2);
    expect(profile.stderr).toMatch(/^profile .*demo-plan\.json: Invalid profile: profile\.phases: required/);
    expect(profile.stdout).toBe('');
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/^plan .*healthy\.json: Invalid plan: .*phases: unknown field/);
  });
});
