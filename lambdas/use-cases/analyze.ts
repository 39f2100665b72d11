import { describeError } from '../domain/errors';
import { decide, type Cursor } from '../domain/decision';
import { applyOperatorControl, controlGate } from '../domain/control';
import type { Measurement, QueryOutcome } from '../domain/judge';
import type { CheckSpec } from '../domain/plan';
import { renderQuery, templateValues } from '../domain/query-template';
import { dryRunChecks } from '../domain/builtin-checks';
import type { RunContext } from '../domain/run';
import {
  countQuerySet,
  intervalFromCumulative,
  isCountBased,
  judgeChecks,
  latencyBounds,
  measuredFromResults,
  type CountsCursor,
  type CountsObservation,
  type Observations,
} from '../domain/statistics';
import type { MetricsSource, QueryOptions } from '../ports/metrics-source';
import { notificationRun, notifySafely, type Deps } from './deps';
import type { StepState } from './set-weight';

/** The checks of this analysis: the plan's, plus the routing checks of a dry run. */
export function checksFor(run: RunContext, cursor: Cursor): CheckSpec[] {
  return run.dryRun ? [...run.plan.checks, ...dryRunChecks(cursor)] : [...run.plan.checks];
}

async function outcomeOf(source: MetricsSource, promql: string, options: QueryOptions = {}): Promise<QueryOutcome> {
  try {
    return await source.query(promql, options);
  } catch (error) {
    // A provider error is a measurement, not an exception: the judge counts it against errorLimit.
    return { kind: 'error', message: describeError(error).message };
  }
}

/** What measuring needs of the run: its plan and its metrics' label values. */
export type MeasuredRun = Pick<RunContext, 'plan'> & { readonly metrics: Pick<RunContext['metrics'], 'resolved'> };

const valuesFor = (run: MeasuredRun, window: string) =>
  templateValues({ ...run.metrics.resolved, window, intervalSeconds: run.plan.analysis.intervalSeconds });

/**
 * This interval's request counts, shared by every count-based check. Each analysis reads `increase()` from a fixed
 * origin (the first analysis' start) to now, evaluated at now; the interval is the difference with the previous reading,
 * kept in the cursor. Returns the observation, and the reading to keep (none when a query failed: the next
 * analysis then counts both intervals together).
 */
export async function observeCounts(
  source: MetricsSource,
  run: MeasuredRun,
  previous: CountsCursor | undefined,
  checks: readonly CheckSpec[],
  now: Date,
): Promise<{ observation: CountsObservation; reading?: CountsCursor }> {
  const end = Math.floor(now.getTime() / 1000);
  const since = previous?.since ?? end - run.plan.analysis.intervalSeconds;
  // Evaluated at `end` with the API's `time` parameter (every Prometheus-compatible API has it; not every one has `@`).
  const queries = countQuerySet({ latencyBounds: latencyBounds(checks), rangeSeconds: Math.max(1, end - since) });
  const values = valuesFor(run, run.plan.analysis.window);
  const at = new Date(end * 1000);
  const outcomes = await Promise.all(queries.map((q) => outcomeOf(source, renderQuery(q.promql, values), { at })));
  const failed = outcomes.find((o) => o.kind === 'error');
  if (failed?.kind === 'error') return { observation: { kind: 'error', message: failed.message } };
  const cumulative = measuredFromResults(
    queries,
    outcomes.map((o) => (o.kind === 'value' ? o.value : null)),
  );
  return { observation: { kind: 'counts', counts: intervalFromCumulative(previous, cumulative) }, reading: { since, until: end, ...cumulative } };
}

/** Runs every query-based check's query and sample count in parallel. */
async function observeQueries(source: MetricsSource, run: MeasuredRun, checks: readonly CheckSpec[]): Promise<Observations['queries']> {
  const observed = await Promise.all(
    checks
      .filter((check) => !isCountBased(check) && check.query !== undefined)
      .map(async (check) => {
        const values = valuesFor(run, check.window ?? run.plan.analysis.window);
        const [value, samples] = await Promise.all([
          outcomeOf(source, renderQuery(check.query!, values)),
          check.judge !== 'threshold' || check.samplesQuery === undefined ? Promise.resolve(undefined) : outcomeOf(source, renderQuery(check.samplesQuery, values)),
        ]);
        return [check.name, { value, ...(samples && { samples }) }] as const;
      }),
  );
  return Object.fromEntries(observed);
}

/** Queries what the checks need and judges each; returns the measurements and the cursor with the checks' new state. */
export async function measure(source: MetricsSource, run: MeasuredRun, cursor: Cursor, checks: readonly CheckSpec[], now: Date): Promise<{ measurements: Measurement[]; cursor: Cursor }> {
  const counted = checks.some(isCountBased);
  const [counts, queries] = await Promise.all([counted ? observeCounts(source, run, cursor.counts, checks, now) : Promise.resolve(undefined), observeQueries(source, run, checks)]);
  const judged = judgeChecks(run.plan, checks, cursor.statistics, { ...(counts && { counts: counts.observation }), queries }, cursor.weight);
  const statistics = Object.keys(judged.statistics).length > 0 ? { statistics: judged.statistics } : {};
  const reading = counts?.reading ? { counts: counts.reading } : {};
  return { measurements: judged.measurements, cursor: { ...cursor, ...statistics, ...reading } };
}

/** Analyze: measure, judge, decide, record the analysis with every number behind it. */
export async function analyze(deps: Deps, { run, cursor }: StepState): Promise<Cursor> {
  const source = await deps.metricsFor(run.metrics);
  const [{ measurements, cursor: judged }, control] = await Promise.all([measure(source, run, cursor, checksFor(run, cursor), deps.now()), deps.runLog.getControl(run.runId)]);
  const at = deps.now().toISOString();
  const decided = decide(run.plan, judged, measurements, { now: at, dryRun: run.dryRun, gate: controlGate(run.plan, control, run.runId, at) });
  const { cursor: next, decision } = applyOperatorControl(run.plan, decided, control, { dryRun: run.dryRun });
  await deps.runLog.appendEvent({
    runId: run.runId,
    seq: cursor.seq,
    at,
    type: 'analysis',
    stepIndex: cursor.stepIndex,
    weight: cursor.weight,
    measurements,
    decision,
    message: decision.reason.message,
  });
  deps.log.info('analysis', { runId: run.runId, action: decision.action, reason: decision.reason.message, measurements });
  if (decision.action === 'advance' || decision.action === 'promote') {
    await notifySafely(deps, run, {
      kind: 'step-passed',
      at,
      run: notificationRun(run),
      stepIndex: cursor.stepIndex,
      weight: cursor.weight,
      measurements,
      decision,
      message: `Step ${cursor.stepIndex} (${cursor.weight}%) passed: ${decision.reason.message}`,
    });
  }
  return next;
}
