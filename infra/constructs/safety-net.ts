import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { SAFETY_NET_HANDLER } from '../../lambdas/handlers/catalog';
import { wildcardResourceFinding } from '../nag-findings';
import type { OrchestratorSettings } from './settings';

/** Execution endings the safety net handles. */
export const SAFETY_NET_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/**
 * How long the safety net keeps trying one status change before it goes to the dead-letter queue: long enough to
 * outlast a DynamoDB, Slack or Step Functions outage of a day, so that what it could not record is recorded later.
 */
export const SAFETY_NET_RETRY_SPAN = Duration.hours(24);

/**
 * Visibility timeout of the safety-net queue: six times the function timeout, as "Using Lambda with Amazon SQS"
 * recommends (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), so a throttled or retried invocation
 * finishes before the message shows again. A failed message is received again after this long.
 */
export const SAFETY_NET_VISIBILITY_TIMEOUT = Duration.seconds(6 * SAFETY_NET_HANDLER.timeoutSeconds);

/** Receives before the dead-letter queue: the last one at least SAFETY_NET_RETRY_SPAN after the first. */
export const SAFETY_NET_MAX_RECEIVES = Math.ceil(SAFETY_NET_RETRY_SPAN.toSeconds() / SAFETY_NET_VISIBILITY_TIMEOUT.toSeconds()) + 1;

/** What the safety net reads of an execution when the table cannot tell it the run's traffic configuration. */
export const EXECUTION_READ_ACTIONS = ['states:DescribeExecution', 'states:GetExecutionHistory'] as const;

/** Properties of SafetyNet. */
export interface SafetyNetProps {
  /** The workflow whose failed, aborted and timed-out executions the safety net cleans up after. */
  readonly stateMachine: sfn.StateMachine;
  /** The SafetyNet Lambda of the catalog. */
  readonly fn: lambda.Function;
  /** Its role, which gets the reads of this state machine's executions. */
  readonly role: iam.Role;
}

/**
 * EventBridge "Step Functions Execution Status Change" (ABORTED, TIMED_OUT, FAILED) of this state machine → an
 * encrypted queue → the safety net, one message at a time, until it succeeds or a day has passed; then the
 * dead-letter queue keeps the event 14 days for a person to replay.
 *
 * Why a queue and not the Lambda as the rule's target: a rule's retry policy and dead-letter queue cover only
 * events EventBridge fails to deliver (EventBridge user guide, "Event retry policy and using dead-letter queues",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). A Lambda target is invoked
 * asynchronously, and a function error is retried by Lambda at most twice, then discarded unless the function has
 * an on-failure destination (Lambda developer guide, "How Lambda handles errors and retries with asynchronous
 * invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). The safety net
 * throws when it moved traffic but could not write the records, so it needs far more attempts than three.
 */
export class SafetyNet {
  /** Where the rule puts status-change events; the safety net reads them one at a time and retries failures. */
  readonly queue: sqs.Queue;
  /** Status-change events the safety net could not handle after its retries, or EventBridge could not deliver. */
  readonly deadLetters: sqs.Queue;

  /** Adds `SafetyNetDeadLetters`, `SafetyNetQueue` and `SafetyNetRule` to the orchestrator and feeds the queue to the function. */
  constructor(settings: OrchestratorSettings, props: SafetyNetProps) {
    const scope = settings.scope;
    this.deadLetters = new sqs.Queue(scope, 'SafetyNetDeadLetters', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    this.queue = new sqs.Queue(scope, 'SafetyNetQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: SAFETY_NET_VISIBILITY_TIMEOUT,
      // A message keeps its first enqueue time in the dead-letter queue ("Using dead-letter queues in Amazon SQS",
      // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html):
      // four days here outlast the day of attempts, and the dead-letter queue's 14 days leave it ten more there.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: SAFETY_NET_MAX_RECEIVES },
    });
    const rule = new events.Rule(scope, 'SafetyNetRule', {
      description: 'canary-orchestrator: an execution ended ABORTED, TIMED_OUT or FAILED; make sure its traffic is on stable',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...SAFETY_NET_STATUSES], stateMachineArn: [props.stateMachine.stateMachineArn] },
      },
    });
    // The target grants events.amazonaws.com SendMessage on the queue for this rule's ARN only (aws:SourceArn);
    // EventBridge's own retries cover delivery to SQS, for as long and as often as EventBridge allows.
    rule.addTarget(new targets.SqsQueue(this.queue, { deadLetterQueue: this.deadLetters, retryAttempts: 185, maxEventAge: Duration.hours(24) }));
    // One event per invocation; a failed one comes back after the visibility timeout, the others are deleted.
    props.fn.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }));
    grantExecutionReads(props.role, props.stateMachine);
  }
}

/** DescribeExecution and GetExecutionHistory on this state machine's executions only: the safety net's view of a run when the table is down. */
function grantExecutionReads(role: iam.Role, stateMachine: sfn.StateMachine): void {
  const executions = Stack.of(role).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadOwnExecutions', actions: [...EXECUTION_READ_ACTIONS], resources: [executions] }));
  Validations.of(role).acknowledge({
    id: wildcardResourceFinding(role, executions),
    reason:
      `${EXECUTION_READ_ACTIONS.join(' and ')} on execution:<this state machine>:*: an execution is named by its run at start, so no ARN ` +
      'is known at deploy time; the pattern admits the executions of this state machine only, and only reads them.',
  });
}
