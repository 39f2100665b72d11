import { isPaused, type ControlCommand, type OperatorAction } from '../../lambdas/domain/control';
import { RunNotRunningError } from '../../lambdas/domain/errors';
import type { Plan } from '../../lambdas/domain/plan';
import { CliFailure, EXIT, UsageError, type ExitCode } from '../errors';
import { print, readSnapshot, type CliIo } from '../io';
import { awaitedGate, formatDate, gateText, lastAnalysis } from '../render';
import type { Target } from '../target';
import { operatorName } from '../who';

/**
 * The operator controls: abort, pause, resume, promote now, approve. Each is written to the run log with who and
 * when; the workflow honours it at its next interval (lambdas/domain/control.ts). A run that has ended refuses
 * them with the engine's message.
 */

export interface ControlOptions {
  readonly reason?: string;
  readonly as?: string;
  /** approve: the gate, as a step index; default the gate the run waits at. */
  readonly step?: number;
}

const MAX_REASON = 500;

const gatesOf = (plan: Plan | undefined) => (plan?.steps ?? []).flatMap((s, i) => (s.approval === true ? [i] : []));

/** What the run will do, one sentence per control. */
function effect(command: ControlCommand, runId: string, plan: Plan | undefined): string {
  const within = plan === undefined ? '' : ` (within ${plan.analysis.intervalSeconds} s)`;
  switch (command) {
    case 'abort':
      return `it rolls back at the next interval${within}`;
    case 'pause':
      return `it holds at its current weight from the next interval${within}; \`canary resume ${runId}\` to go on`;
    case 'resume':
      return `it goes on at the next interval${within}`;
    case 'promote':
      return `it promotes at the next passing interval${within}, skipping the remaining steps`;
    case 'approve':
      return `it goes on once the step's hold is done`;
  }
}

const WORD: Readonly<Record<ControlCommand, string>> = { abort: 'Abort', pause: 'Pause', resume: 'Resume', promote: 'Promote', approve: 'Approval' };

/** Records one control for a running run and says what happens next. */
export async function control(command: ControlCommand, runId: string, options: ControlOptions, target: Target, io: CliIo): Promise<ExitCode> {
  if (options.reason !== undefined && (options.reason.trim() === '' || options.reason.length > MAX_REASON)) {
    throw new UsageError(`--reason: give a reason of 1-${MAX_REASON} characters`);
  }
  const runLog = target.runLog();
  const snapshot = await readSnapshot(runLog, runId);
  if (snapshot === undefined) throw new CliFailure(`there is no run ${runId} in ${target.where}; \`canary history\` lists the runs`);
  const { record, events, control: current } = snapshot;
  const plan = record.plan;
  const running = record.outcome === 'running';

  let step: number | undefined;
  if (command === 'approve') {
    const gates = gatesOf(plan);
    const list = gates.length === 0 ? 'its plan has no approval gates' : `its gates: ${gates.map((g) => `--step ${g}`).join(', ')}`;
    if (options.step !== undefined) {
      if (plan !== undefined && !gates.includes(options.step)) throw new UsageError(`--step ${options.step}: run ${runId} has no approval gate at step ${options.step} (${list})`);
      step = options.step;
    } else if (running) {
      step = awaitedGate(record, events);
      if (step === undefined) {
        const decision = lastAnalysis(events)?.decision;
        const last = decision === undefined ? 'it has not been analysed yet' : `its last decision: ${decision.action}: ${decision.reason.message}`;
        throw new CliFailure(`run ${runId} is not waiting at an approval gate (${last}); give --step N to approve a gate ahead (${list})`);
      }
    } else {
      // Ended: the engine refuses below, whatever the step.
      step = gates[0] ?? 1;
    }
  }
  if (running && command === 'pause' && isPaused(current)) throw new CliFailure(`run ${runId} is already paused (by ${current!.pause!.by} at ${formatDate(current!.pause!.at)}); \`canary resume ${runId}\` to go on`);
  if (running && command === 'resume' && !isPaused(current)) throw new CliFailure(`run ${runId} is not paused; there is nothing to resume`);

  const action: OperatorAction = {
    by: await operatorName(options.as, target, io.env),
    at: new Date().toISOString(),
    ...(options.reason !== undefined && { reason: options.reason.trim() }),
  };
  try {
    await runLog.requestControl(runId, command, action, step === undefined ? {} : { step });
  } catch (error) {
    if (error instanceof RunNotRunningError) throw new CliFailure(error.message);
    throw error;
  }
  const what = command === 'approve' ? `Approval of ${gateText(plan, step!)}` : WORD[command];
  const who = `by ${action.by} at ${formatDate(action.at)}${action.reason === undefined ? '' : `, reason: ${action.reason}`}`;
  print(io, `${what} of run ${runId} recorded (${who}): ${effect(command, runId, plan)}.`);
  return EXIT.ok;
}
