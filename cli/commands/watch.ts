import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { Outcome } from '../../lambdas/domain/run';
import { LiveView } from '../../local/demo/live-view';
import { describePlan } from '../../local/demo/report';
import { CliFailure, EXIT, messageOf, type ExitCode } from '../errors';
import { print, readSnapshot, sleep, type CliIo } from '../io';
import { eventLines, liveBlock, statusLines, summaryLine, type RunSnapshot } from '../render';
import type { Target } from '../target';
import { causeText } from './start';

/** How `watch` exits for each way a run ends. */
export const OUTCOME_EXIT: Readonly<Record<Exclude<Outcome, 'running'>, ExitCode>> = {
  promoted: EXIT.ok,
  dry_run_passed: EXIT.ok,
  rolled_back: EXIT.rolledBack,
  rollback_failed: EXIT.rollbackFailed,
  aborted: EXIT.aborted,
};

// A run started a moment ago may not be recorded yet: Start writes the record within seconds.
const RECORD_WAIT_MS = 60_000;
// Reads that fail in a row before watch gives up (the table or the local environment went away).
const READ_FAILURE_LIMIT = 5;

function noRun(runId: string, target: Target): CliFailure {
  return new CliFailure(`there is no run ${runId} in ${target.where}; \`canary history\` lists the runs`);
}

/**
 * What Step Functions knows of the run's execution: `none` when it does not exist, `running`, how it ended
 * (`FAILED (ServiceNotRegisteredError: …)`), or `unknown` when no state machine is configured or it cannot be asked.
 */
async function executionOf(runId: string, target: Target): Promise<string> {
  let sfn: ReturnType<Target['stepFunctions']>;
  try {
    sfn = target.stepFunctions();
  } catch {
    return 'unknown';
  }
  const executionArn = `${sfn.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
  try {
    const execution = await sfn.client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status === 'RUNNING') return 'running';
    return `${execution.status ?? 'FAILED'}${execution.error ? ` (${execution.error}${execution.cause ? `: ${causeText(execution.cause)}` : ''})` : ''}`;
  } catch (error) {
    return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ExecutionDoesNotExist' ? 'none' : 'unknown';
  }
}

/** `canary status`: the record, the stage and weights, the last analysis against its thresholds, the controls. */
export async function status(runId: string, target: Target, io: CliIo): Promise<ExitCode> {
  const snapshot = await readSnapshot(target.runLog(), runId);
  if (snapshot === undefined) throw noRun(runId, target);
  print(io, ...statusLines(snapshot));
  return EXIT.ok;
}

/**
 * `canary watch`: follows a run until it ends. Every event is a line (an analysis with each check against its
 * threshold and the decision); on a terminal a status block below them is redrawn in place. Exits with the
 * code of how the run ended (OUTCOME_EXIT); Ctrl-C stops watching, not the run.
 */
export async function watch(runId: string, target: Target, io: CliIo): Promise<ExitCode> {
  const runLog = target.runLog();
  const view = new LiveView(io.stdout);
  const pollMs = io.pollMs ?? 1000;
  const waitUntil = Date.now() + RECORD_WAIT_MS;
  let snapshot: RunSnapshot | undefined;
  let lastSeq = -1;
  let failures = 0;
  let waiting = false;
  try {
    for (;;) {
      let next: RunSnapshot | undefined;
      try {
        next = await readSnapshot(runLog, runId);
        failures = 0;
      } catch (error) {
        if (++failures >= READ_FAILURE_LIMIT) throw error;
        if (failures === 1) view.line(`(could not read run ${runId}: ${messageOf(error)}; trying again)`);
      }
      if (next === undefined && failures === 0) {
        if (Date.now() > waitUntil) throw noRun(runId, target);
        if (!waiting) {
          // No record: a mistyped id fails at once; an execution that is starting is waited for.
          const execution = await executionOf(runId, target);
          if (execution === 'none') throw noRun(runId, target);
          if (execution !== 'running' && execution !== 'unknown') throw new CliFailure(`run ${runId} has no record: its execution ended ${execution}`);
          view.line(`waiting for run ${runId} to be recorded…`);
        }
        waiting = true;
      }
      if (next !== undefined) {
        if (snapshot === undefined) {
          const { record } = next;
          view.line(`Watching run ${runId}: ${record.dryRun ? 'dry run of' : 'rollout of'} ${record.image} to ${record.service}`);
          if (record.plan) view.line(`  plan: ${describePlan(record.plan)}`);
          view.showStatus(() => (snapshot === undefined ? [] : liveBlock(snapshot)));
        }
        snapshot = next;
        for (const event of next.events) {
          if (event.seq <= lastSeq) continue;
          lastSeq = event.seq;
          for (const line of eventLines(event, next.record.startedAt)) view.line(line);
        }
        if (next.record.outcome !== 'running') {
          view.hideStatus();
          view.line(summaryLine(next.record));
          return OUTCOME_EXIT[next.record.outcome];
        }
      }
      if (await sleep(pollMs, io.signal)) {
        view.hideStatus();
        view.line(`Stopped watching; run ${runId} goes on (\`canary status ${runId}\`).`);
        return EXIT.interrupted;
      }
    }
  } finally {
    view.hideStatus();
  }
}
