import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunEvent } from '../../lambdas/domain/run';
import { memoryTerminal } from '../../local/demo/live-view';
import { startLocalEnvironment, type LocalEnvironment } from '../../cli/local-environment';
import { runCli } from '../../cli/program';

// The `canary` CLI against the local environment of `npm run local` (started in this process): start, status, watch
// to the end, abort, pause and resume, promote now, approve a gate. Every run is the real workflow with real waits,
// started through the Step Functions stand-in; every control goes through the run log the workflow reads.

jest.setTimeout(180_000);

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-api:v2';
const SERVICE = 'demo-api';

// A short plan whose checks carry their own queries (threshold checks, whatever the built-ins default to).
const PLAN_FILE = resolve(__dirname, '../../cli/plans/fast-plan.json');
const GATE_PLAN = { steps: [{ weight: 20, holdSeconds: 2 }, { weight: 50, holdSeconds: 2, approval: true }, { weight: 100 }], approvals: { timeoutSeconds: 60 } };

let dir: string;
let envFile: string;
let local: LocalEnvironment;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canary-cli-local-'));
  envFile = join(dir, 'env.json');
  writeFileSync(join(dir, 'gate-plan.json'), JSON.stringify(GATE_PLAN));
  local = await startLocalEnvironment({ envFile, service: SERVICE, planFile: PLAN_FILE, rps: 60 });
});

afterAll(async () => {
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI as a user types it, in this process, finding the environment through its env file. */
async function canary(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = memoryTerminal(false, 200);
  let stderr = '';
  const code = await runCli(argv, { stdout, stderr: { write: (t) => void (stderr += t) }, env: { CANARY_LOCAL_ENV: envFile }, cwd: dir, pollMs: 250 });
  return { code, stdout: stdout.text(), stderr };
}

/** Starts a run with `canary start -q`; its run id. */
async function startRun(...extra: string[]): Promise<string> {
  const { code, stdout, stderr } = await canary('start', '--service', SERVICE, '--image', IMAGE, '-q', ...extra);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return stdout.trim();
}

async function waitForEvents(runId: string, what: string, predicate: (events: readonly RunEvent[]) => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(await local.demo.runLog.listEvents(runId))) {
    if (Date.now() > deadline) throw new Error(`run ${runId}: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const decisions = (events: readonly RunEvent[], kind: string) => events.filter((e) => e.type === 'analysis' && e.decision?.reason.kind === kind);
const lineOf = (text: string, label: string) => text.split('\n').find((l) => l.startsWith(label.padEnd(10))) ?? '';

describe('canary against the local environment', () => {
  it('start, status while it runs, watch until it is promoted (exit 0)', async () => {
    // Act
    const started = await canary('start', '--service', SERVICE, '--image', IMAGE);
    const runId = /^Started run (\S+):/.exec(started.stdout)?.[1] ?? '';
    // The first analysis after a shift may find too few canary requests (no data); wait for one with data.
    await waitForEvents(runId, 'a passing analysis', (events) => events.at(-1)?.type === 'analysis' && events.at(-1)?.decision?.reason.verdict === 'pass');
    const status = await canary('status', runId);
    const watched = await canary('watch', runId);

    // Assess
    expect(started.code).toBe(0);
    expect(started.stdout.split('\n')).toEqual([
      `Started run ${runId}: rollout of ${IMAGE} to ${SERVICE}, by ${userInfo().username}`,
      '  plan       20% for 4 s → 50% for 4 s → 100%; judged every 2 s over 6s windows; rollback after 2 failed intervals in a row',
      `  execution  arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:${runId}`,
      `Follow it with \`canary watch ${runId}\`; steer it with \`canary abort|pause|resume|promote|approve ${runId}\`.`,
      '',
    ]);
    expect(runId).toMatch(/^demo-api-\d{8}-\d{6}-[0-9a-f]{4}$/);

    expect(status.code).toBe(0);
    expect(lineOf(status.stdout, 'state')).toBe('state     running');
    expect(lineOf(status.stdout, 'stage')).toMatch(/^stage {5}step [01] of 3: (\[20%\] → 50%|20% → \[50%\]) → 100%$/);
    expect(lineOf(status.stdout, 'weights')).toMatch(/^weights {3}canary (20% · stable 80%|50% · stable 50%)$/);
    expect(lineOf(status.stdout, 'analysis')).toMatch(/^analysis {2}\d\d:\d\d:\d\dZ \(.+ ago\) at step [01] \((20|50)%\)$/);
    expect(status.stdout).toMatch(/\n {10}error-rate +\S+ +≤ 5% +pass/);
    expect(status.stdout).toMatch(/\n {10}latency-p99 +\d+ ms +≤ 500 ms +pass/);
    expect(status.stdout).toMatch(/\n {10}success-rate +\S+ +≥ 95% +pass/);
    expect(lineOf(status.stdout, 'decision')).toMatch(/^decision {2}(continue|advance): all checks passed/);
    expect(lineOf(status.stdout, 'controls')).toBe('controls  none pending');

    expect(watched.code).toBe(0);
    const lines = watched.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Watching run ${runId}: rollout of ${IMAGE} to ${SERVICE}`);
    expect(lines.some((l) => /^\[\+ *\d+\.\ds\] step 0: canary 20%, stable 80%$/.test(l))).toBe(true);
    expect(lines.some((l) => /^\[\+ *\d+\.\ds\] analysis at step 0 \(20%\): error-rate \S+ \(≤ 5%\) pass · latency-p99 \d+ ms \(≤ 500 ms\) pass/.test(l))).toBe(true);
    expect(lines).toContain('          → advance: all checks passed for 2 intervals at step 0 (20%)');
    expect(lines.some((l) => l.endsWith('step 1: canary 50%, stable 50%'))).toBe(true);
    expect(lines.at(-1)).toMatch(new RegExp(`^Run ${runId} PROMOTED after \\d+(\\.\\d)? s: all checks passed for 2 intervals at step 1 \\(50%\\)$`));
    expect(local.stage.weights().canary).toBe(100);
  });

  it('abort: rolled back at the next interval, the record says who and why; watch exits 3', async () => {
    // Prepare
    // After a promotion with workload `none` the two target groups trade roles: stable is whichever serves all traffic.
    const before = local.stage.weights();
    const runId = await startRun();
    await waitForEvents(runId, 'the shift to 20%', (events) => events.some((e) => e.type === 'weight-set'));

    // Act
    const abort = await canary('abort', runId, '--reason', 'wrong build', '--as', 'alice');
    const watched = await canary('watch', runId);
    const status = await canary('status', runId);

    // Assess
    expect(abort).toMatchObject({ code: 0, stderr: '' });
    expect(abort.stdout).toMatch(new RegExp(`^Abort of run ${runId} recorded \\(by alice at \\S+ \\S+, reason: wrong build\\): it rolls back at the next interval \\(within 2 s\\)\\.\\n$`));
    expect(watched.code).toBe(3);
    expect(watched.stdout).toMatch(/\n {10}→ rollback: aborted by alice at \S+ \(wrong build\)\n/);
    expect(watched.stdout).toMatch(/\n\[\+ *\d+\.\ds\] ROLLBACK: aborted by alice at \S+ \(wrong build\)\n/);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^Run ${runId} ROLLED BACK at step 0 \\(20%\\) after \\d+(\\.\\d)? s: aborted by alice at \\S+ \\(wrong build\\); time to rollback \\d+(\\.\\d)? s$`),
    );
    expect(lineOf(status.stdout, 'state')).toMatch(/^state {5}ROLLED BACK at \S+ \S+, after /);
    expect(lineOf(status.stdout, 'weights')).toBe('weights   all on stable');
    expect(lineOf(status.stdout, 'reason')).toMatch(/^reason {4}aborted by alice at \S+ \(wrong build\)$/);
    expect(lineOf(status.stdout, 'controls')).toMatch(/^controls {2}abort by alice at \S+ \S+ \(wrong build\)$/);
    expect(await local.demo.runLog.getRun(runId)).toMatchObject({ outcome: 'rolled_back', stageReached: 0, reason: expect.stringMatching(/^aborted by alice at \S+ \(wrong build\)$/) });
    expect(local.stage.weights()).toEqual(before);
  });

  it('pause holds the run past its hold; resume lets it go on; promote now skips the remaining steps', async () => {
    // Prepare
    const runId = await startRun();

    // Act
    const pause = await canary('pause', runId, '--as', 'bob');
    await waitForEvents(runId, 'two paused intervals', (events) => decisions(events, 'paused').length >= 2);
    const paused = await canary('status', runId);
    const again = await canary('pause', runId, '--as', 'bob');
    const refused = await canary('start', '--service', SERVICE, '--image', IMAGE);
    const refusedRun = /^error: run (\S+) was refused/.exec(refused.stderr)?.[1] ?? '';
    const watchRefused = await canary('watch', refusedRun);
    const watchUnknown = await canary('watch', 'no-such-run');
    const resume = await canary('resume', runId, '--as', 'bob');
    const promote = await canary('promote', runId, '--as', 'carol');
    const watched = await canary('watch', runId);
    const ended = await canary('status', runId);

    // Assess
    expect(pause.stdout).toMatch(
      new RegExp(`^Pause of run ${runId} recorded \\(by bob at \\S+ \\S+\\): it holds at its current weight from the next interval \\(within 2 s\\); \`canary resume ${runId}\` to go on\\.\\n$`),
    );
    expect(lineOf(paused.stdout, 'stage')).toBe('stage     step 0 of 3: [20%] → 50% → 100%');
    expect(lineOf(paused.stdout, 'decision')).toMatch(new RegExp(`^decision  continue: all checks passed for \\d+ intervals? at step 0 \\(20%\\); holding: paused by bob at \\S+; \`canary resume ${runId}\` to go on \\(rolls back in \\d+ s\\)$`));
    expect(lineOf(paused.stdout, 'controls')).toMatch(new RegExp(`^controls  paused by bob at \\S+ \\S+: holding at this weight; \`canary resume ${runId}\` to go on$`));
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(new RegExp(`^error: run ${runId} is already paused \\(by bob at \\S+ \\S+\\); \`canary resume ${runId}\` to go on\\n$`)) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^error: run \\S+ was refused \\(RolloutInProgressError\\): service: '${SERVICE}' already has a rollout in progress \\(run ${runId}, started \\S+\\); wait for it to finish or abort it\\n$`));
    expect(watchRefused).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(new RegExp(`^error: run ${refusedRun} has no record: its execution ended FAILED \\(RolloutInProgressError: service: '${SERVICE}' already has a rollout in progress .+\\)\\n$`)),
    });
    expect(watchUnknown).toEqual({ code: 1, stdout: '', stderr: `error: there is no run no-such-run in the local environment (${envFile}); \`canary history\` lists the runs\n` });
    expect(resume.stdout).toMatch(new RegExp(`^Resume of run ${runId} recorded \\(by bob at \\S+ \\S+\\): it goes on at the next interval \\(within 2 s\\)\\.\\n$`));
    expect(promote.stdout).toMatch(new RegExp(`^Promote of run ${runId} recorded \\(by carol at \\S+ \\S+\\): it promotes at the next passing interval \\(within 2 s\\), skipping the remaining steps\\.\\n$`));
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/\n {10}→ promote: promoted now by carol at \S+, skipping [12] steps?\n/);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^Run ${runId} PROMOTED after .+: promoted now by carol at \\S+, skipping [12] steps?$`));
    expect(ended.stdout).toMatch(/\ncontrols  promote by carol at \S+ \S+\n {10}pause by bob at \S+ \S+\n {10}resume by bob at \S+ \S+\n$/);
    // Held at step 0 for more intervals than its 2-interval hold.
    expect((await local.demo.runLog.listEvents(runId)).filter((e) => e.type === 'analysis' && e.stepIndex === 0).length).toBeGreaterThan(3);
  });

  it('approve: the run waits at its gate until approved (the gate read from its last decision), then goes on', async () => {
    // Prepare
    const runId = await startRun('--plan', 'gate-plan.json');

    // Act
    const early = await canary('approve', runId, '--as', 'dave');
    const wrongStep = await canary('approve', runId, '--step', '2', '--as', 'dave');
    await waitForEvents(runId, 'the approval gate', (events) => decisions(events, 'awaiting-approval').length > 0);
    const waiting = await canary('status', runId);
    const approve = await canary('approve', runId, '--as', 'dave');
    const watched = await canary('watch', runId);

    // Assess
    expect(early).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: run ${runId} is not waiting at an approval gate (it has not been analysed yet); give --step N to approve a gate ahead (its gates: --step 1)\n`,
    });
    expect(wrongStep).toMatchObject({ code: 2, stderr: `error: --step 2: run ${runId} has no approval gate at step 2 (its gates: --step 1)\n` });
    expect(lineOf(waiting.stdout, 'decision')).toMatch(new RegExp(`^decision  continue: all checks passed for 1 interval at step 0 \\(20%\\); waiting for approval to go to step 1 \\(50%\\) \\(\`canary approve ${runId}\`; rolls back in \\d+ s\\)$`));
    expect(lineOf(waiting.stdout, 'controls')).toBe(`controls  waiting for approval of step 1 (50%): \`canary approve ${runId}\``);
    expect(approve.stdout).toMatch(new RegExp(`^Approval of step 1 \\(50%\\) of run ${runId} recorded \\(by dave at \\S+ \\S+\\): it goes on once the step's hold is done\\.\\n$`));
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/\n\[\+ *\d+\.\ds\] step 1: canary 50%, stable 50%\n/);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^Run ${runId} PROMOTED after .+$`));
    expect((await local.demo.runLog.getControl(runId))?.approvals?.['1']).toMatchObject({ by: 'dave' });
  });
});
