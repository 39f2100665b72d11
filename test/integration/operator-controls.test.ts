import { FAST_ANALYSIS, FAST_APPROVALS, IMAGE, WorkflowEnv, type ServiceUnderTest } from '../support/workflow-env';
import { statusChangeEvent } from '../../local/workflow/local-workflow';
import { handler as safetyNet } from '../../lambdas/handlers/safety-net';
import { RunNotRunningError } from '../../lambdas/domain/errors';
import type { ControlCommand } from '../../lambdas/domain/control';

// Operator controls honoured at the next interval of a real (local) run, and the safety net after an abort.

jest.setTimeout(120_000);

let env: WorkflowEnv;
beforeAll(async () => {
  env = await WorkflowEnv.start();
});
afterAll(async () => {
  await env.stop();
});

const PLAN = { steps: [{ weight: 20, holdSeconds: 2 }, { weight: 50, holdSeconds: 2 }, { weight: 100 }], analysis: FAST_ANALYSIS, approvals: FAST_APPROVALS };
const alice = (reason?: string) => ({ by: 'alice', at: new Date().toISOString(), ...(reason && { reason }) });

/** Runs the workflow and issues `command` when it first enters Analyze (the canary then holds 20%). */
async function runWith(svc: ServiceUnderTest, command: ControlCommand, options: { step?: number; reason?: string } = {}) {
  let issued: Promise<unknown> | undefined;
  const result = await env.run(
    { service: svc.name, image: IMAGE },
    { onStateEntered: (state, input) => void (state === 'Analyze' && !issued && (issued = env.runLog.requestControl((input as { run: { runId: string } }).run.runId, command, alice(options.reason), options))) },
  );
  await issued;
  return { result, events: await env.runLog.listEvents(result.runId), record: await env.runLog.getRun(result.runId) };
}

describe('operator controls', () => {
  it('abort rolls back at the next interval, recording who and why', async () => {
    const svc = await env.addService('abort-api', { plan: PLAN });

    const { result, record } = await runWith(svc, 'abort', { reason: 'wrong build' });

    expect(result.error).toBe('CanaryRolledBack');
    expect(result.cause).toMatch(/^aborted by alice at \S+ \(wrong build\)$/);
    expect(record).toMatchObject({ outcome: 'rolled_back', stageReached: 0 });
    expect(svc.canaryShare()).toBe(0);
  });

  it('promote now skips the remaining steps', async () => {
    const svc = await env.addService('hurry-api', { plan: PLAN });

    const { result, events } = await runWith(svc, 'promote');

    expect(result.output).toMatchObject({ outcome: 'promoted', reason: expect.stringMatching(/^promoted now by alice at \S+, skipping 2 steps$/) });
    expect(events.filter((e) => e.type === 'weight-set').map((e) => e.weight)).toEqual([20]);
    expect(svc.canaryShare()).toBe(100);
  });

  it('pause holds the weight past its hold; resume lets it go on', async () => {
    const svc = await env.addService('pause-api', { plan: PLAN });
    let runId = '';
    const held: string[] = [];
    const result = await env.run(
      { service: svc.name, image: IMAGE },
      {
        onStateEntered: (state, input) => {
          const { run, cursor } = input as { run: { runId: string }; cursor: { decision?: { reason: { kind: string } } } };
          if (state === 'Analyze' && !runId) {
            runId = run.runId;
            void env.runLog.requestControl(runId, 'pause', alice());
          }
          if (state === 'WaitInterval' && cursor.decision?.reason.kind === 'paused') {
            held.push(cursor.decision.reason.kind);
            if (held.length === 3) void env.runLog.requestControl(runId, 'resume', alice());
          }
        },
      },
    );

    expect(result.output).toMatchObject({ outcome: 'promoted' });
    expect(held.length).toBeGreaterThanOrEqual(3);
    const analyses = (await env.runLog.listEvents(result.runId)).filter((e) => e.type === 'analysis');
    expect(analyses.find((e) => e.decision?.reason.kind === 'paused')?.message).toMatch(/holding: paused by alice at \S+; `canary resume /);
    // Held at step 0 for more intervals than its 2-interval hold.
    expect(analyses.filter((e) => e.stepIndex === 0).length).toBeGreaterThan(4);
  });

  it('an approval gate holds until approved, then moves on', async () => {
    // An hour's approval wait at 1 s intervals would outgrow Step Functions' history: the budget refuses it, so a minute.
    const plan = { ...PLAN, steps: [{ weight: 20, holdSeconds: 2 }, { weight: 50, holdSeconds: 2, approval: true }, { weight: 100 }], approvals: { timeoutSeconds: 60 } };
    const svc = await env.addService('gate-api', { plan });
    let approved = false;
    const result = await env.run(
      { service: svc.name, image: IMAGE },
      {
        onStateEntered: (state, input) => {
          const { run, cursor } = input as { run: { runId: string }; cursor: { decision?: { reason: { kind: string } } } };
          if (state === 'WaitInterval' && cursor.decision?.reason.kind === 'awaiting-approval' && !approved) {
            approved = true;
            void env.runLog.requestControl(run.runId, 'approve', alice(), { step: 1 });
          }
        },
      },
    );

    expect(approved).toBe(true);
    expect(result.output).toMatchObject({ outcome: 'promoted' });
    const waiting = (await env.runLog.listEvents(result.runId)).find((e) => e.decision?.reason.kind === 'awaiting-approval');
    expect(waiting?.message).toMatch(/waiting for approval to go to step 1 \(50%\) \(`canary approve \S+`; rolls back in \d+ s\)$/);
    expect((await env.runLog.getControl(result.runId))?.approvals?.['1']).toMatchObject({ by: 'alice' });
  });

  it('an approval that never comes rolls back after the timeout', async () => {
    const svc = await env.addService('timeout-api', { plan: { ...PLAN, steps: [{ weight: 20, holdSeconds: 2 }, { weight: 100, approval: true }], approvals: { timeoutSeconds: 3 } } });

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result.error).toBe('CanaryRolledBack');
    expect(result.cause).toBe('no approval to promote within 3 s');
    expect(svc.canaryShare()).toBe(0);
  });

  it('a control for a run that ended is refused, naming how it ended', async () => {
    const svc = await env.addService('done-api', { plan: { ...PLAN, steps: [{ weight: 20, holdSeconds: 1 }, { weight: 100 }] } });
    const { runId } = await env.run({ service: svc.name, image: IMAGE });

    const refused = env.runLog.requestControl(runId, 'abort', alice());

    await expect(refused).rejects.toThrow(RunNotRunningError);
    await expect(refused).rejects.toThrow(`run ${runId} has already ended (promoted)`);
    await expect(env.runLog.requestControl('no-such-run', 'pause', alice())).rejects.toThrow('there is no run no-such-run');
  });
});

describe('safety net', () => {
  it('an execution stopped mid-step ends with 100% on stable and a record saying so', async () => {
    const svc = await env.addService('stopped-api', { plan: PLAN });
    const stop = new AbortController();
    const input = { service: svc.name, image: IMAGE };
    const result = await env.run(input, { signal: stop.signal, onStateEntered: (state) => state === 'Analyze' && stop.abort() });
    expect(result.status).toBe('ABORTED');
    expect(svc.canaryShare()).toBe(20);

    const first = await safetyNet(statusChangeEvent(result, input));

    expect(first).toMatchObject({ action: 'restored-stable', detail: 'execution ABORTED: traffic restored to stable (canary was at 20%)' });
    expect(svc.canaryShare()).toBe(0);
    expect(await env.runLog.getRun(result.runId)).toMatchObject({ outcome: 'aborted', reason: 'execution ABORTED: traffic restored to stable (canary was at 20%)' });
    expect(await env.runLog.getLock(svc.name)).toBeUndefined();
    // EventBridge may deliver twice: the second finds the run ended.
    expect(await safetyNet(statusChangeEvent(result, input))).toMatchObject({ action: 'none', detail: 'the run had already ended aborted' });
  });

  it('does nothing for a run that ended through the workflow (a rollback fails the execution on purpose)', async () => {
    const svc = await env.addService('failed-ok-api', { plan: PLAN });
    svc.traffic.setProfile('canary', { errorRate: 0.2, latencySeconds: { p50: 0.02, p99: 0.1 } });
    const input = { service: svc.name, image: IMAGE };
    const result = await env.run(input);
    expect(result.error).toBe('CanaryRolledBack');

    expect(await safetyNet(statusChangeEvent(result, input))).toMatchObject({ action: 'none', detail: 'the run had already ended rolled_back' });
  });

  it('does nothing for a run refused at start', async () => {
    const input = { service: 'unregistered-api', image: IMAGE };
    const result = await env.run(input);
    expect(await safetyNet(statusChangeEvent(result, input))).toMatchObject({ action: 'none' });
  });
});
