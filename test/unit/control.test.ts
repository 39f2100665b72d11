import { applyOperatorControl, controlGate, isPaused, type RunControl } from '../../lambdas/domain/control';
import { decide, initialCursor, type Cursor } from '../../lambdas/domain/decision';
import type { Measurement } from '../../lambdas/domain/judge';
import { resolvePlan } from '../../lambdas/domain/plan';

const plan = resolvePlan({
  steps: [{ weight: 10, holdSeconds: 60 }, { weight: 50, holdSeconds: 60, approval: true }, { weight: 100, approval: true }],
  checks: [{ name: 'error-rate' }],
  approvals: { timeoutSeconds: 600 },
});
const pass: Measurement = { check: 'error-rate', verdict: 'pass', value: 0.001, samples: 500, max: 0.01, detail: '' };
const fail: Measurement = { ...pass, verdict: 'fail', value: 0.05 };
const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 10, minute)).toISOString();
const alice = { by: 'alice', at: at(0) };

function analyse(cursor: Cursor, m: Measurement, control: RunControl | undefined, now: string, dryRun = false) {
  const judged = decide(plan, cursor, [m], { now, dryRun, gate: controlGate(plan, control, 'run-1', now) });
  return applyOperatorControl(plan, judged, control, { dryRun });
}

const atStep = (stepIndex: number, extra: Partial<Cursor> = {}): Cursor => ({ ...initialCursor(plan), stepIndex, weight: plan.steps[stepIndex].weight, ...extra });

describe('operator controls', () => {
  it('pause is the latest of pause and resume', () => {
    expect(isPaused({ pause: { by: 'a', at: at(1) } })).toBe(true);
    expect(isPaused({ pause: { by: 'a', at: at(1) }, resume: { by: 'b', at: at(2) } })).toBe(false);
    expect(isPaused({ pause: { by: 'a', at: at(3) }, resume: { by: 'b', at: at(2) } })).toBe(true);
    expect(isPaused(undefined)).toBe(false);
  });

  it('a pause holds a completed step, and judging still rolls back a breach while paused', () => {
    const paused = analyse(atStep(0), pass, { pause: alice }, at(1));
    expect(paused.decision).toMatchObject({ action: 'continue', reason: { kind: 'paused' } });
    expect(paused.cursor).toMatchObject({ stepIndex: 0, heldSince: at(1) });

    const again = analyse(paused.cursor, fail, { pause: alice }, at(2));
    expect(analyse(again.cursor, fail, { pause: alice }, at(3)).decision.action).toBe('rollback');
  });

  it('an approval step waits, proceeds once approved, and times out into a rollback', () => {
    const waiting = analyse(atStep(0), pass, undefined, at(1));
    expect(waiting.decision).toMatchObject({ action: 'continue', reason: { kind: 'awaiting-approval' } });
    expect(waiting.decision.reason.message).toContain('waiting for approval to go to step 1 (50%) (`canary approve run-1`; rolls back in 600 s)');

    expect(analyse(waiting.cursor, pass, { approvals: { '1': alice } }, at(2)).decision.action).toBe('advance');
    expect(analyse(waiting.cursor, pass, undefined, at(11)).decision).toMatchObject({ action: 'rollback', reason: { kind: 'approval-timeout', message: 'no approval to go to step 1 (50%) within 600 s' } });
  });

  it('an approval clock runs on through a failing interval: it does not restart the wait', () => {
    const waiting = analyse(atStep(0), pass, undefined, at(1));
    const failed = analyse(waiting.cursor, fail, undefined, at(6));
    expect(failed.decision.action).toBe('continue');
    expect(failed.cursor.heldSince).toBe(at(1));
    // 10 minutes after the gate first held, not after the failure.
    expect(analyse(failed.cursor, pass, undefined, at(11)).decision).toMatchObject({ action: 'rollback', reason: { kind: 'approval-timeout' } });
  });

  it('a pause holds at most approvals.timeoutSeconds, then rolls back and says why', () => {
    const held = analyse(atStep(0), pass, { pause: alice }, at(5));
    expect(held.decision.reason.message).toContain('(rolls back in 300 s)');
    expect(analyse(held.cursor, pass, { pause: alice }, at(10)).decision).toMatchObject({
      action: 'rollback',
      reason: { kind: 'pause-timeout', message: `paused by alice at ${at(0)} for longer than approvals.timeoutSeconds (600 s) without a resume` },
    });
  });

  it('an approval on the last step gates promotion', () => {
    expect(analyse(atStep(1), pass, { approvals: { '1': alice } }, at(1)).decision.reason.message).toContain('waiting for approval to promote');
    expect(analyse(atStep(1), pass, { approvals: { '2': alice } }, at(1)).decision.action).toBe('promote');
  });

  it('abort wins over everything but a breach the judging already decided', () => {
    expect(analyse(atStep(0), pass, { abort: { ...alice, reason: 'bad build' } }, at(1)).decision).toMatchObject({ action: 'rollback', reason: { kind: 'operator-abort', message: `aborted by alice at ${at(0)} (bad build)` } });
    const breach = analyse(atStep(0, { consecutiveFailures: 1 }), fail, { abort: alice }, at(1));
    expect(breach.decision.reason.kind).toBe('consecutive-failures');
  });

  it('promote now skips steps and gates, waits out a failing interval, and only ends a dry run', () => {
    expect(analyse(atStep(0), pass, { promote: alice }, at(1)).decision).toMatchObject({ action: 'promote', reason: { kind: 'operator-promote', message: `promoted now by alice at ${at(0)}, skipping 2 steps` } });
    expect(analyse(atStep(0), fail, { promote: alice }, at(1)).decision.action).toBe('continue');
    expect(analyse(atStep(0), pass, { promote: alice }, at(1), true).decision).toMatchObject({ action: 'rollback', reason: { kind: 'dry-run-complete' } });
  });

  it('the decision on the cursor is the one after the controls', () => {
    const result = analyse(atStep(0), pass, { abort: alice }, at(1));
    expect(result.cursor.decision).toEqual(result.decision);
  });
});

describe('time to rollback of an abort', () => {
  it('runs from the abort request when nothing was wrong before it', () => {
    expect(analyse(atStep(0), pass, { abort: { by: 'alice', at: at(0) } }, at(1)).cursor.troubleSince).toBe(at(0));
    const troubled = analyse(atStep(0, { troubleSince: '2026-11-22T09:00:00.000Z' }), fail, { abort: { by: 'alice', at: at(0) } }, at(1));
    expect(troubled.cursor.troubleSince).toBe('2026-11-22T09:00:00.000Z');
  });
});
