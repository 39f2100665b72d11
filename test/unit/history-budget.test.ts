import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';
import {
  ASL_RETRY_ATTEMPTS,
  formatCount,
  HISTORY_EVENT_LIMIT,
  historyBudgetIssues,
  worstCaseHistory,
  worstCaseIntervals,
} from '../../lambdas/domain/history-budget';
import { resolvePlan } from '../../lambdas/domain/plan';
import type { WorkloadConfig } from '../../lambdas/domain/service-config';

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Retry?: readonly { readonly MaxAttempts?: number }[];
  readonly Choices?: readonly { readonly StringEquals?: string; readonly Next: string }[];
}
const asl = JSON.parse(readFileSync(resolve(__dirname, '../../statemachine/canary.asl.json'), 'utf8')) as { States: Record<string, AslState> };

const NONE: WorkloadConfig = { kind: 'none' };
const ECS: WorkloadConfig = { kind: 'ecs', cluster: 'c', stableService: 's', canaryService: 'k', readyTimeoutSeconds: 900, pollSeconds: 15 };

describe('the history model follows the ASL', () => {
  it('counts the Retry attempts of every Task state as the file declares them (MaxAttempts default 3)', () => {
    const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');
    const attempts = Object.fromEntries(tasks.map(([name, s]) => [name, (s.Retry ?? []).reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0)]));
    expect(attempts).toEqual(ASL_RETRY_ATTEMPTS);
  });

  it('walks the loops it counts: SetWeight → WaitInterval → Analyze → Decide, and a Task, Choice, Wait per poll', () => {
    const s = asl.States;
    expect([s.SetWeight.Next, s.WaitInterval.Type, s.WaitInterval.Next, s.Analyze.Next, s.Decide.Type]).toEqual(['WaitInterval', 'Wait', 'Analyze', 'Decide', 'Choice']);
    expect(Object.fromEntries((s.Decide.Choices ?? []).map((c) => [c.StringEquals, c.Next]))).toEqual({ continue: 'WaitInterval', advance: 'SetWeight', promote: 'Promote' });
    for (const [task, progress, wait] of [
      ['Prepare', 'PrepareProgress', 'PrepareWait'],
      ['Promote', 'PromoteProgress', 'PromoteWait'],
      ['Rollback', 'RollbackProgress', 'RollbackHold'],
    ]) {
      expect([s[task].Next, s[progress].Type, s[progress].Default, s[wait].Type, s[wait].Next]).toEqual([progress, 'Choice', wait, 'Wait', task]);
    }
  });
});

describe('worstCaseHistory', () => {
  it('counts the default plan: 61 intervals, a pause, the record retries: 1,734 events', () => {
    // Step 0: 5 intervals of hold + 1 failure, 4 empty and 3 erroring intervals under their limits = 13.
    // Step 1 (the hold before promotion): 10 + 8 + 30 intervals of power hold = 48.
    expect(worstCaseIntervals(resolvePlan())).toEqual([13, 48]);
    const estimate = worstCaseHistory(resolvePlan(), NONE);
    expect(estimate.parts).toEqual([
      { what: 'start', events: 7 },
      { what: 'steps (61 intervals over 2 steps)', events: 2 * 5 + 61 * 9 },
      // One pause up to approvals.timeoutSeconds (3,600 s at 60 s intervals, and the interval it starts in).
      { what: 'a pause (61 intervals)', events: 61 * 9 },
      { what: 'promotion (1 call)', events: 7 },
      { what: 'rollback (1 call)', events: 7 },
      // Finish and Recorded, then 39 × (RecordLater, Finish, Recorded) while the table refuses the records, and the end.
      { what: 'finish (40 calls)', events: 7 + 39 * 9 + 4 },
      // Every Retry once (8 + 11 + 8 + 11 + 15 + 11 = 64 attempts) and one per ten of the 166 loop calls (17), 3 events each.
      { what: 'retries', events: (64 + 17) * 3 },
    ]);
    expect(estimate.events).toBe(1734);
    expect(estimate.limit).toBe(HISTORY_EVENT_LIMIT);
  });

  it('adds the wait of each approval gate: timeoutSeconds / intervalSeconds intervals, at the step before it', () => {
    const gated = resolvePlan({ steps: [{ weight: 5, holdSeconds: 300 }, { weight: 25, holdSeconds: 600, approval: true }, { weight: 100, approval: true }] });
    expect(worstCaseIntervals(gated)).toEqual([13 + 61, 48 + 61]);
  });

  it('holds for power at every step with every-step, and nowhere without a sequential check', () => {
    expect(worstCaseIntervals(resolvePlan({ analysis: { powerHold: 'every-step' } }))).toEqual([13 + 30, 48]);
    expect(worstCaseIntervals(resolvePlan({ checks: THRESHOLD_CHECKS }))).toEqual([13, 18]);
  });

  it('analyses a bake at 100% and holds for power there', () => {
    expect(worstCaseIntervals(resolvePlan({ steps: [{ weight: 5, holdSeconds: 60 }, { weight: 100, holdSeconds: 120 }] }))).toEqual([1 + 8, 2 + 8 + 30]);
  });

  it('polls a workload to its deadline in Prepare, in the promotion and twice in the rollback that follows', () => {
    const estimate = worstCaseHistory(resolvePlan(), ECS);
    const polls = 900 / 15 + 1;
    expect(estimate.parts.find((p) => p.what.startsWith('prepare'))).toEqual({ what: `prepare (${polls} polls)`, events: polls * 7 + (polls - 1) * 2 });
    expect(estimate.parts.find((p) => p.what.startsWith('promotion'))).toEqual({ what: `promotion (${polls + 1} calls)`, events: (polls + 1) * 7 + polls * 2 });
    expect(estimate.parts.find((p) => p.what.startsWith('rollback'))).toEqual({ what: `rollback (${2 * polls + 1} calls)`, events: (2 * polls + 1) * 7 + 2 * polls * 2 });
  });

  it('steps a gradual rollback down every lower weight', () => {
    const gradual = worstCaseHistory(resolvePlan({ rollback: { mode: 'gradual', stepHoldSeconds: 3600 } }), NONE);
    // 25 → 5 → 0: three calls, whatever each hold lasts (a Wait state is two events, however long).
    expect(gradual.parts.find((p) => p.what.startsWith('rollback'))).toEqual({ what: 'rollback (3 calls)', events: 3 * 7 + 2 * 2 });
  });
});

describe('historyBudgetIssues', () => {
  it('passes the default plan and a day-long hold at a minute interval', () => {
    expect(historyBudgetIssues(resolvePlan(), ECS)).toEqual([]);
    expect(historyBudgetIssues(resolvePlan({ steps: [{ weight: 5, holdSeconds: 86_400 }, { weight: 100 }] }), ECS)).toEqual([]);
  });

  it('refuses two day-long holds at a minute interval, with the numbers and what to change', () => {
    const plan = resolvePlan({ steps: [{ weight: 5, holdSeconds: 86_400 }, { weight: 10, holdSeconds: 86_400 }, { weight: 100 }] });
    const { events } = worstCaseHistory(plan, NONE);
    expect(events).toBeGreaterThan(HISTORY_EVENT_LIMIT);
    expect(historyBudgetIssues(plan, NONE)).toEqual([
      {
        field: 'plan',
        message: expect.stringMatching(
          new RegExp(`^the worst case of this plan is ${formatCount(events)} history events, above the 25,000 Step Functions allows \\(start 7, steps \\(2,926 intervals over 2 steps\\) 26,344, .*\\); shorten holds`),
        ),
      },
    ]);
  });

  it('refuses an approval that could wait a day at one-second intervals', () => {
    const plan = resolvePlan({ analysis: { intervalSeconds: 1 }, steps: [{ weight: 5, holdSeconds: 10 }, { weight: 100, approval: true }], approvals: { timeoutSeconds: 86_400 } });
    expect(historyBudgetIssues(plan, NONE, 'service.plan')[0]?.field).toBe('service.plan');
  });

  it('formats counts with thousands separators', () => {
    expect([formatCount(7), formatCount(25_000), formatCount(1_234_567)]).toEqual(['7', '25,000', '1,234,567']);
  });
});
