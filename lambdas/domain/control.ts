import type { Cursor, Decision, DecideOptions, DecisionReason } from './decision';
import { formatNumber } from './judge';
import type { Plan } from './plan';

/**
 * Operator controls: abort, pause / resume, promote now, approve. People write them (the `canary` CLI);
 * the Analyze step reads them every interval and these pure functions apply them to the decision, so nobody
 * ever stops an execution by hand. Each is kept with who and when.
 */

export interface OperatorAction {
  readonly by: string;
  readonly at: string;
  readonly reason?: string;
}

/** A run's controls as stored: the latest request of each kind, and approvals by gate. */
export interface RunControl {
  readonly abort?: OperatorAction;
  readonly promote?: OperatorAction;
  readonly pause?: OperatorAction;
  readonly resume?: OperatorAction;
  /** Approvals by step index: `"2"` approves moving to step 2 (on the last step: promotion). */
  readonly approvals?: Readonly<Record<string, OperatorAction>>;
}

export const CONTROL_COMMANDS = ['abort', 'pause', 'resume', 'promote', 'approve'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

const who = (a: OperatorAction) => `${a.by} at ${a.at}${a.reason ? ` (${a.reason})` : ''}`;

/** Paused when the latest pause is newer than the latest resume. */
export function isPaused(control: RunControl | undefined): boolean {
  if (!control?.pause) return false;
  return !control.resume || Date.parse(control.resume.at) < Date.parse(control.pause.at);
}

/** The gate decide() asks before the run moves on: a pause holds and an approval step waits, each until approvals.timeoutSeconds. */
export function controlGate(plan: Plan, control: RunControl | undefined, runId: string, now: string): NonNullable<DecideOptions['gate']> {
  return (next, heldSince) => {
    if (isPaused(control)) {
      // A pause holds like an approval gate, as long at most: an unbounded hold would outgrow the execution's history.
      const paused = (Date.parse(now) - Date.parse(control!.pause!.at)) / 1000;
      if (paused >= plan.approvals.timeoutSeconds) {
        return { rollback: { kind: 'pause-timeout', message: `paused by ${who(control!.pause!)} for longer than approvals.timeoutSeconds (${plan.approvals.timeoutSeconds} s) without a resume` } };
      }
      const left = Math.max(0, Math.round(plan.approvals.timeoutSeconds - paused));
      return { hold: { kind: 'paused', message: `holding: paused by ${who(control!.pause!)}; \`canary resume ${runId}\` to go on (rolls back in ${left} s)` } };
    }
    const step = plan.steps[next.stepIndex];
    if (!step?.approval || control?.approvals?.[String(next.stepIndex)]) return undefined;
    const where = next.action === 'promote' ? 'promote' : `go to step ${next.stepIndex} (${formatNumber(step.weight)}%)`;
    const waited = (Date.parse(now) - Date.parse(heldSince ?? now)) / 1000;
    if (waited >= plan.approvals.timeoutSeconds) {
      return { rollback: { kind: 'approval-timeout', message: `no approval to ${where} within ${plan.approvals.timeoutSeconds} s` } };
    }
    const left = Math.max(0, Math.round(plan.approvals.timeoutSeconds - waited));
    return { hold: { kind: 'awaiting-approval', message: `waiting for approval to ${where} (\`canary approve ${runId}\`; rolls back in ${left} s)` } };
  };
}

function overridden(cursor: Cursor, decision: Decision): { cursor: Cursor; decision: Decision } {
  return { cursor: { ...cursor, decision }, decision };
}

/**
 * Abort and promote-now, applied to what the judging decided. A rollback the judging decided stands (its reason
 * says more). Promote-now skips the remaining steps and gates, but not a failing interval.
 */
export function applyOperatorControl(
  plan: Plan,
  result: { cursor: Cursor; decision: Decision },
  control: RunControl | undefined,
  options: { dryRun?: boolean },
): { cursor: Cursor; decision: Decision } {
  const { decision } = result;
  if (decision.action === 'rollback' || !control) return result;
  const base: Omit<DecisionReason, 'kind' | 'message'> = { stepIndex: decision.reason.stepIndex, weight: decision.reason.weight, verdict: decision.reason.verdict };
  if (control.abort) {
    // Time to rollback runs from the request, unless the run was already in trouble before it.
    const troubleSince = result.cursor.troubleSince ?? control.abort.at;
    return overridden({ ...result.cursor, troubleSince }, { action: 'rollback', reason: { ...base, kind: 'operator-abort', message: `aborted by ${who(control.abort)}` } });
  }
  if (control.promote && decision.action !== 'promote') {
    if (decision.reason.verdict === 'fail') {
      return overridden(result.cursor, { action: 'continue', reason: { ...decision.reason, message: `${decision.reason.message}; promote requested by ${who(control.promote)}, waiting for a passing interval` } });
    }
    if (options.dryRun) {
      return overridden(result.cursor, { action: 'rollback', reason: { ...base, kind: 'dry-run-complete', message: `dry run ended by ${who(control.promote)}; restoring stable` } });
    }
    const skipped = plan.steps.length - 1 - decision.reason.stepIndex;
    return overridden(result.cursor, {
      action: 'promote',
      reason: { ...base, kind: 'operator-promote', message: `promoted now by ${who(control.promote)}, skipping ${skipped} step${skipped === 1 ? '' : 's'}` },
    });
  }
  return result;
}
