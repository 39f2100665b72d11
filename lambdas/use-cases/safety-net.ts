import { describeError, RecordsPendingError, TransientError } from '../domain/errors';
import { formatNumber } from '../domain/judge';
import type { Outcome, RunContext, RunEvent, RunRecord } from '../domain/run';
import type { NotificationKind } from '../ports/notifier';
import type { TrafficRouter } from '../ports/traffic-router';
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

/** Everything the safety net knows about one ended execution, and the records it will write. */
interface Scene {
  readonly deps: Deps;
  readonly change: ExecutionStatusChange;
  readonly runId: string;
  readonly at: string;
  /** `execution ABORTED (error: cause)`, for every sentence. */
  readonly why: string;
  readonly last: LastState | undefined;
  readonly table: TableView | undefined;
  readonly record: RunRecord | undefined;
  readonly service: string;
  /** What the workflow could not write; written before anything of the safety net's own. */
  readonly pending: readonly PendingRecord[];
  readonly seq: number;
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
  if (snapshot === null && table === undefined) throw new TransientError(`run ${runId}: neither the execution history nor the run table answered; nothing is known to restore yet`);
  // Start refused it (no state carries the run) and wrote nothing, or wrote the record and shifted nothing.
  if (last === undefined && record === undefined) return { runId, action: 'none', detail: 'the run was refused at start; nothing had shifted' };
  const seq = Math.max(last?.rollback?.seq ?? 0, last?.cursor?.seq ?? 0, ...(table?.events ?? []).map((e) => e.seq + 1));
  const why = `execution ${change.status}${change.error ? ` (${change.error}${change.cause ? `: ${change.cause.slice(0, 300)}` : ''})` : ''}`;
  const scene: Scene = { deps, change, runId, at: deps.now().toISOString(), why, last, table, record, service: last?.run.service ?? record!.service, pending: workflowPending(last, change), seq };
  if (record && record.outcome !== 'running' && record.outcome !== 'rollback_failed') return settle(scene, 'none', `the run had already ended ${record.outcome}`, []);
  return recordWhatTheWorkflowDid(scene) ?? restoreStable(scene);
}

/** Writes the workflow's pending records and the safety net's own; throws them back (for redelivery) when the table refuses. */
async function settle(scene: Scene, action: SafetyNetAction, detail: string, records: readonly PendingRecord[]): Promise<SafetyNetResult> {
  const left = await writeRecords(scene.deps, [...scene.pending, ...records]);
  if (left.length > 0) throw new RecordsPendingError(`run ${scene.runId}: ${detail}; the table refused: ${describePending(left)} ${JSON.stringify(left)}`);
  return { runId: scene.runId, action, detail };
}

function safetyNetEvent(scene: Scene, message: string, weight?: number): PendingRecord {
  return { kind: 'event', event: { runId: scene.runId, seq: scene.seq, lane: 'safety-net', at: scene.at, type: 'safety-net', ...(weight !== undefined && { weight }), message } };
}

function finishing(scene: Scene, outcome: Exclude<Outcome, 'running'>, reason: string, extra: Omit<RunUpdate, 'outcome' | 'reason'> = {}): PendingRecord {
  return { kind: 'finish', runId: scene.runId, service: scene.service, update: { outcome, endedAt: scene.last?.result?.endedAt ?? scene.at, reason, ...extra } };
}

function notify(scene: Scene, kind: NotificationKind, message: string, extra: { manualCommand?: string } = {}): Promise<void> {
  const { deps, runId, last, record, change } = scene;
  const notifications = last?.run.notifications ?? record?.notifications;
  if (!notifications) return Promise.resolve();
  const stepIndex = record?.stageReached ?? last?.cursor?.stepIndex ?? 0;
  return notifySafely(deps, { runId, notifications }, { kind, at: scene.at, run: runOf(last?.run, record, runId, change.executionArn), message, stepIndex, ...extra });
}

/** The workflow got further than its record says (it moved the traffic): finish the record as the workflow would have. */
function recordWhatTheWorkflowDid(scene: Scene): Promise<SafetyNetResult> | undefined {
  const { last, why } = scene;
  const events = scene.table?.events ?? [];
  const finished = last?.result;
  if (finished && (finished.outcome === 'promoted' || finished.outcome === 'dry_run_passed' || finished.outcome === 'rolled_back')) {
    const { runId: _r, service: _s, image: _i, pending: _p, retrySeconds: _w, recordAttempts: _a, pendingCause: _c, outcome, reason, ...fields } = finished;
    const action = outcome === 'rolled_back' ? 'recorded-rollback' : 'recorded-promotion';
    return settle(scene, action, `the workflow had ended ${outcome}`, [finishing(scene, outcome, `${reason} (recorded by the safety net after the ${why})`, fields)]);
  }
  if (last?.cursor?.promotion?.done || events.some((e) => e.type === 'promoted')) {
    return settle(scene, 'recorded-promotion', 'the promotion had completed', [finishing(scene, 'promoted', `promoted (recorded by the safety net after the ${why})`)]);
  }
  const rolledBack = last?.rollback?.complete === true || (last?.rollback?.weight === 0 && last.rollback.restoredAt !== undefined) || events.some((e) => e.type === 'rolled-back');
  if (!rolledBack) return undefined;
  const reason = last?.rollback?.reason.message ?? events.find((e) => e.type === 'rollback-started')?.decision?.reason.message ?? 'rolled back';
  return settle(scene, 'recorded-rollback', 'traffic was already back on stable', [finishing(scene, 'rolled_back', `${reason} (recorded by the safety net after the ${why})`)]);
}

/** The run died with traffic possibly split: all of it back on stable (unless a later run owns it now), then the records. */
async function restoreStable(scene: Scene): Promise<SafetyNetResult> {
  const { deps, last, record, service, why, runId } = scene;
  // A later run of the service holds the lock (a late delivery): the traffic is that run's now; record only.
  const holder = scene.table?.lock;
  if (holder && holder.runId !== runId) {
    const reason = `${why}: traffic left as it is, since run ${holder.runId} of ${service} holds the lock now`;
    return settle(scene, 'none', reason, [safetyNetEvent(scene, reason), finishing(scene, 'aborted', reason)]);
  }
  const traffic = last?.run.traffic ?? record?.traffic;
  if (!traffic) throw new TransientError(`run ${runId}: ${why}, and neither the execution nor the record holds the traffic configuration to restore`);
  const { before, after } = await moveAllToStable(scene, deps.routerFor(traffic));
  // What the execution last had on the canary: an earlier delivery (whose records the table refused) may have restored it.
  const lastWeight = last?.rollback?.weight ?? last?.cursor?.weight ?? 0;
  let reason =
    before > 0
      ? `${why}: traffic restored to stable (canary was at ${formatNumber(before)}%)`
      : lastWeight > 0
        ? `${why}: traffic is back on stable (the run had the canary at ${formatNumber(lastWeight)}%)`
        : `${why}: no traffic had shifted`;
  reason += await scaleDownCanary(scene);
  await notify(scene, 'aborted', `${service}: ${reason}`);
  const action = before > 0 || lastWeight > 0 ? 'restored-stable' : 'nothing-shifted';
  // The workflow's rollback had failed and said so: that stays the outcome (it is what happened), with the repair after it.
  if (record?.outcome === 'rollback_failed') {
    const repaired = `${record.reason ?? 'rollback failed'}; then the safety net: ${reason}`;
    return settle(scene, action, reason, [safetyNetEvent(scene, reason, after), finishing(scene, 'rollback_failed', repaired, { ...(record.endedAt !== undefined && { endedAt: record.endedAt }) })]);
  }
  return settle(scene, action, reason, [safetyNetEvent(scene, reason, after), finishing(scene, 'aborted', reason)]);
}

/** Sets 0% on the canary and reads what it was; on failure says so where it can and throws (the queue delivers again). */
async function moveAllToStable(scene: Scene, router: TrafficRouter): Promise<{ before: number; after: number }> {
  try {
    const before = (await router.getWeights()).canary;
    // Always written: a canary at 0 may still be in the action with sticky clients on it; the router skips a write already applied.
    const after = (await router.setWeights(0)).canary;
    return { before, after };
  } catch (error) {
    // Leave the run `running` so the next delivery tries again; say so where we can.
    const manualCommand = router.manualRestoreCommand();
    const reason = `${scene.why}; restoring stable failed: ${describeError(error).message}`;
    await writeRecords(scene.deps, [...scene.pending, safetyNetEvent(scene, reason)]);
    await scene.deps.runLog.updateRun(scene.runId, { reason, manualCommand }).catch(() => undefined);
    await notify(scene, 'rollback-failed', `${scene.service}: the ${scene.why} left traffic on the canary and restoring stable failed: ${describeError(error).message}`, { manualCommand });
    throw error;
  }
}

/** The canary takes no traffic now; scaling it down is cleanup, and a failure there is said, not fatal. */
async function scaleDownCanary(scene: Scene): Promise<string> {
  const config = scene.last?.run.workload ?? scene.record?.workload;
  const workload = config ? scene.deps.workloadFor(config) : undefined;
  if (!workload) return '';
  return workload.scaleDownCanary().then(
    () => `; ${workload.describe('canary')} scaled down`,
    (error: unknown) => `; ${workload.describe('canary')} could not be scaled down: ${describeError(error).message}`,
  );
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
