import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Where the orchestrator's Lambdas run when it is given a VPC. */
export interface Network {
  /** The VPC of every Lambda. */
  readonly vpc: ec2.IVpc;
  /** Its subnets; VPC defaults when absent. */
  readonly vpcSubnets?: ec2.SubnetSelection | undefined;
  /** Its security groups; one per function when absent. */
  readonly securityGroups?: ec2.ISecurityGroup[] | undefined;
}

/**
 * What the parts of the orchestrator build with. `scope` is the CanaryOrchestrator itself: every part adds its resources
 * there, with the construct ids they had when it was one construct, so that no logical id changes (a new id would
 * replace the retained table with an empty one and give the state machine a new ARN).
 */
export interface OrchestratorSettings {
  /** The CanaryOrchestrator construct, parent of every resource. */
  readonly scope: Construct;
  /** Days run records and events are kept (the handlers' RETENTION_DAYS). */
  readonly retentionDays: number;
  /** Retention of every log group. */
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of the table and the log groups. */
  readonly removalPolicy: RemovalPolicy;
  /** The VPC of the Lambdas, if any. */
  readonly network?: Network | undefined;
}

/** A log group of the orchestrator with its retention and removal policy; `logGroupName` only where a prefix matters. */
export function logGroup(settings: OrchestratorSettings, id: string, logGroupName?: string): logs.LogGroup {
  return new logs.LogGroup(settings.scope, id, { retention: settings.logRetention, removalPolicy: settings.removalPolicy, ...(logGroupName && { logGroupName }) });
}
