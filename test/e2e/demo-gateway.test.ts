import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// `npm run demo -- --router gateway-api`: the orchestrator shifts traffic by patching a Gateway API HTTPRoute in the
// Kubernetes API stand-in (reached as an EKS cluster), and real requests follow it: a gateway controller programs
// the listener the load goes through from the route's weights. Only the route is ever patched by the engine, so the
// listener ending at 100% on the new version shows the data plane followed the HTTPRoute.

jest.setTimeout(150_000);

const ROOT = resolve(__dirname, '../..');

function demo(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, resolve(ROOT, 'local/demo/main.ts'), ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
}

describe('npm run demo -- --router gateway-api', () => {
  it('promotes a healthy canary on the EKS path with real traffic and real Prometheus', async () => {
    const { code, stdout, stderr } = await demo(['--router', 'gateway-api', '--plan', 'local/demo/plans/quick-plan.json', '--json']);

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain("HTTPRoute demo/demo-api on the EKS stand-in 'demo' → the listener");
    const result = JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ outcome: 'promoted', stageReached: 2, finalCanaryWeight: 100 });
  });
});
