import { describeError } from '../domain/errors';
import type { Outcome, RunEvent } from '../domain/run';
import type { RunUpdate } from '../ports/run-log';
import type { Deps } from './deps';

/**
 * A record a step could not write yet. Rollback, Finish and the safety net move traffic first and write records after;
 * what the table refused travels on (in the workflow state, the execution's history and cause)
 * until a later attempt writes it (the safety net throws them back, and its queue delivers the status change again). Every kind is idempotent to write again: events by (seq, lane), the outcome by run.
 */
export type PendingRecord =
  | { readonly kind: 'event'; readonly event: RunEvent }
  | {
      readonly kind: 'finish';
      readonly runId: string;
      readonly service: string;
      readonly update: RunUpdate & { readonly outcome: Exclude<Outcome, 'running'>; readonly endedAt: string };
    };

async function write(deps: Deps, record: PendingRecord): Promise<void> {
  if (record.kind === 'event') await deps.runLog.appendEvent(record.event);
  else await deps.runLog.finishRun(record.runId, record.service, record.update);
}

/**
 * Writes the records in order; returns those not written (the first the table refused, logged, and every one after it:
 * a table that refused one write is not asked for the next in the same call, and the order stays). Never throws.
 */
export async function writeRecords(deps: Deps, records: readonly PendingRecord[]): Promise<PendingRecord[]> {
  for (const [i, record] of records.entries()) {
    try {
      await write(deps, record);
    } catch (error) {
      deps.log.warn('records not written; kept for a later attempt', { kind: record.kind, left: records.length - i, error: describeError(error) });
      return records.slice(i);
    }
  }
  return [];
}

/** One line naming what is still unwritten, for messages and the safety net's error. */
export function describePending(records: readonly PendingRecord[]): string {
  return records.map((r) => (r.kind === 'event' ? `event ${r.event.type} (seq ${r.event.seq}${r.event.lane ? `, ${r.event.lane}` : ''})` : `outcome ${r.update.outcome}`)).join(', ');
}
