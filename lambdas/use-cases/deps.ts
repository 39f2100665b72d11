import type { RunContext, RunMetrics, RunTraffic } from '../domain/run';
import type { WorkloadConfig } from '../domain/service-config';
import type { Workload } from '../ports/workload';
import type { MetricsSource } from '../ports/metrics-source';
import type { Notifier, Notification } from '../ports/notifier';
import type { RunLog } from '../ports/run-log';
import type { TrafficRouter } from '../ports/traffic-router';
import type { ExecutionReader } from '../ports/execution-reader';
import { describeError } from '../domain/errors';

/** Structured log lines; Powertools' Logger fits, and so does a test's recorder. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** What every step works with. Handlers build it once per container from the environment. */
export interface Deps {
  readonly runLog: RunLog;
  /** The workflow's executions as Step Functions keeps them: the safety net reads where a run was without the table. */
  readonly executions: ExecutionReader;
  /** A router for this run's resolved traffic roles. */
  routerFor(traffic: RunTraffic): TrafficRouter;
  /** The workload that runs the two versions; undefined with workload `none` (an outside system deploys). */
  workloadFor(workload: WorkloadConfig): Workload | undefined;
  /** A metrics source for this run (may fetch a bearer token from Secrets Manager). */
  metricsFor(metrics: RunMetrics): Promise<MetricsSource>;
  /** Where this run's notifications go. */
  notifierFor(notifications: RunContext['notifications']): Notifier;
  now(): Date;
  readonly log: Log;
}

/** Sends a notification; a failure is logged and swallowed, never failing the rollout. */
export async function notifySafely(deps: Deps, run: Pick<RunContext, 'runId' | 'notifications'>, notification: Notification): Promise<void> {
  try {
    await deps.notifierFor(run.notifications).notify(notification);
  } catch (error) {
    deps.log.warn('notification failed; the rollout goes on', { kind: notification.kind, runId: run.runId, error: describeError(error) });
  }
}

/** The run fields every notification carries. */
export function notificationRun(run: RunContext): Notification['run'] {
  return {
    runId: run.runId,
    executionArn: run.executionArn,
    service: run.service,
    image: run.image,
    dryRun: run.dryRun,
    startedAt: run.startedAt,
    trigger: run.trigger,
  };
}
