import type { Cursor } from '../domain/decision';
import { formatNumber } from '../domain/judge';
import type { Deps } from './deps';
import type { StepState } from './set-weight';

/**
 * Promote: with workload `none` the new version lives on the canary target, so promotion sends it all
 * traffic (the next run starts from there and the targets trade roles). Verified by read-back.
 */
export async function promote(deps: Deps, { run, cursor }: StepState): Promise<Cursor> {
  const weights = await deps.routerFor(run.traffic).setWeights(100);
  await deps.runLog.appendEvent({
    runId: run.runId,
    seq: cursor.seq,
    at: deps.now().toISOString(),
    type: 'promoted',
    stepIndex: cursor.stepIndex,
    weight: weights.canary,
    message: `${run.image} promoted: new version ${formatNumber(weights.canary)}%, previous ${formatNumber(weights.stable)}%`,
  });
  await deps.runLog.updateRun(run.runId, { stageReached: run.plan.steps.length - 1, maxWeight: weights.canary });
  return { ...cursor, weight: weights.canary, seq: cursor.seq + 1 };
}
