import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDbRunLog } from '../../lambdas/adapters/dynamodb/dynamodb-run-log';
import { startDynalite, type Dynalite } from '../../local/dynamodb/dynalite';
import { writeLocalEnv } from '../../cli/local-env-file';

// `npm run canary -- validate --input FILE [--services FILE]` as a process (cli/main.ts): ok and exit 0, or every
// error on its own line and exit 1; files that cannot be read, exit 2. Without --services it reads the registration
// from the registry of the running local environment (here: dynalite, found through its env file).

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = pathToFileURL(require.resolve('tsx')).href;
const SERVICES = resolve(ROOT, 'infra/services.example.json');
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1';

let dir: string;

/** The CLI as a user runs it, in its own process, from `dir`; no local environment unless `env` names one. */
function canary(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, resolve(ROOT, 'cli/main.ts'), ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, AWS_REGION: 'eu-west-1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, ...output })));
}

const file = (name: string, content: unknown) => {
  writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return name;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'canary-cli-validate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('canary validate --services', () => {
  it('prints ok and exits 0 for an input Start would take', async () => {
    const input = file('ok.json', { service: 'checkout-web', image: IMAGE, plan: { checks: [{ name: 'error-rate', slo: 0.001 }] } });
    expect(await canary(['validate', '--input', input, '--services', SERVICES])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('prints every error on its own line, with the field, what was expected and the rule, and exits 1', async () => {
    const input = file('loose.json', {
      service: 'payments-api',
      image: IMAGE,
      plan: { steps: [{ weight: 20, holdSeconds: 300 }, { weight: 100 }], checks: [{ name: 'error-rate', enabled: false }, { name: 'latency-p99', max: 30 }], analysis: { errorLimit: 40 } },
    });
    const { code, stdout, stderr } = await canary(['validate', '--input', input, '--services', SERVICES]);
    expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
    expect(stdout.trim().split('\n')).toEqual([
      'plan.analysis.errorLimit: must be at most 4, the registered value (policy: an execution may tighten the registered limits, never loosen them)',
      "plan.checks[0].enabled: must not disable the registered check 'error-rate' (policy: an execution may tighten a registered check, never loosen it)",
      'plan.checks[1].max: must not raise the registered max 0.5 (policy: an execution may tighten a registered check, never loosen it)',
      'plan.checks[3].max: must not raise the registered max 0.5 (policy: an execution may tighten a registered check, never loosen it)',
    ]);
  });

  it("holds an input to the registration's written policy", async () => {
    const input = file('policy.json', { service: 'checkout-web', image: IMAGE, plan: { steps: [{ weight: 25, holdSeconds: 300 }, { weight: 100 }] } });
    const { code, stdout } = await canary(['validate', '--input', input, '--services', SERVICES]);
    expect(code).toBe(1);
    expect(stdout).toContain('plan.steps[0].weight: must be at most 5 (policy: maxFirstWeight 5)\n');
    expect(stdout).toContain('plan.steps: must have at least 3 steps (the last, 100%, included), not 2 (policy: minSteps 3)\n');
  });

  it('refuses a plan over the history budget with its numbers', async () => {
    const input = file('long.json', { service: 'payments-api', image: IMAGE, plan: { analysis: { intervalSeconds: 1 }, steps: [{ weight: 5, holdSeconds: 86_400 }, { weight: 100 }] } });
    const { code, stdout } = await canary(['validate', '--input', input, '--services', SERVICES]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^plan: the worst case of this plan is [\d,]+ history events, above the 25,000 Step Functions allows \(.*\); shorten holds/);
  });

  it('names an unknown service and the services the file has', async () => {
    const input = file('unknown.json', { service: 'billing-api', image: IMAGE });
    const { code, stdout } = await canary(['validate', '--input', input, '--services', SERVICES]);
    expect(code).toBe(1);
    expect(stdout).toBe(`service: 'billing-api' is not registered in ${SERVICES} (registered: payments-api, checkout-web); register it with CanaryOrchestrator.addService(...) and deploy\n`);
  });

  it('names the file when it cannot be read, is no JSON, or is no services file (exit 2)', async () => {
    const ok = file('ok2.json', { service: 'payments-api', image: IMAGE });
    const missing = await canary(['validate', '--input', 'missing.json', '--services', SERVICES]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: --input missing\.json: cannot read it: ENOENT/);
    const broken = await canary(['validate', '--input', file('broken.json', '{"service": "payments-api",'), '--services', SERVICES]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^error: --input broken\.json: not valid JSON: /);
    const notServices = await canary(['validate', '--input', ok, '--services', file('list.json', [])]);
    expect(notServices).toMatchObject({ code: 2, stderr: 'error: --services list.json: expected { "services": [ ...registrations ] }, as the CDK app reads it\n' });
  });

  it('says an invalid registration in the file is the file\'s, field by field', async () => {
    const services = file('bad-services.json', { services: [{ name: 'payments-api', traffic: { kind: 'alb' }, metrics: { kind: 'prometheus', url: 'http://p:9090', serviceLabelValue: 'a"b' } }] });
    const { code, stdout } = await canary(['validate', '--input', file('ok3.json', { service: 'payments-api', image: IMAGE }), '--services', services]);
    expect(code).toBe(1);
    expect(stdout.split('\n')[0]).toBe('the registration in bad-services.json is invalid (the CDK app refuses it at synth):');
    expect(stdout).toContain('bad-services.json services[0].metrics.serviceLabelValue: must be 1-128 characters');
    expect(stdout).toContain('bad-services.json services[0].traffic.listenerArn: required');
  });
});

describe('canary validate without --services', () => {
  let dynalite: Dynalite | undefined;
  afterAll(async () => dynalite?.stop());

  it('says --services is needed when no local environment runs and no table is named (exit 2)', async () => {
    const { code, stderr } = await canary(['validate', '--input', file('plain.json', { service: 'payments-api', image: IMAGE })]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: --services FILE is needed: no local environment is running \(`npm run local`\)/);
  });

  it("reads the registration from the running local environment's table", async () => {
    dynalite = await startDynalite();
    const registration = {
      name: 'demo-api',
      traffic: {
        kind: 'alb',
        listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
        stableTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo-stable/73e2d6bc24d8a067',
        canaryTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo-canary/83e2d6bc24d8a067',
      },
      metrics: { kind: 'prometheus', url: 'http://127.0.0.1:9090' },
      plan: { checks: [{ name: 'error-rate', slo: 0.02 }] },
    };
    await new DynamoDbRunLog(dynalite.client, { tableName: dynalite.tableName }).putServiceConfig('demo-api', registration);
    // The env file `npm run local` writes; this test process stands in for it (its pid is alive, its table is dynalite).
    const envFile = join(dir, 'env.json');
    await writeLocalEnv(envFile, {
      version: 1,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region: 'eu-west-1',
      tableName: dynalite.tableName,
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:canary',
      endpoints: { dynamodb: dynalite.endpoint, sfn: 'http://127.0.0.1:9', elasticLoadBalancingV2: 'http://127.0.0.1:9' },
      services: [],
      env: {},
    });
    const env = { CANARY_LOCAL_ENV: envFile };

    const tighter = await canary(['validate', '--input', file('demo-ok.json', { service: 'demo-api', image: IMAGE, plan: { checks: [{ name: 'error-rate', slo: 0.015 }] } })], env);
    expect(tighter).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    const looser = await canary(['validate', '--input', file('demo-loose.json', { service: 'demo-api', image: IMAGE, plan: { checks: [{ name: 'error-rate', slo: 0.05 }] } })], env);
    expect(looser.code).toBe(1);
    expect(looser.stdout.split('\n')).toContain('plan.checks[0].slo: must not raise the registered SLO 0.02 (policy: an execution may tighten a registered check, never loosen it)');
    const unknown = await canary(['validate', '--input', file('demo-unknown.json', { service: 'payments-api', image: IMAGE })], env);
    expect(unknown).toMatchObject({ code: 1, stdout: expect.stringMatching(/^service: 'payments-api' is not registered in the local environment \(.*env\.json\) \(registered: demo-api\)/) });
  });
});
