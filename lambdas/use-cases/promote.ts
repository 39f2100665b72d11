import { describeError } from '../domain/errors';
import { formatNumber } from '../domain/judge';
import type { RunContext } from '../domain/run';
import type { Deps } from './deps';
import { gateDeadline, rolloutTiming, windowFrom, type PromotionProgress, type RunCursor } from './progress';

export interface PromoteState {
  readonly run: RunContext;
  readonly cursor: RunCursor;
}

/**
 * Promote. With workload `none` the new version lives on the canary target, so promotion sends it all traffic (the
 * next run starts from there and the targets trade roles). With a workload: stable gets the new image, waits until
 * it runs it, its targets pass the health gate, all traffic flips to stable, and the canary scales to zero. Each call
 * goes as far as it can without waiting; the workflow waits between calls; past the deadline the run rolls back.
 */
export async function promote(deps: Deps, { run, cursor }: PromoteState): Promise<RunCursor> {
  const router = deps.routerFor(run.traffic);
  const workload = deps.workloadFor(run.workload);
  const now = deps.now();
  let seq = cursor.seq;
  const record = async (type: 'promoted' | 'workload', message: string, weight?: number) =>
    deps.runLog.appendEvent({ runId: run.runId, seq: seq++, at: now.toISOString(), type, stepIndex: cursor.stepIndex, ...(weight !== undefined && { weight }), message });

  if (!workload) {
    const weights = await router.setWeights(100);
    await record('promoted', `${run.image} promoted: new version ${formatNumber(weights.canary)}%, previous ${formatNumber(weights.stable)}%`, weights.canary);
    await deps.runLog.updateRun(run.runId, { stageReached: run.plan.steps.length - 1, maxWeight: weights.canary });
    return { ...cursor, seq, weight: weights.canary, promotion: { phase: 'done', done: true, waitSeconds: 0, detail: 'all traffic on the new version' } };
  }

  const timing = rolloutTiming(run.workload);
  let p: PromotionProgress = cursor.promotion ?? { phase: 'update-stable', done: false, waitSeconds: timing.pollSeconds, detail: '' };
  let weight = cursor.weight;
  const wait = (detail: string) => ({ ...cursor, seq, weight, promotion: { ...p, detail } });

  if (p.phase === 'update-stable') {
    const status = await workload.promoteStable(run.image);
    await record('workload', `promoting: ${run.image} going onto ${workload.describe('stable')}: ${status.detail}`);
    p = { ...p, phase: 'await-stable', window: windowFrom(now, timing.readyTimeoutSeconds), detail: status.detail };
  }
  if (p.phase === 'await-stable') {
    const status = await workload.stableStatus(run.image, p.window);
    if (!status.ready) return wait(status.detail);
    await record('workload', `${workload.describe('stable')} runs ${run.image}: ${status.detail}`);
    p = { ...p, phase: 'health-gate' };
  }
  if (p.phase === 'health-gate') {
    const health = await router.healthOf('stable');
    if (!health.ready) {
      gateDeadline('stable', health.detail, p.window ?? windowFrom(now, timing.readyTimeoutSeconds), now);
      return wait(health.detail);
    }
    p = { ...p, phase: 'flip', detail: health.detail };
  }
  if (p.phase === 'flip') {
    const weights = await router.setWeights(0);
    weight = weights.canary;
    await record('promoted', `${run.image} promoted: stable runs it and serves ${formatNumber(weights.stable)}% of traffic`, weights.canary);
    await deps.runLog.updateRun(run.runId, { stageReached: run.plan.steps.length - 1 });
    p = { ...p, phase: 'scale-down' };
  }
  if (p.phase === 'scale-down') {
    try {
      const status = await workload.scaleDownCanary();
      await record('workload', `${workload.describe('canary')} scaled down: ${status.detail}`);
      p = { ...p, phase: 'done', done: true, waitSeconds: 0, detail: status.detail };
    } catch (error) {
      // The release is live on stable; a canary left running costs money, not users.
      const warning = `the canary could not be scaled down: ${describeError(error).message}`;
      await record('workload', warning);
      p = { ...p, phase: 'done', done: true, waitSeconds: 0, detail: warning, warning };
    }
  }
  return { ...cursor, seq, weight, promotion: p };
}
