import { decide, initialCursor, type Cursor, type Decision } from '../../lambdas/domain/decision';
import type { Measurement, Verdict } from '../../lambdas/domain/judge';
import { resolvePlan, type Plan } from '../../lambdas/domain/plan';
import { rollbackWeights } from '../../lambdas/domain/schedule';

// A short plan: 10% for 2 intervals, 50% for 1 interval, then 100%.
const plan: Plan = resolvePlan({
  steps: [{ weight: 10, holdSeconds: 120 }, { weight: 50, holdSeconds: 60 }, { weight: 100 }],
  checks: [{ name: 'error-rate' }],
});

const measurement = (verdict: Verdict, value: number | null = verdict === 'fail' ? 0.061 : 0.001): Measurement => ({
  check: 'error-rate',
  verdict,
  value: verdict === 'error' || verdict === 'no-data' ? null : value,
  samples: verdict === 'no-data' ? 3 : 600,
  max: 0.01,
  detail: `error-rate ${verdict}`,
});

const NOW = '2026-11-22T10:00:00.000Z';

/** Runs a sequence of interval verdicts from the first step; returns every decision and the final cursor. */
function run(verdicts: Verdict[], options: { plan?: Plan; dryRun?: boolean; from?: Partial<Cursor> } = {}) {
  const p = options.plan ?? plan;
  let cursor: Cursor = { ...initialCursor(p), weight: p.steps[0].weight, ...options.from };
  const decisions: Decision[] = [];
  for (const [i, verdict] of verdicts.entries()) {
    const now = new Date(Date.parse(NOW) + i * 60_000).toISOString();
    const result = decide(p, cursor, [measurement(verdict)], { now, dryRun: options.dryRun });
    decisions.push(result.decision);
    cursor = result.cursor;
    if (result.decision.action === 'advance') cursor = { ...cursor, weight: p.steps[cursor.stepIndex].weight };
    if (result.decision.action === 'rollback' || result.decision.action === 'promote') break;
  }
  return { decisions, actions: decisions.map((d) => d.action), cursor };
}

describe('decide', () => {
  it.each<[string, Verdict[], string[]]>([
    ['a healthy run advances after each hold and promotes', ['pass', 'pass', 'pass'], ['continue', 'advance', 'promote']],
    ['one noisy breach never rolls back (consecutiveFailureLimit 2)', ['pass', 'fail', 'pass', 'pass'], ['continue', 'continue', 'advance', 'promote']],
    ['two breaches in a row roll back', ['fail', 'fail'], ['continue', 'rollback']],
    ['no data between two breaches does not break the streak', ['fail', 'no-data', 'fail'], ['continue', 'continue', 'rollback']],
    ['a failed interval does not count toward the hold', ['fail', 'pass', 'pass'], ['continue', 'continue', 'advance']],
    ['no data holds: the hold does not advance on it', ['no-data', 'no-data', 'pass', 'pass'], ['continue', 'continue', 'continue', 'advance']],
    ['no data past noDataLimit (5) fails the run', ['no-data', 'no-data', 'no-data', 'no-data', 'no-data'], ['continue', 'continue', 'continue', 'continue', 'rollback']],
    ['query errors past errorLimit (4) roll back', ['error', 'error', 'error', 'error'], ['continue', 'continue', 'continue', 'rollback']],
    ['a pass resets the error streak', ['error', 'error', 'error', 'pass', 'error', 'error', 'error'], ['continue', 'continue', 'continue', 'continue', 'continue', 'continue', 'continue']],
    ['data (a fail) resets the no-data streak', ['no-data', 'no-data', 'no-data', 'no-data', 'fail', 'no-data'], ['continue', 'continue', 'continue', 'continue', 'continue', 'continue']],
  ])('%s', (_name, verdicts, expected) => {
    expect(run(verdicts).actions).toEqual(expected);
  });

  it('rolls back on the cumulative failureLimit even without consecutive failures', () => {
    const strict = resolvePlan({ steps: [{ weight: 10, holdSeconds: 600 }, { weight: 100 }], checks: [{ name: 'error-rate' }], analysis: { failureLimit: 3 } });
    const { actions, decisions } = run(['fail', 'pass', 'fail', 'pass', 'fail'], { plan: strict });
    expect(actions).toEqual(['continue', 'continue', 'continue', 'continue', 'rollback']);
    expect(decisions.at(-1)!.reason.kind).toBe('failure-limit');
  });

  it('says which check, what value, what threshold and which stage when it rolls back', () => {
    const { decisions } = run(['fail', 'fail']);
    expect(decisions.at(-1)).toEqual({
      action: 'rollback',
      reason: {
        kind: 'consecutive-failures',
        stepIndex: 0,
        weight: 10,
        verdict: 'fail',
        check: 'error-rate',
        value: 0.061,
        max: 0.01,
        message: 'error-rate 0.061 outside ≤ 0.01 for 2 intervals in a row at step 0 (10%)',
      },
    });
  });

  it('marks when trouble began and clears it after a pass', () => {
    const troubled = run(['pass', 'no-data', 'fail']).cursor;
    expect(troubled.troubleSince).toBe('2026-11-22T10:01:00.000Z');
    expect(run(['fail', 'pass']).cursor.troubleSince).toBeUndefined();
  });

  it('keeps the decision on the cursor and moves the event sequence on', () => {
    const { cursor } = run(['pass']);
    expect(cursor.decision?.action).toBe('continue');
    expect(cursor.seq).toBe(2);
    expect(cursor.waitSeconds).toBe(60);
  });

  it('advances the step and resets the step counters', () => {
    const { cursor } = run(['pass', 'pass']);
    expect(cursor).toMatchObject({ stepIndex: 1, passedIntervals: 0, stepAnalyses: 0, analyses: 2 });
  });

  it('with a hold on the last step, shifts to 100% and promotes after that hold', () => {
    const bake = resolvePlan({ steps: [{ weight: 10, holdSeconds: 60 }, { weight: 100, holdSeconds: 120 }], checks: [{ name: 'error-rate' }] });
    expect(run(['pass', 'pass', 'pass'], { plan: bake }).actions).toEqual(['advance', 'continue', 'promote']);
  });

  it('a dry run restores stable where a real run would promote', () => {
    const { decisions } = run(['pass', 'pass', 'pass'], { dryRun: true });
    expect(decisions.at(-1)).toMatchObject({ action: 'rollback', reason: { kind: 'dry-run-complete' } });
  });

  it('a dry run still rolls back on a breach like a real run', () => {
    expect(run(['fail', 'fail'], { dryRun: true }).decisions.at(-1)!.reason.kind).toBe('consecutive-failures');
  });

  it('is pure: the same cursor and measurements decide the same (a retried Analyze)', () => {
    const cursor = { ...initialCursor(plan), weight: 10 };
    const a = decide(plan, cursor, [measurement('fail')], { now: NOW });
    const b = decide(plan, cursor, [measurement('fail')], { now: NOW });
    expect(a).toEqual(b);
  });
});

describe('rollbackWeights', () => {
  it('immediate goes straight to 0', () => {
    expect(rollbackWeights(plan, 50)).toEqual([0]);
  });
  it('gradual steps down the plan weights below the current one, then 0', () => {
    const gradual = resolvePlan({ ...{ steps: [{ weight: 5, holdSeconds: 60 }, { weight: 25, holdSeconds: 60 }, { weight: 50, holdSeconds: 60 }, { weight: 100 }] }, rollback: { mode: 'gradual' } });
    expect(rollbackWeights(gradual, 50)).toEqual([25, 5, 0]);
    expect(rollbackWeights(gradual, 5)).toEqual([0]);
  });
});

describe('rollback reasons of the data limits', () => {
  it('name the check but no threshold: nothing was measured against one', () => {
    const { decisions } = run(['no-data', 'no-data', 'no-data', 'no-data', 'no-data']);
    const reason = decisions.at(-1)!.reason;
    expect(reason).toMatchObject({ kind: 'no-data-limit', check: 'error-rate', value: null });
    expect(reason.max).toBeUndefined();
    expect(run(['error', 'error', 'error', 'error']).decisions.at(-1)!.reason.max).toBeUndefined();
  });
});

describe('decide: nothing promotes unjudged', () => {
  it('an interval with no measurement never counts toward a hold: the run holds, then fails closed at noDataLimit', () => {
    let cursor: Cursor = { ...initialCursor(plan), weight: 10 };
    const actions: string[] = [];
    for (let i = 0; i < plan.analysis.noDataLimit; i++) {
      const result = decide(plan, cursor, [], { now: new Date(Date.parse(NOW) + i * 60_000).toISOString() });
      actions.push(result.decision.action);
      cursor = result.cursor;
    }
    expect(actions).toEqual([...Array<string>(plan.analysis.noDataLimit - 1).fill('continue'), 'rollback']);
    expect(cursor.passedIntervals).toBe(0);
    expect(cursor.decision?.reason).toMatchObject({ kind: 'no-data-limit', verdict: 'no-data' });
    expect(cursor.decision?.reason.message).toMatch(/no check was measured/);
  });
});
