import { describeError } from '../domain/errors';
import { formatNumber } from '../domain/judge';
import type { RunContext, RunEvent, RunRecord } from '../domain/run';
import type { NotificationKind } from '../ports/notifier';
import { notifySafely, type Deps } from './deps';

/**
 * The safety net: Step Functions reports an execution ABORTED, TIMED_OUT or FAILED (EventBridge "Step Functions
 * Execution Status Change"). If the run had not reached its end, this puts all traffic back on stable, records
 * what happened, notifies and releases the lock. No exit leaves traffic split.
 */

export interface ExecutionStatusChange {
  readonly executionArn: string;
  /** The execution name: the run id. */
  readonly name: string;
  readonly status: string;
  readonly error?: string | null;
  readonly cause?: string | null;
}

export type SafetyNetAction = 'none' | 'restored-stable' | 'nothing-shifted' | 'recorded-promotion' | 'recorded-rollback' | 'restore-failed';

export interface SafetyNetResult {
  readonly runId: string;
  readonly action: SafetyNetAction;
  readonly detail: string;
}

const WATCHED = new Set(['ABORTED', 'TIMED_OUT', 'FAILED']);

function nextSeq(events: readonly RunEvent[]): number {
  return events.reduce((max, e) => Math.max(max, e.seq), 0) + 1;
}

function runOf(record: RunRecord): Pick<RunContext, 'runId' | 'executionArn' | 'service' | 'image' | 'dryRun' | 'startedAt' | 'trigger'> {
  return { runId: record.runId, executionArn: record.executionArn, service: record.service, image: record.image, dryRun: record.dryRun, startedAt: record.startedAt, trigger: record.trigger };
}

/** Handles one status change; repeatable (a second delivery finds the run ended and does nothing). */
export async function safetyNet(deps: Deps, change: ExecutionStatusChange): Promise<SafetyNetResult> {
  const runId = change.name;
  if (!WATCHED.has(change.status)) return { runId, action: 'none', detail: `status ${change.status} needs nothing` };
  const record = await deps.runLog.getRun(runId);
  // Start writes the record and takes the lock in one transaction and shifts nothing: no record, nothing to undo.
  if (!record) return { runId, action: 'none', detail: 'the run was refused at start; nothing had shifted' };
  if (record.outcome !== 'running') return { runId, action: 'none', detail: `the run had already ended ${record.outcome}` };

  const events = await deps.runLog.listEvents(runId);
  const at = deps.now().toISOString();
  const why = `execution ${change.status}${change.error ? ` (${change.error}${change.cause ? `: ${change.cause.slice(0, 300)}` : ''})` : ''}`;
  const notify = (kind: NotificationKind, message: string, extra: { manualCommand?: string } = {}) =>
    record.notifications
      ? notifySafely(deps, { runId, notifications: record.notifications }, { kind, at, run: runOf(record), message, stepIndex: record.stageReached, ...extra })
      : Promise.resolve();

  // The workflow got further than its record says: finish the record as the workflow would have.
  const rolledBack = events.find((e) => e.type === 'rolled-back');
  if (rolledBack) {
    const started = events.find((e) => e.type === 'rollback-started');
    const reason = started?.decision?.reason.message ?? rolledBack.message ?? 'rolled back';
    await deps.runLog.finishRun(runId, record.service, { outcome: 'rolled_back', endedAt: at, reason: `${reason} (recorded by the safety net after the ${why})` });
    return { runId, action: 'recorded-rollback', detail: 'traffic was already back on stable' };
  }
  if (events.some((e) => e.type === 'promoted')) {
    await deps.runLog.finishRun(runId, record.service, { outcome: 'promoted', endedAt: at, reason: `promoted (recorded by the safety net after the ${why})` });
    return { runId, action: 'recorded-promotion', detail: 'the promotion had completed' };
  }

  if (!record.traffic) {
    await deps.runLog.updateRun(runId, { reason: `${why}; the record holds no traffic configuration to restore` });
    throw new Error(`run ${runId}: ${why}, and its record holds no traffic configuration to restore`);
  }
  const router = deps.routerFor(record.traffic);
  try {
    const before = await router.getWeights();
    const after = before.canary > 0 ? await router.setWeights(0) : before;
    const shifted = before.canary > 0;
    let reason = shifted ? `${why}: traffic restored to stable (canary was at ${formatNumber(before.canary)}%)` : `${why}: no traffic had shifted`;
    // The canary takes no traffic now; scaling it down is cleanup, and a failure there is said, not fatal.
    const workload = record.workload ? deps.workloadFor(record.workload) : undefined;
    if (workload) {
      reason += await workload.scaleDownCanary().then(
        () => `; ${workload.describe('canary')} scaled down`,
        (error: unknown) => `; ${workload.describe('canary')} could not be scaled down: ${describeError(error).message}`,
      );
    }
    await deps.runLog.appendEvent({ runId, seq: nextSeq(events), at, type: 'safety-net', weight: after.canary, message: reason });
    await deps.runLog.finishRun(runId, record.service, { outcome: 'aborted', endedAt: at, reason });
    await notify('aborted', `${record.service}: ${reason}`);
    return { runId, action: shifted ? 'restored-stable' : 'nothing-shifted', detail: reason };
  } catch (error) {
    // Leave the run `running` so the next delivery (EventBridge retries, then the DLQ) tries again.
    const manualCommand = router.manualRestoreCommand();
    await deps.runLog.updateRun(runId, { reason: `${why}; restoring stable failed: ${describeError(error).message}`, manualCommand });
    await notify('rollback-failed', `${record.service}: the ${why} left traffic on the canary and restoring stable failed: ${describeError(error).message}`, { manualCommand });
    throw error;
  }
}
