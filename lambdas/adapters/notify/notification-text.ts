import { describeThreshold, formatNumber, type Measurement } from '../../domain/judge';
import type { Notification, NotificationKind } from '../../ports/notifier';

/** Shared wording of notifications, whatever the channel. */

export const TITLES: Record<NotificationKind, string> = {
  started: 'rollout started',
  'step-passed': 'step passed',
  'rolled-back': 'rolled back',
  promoted: 'promoted',
  'rollback-failed': 'ROLLBACK FAILED: act now',
  'dry-run-passed': 'dry run passed',
  aborted: 'aborted',
};

/** Seconds as people read them: 42 s, 6 min 12 s, 1 h 3 min. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}

export function elapsedSeconds(n: Notification): number {
  return (Date.parse(n.at) - Date.parse(n.run.startedAt)) / 1000;
}

/** "step 0 (5%)" */
export function stageText(n: Notification): string | undefined {
  if (n.stepIndex === undefined) return undefined;
  return n.weight === undefined ? `step ${n.stepIndex}` : `step ${n.stepIndex} (${formatNumber(n.weight)}%)`;
}

/** "error-rate 0.061 (≤ 0.01) ✗" for each measurement. */
export function measurementLine(m: Measurement): string {
  const value = m.value === null ? 'no value' : formatNumber(m.value);
  const mark = m.verdict === 'pass' ? '✓' : m.verdict === 'fail' ? '✗' : m.verdict === 'no-data' ? 'no data' : 'error';
  const samples = m.samples === null ? '' : `, ${formatNumber(m.samples)} samples`;
  return `${m.check} ${value} (${describeThreshold(m)}${samples}) ${mark}`;
}

/** The dashboard link for the run's time range: `{from}` and `{to}` become epoch milliseconds, a minute either side. */
export function dashboardLink(template: string | undefined, n: Notification): string | undefined {
  if (!template) return undefined;
  const from = Date.parse(n.run.startedAt) - 60_000;
  const to = Date.parse(n.at) + 60_000;
  return template.replaceAll('{from}', String(from)).replaceAll('{to}', String(to)).replaceAll('{runId}', encodeURIComponent(n.run.runId));
}
