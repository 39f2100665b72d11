import { formatNumber } from '../lambdas/domain/judge';
import type { RunRecord } from '../lambdas/domain/run';
import { imageTag } from '../local/demo/report';
import { formatDate, formatDuration, triggerText } from './render';

/**
 * `canary history`: runs, or rollbacks, as a table for people, JSON or CSV for programs. The rollback table has
 * the columns of the rollback report: date, version, stage, trigger metric and value, time to rollback.
 */

export const HISTORY_FORMATS = ['table', 'json', 'csv'] as const;
export type HistoryFormat = (typeof HISTORY_FORMATS)[number];

type Cell = string | number | boolean | null;

/** One row with its machine fields (JSON, CSV) and its table cells. */
interface Row {
  readonly fields: Readonly<Record<string, Cell>>;
  readonly cells: readonly string[];
}

const ROLLBACK_HEADER = ['date', 'version', 'stage', 'trigger metric = value', 'time to rollback'];
const RUN_HEADER = ['date', 'run', 'version', 'outcome', 'stage', 'duration'];

const version = (r: RunRecord) => `${r.service}:${imageTag(r.image)}${r.dryRun ? ' (dry run)' : ''}`;
const stageWeight = (r: RunRecord) => (r.stageReached < 0 ? undefined : r.plan?.steps[r.stageReached]?.weight);
const stageCell = (r: RunRecord) => {
  if (r.stageReached < 0) return '–';
  const weight = stageWeight(r);
  return `${r.stageReached}${weight === undefined ? '' : ` (${formatNumber(weight)}%)`}`;
};
const durationSeconds = (r: RunRecord) => (r.endedAt === undefined ? null : Math.round((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 100) / 10);

function rollbackRow(r: RunRecord): Row {
  const time = r.outcome === 'rollback_failed' ? 'rollback failed' : r.timeToRollbackSeconds === undefined ? '–' : `${formatNumber(r.timeToRollbackSeconds)} s`;
  return {
    cells: [formatDate(r.endedAt ?? r.startedAt), version(r), stageCell(r), triggerText(r), time],
    fields: {
      date: r.endedAt ?? r.startedAt,
      run: r.runId,
      service: r.service,
      version: imageTag(r.image),
      image: r.image,
      dryRun: r.dryRun,
      stage: r.stageReached < 0 ? null : r.stageReached,
      weight: stageWeight(r) ?? null,
      triggerMetric: r.triggerCheck ?? null,
      triggerValue: r.triggerValue ?? null,
      thresholdMin: r.thresholdMin ?? null,
      thresholdMax: r.thresholdMax ?? null,
      timeToRollbackSeconds: r.timeToRollbackSeconds ?? null,
      outcome: r.outcome,
      reason: r.reason ?? null,
    },
  };
}

function runRow(r: RunRecord): Row {
  const seconds = durationSeconds(r);
  return {
    cells: [formatDate(r.startedAt), r.runId, version(r), r.outcome, stageCell(r), seconds === null ? '–' : formatDuration(seconds)],
    fields: {
      date: r.startedAt,
      run: r.runId,
      service: r.service,
      version: imageTag(r.image),
      image: r.image,
      dryRun: r.dryRun,
      outcome: r.outcome,
      stage: r.stageReached < 0 ? null : r.stageReached,
      weight: stageWeight(r) ?? null,
      endedAt: r.endedAt ?? null,
      durationSeconds: seconds,
      reason: r.reason ?? null,
    },
  };
}

/** CSV field names: the JSON keys in snake case. */
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** RFC 4180 quoting (lines end in LF, as other CLI output): a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function table(title: string, header: readonly string[], rows: readonly Row[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [title, line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map((r) => line(r.cells))].join('\n') + '\n';
}

export interface HistoryQuery {
  readonly rollbacks: boolean;
  readonly service?: string;
  /** ISO instant: runs started (rollbacks: ended) at or after it. */
  readonly since: string;
  /** As the user gave it: `30d`, an ISO date. */
  readonly sinceText: string;
}

/** The history as the format asks, ending with a newline. */
export function renderHistory(records: readonly RunRecord[], query: HistoryQuery, format: HistoryFormat): string {
  const rows = records.map(query.rollbacks ? rollbackRow : runRow);
  const keys = Object.keys((query.rollbacks ? rollbackRow : runRow)(PLACEHOLDER).fields);
  switch (format) {
    case 'json':
      return `${JSON.stringify(
        rows.map((r) => r.fields),
        null,
        2,
      )}\n`;
    case 'csv':
      return [keys.map(snake).join(','), ...rows.map((r) => keys.map((k) => csvField(r.fields[k] ?? null)).join(','))].join('\n') + '\n';
    case 'table': {
      const what = query.rollbacks ? 'Rollbacks' : 'Runs';
      const of = query.service === undefined ? '' : ` of ${query.service}`;
      const window = /^\d+[mhdw]$/.test(query.sinceText) ? ` (last ${query.sinceText})` : '';
      const since = `since ${formatDate(query.since)}${window}`;
      if (rows.length === 0) return `No ${what.toLowerCase()}${of} ${since}.\n`;
      return table(`${what}${of} ${since}, newest first: ${rows.length}`, query.rollbacks ? ROLLBACK_HEADER : RUN_HEADER, rows);
    }
  }
}

// A record with every field, only to list the column keys when there are no rows.
const PLACEHOLDER: RunRecord = {
  runId: '',
  executionArn: '',
  service: '',
  image: 'x:y',
  dryRun: false,
  trigger: { source: 'cli' },
  startedAt: '1970-01-01T00:00:00Z',
  outcome: 'rolled_back',
  stageReached: 0,
  maxWeight: 0,
};
