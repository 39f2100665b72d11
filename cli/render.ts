import { isPaused, type OperatorAction, type RunControl } from '../lambdas/domain/control';
import { formatNumber } from '../lambdas/domain/judge';
import type { Plan } from '../lambdas/domain/plan';
import type { Outcome, RunEvent, RunRecord } from '../lambdas/domain/run';
import { describePlan, formatMeasurement, formatThreshold, formatValue, imageTag, verdictWord } from '../local/demo/report';

/**
 * What the CLI prints about a run: its status, its events as lines, the live block of `watch`, the line it
 * ends with. Measurements read in people's units, as the demo shows them (local/demo/report.ts).
 */

/** A run as read from the run log. */
export interface RunSnapshot {
  readonly record: RunRecord;
  readonly events: readonly RunEvent[];
  readonly control: RunControl | undefined;
}

/** `2025-05-18T10:15:00.123Z` → `2025-05-18 10:15:00Z`. */
export function formatDate(iso: string): string {
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, 'Z');
}

/** `2025-05-18T10:15:00.123Z` → `10:15:00Z`. */
export function formatTime(iso: string): string {
  return formatDate(iso).slice(11);
}

/** Seconds as people read them: `14.2 s`, `3 min 12 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(1))} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 === 0 ? '' : ` ${s % 60} s`}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) === 0 ? '' : ` ${Math.floor((s % 3600) / 60)} min`}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3600) === 0 ? '' : ` ${Math.floor((s % 86_400) / 3600)} h`}`;
}

const secondsBetween = (from: string, to: number) => Math.max(0, (to - Date.parse(from)) / 1000);
const ago = (iso: string, now: number) => `${formatDuration(secondsBetween(iso, now))} ago`;

const OUTCOME_WORDS: Readonly<Record<Outcome, string>> = {
  running: 'running',
  promoted: 'PROMOTED',
  rolled_back: 'ROLLED BACK',
  rollback_failed: 'ROLLBACK FAILED',
  dry_run_passed: 'DRY RUN PASSED',
  aborted: 'ABORTED',
};

/** The outcome in capitals, as the summary line says it. */
export function outcomeWord(outcome: Outcome): string {
  return OUTCOME_WORDS[outcome];
}

/** The step the run is at: that of the last event that names one; -1 before any. */
export function currentStep(events: readonly RunEvent[]): number {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].stepIndex !== undefined) return events[i].stepIndex!;
  return -1;
}

/** The canary weight as last set: that of the last event that carries one; undefined before any. */
export function currentWeight(events: readonly RunEvent[]): number | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].weight !== undefined) return events[i].weight;
  return undefined;
}

/** The last analysis of the run. */
export function lastAnalysis(events: readonly RunEvent[]): RunEvent | undefined {
  return events.findLast((e) => e.type === 'analysis');
}

/** `20% → [50%] → 100%`, the current step in brackets. */
export function planLine(plan: Plan, step: number): string {
  return plan.steps.map((s, i) => (i === step ? `[${formatNumber(s.weight)}%]` : `${formatNumber(s.weight)}%`)).join(' → ');
}

/** The weight of a step of the run's plan, as `step 1 (25%)`. */
function stepText(plan: Plan | undefined, step: number): string {
  const weight = plan?.steps[step]?.weight;
  return `step ${step}${weight === undefined ? '' : ` (${formatNumber(weight)}%)`}`;
}

/** The gate an approval at step `step` opens: `step 1 (50%)`, or `promotion` on the last step. */
export function gateText(plan: Plan | undefined, step: number): string {
  if (plan !== undefined && step === plan.steps.length - 1) return `promotion (step ${step}, ${formatNumber(plan.steps[step].weight)}%)`;
  return stepText(plan, step);
}

/**
 * The approval gate the run waits at, from its last analysis: the step the held move goes to (on the last step,
 * promotion). Undefined when the last decision is not waiting for an approval.
 */
export function awaitedGate(record: RunRecord, events: readonly RunEvent[]): number | undefined {
  const decision = lastAnalysis(events)?.decision;
  if (decision?.reason.kind !== 'awaiting-approval' || record.plan === undefined) return undefined;
  return Math.min(decision.reason.stepIndex + 1, record.plan.steps.length - 1);
}

const by = (a: OperatorAction) => `${a.by} at ${formatDate(a.at)}${a.reason ? ` (${a.reason})` : ''}`;

/** What the operator controls of a run are doing: pending, in effect, or (for an ended run) given. */
export function controlLines(snapshot: RunSnapshot): string[] {
  const { record, events, control } = snapshot;
  const runId = record.runId;
  const running = record.outcome === 'running';
  const lines: string[] = [];
  const honouredAt = (a: OperatorAction) => events.find((e) => e.type === 'analysis' && Date.parse(e.at) >= Date.parse(a.at))?.at;
  if (!running) {
    if (control?.abort) lines.push(`abort by ${by(control.abort)}`);
    if (control?.promote) lines.push(`promote by ${by(control.promote)}`);
    if (control?.pause) lines.push(`pause by ${by(control.pause)}`);
    if (control?.resume) lines.push(`resume by ${by(control.resume)}`);
    for (const [step, a] of Object.entries(control?.approvals ?? {})) lines.push(`approval of ${gateText(record.plan, Number(step))} by ${by(a)}`);
    return lines.length === 0 ? ['none given'] : lines;
  }
  if (control?.abort) {
    const at = honouredAt(control.abort);
    lines.push(`abort by ${by(control.abort)}: ${at ? `honoured at ${formatTime(at)}, rolling back` : 'pending, rolls back at the next interval'}`);
  }
  if (control?.promote) {
    const at = honouredAt(control.promote);
    lines.push(`promote by ${by(control.promote)}: ${at ? `honoured at ${formatTime(at)}, promotes at the first passing interval` : 'pending, promotes at the next passing interval'}`);
  }
  if (isPaused(control)) {
    const pause = control!.pause!;
    const at = honouredAt(pause);
    lines.push(`paused by ${by(pause)}: ${at ? 'holding at this weight' : 'pending, holds from the next interval'}; \`canary resume ${runId}\` to go on`);
  } else if (control?.pause && control.resume && honouredAt(control.resume) === undefined) {
    lines.push(`resume by ${by(control.resume)}: pending, goes on at the next interval`);
  }
  const step = currentStep(events);
  const last = (record.plan?.steps.length ?? 0) - 1;
  for (const [gate, a] of Object.entries(control?.approvals ?? {})) {
    const index = Number(gate);
    if (index > step || (index === last && index === step)) lines.push(`approval of ${gateText(record.plan, index)} by ${by(a)}: pending, goes on once the hold is done`);
  }
  const awaited = awaitedGate(record, events);
  if (awaited !== undefined && control?.approvals?.[String(awaited)] === undefined) {
    lines.push(`waiting for approval of ${gateText(record.plan, awaited)}: \`canary approve ${runId}\``);
  }
  return lines.length === 0 ? ['none pending'] : lines;
}

type Measurements = NonNullable<RunEvent['measurements']>;

/** The measurements of an analysis as rows of aligned columns: check, value, threshold, verdict, samples. */
function measurementRows(measurements: Measurements): string[] {
  const width = Math.max(0, ...measurements.map((m) => m.check.length));
  return measurements.map((m) => {
    const samples = m.samples === null ? '' : m.check.startsWith('memory-') ? `${formatNumber(m.samples)} series` : `${Math.round(m.samples)} samples`;
    return `${m.check.padEnd(width)}  ${formatValue(m.check, m.value, m.judge).padStart(8)}  ${formatThreshold(m.check, m.min, m.max, m.judge).padEnd(10)} ${verdictWord(m).padEnd(8)} ${samples}`.trimEnd();
  });
}

const LABEL = 10;
const row = (label: string, value: string) => `${label.padEnd(LABEL)}${value}`;
const more = (value: string) => `${' '.repeat(LABEL)}${value}`;

/** `canary status`: the record, where the run is, its last analysis and its controls. */
export function statusLines(snapshot: RunSnapshot, now = Date.now()): string[] {
  const { record, events } = snapshot;
  const plan = record.plan;
  const lines = [row('run', record.runId), row('service', record.service), row('image', `${record.image}${record.dryRun ? ' (dry run)' : ''}`)];
  const actor = record.trigger.actor === undefined ? record.trigger.source : `${record.trigger.actor} (${record.trigger.source})`;
  lines.push(row('started', `${formatDate(record.startedAt)} by ${actor}, ${ago(record.startedAt, now)}`));
  if (plan) lines.push(row('plan', describePlan(plan)));

  if (record.outcome === 'running') {
    lines.push(row('state', 'running'));
    const step = currentStep(events);
    if (plan) lines.push(row('stage', step < 0 ? `not shifted yet: ${planLine(plan, -1)}` : `step ${step} of ${plan.steps.length}: ${planLine(plan, step)}`));
    const weight = currentWeight(events);
    lines.push(row('weights', weight === undefined ? 'all on stable (nothing shifted yet)' : `canary ${formatNumber(weight)}% · stable ${formatNumber(100 - weight)}%`));
  } else {
    const ended = record.endedAt === undefined ? '' : ` at ${formatDate(record.endedAt)}, after ${formatDuration(secondsBetween(record.startedAt, Date.parse(record.endedAt)))}`;
    lines.push(row('state', `${outcomeWord(record.outcome)}${ended}`));
    if (record.stageReached >= 0) lines.push(row('stage', `reached ${stepText(plan, record.stageReached)}${plan ? `: ${planLine(plan, record.stageReached)}` : ''}`));
    lines.push(row('weights', finalTraffic(record)));
    if (record.reason) lines.push(row('reason', record.reason));
    if (record.triggerCheck !== undefined) lines.push(row('trigger', triggerText(record, true)));
    if (record.timeToRollbackSeconds !== undefined) {
      // An abort's clock starts at the request (control.ts), any other rollback's at the first bad analysis.
      const since = abortedBy(record.reason) !== undefined ? 'the abort' : 'the first bad analysis';
      lines.push(row('rollback', `${formatNumber(record.timeToRollbackSeconds)} s from ${since} to 100% on stable`));
    }
    if (record.manualCommand) lines.push(row('manual', record.manualCommand));
  }

  const analysis = lastAnalysis(events);
  if (analysis === undefined) lines.push(row('analysis', 'none yet'));
  else {
    lines.push(row('analysis', `${formatTime(analysis.at)} (${ago(analysis.at, now)}) at ${stepText(plan, analysis.stepIndex ?? 0)}`));
    for (const m of measurementRows(analysis.measurements ?? [])) lines.push(more(m));
    if (analysis.decision) lines.push(row('decision', `${analysis.decision.action}: ${analysis.decision.reason.message}`));
  }
  const controls = controlLines(snapshot);
  lines.push(row('controls', controls[0]), ...controls.slice(1).map(more));
  return lines;
}

/** Where the traffic is after the run ended. */
function finalTraffic(record: RunRecord): string {
  switch (record.outcome) {
    case 'promoted':
      return `all on the new version (${imageTag(record.image)})`;
    case 'rollback_failed':
      return 'may still be split: the rollback failed (see manual)';
    default:
      return 'all on stable';
  }
}

/** The check that ended a run, with its value: `error-rate = 4.2%`, and with `threshold`, `(≤ 1%)`. */
export function triggerText(record: RunRecord, threshold = false): string {
  const check = record.triggerCheck;
  if (check === undefined) return triggerWithoutCheck(record.reason);
  // How the trigger was judged, from the plan the run followed: count-based values are shares of requests.
  const judge = record.plan?.checks.find((c) => c.name === check)?.judge;
  const value = record.triggerValue === null || record.triggerValue === undefined ? `${check}: no data` : `${check} = ${formatValue(check, record.triggerValue, judge)}`;
  return threshold && (record.thresholdMin !== undefined || record.thresholdMax !== undefined) ? `${value} (${formatThreshold(check, record.thresholdMin, record.thresholdMax, judge)})` : value;
}

/** Who aborted the run, when its reason is an operator abort (`aborted by alice at 2026-…`, control.ts). */
function abortedBy(reason: string | undefined): string | undefined {
  return reason === undefined ? undefined : /^aborted by (.+?) at \d{4}-/.exec(reason)?.[1];
}

/** What ended a run that no single check explains, in a few words. */
function triggerWithoutCheck(reason: string | undefined): string {
  if (reason === undefined) return '–';
  const aborted = abortedBy(reason);
  if (aborted !== undefined) return `operator abort (${aborted})`;
  if (reason.startsWith('no approval')) return 'approval timeout';
  if (reason.startsWith('step failed')) return 'step failed';
  if (reason.startsWith('execution ')) return reason.split(':')[0];
  const first = reason.split(/[;:(]/)[0].trim();
  return first.length > 40 ? `${first.slice(0, 39)}…` : first;
}

/** Seconds since `since` as `[+ 12.3s]`. */
export function stampAt(startedAt: string, at: string): string {
  const seconds = (Date.parse(at) - Date.parse(startedAt)) / 1000;
  return `[+${(Number.isNaN(seconds) ? 0 : Math.max(0, seconds)).toFixed(1).padStart(5)}s]`;
}

const INDENT = ' '.repeat(10);

/** The lines `watch` prints for one event. */
export function eventLines(event: RunEvent, startedAt: string): string[] {
  const t = stampAt(startedAt, event.at);
  switch (event.type) {
    case 'analysis': {
      const lines = [`${t} analysis at step ${event.stepIndex ?? '?'} (${formatNumber(event.weight ?? 0)}%): ${(event.measurements ?? []).map(formatMeasurement).join(' · ')}`];
      if (event.decision) lines.push(`${INDENT}→ ${event.decision.action}: ${event.decision.reason.message}`);
      return lines;
    }
    case 'rollback-started':
      return [`${t} ROLLBACK: ${event.message ?? ''}`];
    case 'safety-net':
      return [`${t} safety net: ${event.message ?? ''}`];
    default:
      return [`${t} ${event.message ?? event.type}`];
  }
}

/** The line `watch` ends with. */
export function summaryLine(record: RunRecord): string {
  const after = record.endedAt === undefined ? '' : ` after ${formatDuration(secondsBetween(record.startedAt, Date.parse(record.endedAt)))}`;
  const at = record.outcome === 'promoted' || record.outcome === 'dry_run_passed' || record.stageReached < 0 ? '' : ` at ${stepText(record.plan, record.stageReached)}`;
  const parts = [`Run ${record.runId} ${outcomeWord(record.outcome)}${at}${after}`];
  if (record.reason) parts.push(record.reason);
  let line = parts.join(': ');
  if (record.timeToRollbackSeconds !== undefined) line += `; time to rollback ${formatNumber(record.timeToRollbackSeconds)} s`;
  if (record.manualCommand) line += `; restore stable by hand: ${record.manualCommand}`;
  return line;
}

/** The block `watch` redraws on a terminal: stage, weights, the last analysis, the decision, the controls. */
export function liveBlock(snapshot: RunSnapshot, now = Date.now()): string[] {
  const { record, events } = snapshot;
  const plan = record.plan;
  const step = currentStep(events);
  const weight = currentWeight(events);
  const lines = [`── ${record.service} · run ${record.runId} · ${formatDuration(secondsBetween(record.startedAt, now))} · ${outcomeWord(record.outcome)} ${'─'.repeat(10)}`];
  if (plan) lines.push(`  stage     ${step < 0 ? 'not shifted yet' : `step ${step}`}: ${planLine(plan, step)}`);
  lines.push(`  weights   ${weight === undefined ? 'all on stable' : `canary ${formatNumber(weight)}% · stable ${formatNumber(100 - weight)}%`}`);
  const analysis = lastAnalysis(events);
  const measurements = analysis?.measurements ?? [];
  if (measurements.length === 0) lines.push('  checks    (no analysis yet)');
  measurementRows(measurements).forEach((m, i) => lines.push(`  ${i === 0 ? 'checks  ' : '        '}  ${m}`));
  lines.push(`  decision  ${analysis?.decision ? `${analysis.decision.action}: ${analysis.decision.reason.message}` : '–'}`);
  const controls = controlLines(snapshot);
  lines.push(`  controls  ${controls[0]}`, ...controls.slice(1).map((c) => `            ${c}`));
  return lines;
}
