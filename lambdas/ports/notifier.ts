import type { Decision } from '../domain/decision';
import type { Measurement } from '../domain/judge';
import type { Outcome, RunContext } from '../domain/run';

export type NotificationKind = 'started' | 'step-passed' | 'rolled-back' | 'promoted' | 'rollback-failed' | 'dry-run-passed' | 'aborted';

/** What a notification says; every one carries the numbers behind it. */
export interface Notification {
  readonly kind: NotificationKind;
  readonly at: string;
  readonly run: Pick<RunContext, 'runId' | 'executionArn' | 'service' | 'image' | 'dryRun' | 'startedAt' | 'trigger'>;
  readonly outcome?: Outcome;
  readonly stepIndex?: number;
  readonly weight?: number;
  readonly measurements?: readonly Measurement[];
  readonly decision?: Decision;
  /** One sentence: the reason, with check, value and threshold when there is one. */
  readonly message: string;
  readonly manualCommand?: string;
  readonly timeToRollbackSeconds?: number;
}

/** Tells people what a run did (Slack, SNS, logs). A failed notification never fails a rollout. */
export interface Notifier {
  /** Delivers one notification; may throw, the caller logs and carries on. */
  notify(notification: Notification): Promise<void>;
}
