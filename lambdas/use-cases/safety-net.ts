import { describeError, RecordsPendingError, TransientError } from '../domain/errors';
import { formatNumber } from '../domain/judge';
import type { Outcome, RunContext, RunEvent, RunRecord } from '../domain/run';
import type { NotificationKind } from '../ports/notifier';
import type { RunUpdate, ServiceLock } from '../ports/run-log';
import { notifySafely, type Deps } from './deps';
import type { FinishResult } from './finish';
import type { RunCursor } from './progress';
import { describePending, writeRecords, type PendingRecord } from './records';
import type { RollbackProgress } from './rollback';

/**
 * The safety net: Step Functions reports an execution ABORTED, TIMED_OUT or FAILED (EventBridge "Step Functions
 * Execution Status Change", through a queue that redelivers until this succeeds). If the run had not reached its end,
 * this puts all traffic back on stable, then records what happened, notifies and releases the lock. No exit leaves
 * traffic split.
 *
 * Traffic first, records after: where the run was comes from the execution itself (its history keeps every state's
 * input), so the safety net works with the table down; the run record is read too, when the table answers, to know
 * whether the run already ended and whether another run of the service holds its lock. The records it cannot write
 * (and those the workflow could not) are thrown back as RecordsPendingError, so the queue delivers again later.
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

/** The workflow state the execution was last in (it carries the run; the rest depends on how far it got). */
interface LastState {
  readonly run: RunContext;
  readonly cursor?: RunCursor;
  readonly rollback?: RollbackProgress;
  readonly result?: FinishResult;
}

/** What the table says, when it answers: the record, its events, the service's lock. */
interface TableView {
  readonly record?: RunRecord;
  readonly events: readonly RunEvent[];
  readonly lock?: ServiceLock;
}

function lastStateOf(state: unknown): LastState | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const run = (state as { run?: unknown }).run;
  if (typeof run !== 'object' || run === null || typeof (run as { traffic?: unknown }).traffic !== 'object') return undefined;
  return state as LastState;
}

/** The records the workflow could not write: Finish's result (or the CanaryRecordsPending cause), else Rollback's. */
function workflowPending(last: LastState | undefined, change: ExecutionStatusChange): readonly PendingRecord[] {
  if (last?.result?.pending) return last.result.pending;
  if (change.error === 'CanaryRecordsPending' && change.cause) {
    try {
      const parsed = JSON.parse(change.cause) as { pending?: PendingRecord[] };
      if (Array.isArray(parsed.pending)) return parsed.pending;
    } catch {
      // Not JSON: a cause written by someone else; the history's state is the other source.
    }
  }
  return last?.rollback?.pending ?? [];
}

async function readTable(deps: Deps, runId: string, service: string | undefined): Promise<TableView | undefined> {
  try {
    const record = await deps.runLog.getRun(runId);
    const owner = service ?? record?.service;
    const [events, lock] = await Promise.all([record ? deps.runLog.listEvents(runId) : Promise.resolve([]), owner ? deps.runLog.getLock(owner) : Promise.resolve(undefined)]);
    return { ...(record && { record }), events, ...(lock && { lock }) };
  } catch (error) {
    deps.log.warn('the run table did not answer; the safety net works from the execution', { runId, error: describeError(error) });
    return undefined;
  }
}

/** Handles one status change; repeatable (a second or late delivery finds the run ended, or its lock taken, and moves nothing). */
export async function safetyNet(deps: Deps, change: ExecutionStatusChange): Promise<SafetyNetResult> {
  const runId = change.name;
  if (!WATCHED.has(change.status)) return { runId, action: 'none', detail: `status ${change.status} needs nothing` };
  const snapshot = await deps.executions.snapshot(change.executionArn).catch((error: unknown) => {
    deps.log.warn('the execution history could not be read; the safety net works from the run record', { runId, error: describeError(error) });
    return null;
  });
  const last = lastStateOf(snapshot?.state);
  const table = await readTable(deps, runId, last?.run.service);
  const record = table?.record;
  const at = deps.now().toISOString();
  const why = `execution ${change.status}${change.error ? ` (${change.error}${change.cause ? `: ${change.cause.slice(0, 300)}` : ''})` : ''}`;
  const pending = workflowPending(last, change);

  if (snapshot === null && table === undefined) throw new TransientError(`run ${runId}: neither the execution history nor the run table answered; nothing is known to restore yet`);
  // Start refused it (no state carries the run) and wrote nothing, or wrote the record and shifted nothing.
  if (last === undefined && record === undefined) return { runId, action: 'none', detail: 'the run was refused at start; nothing had shifted' };
  if (record && record.outcome !== 'running' && record.outcome !== 'rollback_failed') {
    const left = await writeRecords(deps, pending);
    if (left.length > 0) throw new RecordsPendingError(`run ${runId} ended ${record.outcome}; still unwritten: ${describePending(left)} ${JSON.stringify(left)}`);
    return { runId, action: 'none', detail: `the run had already ended ${record.outcome}` };
  }

  const service = last?.run.service ?? record!.service;
  const traffic = last?.run.traffic ?? record?.traffic;
  const workloadConfig = last?.run.workload ?? record?.workload;
  const notifications = last?.run.notifications ?? record?.notifications;
  const seq = Math.max(last?.rollback?.seq ?? 0, last?.cursor?.seq ?? 0, ...(table?.events ?? []).map((e) => e.seq + 1));
  const event = (message: string, weight?: number): PendingRecord => ({
    kind: 'event',
    event: { runId, seq, lane: 'safety-net', at, type: 'safety-net', ...(weight !== undefined && { weight }), message },
  });
  const finishing = (outcome: Exclude<Outcome, 'running'>, reason: string, extra: Omit<RunUpdate, 'outcome' | 'reason'> = {}): PendingRecord => ({
    kind: 'finish',
    runId,
    service,
    update: { outcome, endedAt: last?.result?.endedAt ?? at, reason, ...extra },
  });
  const notify = (kind: NotificationKind, message: string, extra: { manualCommand?: string } = {}) =>
    notifications
      ? notifySafely(deps, { runId, notifications }, { kind, at, run: runOf(last?.run, record, runId, change.executionArn), message, stepIndex: record?.stageReached ?? last?.cursor?.stepIndex ?? 0, ...extra })
      : Promise.resolve();
  const settle = async (action: SafetyNetAction, detail: string, records: PendingRecord[]): Promise<SafetyNetResult> => {
    const left = await writeRecords(deps, [...pending, ...records]);
    if (left.length > 0) throw new RecordsPendingError(`run ${runId}: ${detail}; the table refused: ${describePending(left)} ${JSON.stringify(left)}`);
    return { runId, action, detail };
  };

  // The workflow got further than its record says: finish the record as the workflow would have (it moved the traffic).
  const events = table?.events ?? [];
  const finished = last?.result;
  if (finished && (finished.outcome === 'promoted' || finished.outcome === 'dry_run_passed' || finished.outcome === 'rolled_back')) {
    const { runId: _r, service: _s, image: _i, pending: _p, retrySeconds: _w, recordAttempts: _a, pendingCause: _c, outcome, reason, ...fields } = finished;
    return settle(outcome === 'rolled_back' ? 'recorded-rollback' : 'recorded-promotion', `the workflow had ended ${outcome}`, [finishing(outcome, `${reason} (recorded by the safety net after the ${why})`, fields)]);
  }
  if (last?.cursor?.promotion?.done || events.some((e) => e.type === 'promoted')) {
    return settle('recorded-promotion', 'the promotion had completed', [finishing('promoted', `promoted (recorded by the safety net after the ${why})`)]);
  }
  const rolledBack = last?.rollback?.complete === true || (last?.rollback?.weight === 0 && last.rollback.restoredAt !== undefined) || events.some((e) => e.type === 'rolled-back');
  if (rolledBack) {
    const started = events.find((e) => e.type === 'rollback-started');
    const reason = last?.rollback?.reason.message ?? started?.decision?.reason.message ?? 'rolled back';
    return settle('recorded-rollback', 'traffic was already back on stable', [finishing('rolled_back', `${reason} (recorded by the safety net after the ${why})`)]);
  }

  // A later run of the service holds the lock (a late delivery): the traffic is that run's now; record only.
  const holder = table?.lock;
  if (holder && holder.runId !== runId) {
    const reason = `${why}: traffic left as it is, since run ${holder.runId} of ${service} holds the lock now`;
    return settle('none', reason, [event(reason), finishing('aborted', reason)]);
  }
  if (!traffic) throw new TransientError(`run ${runId}: ${why}, and neither the execution nor the record holds the traffic configuration to restore`);

  const router = deps.routerFor(traffic);
  let before: number;
  let after: number;
  try {
    before = (await router.getWeights()).canary;
    // Always written: a canary at 0 may still be in the action with sticky clients on it; the router skips a write already applied.
    after = (await router.setWeights(0)).canary;
  } catch (error) {
    // Leave the run `running` so the next delivery tries again; say so where we can.
    const manualCommand = router.manualRestoreCommand();
    const reason = `${why}; restoring stable failed: ${describeError(error).message}`;
    await writeRecords(deps, [...pending, event(reason)]);
    await deps.runLog.updateRun(runId, { reason, manualCommand }).catch(() => undefined);
    await notify('rollback-failed', `${service}: the ${why} left traffic on the canary and restoring stable failed: ${describeError(error).message}`, { manualCommand });
    throw error;
  }
  // What the execution last had on the canary: an earlier delivery (whose records the table refused) may have restored it.
  const lastWeight = last?.rollback?.weight ?? last?.cursor?.weight ?? 0;
  let reason =
    before > 0
      ? `${why}: traffic restored to stable (canary was at ${formatNumber(before)}%)`
      : lastWeight > 0
        ? `${why}: traffic is back on stable (the run had the canary at ${formatNumber(lastWeight)}%)`
        : `${why}: no traffic had shifted`;
  // The canary takes no traffic now; scaling it down is cleanup, and a failure there is said, not fatal.
  const workload = workloadConfig ? deps.workloadFor(workloadConfig) : undefined;
  if (workload) {
    reason += await workload.scaleDownCanary().then(
      () => `; ${workload.describe('canary')} scaled down`,
      (error: unknown) => `; ${workload.describe('canary')} could not be scaled down: ${describeError(error).message}`,
    );
  }
  await notify('aborted', `${service}: ${reason}`);
  const action = before > 0 || lastWeight > 0 ? 'restored-stable' : 'nothing-shifted';
  // The workflow's rollback had failed and said so: that stays the outcome (it is what happened), with the repair after it.
  if (record?.outcome === 'rollback_failed') {
    const repaired = `${record.reason ?? 'rollback failed'}; then the safety net: ${reason}`;
    return settle(action, reason, [event(reason, after), finishing('rollback_failed', repaired, { ...(record.endedAt !== undefined && { endedAt: record.endedAt }) })]);
  }
  return settle(action, reason, [event(reason, after), finishing('aborted', reason)]);
}

function runOf(run: RunContext | undefined, record: RunRecord | undefined, runId: string, executionArn: string) {
  const from = run ?? record;
  return {
    runId,
    executionArn: from?.executionArn ?? executionArn,
    service: from?.service ?? '',
    image: from?.image ?? '',
    dryRun: from?.dryRun ?? false,
    startedAt: from?.startedAt ?? '',
    trigger: from?.trigger ?? { source: 'console' as const },
  };
}
