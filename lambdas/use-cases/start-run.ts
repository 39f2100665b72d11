import { RolloutInProgressError, TrafficNotSettledError, describeError } from '../domain/errors';
import { validateExecution, type RegistrationSource } from '../domain/execution-validation';
import { conventionsOf, type ServiceConfig } from '../domain/service-config';
import { initialCursor, type Cursor } from '../domain/decision';
import type { RunContext, RunMetrics, RunRecord } from '../domain/run';
import { describeTraffic, runTraffic, type RunTraffic } from '../domain/traffic';
import { formatNumber } from '../domain/judge';
import { notificationRun, notifySafely, type Deps } from './deps';

export interface StartRequest {
  /** The execution input as the user gave it; validated here. */
  readonly input: unknown;
  readonly runId: string;
  readonly executionArn: string;
  readonly startedAt: string;
}

export interface StartResult {
  readonly run: RunContext;
  readonly cursor: Cursor;
}

/** The registrations Start validates against: the registry in the run log's table. */
function registry(deps: Deps): RegistrationSource {
  return {
    registration: async (service) => {
      const value = await deps.runLog.getServiceConfig(service);
      return value === undefined ? undefined : { value, root: `registration of '${service}'` };
    },
    services: () => deps.runLog.listServices(),
  };
}

/**
 * Which registered target is stable for this run: the one serving all traffic now. With workload `none` a promotion
 * leaves the new version on the registered canary, so the next run starts from there (blue/green).
 */
async function resolveTraffic(deps: Deps, config: ServiceConfig): Promise<RunTraffic> {
  const registered = runTraffic(config.traffic, false)!;
  const weights = await deps.routerFor(registered).getWeights();
  if (weights.canary === 0) return registered;
  const traded = weights.canary === 100 && config.workload.kind === 'none' ? runTraffic(config.traffic, true) : undefined;
  if (traded) return traded;
  throw new TrafficNotSettledError(
    `traffic of '${config.name}' is not all on stable (${describeTraffic(config.traffic)}: ${formatNumber(weights.stable)}% stable, ${formatNumber(weights.canary)}% canary): ` +
      (weights.canary === 100
        ? 'with a workload, or with an NGINX canary Ingress, stable must serve all traffic at start; set the canary weight back to 0'
        : 'a previous rollout did not finish cleanly; put all traffic on one version before starting another'),
  );
}

function resolveMetrics(config: ServiceConfig, swapped: boolean): RunMetrics {
  const versions = config.metrics.versions ?? { stable: 'stable', canary: 'canary' };
  return {
    ...config.metrics,
    resolved: {
      conventions: conventionsOf(config.metrics),
      serviceLabelValue: config.metrics.serviceLabelValue ?? config.name,
      stableVersion: swapped ? versions.canary : versions.stable,
      canaryVersion: swapped ? versions.stable : versions.canary,
    },
  };
}

/**
 * Start: validate the input, resolve the service's registered config and plan, take the service's lock and
 * write the run record. Refuses clearly (and changes nothing) on bad input, an unknown service, a rollout
 * already in progress, or traffic that is not settled on one version.
 */
export async function startRun(deps: Deps, request: StartRequest): Promise<StartResult> {
  // The same validation as `canary validate`: input, registration, plan within the policy and the history budget.
  const { input, config, plan } = await validateExecution(request.input, registry(deps));

  // Report a rollout in progress rather than the split traffic it causes. (startRun takes the lock atomically;
  // this read only chooses the clearer error. A retried Start of this run finds its own lock and goes on:
  // Start shifts nothing, so the roles it resolves are the same.)
  const lock = await deps.runLog.getLock(input.service);
  if (lock && lock.runId !== request.runId) throw new RolloutInProgressError(input.service, lock.runId, lock.since);
  const traffic = await resolveTraffic(deps, config);
  // With a workload, stable must be healthy at start: it is what a rollback falls back to. Its image is the one to restore.
  const workload = deps.workloadFor(config.workload);
  let previousImage: string | undefined;
  let stableDesired: number | undefined;
  if (workload) {
    const stable = await workload.isHealthy('stable');
    if (!stable.ready) throw new TrafficNotSettledError(`${workload.describe('stable')} is not healthy, so nothing could be rolled back to: ${stable.detail}`);
    previousImage = stable.image;
    stableDesired = stable.desired;
  }

  const run: RunContext = {
    runId: request.runId,
    executionArn: request.executionArn,
    service: input.service,
    image: input.image,
    dryRun: input.dryRun,
    startedAt: request.startedAt,
    trigger: input.trigger,
    plan,
    traffic,
    metrics: resolveMetrics(config, traffic.swapped),
    workload: config.workload,
    notifications: config.notifications,
    ...(previousImage && { previousImage }),
    ...(stableDesired !== undefined && { stableDesired }),
  };
  const record: RunRecord = {
    runId: run.runId,
    executionArn: run.executionArn,
    service: run.service,
    image: run.image,
    dryRun: run.dryRun,
    trigger: run.trigger,
    startedAt: run.startedAt,
    outcome: 'running',
    stageReached: -1,
    maxWeight: 0,
    plan,
    traffic,
    notifications: config.notifications,
    workload: config.workload,
  };
  await deps.runLog.startRun(record);
  try {
    await deps.runLog.appendEvent({ runId: run.runId, seq: 0, at: request.startedAt, type: 'started', message: `rollout of ${run.image} started${run.dryRun ? ' (dry run)' : ''}` });
  } catch (error) {
    // Nothing has shifted yet: give the lock back so the failed start does not block the service.
    await deps.runLog.finishRun(run.runId, run.service, { outcome: 'aborted', endedAt: deps.now().toISOString(), reason: `start failed: ${describeError(error).message}` }).catch(() => undefined);
    throw error;
  }
  await notifySafely(deps, run, {
    kind: 'started',
    at: request.startedAt,
    run: notificationRun(run),
    message: `${run.dryRun ? 'Dry run' : 'Rollout'} of ${run.image} to ${run.service} started: ${plan.steps.map((s) => `${formatNumber(s.weight)}%`).join(' → ')}, checks ${plan.checks.map((c) => c.name).join(', ')}`,
  });
  return { run, cursor: initialCursor(plan) };
}
