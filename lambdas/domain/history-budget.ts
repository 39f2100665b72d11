import type { FieldIssue } from './errors';
import { finalStepIndex, holdIntervals, type Plan } from './plan';
import { RECORD_ATTEMPTS } from './schedule';
import type { WorkloadConfig } from './service-config';

/**
 * The worst-case execution history of a plan. A Standard execution fails once its history reaches 25,000 events
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Maximum execution history size"); the
 * safety net would then restore stable, but a run that could never have finished should be refused at Start.
 *
 * Events are counted as Step Functions writes them (HistoryEvent types,
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html): a Lambda Task state entered
 * once is TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded, TaskStateExited;
 * each retry attempt adds LambdaFunctionScheduled, LambdaFunctionStarted and LambdaFunctionFailed (or TimedOut); a Wait
 * or Choice state is entered and exited; the execution starts and ends.
 *
 * The worst case walks statemachine/canary.asl.json: Start, Prepare's polls (readyTimeoutSeconds / pollSeconds), every
 * interval of every hold (SetWeight, then WaitInterval → Analyze → Decide per interval), at each step one streak of
 * failed, empty and erroring intervals just under their limits, the power hold (underpoweredLimit intervals) where it
 * applies, each approval's wait (approvals.timeoutSeconds / intervalSeconds), a promotion that polls to its deadline
 * and fails, the rollback after it (restoring stable, every step down in gradual mode, the health gate), Finish, and
 * retries: every Retry of every Task state once, and one more attempt per ten loop calls.
 *
 * A pause holds at most approvals.timeoutSeconds (control.ts): one such pause is counted. Finish's RecordLater loop
 * (RECORD_ATTEMPTS calls while the table refuses the run's records) is counted in full.
 */

/** Step Functions Standard's history limit. */
export const HISTORY_EVENT_LIMIT = 25_000;

/** Events per state entry, by kind. */
export const HISTORY_EVENTS = { execution: 2, task: 5, retry: 3, wait: 2, choice: 2, terminal: 2 } as const;

/** Retry attempts of each Task state of the ASL (the sum of its retriers' MaxAttempts); a unit test pins them to the file. */
export const ASL_RETRY_ATTEMPTS = { Start: 8, Prepare: 8, SetWeight: 11, Analyze: 8, Promote: 11, Rollback: 15, Finish: 11 } as const;

/** One retry attempt is allowed for this many loop calls (Prepare, Analyze, Promote and Rollback polls), on top of every Retry once. */
export const LOOP_CALLS_PER_RETRY = 10;

export interface HistoryPart {
  readonly what: string;
  readonly events: number;
}

export interface HistoryEstimate {
  /** The worst case, events. */
  readonly events: number;
  readonly limit: number;
  /** Analysis intervals in the worst case. */
  readonly intervals: number;
  readonly parts: readonly HistoryPart[];
}

const { task, wait, choice } = HISTORY_EVENTS;
/** Calls a readiness poll makes before its deadline: the first, then one per poll until the deadline passes. */
function pollCalls(workload: WorkloadConfig): number {
  return workload.kind === 'none' ? 1 : Math.ceil(workload.readyTimeoutSeconds / workload.pollSeconds) + 1;
}

/** Events of `calls` calls of a polling loop (Task, Choice, and a Wait before each call but the first). */
const loopEvents = (calls: number) => calls * (task + choice) + (calls - 1) * wait;

/** The analysis intervals of each analysed step in the worst case. */
export function worstCaseIntervals(plan: Plan): number[] {
  const a = plan.analysis;
  const last = finalStepIndex(plan);
  const sequential = plan.checks.some((c) => c.enabled !== false && c.judge === 'sequential');
  // Intervals that count toward no hold: failures, no data and query errors, each one short of its limit.
  const streaks = a.consecutiveFailureLimit - 1 + (a.noDataLimit - 1) + (a.errorLimit - 1);
  const approvalWait = Math.ceil(plan.approvals.timeoutSeconds / a.intervalSeconds) + 1;
  return plan.steps.flatMap((step, i) => {
    // A step without a hold (only the last may have none) is never analysed: the one before it promotes.
    if (step.holdSeconds === undefined) return [];
    const promoting = i >= last || (i + 1 === last && plan.steps[last].holdSeconds === undefined);
    const powerHeld = sequential && (promoting || a.powerHold === 'every-step') ? a.underpoweredLimit : 0;
    const gate = plan.steps[promoting ? last : i + 1]?.approval === true ? approvalWait : 0;
    return [holdIntervals(plan, i) + streaks + powerHeld + gate];
  });
}

/** The worst-case history of a run of `plan` on `workload`, with the parts it adds up from. */
export function worstCaseHistory(plan: Plan, workload: WorkloadConfig): HistoryEstimate {
  const intervals = worstCaseIntervals(plan);
  // One pause, held up to approvals.timeoutSeconds, at any step.
  const pauseIntervals = Math.ceil(plan.approvals.timeoutSeconds / plan.analysis.intervalSeconds) + 1;
  const totalIntervals = intervals.reduce((sum, n) => sum + n, 0);
  const polls = pollCalls(workload);
  const hasWorkload = workload.kind !== 'none';

  const start = task + choice;
  const prepare = hasWorkload ? loopEvents(polls) : 0;
  // SetWeight once per analysed step, then WaitInterval → Analyze → Decide per interval.
  const steps = intervals.length * task + totalIntervals * (wait + task + choice);
  // With a workload: stable gets the image, waits for it and its health gate until the deadline, flips, then fails.
  const promoteCalls = hasWorkload ? polls + 1 : 1;
  const promotion = loopEvents(promoteCalls);
  // Rollback after that: stable's image back and ready, each step down, the health gate, the canary scaled down.
  const lowerWeights = plan.rollback.mode === 'gradual' ? new Set(plan.steps.map((s) => s.weight).filter((w) => w < 100)).size + 1 : 1;
  const rollbackCalls = (hasWorkload ? 2 * polls : 0) + lowerWeights;
  const rollback = loopEvents(rollbackCalls);
  // Finish, then (the table refusing the records) RecordLater → Finish → Recorded until RECORD_ATTEMPTS.
  const finish = task + choice + (RECORD_ATTEMPTS - 1) * (wait + task + choice) + HISTORY_EVENTS.terminal + HISTORY_EVENTS.execution;
  const pause = pauseIntervals * (wait + task + choice);
  const loopCalls = (hasWorkload ? polls : 0) + intervals.length + totalIntervals + pauseIntervals + promoteCalls + rollbackCalls + RECORD_ATTEMPTS;
  const states: (keyof typeof ASL_RETRY_ATTEMPTS)[] = ['Start', ...(hasWorkload ? (['Prepare'] as const) : []), 'SetWeight', 'Analyze', 'Promote', 'Rollback', 'Finish'];
  const everyRetryOnce = states.reduce((sum, s) => sum + ASL_RETRY_ATTEMPTS[s], 0);
  const retries = (everyRetryOnce + Math.ceil(loopCalls / LOOP_CALLS_PER_RETRY)) * HISTORY_EVENTS.retry;

  const parts: HistoryPart[] = [
    { what: 'start', events: start },
    ...(hasWorkload ? [{ what: `prepare (${polls} polls)`, events: prepare }] : []),
    { what: `steps (${formatCount(totalIntervals)} intervals over ${intervals.length} step${intervals.length === 1 ? '' : 's'})`, events: steps },
    { what: `a pause (${formatCount(pauseIntervals)} intervals)`, events: pause },
    { what: `promotion (${promoteCalls} call${promoteCalls === 1 ? '' : 's'})`, events: promotion },
    { what: `rollback (${rollbackCalls} call${rollbackCalls === 1 ? '' : 's'})`, events: rollback },
    { what: `finish (${RECORD_ATTEMPTS} calls)`, events: finish },
    { what: 'retries', events: retries },
  ];
  return { events: parts.reduce((sum, p) => sum + p.events, 0), limit: HISTORY_EVENT_LIMIT, intervals: totalIntervals, parts };
}

/** 31412 → `31,412`, without locale data. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The issue of a plan whose worst case does not fit the history, naming the numbers; none when it fits. */
export function historyBudgetIssues(plan: Plan, workload: WorkloadConfig, root = 'plan'): FieldIssue[] {
  const estimate = worstCaseHistory(plan, workload);
  if (estimate.events <= estimate.limit) return [];
  const breakdown = estimate.parts.map((p) => `${p.what} ${formatCount(p.events)}`).join(', ');
  return [
    {
      field: root,
      message:
        `the worst case of this plan is ${formatCount(estimate.events)} history events, above the ${formatCount(estimate.limit)} Step Functions allows ` +
        `(${breakdown}); shorten holds, approvals.timeoutSeconds or analysis.underpoweredLimit, or lengthen analysis.intervalSeconds`,
    },
  ];
}
