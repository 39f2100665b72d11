import { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { AwsCustomResource } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { DEFAULT_RETENTION_DAYS } from '../lambdas/adapters/dynamodb/table-layout';
import { parseServiceConfig, type ServiceConfig, type serviceConfigSchema } from '../lambdas/domain/service-config';
import { SAFETY_NET_HANDLER } from '../lambdas/handlers/catalog';
import { EcrTrigger } from './constructs/ecr-trigger';
import { RunTable } from './constructs/run-table';
import { SafetyNet } from './constructs/safety-net';
import { ServiceGrants } from './constructs/service-grants';
import { ServiceRegistry } from './constructs/service-registry';
import type { OrchestratorSettings } from './constructs/settings';
import { StepHandlers } from './constructs/step-handlers';
import { Workflow } from './constructs/workflow';

export { HANDLER_ESBUILD } from './handler-bundling';
export { HANDLER_BUNDLING } from './constructs/handler-function';
export { ASL_PATH, aslPlaceholders } from './constructs/workflow';
export { ELB_DESCRIBE_ACTIONS, STEP_ACCESS, XRAY_ACTIONS, type StepAccess } from './constructs/step-access';
export { KUBERNETES_GROUP, TASK_DEFINITION_ACTIONS, secretResourceArn } from './constructs/service-grants';
export {
  EXECUTION_READ_ACTIONS,
  SAFETY_NET_MAX_RECEIVES,
  SAFETY_NET_RETRY_SPAN,
  SAFETY_NET_STATUSES,
  SAFETY_NET_VISIBILITY_TIMEOUT,
} from './constructs/safety-net';

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
  /** The subnets of `vpc` the Lambdas run in. @default the VPC's default selection, its private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups of the Lambdas in `vpc`. @default a dedicated security group per function */
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** One registered service: its validated config and the custom resource that writes it to the table. */
export interface RegisteredService {
  /** The registration after validation and defaults: what Start reads back from the registry. */
  readonly config: ServiceConfig;
  /** The custom resource that puts it into the table on deploy and deletes it when the service leaves. */
  readonly registryWriter: AwsCustomResource;
}

/**
 * The canary orchestrator: the table, one Lambda per workflow step, the Standard state machine that runs
 * statemachine/canary.asl.json, and `addService` to register services with least-privilege grants.
 *
 * It composes the parts in infra/constructs/ (RunTable, StepHandlers, Workflow, SafetyNet, ServiceGrants, EcrTrigger,
 * ServiceRegistry); each adds its resources directly to this construct, so every logical id is the one it always had.
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

  private readonly registered = new Map<string, RegisteredService>();
  private readonly grants: ServiceGrants;
  private readonly ecrTrigger: EcrTrigger;
  private readonly registry: ServiceRegistry;

  /** Builds table, step Lambdas, workflow and safety net; services come with addService. */
  constructor(scope: Construct, id: string, props: CanaryOrchestratorProps = {}) {
    super(scope, id);
    const settings = orchestratorSettings(this, props);
    this.table = new RunTable(settings).table;
    const handlers = new StepHandlers(settings, { table: this.table });
    this.functions = handlers.functions;
    this.stateMachine = new Workflow(settings, { handlers }).stateMachine;
    const safetyNet = new SafetyNet(settings, { stateMachine: this.stateMachine, fn: handlers.functionOf(SAFETY_NET_HANDLER), role: handlers.roleOf(SAFETY_NET_HANDLER) });
    this.safetyNetQueue = safetyNet.queue;
    this.safetyNetDeadLetters = safetyNet.deadLetters;
    this.grants = new ServiceGrants(settings, { roles: handlers.roles });
    this.ecrTrigger = new EcrTrigger(settings, { table: this.table, stateMachine: this.stateMachine });
    this.registry = new ServiceRegistry(settings, { table: this.table });
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
    this.grants.addService(config);
    if (config.triggers.ecr) this.ecrTrigger.addService(config.name, config.triggers.ecr);
    const service: RegisteredService = { config, registryWriter: this.registry.addService(config) };
    this.registered.set(config.name, service);
    return service;
  }
}

/** The props with their defaults, checked: what every part builds with. */
function orchestratorSettings(scope: CanaryOrchestrator, props: CanaryOrchestratorProps): OrchestratorSettings {
  const retentionDays = props.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new Error(`CanaryOrchestrator: retentionDays must be a whole number of days >= 1, got ${retentionDays}`);
  }
  return {
    scope,
    retentionDays,
    logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    ...(props.vpc && { network: { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups } }),
  };
}
