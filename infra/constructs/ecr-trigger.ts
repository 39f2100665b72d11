import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ECR_TRIGGER_HANDLER } from '../../lambdas/handlers/catalog';
import { unscopedReason } from '../nag-findings';
import { handlerFunction } from './handler-function';
import type { OrchestratorSettings } from './settings';
import { TRACING_GRANT } from './step-access';

/** What a registration names to start its rollouts on an image push. */
export interface EcrPushTrigger {
  /** The ECR repository whose pushes start a rollout. */
  readonly repository: string;
  /** Image tags (`*` wildcards allowed) whose pushes count; every tag when absent. */
  readonly tags?: readonly string[] | undefined;
}

/** Properties of EcrTrigger. */
export interface EcrTriggerProps {
  /** The table whose name the trigger Lambda gets like every handler. */
  readonly table: dynamodb.ITable;
  /** The workflow the trigger starts, and the only one it may start. */
  readonly stateMachine: sfn.StateMachine;
}

/** The trigger Lambda and where EventBridge puts the pushes it could not deliver to it. */
interface TriggerFunction {
  readonly fn: NodejsFunction;
  readonly deadLetters: sqs.Queue;
}

/**
 * ECR pushes that start rollouts: one rule `EcrPush-<service>` per service with an ECR trigger, all targeting one
 * EcrTrigger Lambda that pins the image by digest and names the execution after it (a repeated event starts nothing).
 * Nothing is deployed until the first service registers a trigger.
 */
export class EcrTrigger {
  private trigger?: TriggerFunction;

  /** Keeps what the trigger Lambda will need; creates nothing yet. */
  constructor(
    private readonly settings: OrchestratorSettings,
    private readonly props: EcrTriggerProps,
  ) {}

  /** An ECR push of the service's repository (PUSH, SUCCESS, matching tags) starts a rollout of `service`. */
  addService(service: string, ecr: EcrPushTrigger): events.Rule {
    const trigger = this.triggerFunction();
    return new events.Rule(this.settings.scope, `EcrPush-${service}`, {
      description: `canary-orchestrator: an image pushed to ${ecr.repository} starts a rollout of ${service}`,
      eventPattern: {
        source: ['aws.ecr'],
        detailType: ['ECR Image Action'],
        detail: {
          'action-type': ['PUSH'],
          result: ['SUCCESS'],
          'repository-name': [ecr.repository],
          ...(ecr.tags && { 'image-tag': ecr.tags.map((tag) => (tag.includes('*') ? { wildcard: tag } : tag)) }),
        },
      },
      targets: [
        new targets.LambdaFunction(trigger.fn, {
          event: events.RuleTargetInput.fromObject({
            service,
            account: events.EventField.account,
            region: events.EventField.region,
            detail: events.EventField.fromPath('$.detail'),
          }),
          deadLetterQueue: trigger.deadLetters,
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }

  /** The EcrTrigger Lambda, created with the first service that registers an ECR trigger; it may only start this state machine. */
  private triggerFunction(): TriggerFunction {
    if (this.trigger) return this.trigger;
    const { scope } = this.settings;
    const stateMachineArn = this.props.stateMachine.stateMachineArn;
    const role = new iam.Role(scope, `${ECR_TRIGGER_HANDLER.id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `canary-orchestrator ${ECR_TRIGGER_HANDLER.id}: ${ECR_TRIGGER_HANDLER.description}`,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'StartRollouts', actions: ['states:StartExecution'], resources: [stateMachineArn] }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: unscopedReason([TRACING_GRANT], 'StartExecution is scoped to this state machine.'),
    });
    const fn = handlerFunction(this.settings, this.props.table, ECR_TRIGGER_HANDLER, role);
    fn.addEnvironment('STATE_MACHINE_ARN', stateMachineArn);
    const deadLetters = new sqs.Queue(scope, 'EcrTriggerDeadLetters', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the ECR trigger rules: pushes whose rollout could not be started land here after ' +
        'EventBridge gave up, for a person to inspect and replay; a dead-letter queue of a dead-letter queue would only hide them.',
    });
    this.trigger = { fn, deadLetters };
    return this.trigger;
  }
}
