import type { Plan } from './plan';
import type { RunTraffic } from './traffic';
import type { MetricsConfig, NotificationsConfig, WorkloadConfig } from './service-config';
import type { MetricConventions } from './query-template';
import type { Trigger } from './execution-input';
import type { Decision, Cursor } from './decision';
import type { Measurement } from './judge';

/**
 * A run: one rollout of one image to one service. Its context is resolved once by Start and travels in
 * the workflow state; its record and events live in the run log.
 */

export type { RunTraffic } from './traffic';

/** The metrics source of this run, with label values resolved for the roles of this run. */
export type RunMetrics = MetricsConfig & {
  readonly resolved: {
    readonly conventions: MetricConventions;
    readonly serviceLabelValue: string;
    readonly canaryVersion: string;
    readonly stableVersion: string;
  };
};

export interface RunContext {
  readonly runId: string;
  readonly executionArn: string;
  readonly service: string;
  readonly image: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly trigger: Trigger;
  readonly plan: Plan;
  readonly traffic: RunTraffic;
  readonly metrics: RunMetrics;
  readonly workload: WorkloadConfig;
  readonly notifications: NotificationsConfig;
  /** The image stable ran when the run started (from the workload; unknown with workload `none`). */
  readonly previousImage?: string;
  /** Replicas (tasks) stable asked for when the run started: a rollback brings it back to this size before traffic returns. */
  readonly stableDesired?: number;
}

export type Outcome = 'running' | 'promoted' | 'rolled_back' | 'rollback_failed' | 'dry_run_passed' | 'aborted';

export const FINAL_OUTCOMES: readonly Outcome[] = ['promoted', 'rolled_back', 'rollback_failed', 'dry_run_passed', 'aborted'];

/** The run record: one per rollout, updated as it goes, final when `outcome` is not `running`. */
export interface RunRecord {
  readonly runId: string;
  readonly executionArn: string;
  readonly service: string;
  readonly image: string;
  readonly dryRun: boolean;
  readonly trigger: Trigger;
  readonly startedAt: string;
  readonly outcome: Outcome;
  /** Highest step index that received traffic; -1 before any shift. */
  readonly stageReached: number;
  /** Highest canary weight applied, percent. */
  readonly maxWeight: number;
  readonly endedAt?: string;
  /** Why the run ended as it did, one sentence with the numbers. */
  readonly reason?: string;
  readonly triggerCheck?: string;
  readonly triggerValue?: number | null;
  readonly thresholdMin?: number;
  readonly thresholdMax?: number;
  /** Seconds from the first bad analysis (or the failed step) until 100% was back on stable. */
  readonly timeToRollbackSeconds?: number;
  /** The exact command a person runs when the automatic rollback failed. */
  readonly manualCommand?: string;
  /** The plan the run followed, for review. */
  readonly plan?: Plan;
  /** The run's traffic roles: what the safety net restores if the execution dies. */
  readonly traffic?: RunTraffic;
  /** Where the run's notifications go. */
  readonly notifications?: NotificationsConfig;
  /** What runs the two versions: the safety net scales the canary down. */
  readonly workload?: WorkloadConfig;
}

export type EventType =
  | 'started'
  | 'weight-set'
  | 'analysis'
  | 'promoted'
  | 'rollback-started'
  | 'rollback-step'
  | 'rolled-back'
  | 'rollback-failed'
  | 'finished'
  | 'task-failed'
  | 'safety-net'
  | 'workload';

/**
 * Who writes an event, besides the steps of the main path (SetWeight, Analyze, Promote…). A step that failed after
 * recording at seq N leaves the cursor at N, so the rollback (and Finish, and the safety net) that follow count from N
 * too: each writes in its own lane, so a (seq, lane) key is written once by one writer and a retry of that writer
 * repeats its own key, never overwrites another's (issue: a retried step dropped Rollback's `rollback-started`).
 */
export const EVENT_LANES = ['rollback', 'finish', 'safety-net'] as const;
export type EventLane = (typeof EVENT_LANES)[number];

/** An append-only event: one per transition and per analysis, with the numbers behind it. */
export interface RunEvent {
  readonly runId: string;
  /** Position in the run; the same (seq, lane) is recorded once, so a retried step cannot double-record. */
  readonly seq: number;
  /** The writer's lane; unset for the steps of the main path. Events list in (seq, lane) order, the main path first. */
  readonly lane?: EventLane;
  readonly at: string;
  readonly type: EventType;
  readonly stepIndex?: number;
  readonly weight?: number;
  readonly measurements?: readonly Measurement[];
  readonly decision?: Decision;
  readonly message?: string;
}

/** The workflow state between Tasks (JSONPath `$`). */
export interface WorkflowState {
  readonly input: unknown;
  readonly run: RunContext;
  readonly cursor: Cursor;
  readonly decision?: Decision;
  /** Set by a Catch: the error that sent the run to rollback. */
  readonly error?: { readonly Error: string; readonly Cause: string };
}
