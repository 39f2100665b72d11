import { ConfigurationError } from '../domain/errors';
import { formatNumber } from '../domain/judge';
import type { Cursor } from '../domain/decision';
import type { RunContext } from '../domain/run';
import type { Deps } from './deps';

export interface StepState {
  readonly run: RunContext;
  readonly cursor: Cursor;
}

/** SetWeight: apply the weight of the cursor's step, verified by read-back, and record it. Repeatable. */
export async function setWeight(deps: Deps, { run, cursor }: StepState): Promise<Cursor> {
  const step = run.plan.steps[cursor.stepIndex];
  if (!step) throw new ConfigurationError(`plan.steps[${cursor.stepIndex}] does not exist (the plan has ${run.plan.steps.length} steps)`);
  const weights = await deps.routerFor(run.traffic).setWeights(step.weight);
  await deps.runLog.appendEvent({
    runId: run.runId,
    seq: cursor.seq,
    at: deps.now().toISOString(),
    type: 'weight-set',
    stepIndex: cursor.stepIndex,
    weight: weights.canary,
    message: `step ${cursor.stepIndex}: canary ${formatNumber(weights.canary)}%, stable ${formatNumber(weights.stable)}%`,
  });
  await deps.runLog.updateRun(run.runId, { stageReached: cursor.stepIndex, maxWeight: weights.canary });
  const { decision: _done, ...rest } = cursor;
  return { ...rest, weight: weights.canary, passedIntervals: 0, stepAnalyses: 0, seq: cursor.seq + 1, waitSeconds: run.plan.analysis.intervalSeconds };
}
