import { formatNumber } from '../domain/judge';
import type { RunContext } from '../domain/run';
import type { Deps } from './deps';
import { gateDeadline, rolloutTiming, windowFrom, type RunCursor, type WorkloadProgress } from './progress';

export interface PrepareState {
  readonly run: RunContext;
  readonly cursor: RunCursor;
}

/**
 * Prepare: put the new image on the canary workload and wait until it is ready, then until its targets are healthy,
 * before any traffic moves. One step per call; the workflow waits between calls, and past the deadline the run
 * rolls back. Nothing shifts here.
 */
export async function prepare(deps: Deps, { run, cursor }: PrepareState): Promise<RunCursor> {
  const workload = deps.workloadFor(run.workload);
  const now = deps.now();
  const timing = rolloutTiming(run.workload);
  if (!workload) {
    return { ...cursor, workload: { phase: 'ready', ready: true, waitSeconds: 0, window: windowFrom(now, 0), detail: 'an outside system deploys the canary' } };
  }
  let seq = cursor.seq;
  let progress: WorkloadProgress | undefined = cursor.workload;
  const record = async (message: string) =>
    deps.runLog.appendEvent({ runId: run.runId, seq: seq++, at: now.toISOString(), type: 'workload', stepIndex: cursor.stepIndex, weight: cursor.weight, message });

  if (!progress) {
    const status = await workload.prepareCanary(run.image);
    await record(`deploying ${run.image} on ${workload.describe('canary')}: ${status.detail}`);
    progress = { phase: 'deploying', ready: false, waitSeconds: timing.pollSeconds, window: windowFrom(now, timing.readyTimeoutSeconds), detail: status.detail };
  }
  if (progress.phase === 'deploying') {
    const status = await workload.canaryStatus(run.image, progress.window);
    if (!status.ready) return { ...cursor, seq, workload: { ...progress, detail: status.detail } };
    await record(`${workload.describe('canary')} runs ${run.image}: ${status.detail}`);
    progress = { ...progress, phase: 'health-gate', detail: status.detail };
  }
  // The canary's targets must be healthy before it takes its first request.
  const health = await deps.routerFor(run.traffic).healthOf('canary');
  if (!health.ready) {
    gateDeadline('the canary', health.detail, progress.window, now);
    return { ...cursor, seq, workload: { ...progress, detail: health.detail } };
  }
  const waited = (now.getTime() - Date.parse(progress.window.startedAt)) / 1000;
  await record(`canary ready after ${formatNumber(waited)} s: ${health.detail}`);
  return { ...cursor, seq, workload: { ...progress, phase: 'ready', ready: true, waitSeconds: 0, detail: health.detail } };
}
