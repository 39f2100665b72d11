import type { Measurement } from '../../lambdas/domain/judge';
import { formatNumber } from '../../lambdas/domain/judge';
import type { Plan } from '../../lambdas/domain/plan';
import type { RunRecord } from '../../lambdas/domain/run';
import type { LocalRunResult } from '../workflow/local-workflow';

/**
 * What the demo prints about runs: measurements in people's units, the `--json` result object, the run's
 * summary, and the rollback report of the last 30 days.
 */

/** The `--json` result: the issue's fields in the issue's order, `null` where a field does not apply. */
export interface DemoJson {
  readonly outcome: 'promoted' | 'rolled_back' | 'dry_run_passed' | 'failed';
  readonly stageReached: number | null;
  readonly finalCanaryWeight: number | null;
  readonly triggerCheck: string | null;
  readonly triggerValue: number | null;
  readonly threshold: number | null;
  readonly faultOnsetToRollbackSeconds: number | null;
  readonly wallSeconds: number;
  readonly stateTransitions: number;
  readonly runId: string;
}

/** The run's outcome as the JSON names it: a refused, aborted or failed rollback is `failed`. */
export function jsonOutcome(record: RunRecord | undefined): DemoJson['outcome'] {
  switch (record?.outcome) {
    case 'promoted':
    case 'rolled_back':
    case 'dry_run_passed':
      return record.outcome;
    default:
      return 'failed';
  }
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));
/** Six significant digits: enough for any threshold comparison, short enough to read. */
const significant = (value: number) => Number(value.toPrecision(6));

/** The `--json` object of one run. */
export function buildJson(args: {
  readonly local: LocalRunResult;
  readonly record: RunRecord | undefined;
  readonly finalCanaryWeight: number | null;
  readonly faultOnsetToRollbackSeconds: number | null;
}): DemoJson {
  const { local, record } = args;
  const value = record?.triggerValue;
  return {
    outcome: jsonOutcome(record),
    stageReached: record === undefined || record.stageReached < 0 ? null : record.stageReached,
    finalCanaryWeight: args.finalCanaryWeight,
    triggerCheck: record?.triggerCheck ?? null,
    triggerValue: value === undefined || value === null ? null : significant(value),
    threshold: record?.thresholdMax ?? record?.thresholdMin ?? null,
    faultOnsetToRollbackSeconds: args.faultOnsetToRollbackSeconds === null ? null : round(args.faultOnsetToRollbackSeconds, 1),
    wallSeconds: round(local.wallSeconds, 1),
    stateTransitions: local.stateTransitions,
    runId: local.runId,
  };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The rollback bound of the issue: consecutiveFailureLimit × interval + scrape interval + 2 s. */
export function rollbackBoundSeconds(plan: Plan, scrapeIntervalSeconds: number): number {
  return plan.analysis.consecutiveFailureLimit * plan.analysis.intervalSeconds + scrapeIntervalSeconds + 2;
}

type Unit = 'ratio' | 'seconds' | 'bytes' | 'percent' | 'plain';

function unitOf(check: string, judge?: string): Unit {
  // A count-based check's value is a share of requests (bad ones, slow ones), whatever its name says.
  if (judge === 'sequential' || judge === 'stable-guard') return 'ratio';
  if (check === 'traffic-share') return 'percent';
  if (/(^|-)(error|success)-rate$|-ratio$/.test(check)) return 'ratio';
  if (check.startsWith('latency-')) return 'seconds';
  if (check.startsWith('memory-') || check.endsWith('-bytes')) return 'bytes';
  return 'plain';
}

/** A check's value in people's units: 0.0123 → `1.23%`, 0.118 s → `118 ms`, bytes → `131 MB`. */
export function formatValue(check: string, value: number | null | undefined, judge?: string): string {
  if (value === null || value === undefined) return '–';
  switch (unitOf(check, judge)) {
    case 'ratio':
      return `${Number((value * 100).toFixed(2))}%`;
    case 'percent':
      return `${Number(value.toFixed(1))}%`;
    case 'seconds':
      return value >= 1 ? `${Number(value.toFixed(2))} s` : `${Math.round(value * 1000)} ms`;
    case 'bytes':
      return `${Math.round(value / (1024 * 1024))} MB`;
    case 'plain':
      return formatNumber(value);
  }
}

/** A check's threshold in people's units: `≤ 1%`, `≥ 99%`, `3%–7%`. */
export function formatThreshold(check: string, min: number | undefined, max: number | undefined, judge?: string): string {
  if (min !== undefined && max !== undefined) return `${formatValue(check, min, judge)}–${formatValue(check, max, judge)}`;
  if (max !== undefined) return `≤ ${formatValue(check, max, judge)}`;
  if (min !== undefined) return `≥ ${formatValue(check, min, judge)}`;
  return 'no threshold';
}

const VERDICT_WORD: Record<Measurement['verdict'], string> = { pass: 'pass', fail: 'FAIL', 'no-data': 'no data', error: 'ERROR' };

/** One measurement: `error-rate 0.12% (≤ 1%) pass`. */
export function formatMeasurement(m: Measurement): string {
  return `${m.check} ${formatValue(m.check, m.value, m.judge)} (${formatThreshold(m.check, m.min, m.max, m.judge)}) ${VERDICT_WORD[m.verdict]}`;
}

/** The verdict word of a measurement, as the live view shows it. */
export function verdictWord(m: Measurement): string {
  return VERDICT_WORD[m.verdict];
}

/** The plan in one line: `5% for 20 s → 25% for 40 s → 100%; every 5 s over 10 s windows`. */
export function describePlan(plan: Plan): string {
  const steps = plan.steps.map((s) => (s.holdSeconds === undefined ? `${formatNumber(s.weight)}%` : `${formatNumber(s.weight)}% for ${s.holdSeconds} s`)).join(' → ');
  const a = plan.analysis;
  return `${steps}; judged every ${a.intervalSeconds} s over ${a.window} windows; rollback after ${a.consecutiveFailureLimit} failed intervals in a row`;
}

/** The checks of a plan in one line: `error-rate ≤ 1%, latency-p99 ≤ 500 ms, …`. */
export function describeChecks(plan: Plan): string {
  return plan.checks.map((c) => `${c.name} ${formatThreshold(c.name, c.min, c.max, c.judge)}`).join(', ');
}

/** The tag of an image reference (`…/demo-api:v2` → `v2`), else the reference. */
export function imageTag(image: string): string {
  const last = image.split('/').pop() ?? image;
  const at = last.indexOf('@');
  const colon = last.indexOf(':');
  if (colon >= 0 && (at < 0 || colon < at)) return last.slice(colon + 1, at < 0 ? undefined : at);
  return last;
}

/** What the summary needs to know about one finished run. */
export interface SummaryInput {
  readonly label: string;
  readonly json: DemoJson;
  readonly record: RunRecord | undefined;
  readonly local: LocalRunResult;
  readonly plan: Plan;
  readonly boundSeconds: number;
  readonly finalWeights: { readonly stable: number; readonly canary: number; readonly raw: Readonly<Record<string, number>> };
}

const OUTCOME_HEADLINE: Record<DemoJson['outcome'], string> = {
  promoted: 'PROMOTED',
  rolled_back: 'ROLLED BACK',
  dry_run_passed: 'DRY RUN PASSED',
  failed: 'FAILED',
};

/** The run's summary, a few aligned lines. */
export function summaryLines(input: SummaryInput): string[] {
  const { json, record, local, plan } = input;
  const lines: string[] = [];
  const stage = json.stageReached === null ? '' : ` at step ${json.stageReached} (${formatNumber(plan.steps[json.stageReached]?.weight ?? 0)}%)`;
  lines.push(`${input.label}: ${OUTCOME_HEADLINE[json.outcome]}${json.outcome === 'promoted' || json.outcome === 'dry_run_passed' ? '' : stage}`);
  const row = (name: string, value: string) => lines.push(`  ${name.padEnd(22)}${value}`);
  row('reason', record?.reason ?? local.cause ?? local.error ?? '(no reason recorded)');
  if (json.triggerCheck !== null) {
    const value = json.triggerValue === null ? ': no data' : ` = ${formatValue(json.triggerCheck, json.triggerValue)}`;
    row('trigger', `${json.triggerCheck}${value} (threshold ${formatThreshold(json.triggerCheck, record?.thresholdMin, record?.thresholdMax)})`);
  }
  if (record?.timeToRollbackSeconds !== undefined) row('time to rollback', `${formatNumber(record.timeToRollbackSeconds)} s from the first bad analysis to 100% on stable (run record)`);
  if (json.faultOnsetToRollbackSeconds !== null) {
    const within = json.faultOnsetToRollbackSeconds <= input.boundSeconds ? 'within' : 'OVER';
    row('fault onset → 0%', `${json.faultOnsetToRollbackSeconds} s, ${within} the bound of ${input.boundSeconds} s (${plan.analysis.consecutiveFailureLimit} × ${plan.analysis.intervalSeconds} s + scrape interval + 2 s)`);
  }
  row('canary weight now', `${formatNumber(input.finalWeights.canary)}% (stand-in weights: stable ${input.finalWeights.raw.stable ?? 0} / canary ${input.finalWeights.raw.canary ?? 0})`);
  row('run', `${json.runId} · ${record?.image ?? ''} · ${json.stateTransitions} state transitions · ${json.wallSeconds} s`);
  return lines;
}

/** The rollback report: the rollbacks of the last 30 days, newest first, with the seed's columns. */
export function rollbackReportLines(records: readonly RunRecord[], plans?: ReadonlyMap<string, Plan>): string[] {
  if (records.length === 0) return ['Rollbacks of the last 30 days: none.'];
  const header = ['date', 'version', 'stage', 'trigger metric = value', 'time to rollback'];
  const rows = records.map((r) => {
    const plan = r.plan ?? plans?.get(r.runId);
    const weight = plan?.steps[r.stageReached]?.weight;
    const trigger =
      r.triggerCheck === undefined
        ? (r.reason?.split(':')[0] ?? '–')
        : r.triggerValue === null || r.triggerValue === undefined
          ? `${r.triggerCheck}: no data`
          : `${r.triggerCheck} = ${formatValue(r.triggerCheck, r.triggerValue)}`;
    return [
      (r.endedAt ?? r.startedAt).replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      `${r.service}:${imageTag(r.image)}${r.dryRun ? ' (dry run)' : ''}`,
      r.stageReached < 0 ? '–' : `${r.stageReached}${weight === undefined ? '' : ` (${formatNumber(weight)}%)`}`,
      trigger,
      r.timeToRollbackSeconds === undefined ? '–' : `${formatNumber(r.timeToRollbackSeconds)} s`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const format = (cells: readonly string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd();
  return [`Rollbacks of the last 30 days (${records.length}, from the run log):`, format(header), format(widths.map((w) => '─'.repeat(w))), ...rows.map(format)];
}
