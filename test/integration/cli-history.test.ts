import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDbRunLog } from '../../lambdas/adapters/dynamodb/dynamodb-run-log';
import { resolvePlan } from '../../lambdas/domain/plan';
import { THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';
import type { Outcome, RunRecord } from '../../lambdas/domain/run';
import { startDynalite, type Dynalite } from '../../local/dynamodb/dynalite';
import { memoryTerminal } from '../../local/demo/live-view';
import { writeLocalEnv } from '../../cli/local-env-file';
import { runCli } from '../../cli/program';

// The `canary` CLI on seeded records (dynalite only): history in every format, status of an ended run, controls
// refused for ended runs, bad arguments, --help, and the AWS path (table from flags, principal from STS).

jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '../..');
const DAY = 86_400_000;
const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
// Seeded runs judged their checks on thresholds (their latency trigger values are seconds).
const PLAN = resolvePlan({ steps: [{ weight: 5, holdSeconds: 300 }, { weight: 25, holdSeconds: 600 }, { weight: 100 }], checks: [...THRESHOLD_CHECKS] });
// Whole seconds, so that the dates print as they are stored.
const NOW = Math.floor(Date.now() / 1000) * 1000;
const ago = (days: number, minutes = 0) => new Date(NOW - days * DAY - minutes * 60_000).toISOString();

let db: Dynalite;
let runLog: DynamoDbRunLog;
let dir: string;
let envFile: string;

interface Seed {
  readonly runId: string;
  readonly service: string;
  readonly tag: string;
  readonly outcome: Outcome;
  readonly endedDaysAgo: number;
  readonly record: Partial<RunRecord>;
}

const SEEDS: readonly Seed[] = [
  {
    runId: 'checkout-api-r1',
    service: 'checkout-api',
    tag: 'v3.1.0',
    outcome: 'rolled_back',
    endedDaysAgo: 5,
    record: { stageReached: 1, triggerCheck: 'error-rate', triggerValue: 0.042, thresholdMax: 0.01, timeToRollbackSeconds: 12.5, reason: 'error-rate 0.042 outside ≤ 0.01 for 2 intervals in a row at step 1 (25%)' },
  },
  {
    runId: 'search-api-r2',
    service: 'search-api',
    tag: 'v1.8.0',
    outcome: 'rollback_failed',
    endedDaysAgo: 12,
    record: {
      stageReached: 1,
      triggerCheck: 'latency-p99',
      triggerValue: 0.91,
      thresholdMax: 0.5,
      reason: 'rollback failed (ThrottlingError: Rate exceeded); traffic may still be on the canary',
      manualCommand: 'aws elbv2 modify-listener --listener-arn arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/1/2 …',
    },
  },
  { runId: 'checkout-api-r3', service: 'checkout-api', tag: 'v3.0.9', outcome: 'promoted', endedDaysAgo: 20, record: { stageReached: 2, reason: 'all checks passed for 10 intervals at step 1 (25%)' } },
  { runId: 'checkout-api-r7', service: 'checkout-api', tag: 'v3.0.5', outcome: 'rolled_back', endedDaysAgo: 25, record: { stageReached: 0, timeToRollbackSeconds: 3.2, reason: 'aborted by alice at 2025-01-01T10:00:00.000Z (wrong build)' } },
  {
    runId: 'search-api-r4',
    service: 'search-api',
    tag: 'v1.7.2',
    outcome: 'rolled_back',
    endedDaysAgo: 29,
    record: { stageReached: 0, triggerCheck: 'success-rate', triggerValue: null, thresholdMin: 0.99, timeToRollbackSeconds: 65, reason: 'no data for 5 intervals in a row at step 0 (5%)' },
  },
  { runId: 'checkout-api-r5', service: 'checkout-api', tag: 'v3.0.1', outcome: 'rolled_back', endedDaysAgo: 45, record: { stageReached: 0, triggerCheck: 'error-rate', triggerValue: 0.3, thresholdMax: 0.01, timeToRollbackSeconds: 9 } },
  { runId: 'search-api-r6', service: 'search-api', tag: 'v1.6.0', outcome: 'rolled_back', endedDaysAgo: 60, record: { stageReached: 1, triggerCheck: 'latency-p99', triggerValue: 2.5, thresholdMax: 0.5, timeToRollbackSeconds: 20 } },
];

function baseRecord(runId: string, service: string, tag: string, startedAt: string): RunRecord {
  return {
    runId,
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:${runId}`,
    service,
    image: `${REPO}/${service}:${tag}`,
    dryRun: false,
    trigger: { source: 'ecr' },
    startedAt,
    outcome: 'running',
    stageReached: -1,
    maxWeight: 0,
    plan: PLAN,
  };
}

beforeAll(async () => {
  db = await startDynalite();
  runLog = new DynamoDbRunLog(db.client, { tableName: db.tableName });
  for (const service of ['checkout-api', 'search-api', 'cart-api']) await runLog.putServiceConfig(service, { name: service });
  for (const seed of SEEDS) {
    const { stageReached = -1, ...rest } = seed.record;
    await runLog.startRun(baseRecord(seed.runId, seed.service, seed.tag, ago(seed.endedDaysAgo, 15)));
    await runLog.finishRun(seed.runId, seed.service, { ...rest, stageReached, outcome: seed.outcome as Exclude<Outcome, 'running'>, endedAt: ago(seed.endedDaysAgo) });
  }
  await runLog.appendEvent({
    runId: 'checkout-api-r1',
    seq: 7,
    at: ago(5),
    type: 'analysis',
    stepIndex: 1,
    weight: 25,
    measurements: [
      { check: 'error-rate', verdict: 'fail', value: 0.042, samples: 1200, max: 0.01, detail: '0.042 > 0.01' },
      { check: 'latency-p99', verdict: 'pass', value: 0.18, samples: 1200, max: 0.5, detail: '0.18 ≤ 0.5' },
    ],
    decision: { action: 'rollback', reason: { kind: 'consecutive-failures', stepIndex: 1, weight: 25, verdict: 'fail', check: 'error-rate', value: 0.042, max: 0.01, message: 'error-rate 0.042 outside ≤ 0.01 for 2 intervals in a row at step 1 (25%)' } },
    message: 'error-rate 0.042 outside ≤ 0.01 for 2 intervals in a row at step 1 (25%)',
  });
  // A run in progress, for the controls against AWS.
  await runLog.startRun(baseRecord('cart-api-r9', 'cart-api', 'v9.0.0', ago(0, 5)));

  dir = mkdtempSync(join(tmpdir(), 'canary-cli-history-'));
  envFile = join(dir, 'env.json');
  await writeLocalEnv(envFile, {
    version: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    region: 'eu-west-1',
    tableName: db.tableName,
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:canary-orchestrator',
    endpoints: { dynamodb: db.endpoint, sfn: 'http://127.0.0.1:9', elasticLoadBalancingV2: 'http://127.0.0.1:9' },
    services: [],
    env: {},
  });
});

afterAll(async () => {
  await db.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI in this process, against the seeded table through the env file, as a user would type it. */
async function canary(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = memoryTerminal(false, 200);
  let stderr = '';
  const code = await runCli(argv, { stdout, stderr: { write: (t) => void (stderr += t) }, env: { CANARY_LOCAL_ENV: envFile }, cwd: ROOT });
  return { code, stdout: stdout.text(), stderr };
}

const formatIso = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const date = (days: number) => formatIso(ago(days));

describe('canary history --rollbacks --since 30d', () => {
  it('a table with the columns date, version, stage, trigger metric and value, time to rollback, newest first', async () => {
    // Act
    const { code, stdout, stderr } = await canary('history', '--rollbacks', '--since', '30d');

    // Assess
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Rollbacks since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(last 30d\), newest first: 4$/);
    expect(lines.slice(1)).toEqual([
      'date                  version              stage    trigger metric = value  time to rollback',
      '────────────────────  ───────────────────  ───────  ──────────────────────  ────────────────',
      `${date(5)}  checkout-api:v3.1.0  1 (25%)  error-rate = 4.2%       12.5 s`,
      `${date(12)}  search-api:v1.8.0    1 (25%)  latency-p99 = 910 ms    rollback failed`,
      `${date(25)}  checkout-api:v3.0.5  0 (5%)   operator abort (alice)  3.2 s`,
      `${date(29)}  search-api:v1.7.2    0 (5%)   success-rate: no data   65 s`,
    ]);
  });

  it('json: one object per rollback with the raw numbers', async () => {
    // Act
    const { code, stdout } = await canary('history', '--rollbacks', '--since', '30d', '--format', 'json');

    // Assess
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Record<string, unknown>[];
    expect(rows.map((r) => r.run)).toEqual(['checkout-api-r1', 'search-api-r2', 'checkout-api-r7', 'search-api-r4']);
    expect(rows[0]).toEqual({
      date: ago(5),
      run: 'checkout-api-r1',
      service: 'checkout-api',
      version: 'v3.1.0',
      image: `${REPO}/checkout-api:v3.1.0`,
      dryRun: false,
      stage: 1,
      weight: 25,
      triggerMetric: 'error-rate',
      triggerValue: 0.042,
      thresholdMin: null,
      thresholdMax: 0.01,
      timeToRollbackSeconds: 12.5,
      outcome: 'rolled_back',
      reason: 'error-rate 0.042 outside ≤ 0.01 for 2 intervals in a row at step 1 (25%)',
    });
    expect(rows[1]).toMatchObject({ outcome: 'rollback_failed', triggerMetric: 'latency-p99', triggerValue: 0.91, timeToRollbackSeconds: null });
    expect(rows[3]).toMatchObject({ triggerMetric: 'success-rate', triggerValue: null, thresholdMin: 0.99, timeToRollbackSeconds: 65 });
  });

  it('csv: a header and one line per rollback, quoted where a field needs it', async () => {
    // Act
    const { code, stdout } = await canary('history', '--rollbacks', '--since', '30d', '--format', 'csv');

    // Assess
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      'date,run,service,version,image,dry_run,stage,weight,trigger_metric,trigger_value,threshold_min,threshold_max,time_to_rollback_seconds,outcome,reason',
      `${ago(5)},checkout-api-r1,checkout-api,v3.1.0,${REPO}/checkout-api:v3.1.0,false,1,25,error-rate,0.042,,0.01,12.5,rolled_back,error-rate 0.042 outside ≤ 0.01 for 2 intervals in a row at step 1 (25%)`,
      `${ago(12)},search-api-r2,search-api,v1.8.0,${REPO}/search-api:v1.8.0,false,1,25,latency-p99,0.91,,0.5,,rollback_failed,rollback failed (ThrottlingError: Rate exceeded); traffic may still be on the canary`,
      `${ago(25)},checkout-api-r7,checkout-api,v3.0.5,${REPO}/checkout-api:v3.0.5,false,0,5,,,,,3.2,rolled_back,aborted by alice at 2025-01-01T10:00:00.000Z (wrong build)`,
      `${ago(29)},search-api-r4,search-api,v1.7.2,${REPO}/search-api:v1.7.2,false,0,5,success-rate,,0.99,,65,rolled_back,no data for 5 intervals in a row at step 0 (5%)`,
      '',
    ]);
  });

  it('--since narrows by age (7d, 2w) or from an ISO date; --service keeps one service', async () => {
    // Act
    const week = await canary('history', '--rollbacks', '--since', '7d', '--format', 'json');
    const fortnight = await canary('history', '--rollbacks', '--since', '2w', '--format', 'json');
    const fromDate = await canary('history', '--rollbacks', '--since', ago(50).slice(0, 10), '--format', 'json');
    const search = await canary('history', '--rollbacks', '--service', 'search-api', '--format', 'json');
    const none = await canary('history', '--rollbacks', '--since', '12h');

    // Assess
    const runs = (out: { stdout: string }) => (JSON.parse(out.stdout) as { run: string }[]).map((r) => r.run);
    expect(runs(week)).toEqual(['checkout-api-r1']);
    expect(runs(fortnight)).toEqual(['checkout-api-r1', 'search-api-r2']);
    expect(runs(fromDate)).toEqual(['checkout-api-r1', 'search-api-r2', 'checkout-api-r7', 'search-api-r4', 'checkout-api-r5']);
    expect(runs(search)).toEqual(['search-api-r2', 'search-api-r4']);
    expect(none.stdout).toMatch(/^No rollbacks since \S+ \S+ \(last 12h\)\.\n$/);
  });
});

describe('canary history (runs)', () => {
  it('lists the runs of one service that started since --since, with outcome, stage and duration', async () => {
    // Act
    const { code, stdout } = await canary('history', '--service', 'checkout-api');

    // Assess
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Runs of checkout-api since \S+ \S+ \(last 30d\), newest first: 3$/);
    expect(lines.slice(1)).toEqual([
      'date                  run              version              outcome      stage     duration',
      '────────────────────  ───────────────  ───────────────────  ───────────  ────────  ────────',
      `${formatIso(ago(5, 15))}  checkout-api-r1  checkout-api:v3.1.0  rolled_back  1 (25%)   15 min`,
      `${formatIso(ago(20, 15))}  checkout-api-r3  checkout-api:v3.0.9  promoted     2 (100%)  15 min`,
      `${formatIso(ago(25, 15))}  checkout-api-r7  checkout-api:v3.0.5  rolled_back  0 (5%)    15 min`,
    ]);
  });

  it('without --service: the runs of every registered service, the running one too', async () => {
    // Act
    const { code, stdout } = await canary('history', '--format', 'json');

    // Assess
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { run: string; outcome: string }[];
    expect(rows.map((r) => `${r.run} ${r.outcome}`)).toEqual([
      'cart-api-r9 running',
      'checkout-api-r1 rolled_back',
      'search-api-r2 rollback_failed',
      'checkout-api-r3 promoted',
      'checkout-api-r7 rolled_back',
      'search-api-r4 rolled_back',
    ]);
  });
});

describe('canary status of an ended run', () => {
  it('shows how it ended: outcome, stage, reason, trigger against its threshold, time to rollback, the last analysis', async () => {
    // Act
    const { code, stdout } = await canary('status', 'checkout-api-r1');

    // Assess
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual([
      'run       checkout-api-r1',
      'service   checkout-api',
      `image     ${REPO}/checkout-api:v3.1.0`,
      `started   ${formatIso(ago(5, 15))} by ecr, 5 d ago`,
      'plan      5% for 300 s → 25% for 600 s → 100%; judged every 60 s over 2m windows; rollback after 2 failed intervals in a row',
      `state     ROLLED BACK at ${date(5)}, after 15 min`,
      'stage     reached step 1 (25%): 5% → [25%] → 100%',
      'weights   all on stable',
      'reason    error-rate 0.042 outside ≤ 0.01 for 2 intervals in a row at step 1 (25%)',
      'trigger   error-rate = 4.2% (≤ 1%)',
      'rollback  12.5 s from the first bad analysis to 100% on stable',
      `analysis  ${date(5).slice(11)} (5 d ago) at step 1 (25%)`,
      '          error-rate       4.2%  ≤ 1%       FAIL     1200 samples',
      '          latency-p99    180 ms  ≤ 500 ms   pass     1200 samples',
      'decision  rollback: error-rate 0.042 outside ≤ 0.01 for 2 intervals in a row at step 1 (25%)',
      'controls  none given',
    ]);
  });

  it('times an aborted run from the abort, not from an analysis', async () => {
    const { code, stdout } = await canary('status', 'checkout-api-r7');
    expect(code).toBe(0);
    expect(stdout).toContain('rollback  3.2 s from the abort to 100% on stable');
  });

  it('a control for an ended run is refused with the engine’s message, exit 1', async () => {
    // Act
    const abort = await canary('abort', 'checkout-api-r3', '--reason', 'too late', '--as', 'alice');
    const resume = await canary('resume', 'checkout-api-r1', '--as', 'alice');

    // Assess
    expect(abort).toEqual({ code: 1, stdout: '', stderr: 'error: run checkout-api-r3 has already ended (promoted)\n' });
    expect(resume).toEqual({ code: 1, stdout: '', stderr: 'error: run checkout-api-r1 has already ended (rolled_back)\n' });
    expect(await runLog.getControl('checkout-api-r3')).toBeUndefined();
  });

  it('an unknown run is said so, exit 1', async () => {
    const { code, stderr } = await canary('status', 'no-such-run');

    expect(code).toBe(1);
    expect(stderr).toBe(`error: there is no run no-such-run in the local environment (${envFile}); \`canary history\` lists the runs\n`);
  });
});

describe('canary watch', () => {
  /** watch with Ctrl-C after `ms`, on a terminal or not. */
  async function watchFor(ms: number, isTTY: boolean): Promise<{ code: number; stdout: string }> {
    const stdout = memoryTerminal(isTTY, 120);
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), ms);
    const code = await runCli(['watch', 'cart-api-r9'], { stdout, stderr: { write: () => undefined }, env: { CANARY_LOCAL_ENV: envFile }, cwd: ROOT, signal: interrupt.signal, pollMs: 100 });
    return { code, stdout: stdout.text() };
  }

  it('on a terminal: a status block redrawn in place below the lines; Ctrl-C stops watching, not the run (exit 130)', async () => {
    // Act
    const { code, stdout } = await watchFor(1500, true);

    // Assess
    expect(code).toBe(130);
    const block = stdout.indexOf('── cart-api · run cart-api-r9 · ');
    expect(block).toBeGreaterThan(0);
    expect(stdout).toContain('  stage     not shifted yet: 5% → 25% → 100%\n  weights   all on stable\n  checks    (no analysis yet)\n  decision  –\n');
    // Redrawn: the block is erased (cursor up over its lines, clear to the end) before it is drawn again.
    expect(stdout.match(/\u001b\[\d+F\u001b\[0J── cart-api/g)?.length).toBeGreaterThanOrEqual(2);
    expect(stdout.endsWith('Stopped watching; run cart-api-r9 goes on (`canary status cart-api-r9`).\n')).toBe(true);
  });

  it('not on a terminal: plain lines only, no escape codes', async () => {
    const { code, stdout } = await watchFor(300, false);

    expect(code).toBe(130);
    expect(stdout).toBe(
      [
        `Watching run cart-api-r9: rollout of ${REPO}/cart-api:v9.0.0 to cart-api`,
        '  plan: 5% for 300 s → 25% for 600 s → 100%; judged every 60 s over 2m windows; rollback after 2 failed intervals in a row',
        'Stopped watching; run cart-api-r9 goes on (`canary status cart-api-r9`).',
        '',
      ].join('\n'),
    );
  });
});

describe('bad arguments', () => {
  it.each([
    [['history', '--since', 'yesterday'], "error: option '--since <when>' argument 'yesterday' is invalid. Give a duration like 30d, 12h, 2w or 90m, or an ISO date like 2025-05-01 or 2025-05-01T12:00:00Z."],
    [['history', '--since', '2999-01-01'], "error: option '--since <when>' argument '2999-01-01' is invalid. It is in the future."],
    [['history', '--format', 'xml'], "error: option '--format <format>' argument 'xml' is invalid. Allowed choices are table, json, csv."],
    [['history', '--limit', '0'], "error: option '--limit <n>' argument '0' is invalid. Must be a whole number from 1."],
    [['history', '--service', 'Checkout API'], "error: option '--service <name>' argument 'Checkout API' is invalid. Must be a registered service name: lowercase letters, digits and -, at most 63."],
    [['start', '--image', `${REPO}/checkout-api:v2`], "error: required option '--service <name>' not specified"],
    [['start', '--service', 'checkout-api', '--image', 'checkout-api'], "error: option '--image <ref>' argument 'checkout-api' is invalid. It must name a tag (:v2.4.1) or a digest (@sha256:…); an untagged image is ambiguous."],
    [['start', '--service', 'checkout-api', '--image', `${REPO}/checkout-api:v2`, '--name', 'my run'], "error: option '--name <name>' argument 'my run' is invalid. Must be 1-80 letters, digits, - and _ (it becomes the run id)."],
    [['status', 'bad/run'], "error: command-argument value 'bad/run' is invalid for argument 'run'. A run id is 1-80 letters, digits, - and _ (the execution name; `canary history` lists them)."],
    [['status'], "error: missing required argument 'run'"],
    [['status', 'a', 'b'], "error: too many arguments for 'status'. Expected 1 argument but got 2."],
    [['approve', 'cart-api-r9', '--step', '0'], "error: option '--step <n>' argument '0' is invalid. A step index is a whole number from 1 (step 0 is approved by starting the run)."],
    [['promote', 'cart-api-r9', '--force'], "error: unknown option '--force'"],
    [['rollback', 'cart-api-r9'], "error: unknown command 'rollback'"],
  ])('canary %j', async (argv, message) => {
    // Act
    const { code, stdout, stderr } = await canary(...argv);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')[0]).toBe(message);
  });

  it('refuses what only the run or the target can tell, naming the option', async () => {
    // Act
    const step = await canary('approve', 'cart-api-r9', '--step', '2', '--as', 'alice');
    const both = await canary('status', 'cart-api-r9', '--local', '--aws');
    const table = await canary('status', 'cart-api-r9', '--table', 'no way');
    const noMachine = await canary('start', '--service', 'checkout-api', '--image', `${REPO}/checkout-api:v2`, '--table', 'canary-orchestrator');
    const reason = await canary('abort', 'cart-api-r9', '--reason', ' ');
    const plan = await canary('start', '--service', 'checkout-api', '--image', `${REPO}/checkout-api:v2`, '--plan', 'no-such-plan.json');

    // Assess
    expect(step).toMatchObject({ code: 2, stderr: "error: --step 2: run cart-api-r9 has no approval gate at step 2 (its plan has no approval gates)\n" });
    expect(both).toMatchObject({ code: 2, stderr: 'error: --local and --aws: give one of them, not both\n' });
    expect(table).toMatchObject({ code: 2, stderr: "error: --table: 'no way' is not a DynamoDB table name (3-255 characters of letters, digits, _ . -)\n" });
    expect(noMachine).toMatchObject({
      code: 2,
      stderr: 'error: no state machine: give --state-machine ARN or set CANARY_STATE_MACHINE_ARN (the stack output StateMachineArn); or start a local environment with `npm run local`\n',
    });
    expect(reason).toMatchObject({ code: 2, stderr: 'error: --reason: give a reason of 1-500 characters\n' });
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/^error: --plan no-such-plan\.json: cannot read it: ENOENT/);
  });

  it('--local without a running local environment says how to start one', async () => {
    // Prepare
    const stale = join(dir, 'stale.json');
    await writeLocalEnv(stale, { ...minimalEnv(), pid: 2 ** 22 + 7 });

    // Act
    const stdout = memoryTerminal();
    let stderr = '';
    const code = await runCli(['history', '--local'], { stdout, stderr: { write: (t) => void (stderr += t) }, env: { CANARY_LOCAL_ENV: stale }, cwd: ROOT });

    // Assess
    expect(code).toBe(2);
    expect(stderr).toBe(`error: --local: the local environment of ${stale} is not running (its process ${2 ** 22 + 7} has exited); start it with \`npm run local\`\n`);
  });
});

function minimalEnv() {
  return {
    version: 1 as const,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    region: 'eu-west-1',
    tableName: 'canary-orchestrator',
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:canary-orchestrator',
    endpoints: { dynamodb: 'http://127.0.0.1:9', sfn: 'http://127.0.0.1:9', elasticLoadBalancingV2: 'http://127.0.0.1:9' },
    services: [],
    env: {},
  };
}

describe('--help', () => {
  it.each(['start', 'status', 'watch', 'abort', 'pause', 'resume', 'promote', 'approve', 'history'])('canary %s --help shows its usage, exit 0', async (command) => {
    // Act
    const { code, stdout } = await canary(command, '--help');

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Usage: canary ${command} \\[options\\]`));
    for (const option of ['--local', '--aws', '--table <name>', '-h, --help']) expect(stdout).toContain(option);
  });

  it('canary --help lists every command, where it works and the exit codes', async () => {
    const { code, stdout } = await canary('--help');

    expect(code).toBe(0);
    for (const command of ['start [options]', 'status [options] <run>', 'watch [options] <run>', 'abort [options] <run>', 'pause [options] <run>', 'resume [options] <run>', 'promote [options] <run>', 'approve [options] <run>', 'history [options]']) {
      expect(stdout).toContain(command);
    }
    expect(stdout).toContain('CANARY_STATE_MACHINE_ARN');
    expect(stdout).toContain('3 watch: rolled back');
  });
});

describe('against AWS: the same commands, the table from --table, the principal from STS', () => {
  let sts: Server;
  let stsEndpoint: string;
  beforeAll(async () => {
    // STS GetCallerIdentity speaks the Query protocol: a form POST answered in XML.
    sts = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
            '<Arn>arn:aws:sts::123456789012:assumed-role/Deployer/alice</Arn><UserId>AROAEXAMPLE:alice</UserId><Account>123456789012</Account>' +
            '</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
        );
      });
    });
    await new Promise<void>((done) => sts.listen(0, '127.0.0.1', done));
    stsEndpoint = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((done) => sts.close(() => done()));
  });

  /** `npm run canary` as a process, its SDK clients pointed at the stand-ins only by AWS_ENDPOINT_URL_*. */
  function canaryProcess(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((done, fail) => {
      const { CANARY_LOCAL_ENV: _ignored, ...inherited } = process.env;
      const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, resolve(ROOT, 'cli/main.ts'), ...args], {
        cwd: dir,
        env: { ...inherited, AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_DYNAMODB: db.endpoint, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('error', fail);
      child.once('exit', (code) => done({ code, stdout, stderr }));
    });
  }

  it('pause is recorded as the caller’s IAM principal, and status shows it pending', async () => {
    // Act
    const pause = await canaryProcess(['pause', 'cart-api-r9', '--table', db.tableName], { AWS_ENDPOINT_URL_STS: stsEndpoint });
    const status = await canaryProcess(['status', 'cart-api-r9'], { CANARY_TABLE: db.tableName });

    // Assess
    expect(pause.stderr).toBe('');
    expect(pause.code).toBe(0);
    expect(pause.stdout).toMatch(
      /^Pause of run cart-api-r9 recorded \(by arn:aws:sts::123456789012:assumed-role\/Deployer\/alice at \S+ \S+\): it holds at its current weight from the next interval \(within 60 s\); `canary resume cart-api-r9` to go on\.\n$/,
    );
    expect((await runLog.getControl('cart-api-r9'))?.pause?.by).toBe('arn:aws:sts::123456789012:assumed-role/Deployer/alice');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/\ncontrols  paused by arn:aws:sts::123456789012:assumed-role\/Deployer\/alice at \S+ \S+: pending, holds from the next interval; `canary resume cart-api-r9` to go on\n$/);
  });

  it('without STS (and without --as) it cannot tell who you are, and says so', async () => {
    const { code, stderr } = await canaryProcess(['promote', 'cart-api-r9', '--table', db.tableName], { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' });

    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: cannot tell who you are \(STS GetCallerIdentity failed: .+\); give --as NAME\n$/);
    expect((await runLog.getControl('cart-api-r9'))?.promote).toBeUndefined();
  });
});
