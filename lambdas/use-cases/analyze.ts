import { describeError } from '../domain/errors';
import { decide, type Cursor } from '../domain/decision';
import { applyOperatorControl, controlGate } from '../domain/control';
import { judgeCheck, type Measurement, type QueryOutcome } from '../domain/judge';
import type { CheckSpec } from '../domain/plan';
import { renderQuery, templateValues } from '../domain/query-template';
import { dryRunChecks } from '../domain/builtin-checks';
import type { RunContext } from '../domain/run';
import type { MetricsSource } from '../ports/metrics-source';
import { notificationRun, notifySafely, type Deps } from './deps';
import type { StepState } from './set-weight';

/** The checks of this analysis: the plan's, plus the routing checks of a dry run. */
export function checksFor(run: RunContext, cursor: Cursor): CheckSpec[] {
  return run.dryRun ? [...run.plan.checks, ...dryRunChecks(cursor)] : [...run.plan.checks];
}

async function outcomeOf(source: MetricsSource, promql: string): Promise<QueryOutcome> {
  try {
    return await source.query(promql);
  } catch (error) {
    // A provider error is a measurement, not an exception: the judge counts it against errorLimit.
    return { kind: 'error', message: describeError(error).message };
  }
}

/** Runs every check's query and sample count in parallel and judges each. */
export async function measure(source: MetricsSource, run: RunContext, checks: readonly CheckSpec[]): Promise<Measurement[]> {
  return Promise.all(
    checks.map(async (check) => {
      const values = templateValues({
        ...run.metrics.resolved,
        window: check.window ?? run.plan.analysis.window,
        intervalSeconds: run.plan.analysis.intervalSeconds,
      });
      const [value, samples] = await Promise.all([
        outcomeOf(source, renderQuery(check.query, values)),
        check.samplesQuery === undefined ? Promise.resolve(undefined) : outcomeOf(source, renderQuery(check.samplesQuery, values)),
      ]);
      return judgeCheck(check, value, samples);
    }),
  );
}

/** Analyze: measure, judge, decide, record the analysis with every number behind it. */
export async function analyze(deps: Deps, { run, cursor }: StepState): Promise<Cursor> {
  const source = await deps.metricsFor(run.metrics);
  const [measurements, control] = await Promise.all([measure(source, run, checksFor(run, cursor)), deps.runLog.getControl(run.runId)]);
  const at = deps.now().toISOString();
  const judged = decide(run.plan, cursor, measurements, { now: at, dryRun: run.dryRun, gate: controlGate(run.plan, control, run.runId, at) });
  const { cursor: next, decision } = applyOperatorControl(run.plan, judged, control, { dryRun: run.dryRun });
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
