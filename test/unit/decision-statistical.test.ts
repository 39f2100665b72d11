import { decide, initialCursor, type Cursor, type Decision } from '../../lambdas/domain/decision';
import type { Measurement } from '../../lambdas/domain/judge';
import { resolvePlan, type Plan } from '../../lambdas/domain/plan';
import { judgeChecks, type MeasuredCounts } from '../../lambdas/domain/statistics';

// decide() with the statistical judge: each interval's counts go through judgeChecks (what the analyze step calls),
// its measurements and state through decide. Default checks; 60 s intervals, holds of 2 intervals at 5% and 25%.

const PLAN = resolvePlan({ steps: [{ weight: 5, holdSeconds: 120 }, { weight: 25, holdSeconds: 120 }, { weight: 100 }] });

/** One interval's counts: [requests, errors, slow above 0.5 s] of canary and stable. */
const counts = (canary: readonly [number, number, number], stable: readonly [number, number, number]): MeasuredCounts => ({
  canary: { requests: canary[0], errors: canary[1], slow: { '0.5': canary[2] } },
  stable: { requests: stable[0], errors: stable[1], slow: { '0.5': stable[2] } },
});

const HEALTHY_HIGH = counts([2000, 10, 4], [38000, 190, 76]);

interface Step {
  readonly decision: Decision;
  readonly cursor: Cursor;
  readonly measurements: Measurement[];
}

/** Runs intervals through judgeChecks and decide, following advances as SetWeight does; stops at rollback or promotion. */
function run(intervals: readonly MeasuredCounts[], plan: Plan = PLAN): Step[] {
  let cursor: Cursor = { ...initialCursor(plan), weight: plan.steps[0].weight };
  const steps: Step[] = [];
  for (const [i, interval] of intervals.entries()) {
    const judged = judgeChecks(plan, plan.checks, cursor.statistics, { counts: { kind: 'counts', counts: interval }, queries: {} }, cursor.weight);
    const result = decide(plan, { ...cursor, statistics: judged.statistics }, judged.measurements, { now: new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString() });
    steps.push({ ...result, measurements: judged.measurements });
    cursor = result.decision.action === 'advance' ? { ...result.cursor, weight: plan.steps[result.cursor.stepIndex].weight } : result.cursor;
    if (result.decision.action === 'rollback' || result.decision.action === 'promote') break;
  }
  return steps;
}

const actions = (steps: readonly Step[]) => steps.map((s) => s.decision.action);
const repeat = <T>(n: number, item: T): T[] => Array.from({ length: n }, () => item);

describe('decide with statistical measurements: immediate rollbacks', () => {
  it('rolls back at once when a sequential check proves the canary worse, naming metric, numbers, threshold and evidence', () => {
    // Prepare: 4% errors on the canary against 0.5% on stable, 2,000 canary requests per interval.
    const bad = counts([2000, 80, 4], [38000, 190, 76]);

    // Act
    const steps = run([bad, bad, bad]);

    // Assess: the first interval alone never suffices (a blip is not a regression); the second does.
    expect(actions(steps)).toEqual(['continue', 'rollback']);
    const { reason } = steps[1].decision;
    expect(reason).toMatchObject({ kind: 'sequential-breach', verdict: 'fail', stepIndex: 0, weight: 5, check: 'error-rate', value: 0.04, max: 0.0075 });
    expect(reason.message).toMatch(/^error-rate: canary 4% vs stable 0\.5% over 4,000 requests \(ratio 8 > 1\.5, evidence 10\^[\d.]+ ≥ 278\) at step 0 \(5%\)$/);
  });

  it('aborts at the first interval when one interval proves the canary far above the SLO', () => {
    const steps = run([counts([2000, 600, 4], [38000, 190, 76])]);

    expect(actions(steps)).toEqual(['rollback']);
    expect(steps[0].decision.reason).toMatchObject({ kind: 'fast-abort', check: 'error-rate', value: 0.3 });
    expect(steps[0].decision.reason.message).toMatch(/^fast abort: error-rate: canary 30% of 2,000 requests this interval, proven above 5 × the SLO 1% \(evidence 10\^[\d.]+ ≥ 2,500\) at step 0 \(5%\)$/);
  });

  it('rolls back on the stable guard after three intervals of a stable-only storm, the canary passing', () => {
    const steps = run(repeat(4, counts([2000, 10, 4], [38000, 1900, 76])));

    expect(actions(steps)).toEqual(['continue', 'advance', 'rollback']);
    const last = steps[2];
    expect(last.decision.reason).toMatchObject({ kind: 'stable-guard', check: 'stable-error-rate', value: 0.05, max: 0.01 });
    expect(last.decision.reason.message).toMatch(
      /^stable guard: stable-error-rate: stable 5% over the last 3 intervals \(114,000 requests\), above its bound 1% in each \(evidence 10\^[\d.]+ ≥ 7,998\) at step 1 \(25%\)$/,
    );
    expect(last.measurements.find((m) => m.check === 'error-rate')?.verdict).toBe('pass');
  });

  it('prefers the fast abort to a breach, and a breach to the guard, when several are due', () => {
    const steps = run([counts([2000, 600, 4], [38000, 1900, 76])]);
    expect(steps[0].decision.reason.kind).toBe('fast-abort');
  });

  it('rides out one bad canary interval (a cold start) and promotes', () => {
    const blip = counts([2000, 60, 4], [38000, 190, 76]);
    expect(actions(run([HEALTHY_HIGH, blip, ...repeat(4, HEALTHY_HIGH)]))).toEqual(['continue', 'advance', 'continue', 'promote']);
  });
});

describe('decide with statistical measurements: the power hold', () => {
  // 20 canary requests a minute without errors: a canary at 1.75× the SLO is ruled out only after some 300 requests.
  const quiet = counts([20, 0, 0], [380, 2, 2]);

  it('holds the last step past its hold until the data could detect 1.75× the SLO, saying why, then promotes', () => {
    const steps = run(repeat(40, quiet));

    const held = steps.filter((s) => s.decision.reason.kind === 'underpowered');
    expect(held.length).toBeGreaterThanOrEqual(5);
    expect(held[0].decision.reason).toMatchObject({ stepIndex: 1, weight: 25, check: 'error-rate', verdict: 'pass', max: 0.0175 });
    expect(held[0].decision.reason.value).toBeGreaterThan(0.0175);
    expect(held[0].decision.reason.message).toMatch(
      /^all checks passed, but the data cannot yet detect the regression to guard against: error-rate: a canary at 1.75% is not yet ruled out \(upper bound [\d.]+%\) after 80 canary requests; latency-p99: .*; holding \(1\/30\) at step 1 \(25%\)$/,
    );
    expect(held.map((s) => s.cursor.underpoweredIntervals)).toEqual(held.map((_s, i) => i + 1));
    const last = steps.at(-1)!;
    expect(last.decision).toMatchObject({ action: 'promote', reason: { kind: 'hold-complete' } });
    expect(last.cursor.underpoweredIntervals).toBeUndefined();
  });

  it('by default passes the earlier steps on "no breach": the data then accrue at the larger weight', () => {
    expect(actions(run(repeat(2, quiet)))).toEqual(['continue', 'advance']);
  });

  it('with powerHold every-step, holds the first step too', () => {
    const everyStep = resolvePlan({ ...{ steps: PLAN.steps }, analysis: { powerHold: 'every-step' } });
    const steps = run(repeat(3, quiet), everyStep);
    expect(steps.map((s) => s.decision.reason.kind)).toEqual(['holding', 'underpowered', 'underpowered']);
    expect(steps.every((s) => s.cursor.stepIndex === 0)).toBe(true);
  });

  it('fails closed after underpoweredLimit intervals without enough data, like noDataLimit', () => {
    const strict = resolvePlan({ steps: PLAN.steps, analysis: { underpoweredLimit: 3 } });

    const steps = run(repeat(10, quiet), strict);

    expect(steps.map((s) => s.decision.reason.kind)).toEqual(['holding', 'hold-complete', 'holding', 'underpowered', 'underpowered', 'underpowered-limit']);
    const { reason } = steps.at(-1)!.decision;
    expect(reason).toMatchObject({ check: 'error-rate', stepIndex: 1, weight: 25, max: 0.0175 });
    expect(reason.message).toMatch(/^too little data to pass: held 3 intervals past the hold \(underpoweredLimit 3\) at step 1 \(25%\): error-rate: a canary at 1.75% is not yet ruled out/);
  });

  it('counts a no-data interval during the power hold toward its limit, and says so', () => {
    const strict = resolvePlan({ steps: PLAN.steps, analysis: { underpoweredLimit: 3 } });
    const dark = counts([0, 0, 0], [200, 1, 1]);

    const steps = run([quiet, quiet, quiet, quiet, dark, quiet], strict);

    expect(steps[4].decision.reason).toMatchObject({ kind: 'holding', verdict: 'no-data' });
    expect(steps[4].decision.reason.message).toMatch(/; holding for data \(2\/3\)$/);
    expect(steps[5].decision.reason.kind).toBe('underpowered-limit');
  });
});

describe('decide with statistical measurements: the other rules hold as before', () => {
  it('a canary that serves nothing is no data, and past noDataLimit rolls back', () => {
    const steps = run(repeat(6, counts([0, 0, 0], [40000, 200, 80])));
    expect(actions(steps)).toEqual(['continue', 'continue', 'continue', 'continue', 'rollback']);
    expect(steps.at(-1)!.decision.reason.message).toMatch(/^no data for 5 intervals in a row \(noDataLimit 5\) at step 0 \(5%\): no data: the canary served no requests this interval/);
  });

  it('failed count queries are errors, and past errorLimit roll back, without moving the statistics on', () => {
    let cursor: Cursor = { ...initialCursor(PLAN), weight: 5 };
    const decisions: Decision[] = [];
    for (let i = 0; i < 4; i++) {
      const judged = judgeChecks(PLAN, PLAN.checks, cursor.statistics, { counts: { kind: 'error', message: 'cannot reach http://prometheus:9090' }, queries: {} });
      expect(judged.measurements.every((m) => m.verdict === 'error' && m.detail === 'query failed: cannot reach http://prometheus:9090')).toBe(true);
      const result = decide(PLAN, { ...cursor, statistics: judged.statistics }, judged.measurements, { now: new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString() });
      decisions.push(result.decision);
      cursor = result.cursor;
    }
    expect(decisions.map((d) => d.action)).toEqual(['continue', 'continue', 'continue', 'rollback']);
    expect(decisions[3].reason.kind).toBe('error-limit');
    expect(Object.values(cursor.statistics!).every((s) => s.intervals === 0)).toBe(true);
  });

  it('a gauge trend failing two intervals in a row rolls back with its own explanation', () => {
    const plan = resolvePlan({ steps: PLAN.steps, checks: [{ name: 'memory-bytes', max: 1000 }] });
    let cursor: Cursor = { ...initialCursor(plan), weight: 5 };
    const decisions: Decision[] = [];
    for (const [i, value] of [900, 1100, 1200].entries()) {
      const judged = judgeChecks(plan, plan.checks, cursor.statistics, { counts: { kind: 'counts', counts: HEALTHY_HIGH }, queries: { 'memory-bytes': { value: { kind: 'value', value } } } });
      const result = decide(plan, { ...cursor, statistics: judged.statistics }, judged.measurements, { now: new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString() });
      decisions.push(result.decision);
      cursor = result.cursor;
    }
    expect(decisions.map((d) => d.action)).toEqual(['continue', 'continue', 'rollback']);
    expect(decisions[2].reason).toMatchObject({ kind: 'consecutive-failures', check: 'memory-bytes', value: 1200, max: 1000 });
    expect(decisions[2].reason.message).toBe('memory-bytes: 1200 above max 1000 for 2 intervals in a row at step 0 (5%)');
  });

  it('is pure: the same cursor and counts decide the same (a retried Analyze)', () => {
    const cursor: Cursor = { ...initialCursor(PLAN), weight: 5 };
    const once = () => {
      const judged = judgeChecks(PLAN, PLAN.checks, cursor.statistics, { counts: { kind: 'counts', counts: HEALTHY_HIGH }, queries: {} });
      return decide(PLAN, { ...cursor, statistics: judged.statistics }, judged.measurements, { now: '2026-01-01T10:00:00.000Z' });
    };
    expect(once()).toEqual(once());
  });

  it('a bake at 100% promotes: with no stable traffic the stable guards have nothing to judge, not "no data"', () => {
    const bake = resolvePlan({ steps: [{ weight: 25, holdSeconds: 120 }, { weight: 100, holdSeconds: 120 }] });
    const full = counts([10000, 20, 40], [0, 0, 0]);

    const steps = run([HEALTHY_HIGH, HEALTHY_HIGH, full, full], bake);

    expect(actions(steps)).toEqual(['continue', 'advance', 'continue', 'promote']);
    expect(steps[2].measurements.find((m) => m.check === 'stable-error-rate')).toMatchObject({ verdict: 'pass', detail: 'not judged: at 100% the stable version serves no traffic' });
  });

  it('keeps the statistical state as small JSON in the cursor', () => {
    const [, second] = run([HEALTHY_HIGH, HEALTHY_HIGH]);
    const json = JSON.stringify(second.cursor.statistics);
    expect(JSON.parse(json)).toEqual(second.cursor.statistics);
    expect(json.length).toBeLessThan(4000);
  });
});
