import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { DEFAULT_RETENTION_DAYS, TABLE, registrationItem } from '../lambdas/adapters/dynamodb/table-layout';
import { parseServiceConfig, type ServiceConfig, type serviceConfigSchema } from '../lambdas/domain/service-config';
import { ECR_TRIGGER_HANDLER, SAFETY_NET_HANDLER, WORKFLOW_HANDLERS, substitutionName, type HandlerEntry } from '../lambdas/handlers/catalog';

/** Every Lambda the construct deploys: the workflow's steps and the safety net. */
const ALL_HANDLERS: readonly HandlerEntry[] = [...WORKFLOW_HANDLERS, SAFETY_NET_HANDLER];
import { HANDLER_ESBUILD, REPO_ROOT, handlerEntry } from './handler-bundling';
import { wildcardResourceFinding } from './nag-findings';
import { PARTITIONS, STEP_RUN_LOG_CALLS, leadingKeysCondition, tableStatements } from './table-access';

export { HANDLER_ESBUILD } from './handler-bundling';

/** The workflow definition CDK deploys: the same file the local runner executes. */
export const ASL_PATH = path.join(REPO_ROOT, 'statemachine', 'canary.asl.json');

/** HANDLER_ESBUILD as NodejsFunction options: local esbuild, never Docker. */
export const HANDLER_BUNDLING: BundlingOptions = {
  format: OutputFormat.CJS,
  target: HANDLER_ESBUILD.target,
  minify: HANDLER_ESBUILD.minify,
  sourceMap: HANDLER_ESBUILD.sourcemap,
  sourcesContent: HANDLER_ESBUILD.sourcesContent,
  keepNames: HANDLER_ESBUILD.keepNames,
  externalModules: [...HANDLER_ESBUILD.external],
  forceDockerBundling: false,
};

/** The ELBv2 reads of the ALB router. AWS offers no resource-level permission for Describe* calls. */
export const ELB_DESCRIBE_ACTIONS = ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth'] as const;

/** What CDK grants a function with active tracing; X-Ray offers no resource-level permission for either. */
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] as const;

/** Copying an ECS task definition with a new image; AWS offers no resource-level permission for these. */
export const TASK_DEFINITION_ACTIONS = ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition', 'ecs:TagResource'] as const;

/** What the safety net reads of an execution when the table cannot tell it the run's traffic configuration. */
export const EXECUTION_READ_ACTIONS = ['states:DescribeExecution', 'states:GetExecutionHistory'] as const;

/** What CDK grants a state machine for logging to CloudWatch Logs (vended log delivery) and for tracing. */
const VENDED_LOG_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
] as const;
const STATE_MACHINE_XRAY_ACTIONS = [...XRAY_ACTIONS, 'xray:GetSamplingRules', 'xray:GetSamplingTargets'] as const;

/** Actions granted on Resource * and why a step calls them: the words of its AwsSolutions-IAM5 acknowledgement. */
interface UnscopedGrant {
  readonly actions: readonly string[];
  readonly why: string;
}

const TRACING_GRANT: UnscopedGrant = { actions: XRAY_ACTIONS, why: 'active tracing; X-Ray has no resource-level permission' };
const ELB_DESCRIBE_GRANT: UnscopedGrant = {
  actions: ELB_DESCRIBE_ACTIONS,
  why: 'the router reads the weights back and checks target health; ELBv2 Describe* calls have no resource-level permission',
};

/** The reason of an AwsSolutions-IAM5[Resource::*] acknowledgement: every action granted on *, by name and why, then what is scoped. */
function unscopedReason(grants: readonly UnscopedGrant[], scoped: string): string {
  const named = grants.map((grant) => `${grant.actions.join(', ')} (${grant.why})`).join('; ');
  return `Resource * only for ${named}. ${scoped}`;
}

/** The Kubernetes group the orchestrator's roles map to in an EKS cluster (bind it with the Role in the README). */
export const KUBERNETES_GROUP = 'canary-orchestrator';

/** What one workflow step may touch beyond the table. */
export interface StepAccess {
  /** `read`: describe listeners/rules; `write`: also modify the registered listener or rule. */
  readonly traffic?: 'read' | 'write';
  /** Query the registered metrics source (AMP workspace, Prometheus bearer-token secret). */
  readonly metrics?: boolean;
  /** Send to the registered notification targets (Slack webhook secret, SNS topic). */
  readonly notifications?: boolean;
  /** `read`: look at the workloads (ECS services, Deployments); `write`: also change their image and size. */
  readonly workload?: 'read' | 'write';
}

/** Least privilege per catalog id; a handler missing here gets the table and nothing else. */
export const STEP_ACCESS: Readonly<Record<string, StepAccess>> = {
  // Reads the weights to learn which registered target group is stable and checks stable's health; shifts nothing.
  Start: { traffic: 'read', notifications: true, workload: 'read' },
  // Puts the image on the canary workload; checks the canary's targets. A finished run leaves the canary target group out
  // of the action (no sticky client stays on it), and ALB health-checks only groups a listener forwards to: the health
  // gate attaches it at weight 0 first, so it writes the registered listener or rule (weights unchanged).
  Prepare: { traffic: 'write', workload: 'write' },
  SetWeight: { traffic: 'write' },
  // Announces each passed step with its numbers.
  Analyze: { metrics: true, notifications: true },
  Promote: { traffic: 'write', workload: 'write' },
  Rollback: { traffic: 'write', workload: 'write' },
  // Only formats the manual restore command from the ARNs; makes no ELB call.
  Finish: { notifications: true },
  // Puts traffic back on stable when an execution dies mid-run, and says so.
  SafetyNet: { traffic: 'write', notifications: true },
};

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

/** A registration as written in TypeScript or JSON, before defaults: the input of parseServiceConfig. */
export type ServiceRegistration = z.input<typeof serviceConfigSchema>;

/** Properties of CanaryOrchestrator. */
export interface CanaryOrchestratorProps {
  /** Days run records and events are kept before DynamoDB's TTL removes them. @default DEFAULT_RETENTION_DAYS (400) */
  readonly retentionDays?: number;
  /** Retention of the Lambda and state machine log groups. @default THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the table and log groups when they leave the stack. @default RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Runs the Lambdas in this VPC, e.g. to reach an EKS cluster's private endpoint. The subnets then need a route to
   * DynamoDB, ELB, STS, EKS, Secrets Manager (a NAT gateway or VPC endpoints). @default not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** One registered service: its validated config and the custom resource that writes it to the table. */
export interface RegisteredService {
  readonly config: ServiceConfig;
  readonly registryWriter: AwsCustomResource;
}

const POWERTOOLS_SERVICE_NAME = 'canary-orchestrator';
const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** The `${Name}` placeholders of an ASL document, each once, in order of appearance. */
export function aslPlaceholders(asl: string): string[] {
  return [...new Set([...asl.matchAll(PLACEHOLDER)].map((match) => match[1] ?? ''))];
}

/** A secret ARN as IAM sees it: without Secrets Manager's 6-character suffix, `-??????` stands in for it. */
export function secretResourceArn(arn: string): string {
  return /-[A-Za-z0-9]{6}$/.test(arn) ? arn : `${arn}-??????`;
}

/**
 * The canary orchestrator: the table, one Lambda per workflow step, the Standard state machine that runs
 * statemachine/canary.asl.json, and `addService` to register services with least-privilege grants.
 */
export class CanaryOrchestrator extends Construct {
  /** The workflow; start an execution with `{ "service": ..., "image": ... }`. */
  readonly stateMachine: sfn.StateMachine;
  /** Registry, locks, run records and events (table-layout.ts). */
  readonly table: dynamodb.Table;
  /** The Lambdas by catalog id (Start, SetWeight, ..., SafetyNet). */
  readonly functions: Readonly<Record<string, NodejsFunction>>;
  /** Status-change events the safety net could not handle after its retries, or EventBridge could not deliver. */
  readonly safetyNetDeadLetters: sqs.Queue;
  /** Where the safety-net rule puts status-change events; the safety net reads them one at a time and retries failures. */
  readonly safetyNetQueue: sqs.Queue;

  private readonly roles: Readonly<Record<string, iam.Role>>;
  private readonly grants = new Map<string, iam.PolicyStatement>();
  private readonly registered = new Map<string, RegisteredService>();
  private readonly logRetention: logs.RetentionDays;
  private readonly removalPolicy: RemovalPolicy;
  private registryWriter?: { readonly role: iam.Role; readonly logGroup: logs.LogGroup };
  private ecrTrigger?: { readonly fn: NodejsFunction; readonly deadLetters: sqs.Queue };
  private readonly retentionDays: number;
  private readonly network?: Pick<CanaryOrchestratorProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> & { readonly vpc: ec2.IVpc };

  constructor(scope: Construct, id: string, props: CanaryOrchestratorProps = {}) {
    super(scope, id);
    const retentionDays = props.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new Error(`CanaryOrchestrator: retentionDays must be a whole number of days >= 1, got ${retentionDays}`);
    }
    this.retentionDays = retentionDays;
    if (props.vpc) this.network = { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups };
    this.logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.table = this.createTable();
    const functions: Record<string, NodejsFunction> = {};
    const roles: Record<string, iam.Role> = {};
    for (const entry of ALL_HANDLERS) {
      roles[entry.id] = this.createStepRole(entry);
      functions[entry.id] = this.createStepFunction(entry, roles[entry.id], retentionDays);
    }
    this.functions = functions;
    this.roles = roles;
    this.stateMachine = this.createStateMachine();
    const safetyNet = this.createSafetyNet();
    this.safetyNetQueue = safetyNet.queue;
    this.safetyNetDeadLetters = safetyNet.deadLetters;
  }

  /** The services registered so far, by name. */
  get services(): readonly RegisteredService[] {
    return [...this.registered.values()];
  }

  /**
   * Registers a service: validates it now (a bad registration fails synth, naming the field), writes it to
   * the registry on deploy, and grants the steps exactly the listener/rule, metrics and notification targets it names.
   */
  addService(registration: ServiceRegistration): RegisteredService;
  addService(registration: unknown): RegisteredService;
  addService(registration: unknown): RegisteredService {
    const config = parseServiceConfig(registration, 'service');
    if (this.registered.has(config.name)) throw new Error(`CanaryOrchestrator: service '${config.name}' is registered twice`);
    this.grantService(config);
    if (config.triggers.ecr) this.triggerOnEcrPush(config.name, config.triggers.ecr);
    const service: RegisteredService = { config, registryWriter: this.writeRegistration(config) };
    this.registered.set(config.name, service);
    return service;
  }

  private createTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy: this.removalPolicy,
      deletionProtection: this.removalPolicy === RemovalPolicy.RETAIN,
    });
    for (const index of [TABLE.serviceRunsIndex, TABLE.rollbacksIndex]) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }

  private logGroup(id: string, logGroupName?: string): logs.LogGroup {
    return new logs.LogGroup(this, id, { retention: this.logRetention, removalPolicy: this.removalPolicy, ...(logGroupName && { logGroupName }) });
  }

  private createStepRole(entry: HandlerEntry): iam.Role {
    const role = new iam.Role(this, `${entry.id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `canary-orchestrator ${entry.id}: ${entry.description}`,
    });
    // Only the partitions and actions of the RunLog methods the step calls; no step writes the registry.
    const calls = STEP_RUN_LOG_CALLS[entry.id];
    if (!calls) throw new Error(`CanaryOrchestrator: infra/table-access.ts STEP_RUN_LOG_CALLS has no entry for catalog id ${entry.id}`);
    for (const statement of tableStatements(calls, this.table.tableArn)) role.addToPrincipalPolicy(statement);
    const access = STEP_ACCESS[entry.id] ?? {};
    if (access.traffic) role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeAlbRouting', actions: [...ELB_DESCRIBE_ACTIONS], resources: ['*'] }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: unscopedReason(access.traffic ? [TRACING_GRANT, ELB_DESCRIBE_GRANT] : [TRACING_GRANT], 'Every modifying action is scoped to registered ARNs, and table access to the partitions the step uses.'),
    });
    return role;
  }

  private createStepFunction(entry: HandlerEntry, role: iam.Role, retentionDays: number): NodejsFunction {
    // Our own role instead of AWSLambdaBasicExecutionRole: it may write to this function's log group only.
    const logGroup = this.logGroup(`${entry.id}Logs`);
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, `${entry.id}Function`, {
      entry: handlerEntry(entry.file),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      description: entry.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(entry.timeoutSeconds),
      memorySize: entry.memoryMb,
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      environment: {
        TABLE_NAME: this.table.tableName,
        RETENTION_DAYS: String(retentionDays),
        POWERTOOLS_SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: HANDLER_BUNDLING,
      ...(this.network && { vpc: this.network.vpc, ...(this.network.vpcSubnets && { vpcSubnets: this.network.vpcSubnets }), ...(this.network.securityGroups && { securityGroups: this.network.securityGroups }) }),
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the local workflow, the tests and the bundle target (node22) run the same Node major, ' +
        'so what is tested is what runs (one code path). Move all three together.',
    });
    return fn;
  }

  private createStateMachine(): sfn.StateMachine {
    const asl = fs.readFileSync(ASL_PATH, 'utf8');
    const substitutions = Object.fromEntries(WORKFLOW_HANDLERS.map((entry) => [substitutionName(entry), this.functionOf(entry).functionArn]));
    const missing = aslPlaceholders(asl).filter((name) => !(name in substitutions));
    if (missing.length > 0) {
      throw new Error(`CanaryOrchestrator: ${path.relative(REPO_ROOT, ASL_PATH)} uses ${missing.map((m) => `\${${m}}`).join(', ')}, which no catalog entry provides`);
    }
    const stateMachine = new sfn.StateMachine(this, 'Workflow', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(ASL_PATH),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      logs: {
        // The vended-logs prefix keeps Step Functions from growing the account's CloudWatch Logs resource policy.
        destination: this.logGroup('WorkflowLogs', `/aws/vendedlogs/states/${Names.uniqueResourceName(this, { maxLength: 200 })}`),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    // The ASL invokes the unqualified function ARNs; grantInvoke would add `:*` (every version) as well.
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeWorkflowSteps',
        actions: ['lambda:InvokeFunction'],
        resources: WORKFLOW_HANDLERS.map((entry) => this.functionOf(entry).functionArn),
      }),
    );
    Validations.of(stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: unscopedReason(
        [
          { actions: VENDED_LOG_ACTIONS, why: 'logging of the workflow through vended log delivery, which AWS requires on Resource *' },
          { actions: STATE_MACHINE_XRAY_ACTIONS, why: 'tracing; X-Ray has no resource-level permission' },
        ],
        'InvokeFunction is scoped to the unqualified step functions.',
      ),
    });
    return stateMachine;
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
  private createSafetyNet(): { readonly queue: sqs.Queue; readonly deadLetters: sqs.Queue } {
    const deadLetters = new sqs.Queue(this, 'SafetyNetDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, 'SafetyNetQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: SAFETY_NET_VISIBILITY_TIMEOUT,
      // A message keeps its first enqueue time in the dead-letter queue ("Using dead-letter queues in Amazon SQS",
      // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html):
      // four days here outlast the day of attempts, and the dead-letter queue's 14 days leave it ten more there.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: SAFETY_NET_MAX_RECEIVES },
    });
    const rule = new events.Rule(this, 'SafetyNetRule', {
      description: 'canary-orchestrator: an execution ended ABORTED, TIMED_OUT or FAILED; make sure its traffic is on stable',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...SAFETY_NET_STATUSES], stateMachineArn: [this.stateMachine.stateMachineArn] },
      },
    });
    // The target grants events.amazonaws.com SendMessage on the queue for this rule's ARN only (aws:SourceArn);
    // EventBridge's own retries cover delivery to SQS, for as long and as often as EventBridge allows.
    rule.addTarget(new targets.SqsQueue(queue, { deadLetterQueue: deadLetters, retryAttempts: 185, maxEventAge: Duration.hours(24) }));
    const fn = this.functionOf(SAFETY_NET_HANDLER);
    // One event per invocation; a failed one comes back after the visibility timeout, the others are deleted.
    fn.addEventSource(new SqsEventSource(queue, { batchSize: 1, reportBatchItemFailures: true }));
    this.grantExecutionReads();
    return { queue, deadLetters };
  }

  /** DescribeExecution and GetExecutionHistory on this state machine's executions only: the safety net's view of a run when the table is down. */
  private grantExecutionReads(): void {
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const role = this.roles[SAFETY_NET_HANDLER.id];
    if (!role) throw new Error(`CanaryOrchestrator: no role for catalog entry ${SAFETY_NET_HANDLER.id}`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadOwnExecutions', actions: [...EXECUTION_READ_ACTIONS], resources: [executions] }));
    Validations.of(role).acknowledge({
      id: wildcardResourceFinding(this, executions),
      reason:
        `${EXECUTION_READ_ACTIONS.join(' and ')} on execution:<this state machine>:*: an execution is named by its run at start, so no ARN ` +
        'is known at deploy time; the pattern admits the executions of this state machine only, and only reads them.',
    });
  }

  /**
   * An ECR push of the service's repository (PUSH, SUCCESS, matching tags) starts a rollout through the EcrTrigger
   * Lambda, which pins the image by digest and names the execution after it (a repeated event starts nothing).
   */
  private triggerOnEcrPush(service: string, ecr: { readonly repository: string; readonly tags?: readonly string[] | undefined }): events.Rule {
    const trigger = this.ecrTriggerFunction();
    return new events.Rule(this, `EcrPush-${service}`, {
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
  private ecrTriggerFunction(): { readonly fn: NodejsFunction; readonly deadLetters: sqs.Queue } {
    if (this.ecrTrigger) return this.ecrTrigger;
    const role = new iam.Role(this, `${ECR_TRIGGER_HANDLER.id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `canary-orchestrator ${ECR_TRIGGER_HANDLER.id}: ${ECR_TRIGGER_HANDLER.description}`,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'StartRollouts', actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: unscopedReason([TRACING_GRANT], 'StartExecution is scoped to this state machine.'),
    });
    const fn = this.createStepFunction(ECR_TRIGGER_HANDLER, role, this.retentionDays);
    fn.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    const deadLetters = new sqs.Queue(this, 'EcrTriggerDeadLetters', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the ECR trigger rules: pushes whose rollout could not be started land here after ' +
        'EventBridge gave up, for a person to inspect and replay; a dead-letter queue of a dead-letter queue would only hide them.',
    });
    this.ecrTrigger = { fn, deadLetters };
    return this.ecrTrigger;
  }

  private functionOf(entry: HandlerEntry): NodejsFunction {
    const fn = this.functions[entry.id];
    if (!fn) throw new Error(`CanaryOrchestrator: no function for catalog entry ${entry.id}`);
    return fn;
  }

  /** Roles of the steps whose access matches `wanted`. */
  private rolesWith(wanted: (access: StepAccess) => boolean): iam.Role[] {
    return ALL_HANDLERS.filter((entry) => wanted(STEP_ACCESS[entry.id] ?? {})).flatMap((entry) => {
      const role = this.roles[entry.id];
      return role ? [role] : [];
    });
  }

  /** Allows `actions` on `resources`: one statement per role and sid, which later services extend. */
  private allow(roles: readonly iam.Role[], sid: string, actions: readonly string[], resources: readonly string[]): void {
    for (const role of roles) {
      const key = `${role.node.addr}/${sid}`;
      const statement = this.grants.get(key);
      if (!statement) {
        const created = new iam.PolicyStatement({ sid, actions: [...actions], resources: [...new Set(resources)] });
        role.addToPrincipalPolicy(created);
        this.grants.set(key, created);
        continue;
      }
      const known = new Set(statement.resources);
      const added = resources.filter((arn) => !known.has(arn));
      if (added.length > 0) statement.addResources(...added);
    }
  }

  private grantService(config: ServiceConfig): void {
    const traffic = config.traffic;
    const writers = this.rolesWith((a) => a.traffic === 'write');
    if (traffic.kind === 'alb') {
      // With a rule, the router modifies only that rule; the listener's default action is left alone.
      if (traffic.ruleArn) this.allow(writers, 'ShiftRegisteredRules', ['elasticloadbalancing:ModifyRule'], [traffic.ruleArn]);
      else this.allow(writers, 'ShiftRegisteredListeners', ['elasticloadbalancing:ModifyListener'], [traffic.listenerArn]);
    } else {
      this.grantCluster(this.rolesWith((a) => a.traffic !== undefined), traffic.cluster);
    }
    this.grantWorkload(config.workload);

    const analysts = this.rolesWith((a) => a.metrics === true);
    const metrics = config.metrics;
    if (metrics.kind === 'amp') {
      const workspaceArn = Stack.of(this).formatArn({
        service: 'aps',
        region: metrics.region,
        resource: 'workspace',
        resourceName: metrics.workspaceId,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
      this.allow(analysts, 'QueryRegisteredWorkspaces', ['aps:QueryMetrics'], [workspaceArn]);
    } else if (metrics.bearerTokenSecretArn) {
      this.allow(analysts, 'ReadPrometheusTokens', ['secretsmanager:GetSecretValue'], [secretResourceArn(metrics.bearerTokenSecretArn)]);
    }

    const notifiers = this.rolesWith((a) => a.notifications === true);
    const { slackWebhookSecretArn, snsTopicArn } = config.notifications;
    if (slackWebhookSecretArn) this.allow(notifiers, 'ReadSlackWebhooks', ['secretsmanager:GetSecretValue'], [secretResourceArn(slackWebhookSecretArn)]);
    if (snsTopicArn) this.allow(notifiers, 'PublishNotifications', ['sns:Publish'], [snsTopicArn]);
  }

  /**
   * Workloads. ECS: describe and update only the two registered services; copying a task definition cannot be
   * scoped (AWS has no resource-level permission for it) and passes the task's roles to ECS tasks only. EKS: the
   * cluster, through an access entry in the Kubernetes group the README's Role binds.
   */
  private grantWorkload(workload: ServiceConfig['workload']): void {
    if (workload.kind === 'none') return;
    const users = this.rolesWith((a) => a.workload !== undefined);
    const writers = this.rolesWith((a) => a.workload === 'write');
    if (workload.kind === 'eks-deployment') {
      this.grantCluster(users, workload.cluster);
      return;
    }
    const clusterName = workload.cluster.split('/').pop() ?? workload.cluster;
    const serviceArn = (service: string) =>
      service.startsWith('arn:') ? service : Stack.of(this).formatArn({ service: 'ecs', resource: 'service', resourceName: `${clusterName}/${service}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const services = [serviceArn(workload.stableService), serviceArn(workload.canaryService)];
    this.allow(users, 'DescribeRegisteredEcsServices', ['ecs:DescribeServices'], services);
    this.allow(writers, 'UpdateRegisteredEcsServices', ['ecs:UpdateService'], services);
    for (const role of writers) this.grantTaskDefinitionCopies(role);
  }

  /**
   * The unscopable part of an ECS image change, in a policy of its own so that its acknowledgement names exactly
   * its actions: copy the task definition with the new image, and pass the roles it already names to ECS tasks.
   */
  private grantTaskDefinitionCopies(role: iam.Role): void {
    const key = `${role.node.addr}/TaskDefinitionCopies`;
    if (this.grants.has(key)) return;
    const copy = new iam.PolicyStatement({ sid: 'CopyTaskDefinitions', actions: [...TASK_DEFINITION_ACTIONS], resources: ['*'] });
    const pass = new iam.PolicyStatement({
      sid: 'PassTaskRoles',
      actions: ['iam:PassRole'],
      resources: ['*'],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    });
    const policy = new iam.Policy(this, `${role.node.id}TaskDefinitionCopies`, { roles: [role], statements: [copy, pass] });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: unscopedReason(
        [
          { actions: TASK_DEFINITION_ACTIONS, why: 'Describe and Register have no resource-level permission, and the revision TagResource tags has no ARN before it is registered' },
          {
            actions: ['iam:PassRole'],
            why: 'limited by condition to ecs-tasks.amazonaws.com: the copied task definition keeps the task and execution roles it names, which the registration does not',
          },
        ],
        'UpdateService is scoped to the registered services.',
      ),
    });
    this.grants.set(key, copy);
  }

  /** eks:DescribeCluster on the cluster, and an access entry per role mapping it to the Kubernetes group. */
  private grantCluster(roles: readonly iam.Role[], cluster: string): void {
    const clusterArn = Stack.of(this).formatArn({ service: 'eks', resource: 'cluster', resourceName: cluster, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.allow(roles, 'DescribeRegisteredClusters', ['eks:DescribeCluster'], [clusterArn]);
    for (const role of roles) {
      const key = `access-entry/${cluster}/${role.node.addr}`;
      if (this.grants.has(key)) continue;
      new eks.CfnAccessEntry(this, `AccessEntry-${cluster}-${role.node.id}`, { clusterName: cluster, principalArn: role.roleArn, kubernetesGroups: [KUBERNETES_GROUP], type: 'STANDARD' });
      this.grants.set(key, new iam.PolicyStatement());
    }
  }

  /** PutItem of the registration on create and update, DeleteItem when the service leaves the stack. */
  private writeRegistration(config: ServiceConfig): AwsCustomResource {
    const json = JSON.stringify(config);
    // A digest of the config, not a clock: an unchanged registration renders unchanged and does not churn.
    const updatedAt = `config-sha256:${crypto.createHash('sha256').update(json).digest('hex').slice(0, 16)}`;
    const item = registrationItem(config.name, config, updatedAt);
    const key = { [TABLE.partitionKey]: item[TABLE.partitionKey], [TABLE.sortKey]: item[TABLE.sortKey] };
    const put = {
      service: 'DynamoDB',
      action: 'PutItem',
      parameters: { TableName: this.table.tableName, Item: item },
      physicalResourceId: PhysicalResourceId.of(`canary-registry/${config.name}`),
    };
    return new AwsCustomResource(this, `Service-${config.name}`, {
      resourceType: 'Custom::CanaryServiceRegistration',
      onCreate: put,
      onUpdate: put,
      onDelete: { service: 'DynamoDB', action: 'DeleteItem', parameters: { TableName: this.table.tableName, Key: key } },
      policy: AwsCustomResourcePolicy.fromStatements([
        // The registry partition only: the one writer of registrations may touch no lock, run or event.
        new iam.PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [this.table.tableArn], conditions: leadingKeysCondition([PARTITIONS.registry]) }),
      ]),
      ...this.registryWriterIdentity(),
      installLatestAwsSdk: false,
    });
  }

  /** Role and log group of CDK's AwsCustomResource provider: it writes its own logs, and each registration adds PutItem/DeleteItem. */
  private registryWriterIdentity(): { readonly role: iam.Role; readonly logGroup: logs.LogGroup } {
    if (this.registryWriter) return this.registryWriter;
    const role = new iam.Role(this, 'RegistryWriterRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'canary-orchestrator: writes service registrations to the table at deploy time',
    });
    const logGroup = this.logGroup('RegistryWriterLogs');
    logGroup.grantWrite(role);
    this.registryWriter = { role, logGroup };
    return this.registryWriter;
  }
}
