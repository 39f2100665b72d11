import { Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { HandlerEntry } from '../../lambdas/handlers/catalog';
import { unscopedReason } from '../nag-findings';
import { STEP_RUN_LOG_CALLS, tableStatements } from '../table-access';
import { handlerFunction } from './handler-function';
import type { OrchestratorSettings } from './settings';
import { ALL_HANDLERS, ELB_DESCRIBE_ACTIONS, ELB_DESCRIBE_GRANT, STEP_ACCESS, TRACING_GRANT } from './step-access';

/** Properties of StepHandlers. */
export interface StepHandlersProps {
  /** The run table the steps read and write, each within its partitions. */
  readonly table: dynamodb.ITable;
}

/**
 * One Lambda per catalog entry of ALL_HANDLERS (the workflow's steps and the safety net), each with a role of its own
 * (`<id>Role`) that holds the table partitions its run-log calls need and, for a step that touches traffic, the ELB reads.
 * What a registered service adds to these roles, ServiceGrants grants.
 */
export class StepHandlers {
  /** The Lambdas by catalog id (Start, SetWeight, ..., SafetyNet). */
  readonly functions: Readonly<Record<string, NodejsFunction>>;
  /** Their roles by catalog id. */
  readonly roles: Readonly<Record<string, iam.Role>>;

  /** Adds role, log group and function of every catalog entry to the orchestrator, in catalog order. */
  constructor(settings: OrchestratorSettings, props: StepHandlersProps) {
    const functions: Record<string, NodejsFunction> = {};
    const roles: Record<string, iam.Role> = {};
    for (const entry of ALL_HANDLERS) {
      roles[entry.id] = stepRole(settings, props.table, entry);
      functions[entry.id] = handlerFunction(settings, props.table, entry, roles[entry.id]);
    }
    this.functions = functions;
    this.roles = roles;
  }

  /** The function of a catalog entry; throws, naming the entry, for one that is not deployed. */
  functionOf(entry: HandlerEntry): NodejsFunction {
    const fn = this.functions[entry.id];
    if (!fn) throw new Error(`CanaryOrchestrator: no function for catalog entry ${entry.id}`);
    return fn;
  }

  /** The role of a catalog entry; throws, naming the entry, for one that is not deployed. */
  roleOf(entry: HandlerEntry): iam.Role {
    const role = this.roles[entry.id];
    if (!role) throw new Error(`CanaryOrchestrator: no role for catalog entry ${entry.id}`);
    return role;
  }
}

/** The role of one step: its table partitions, the ELB reads when it touches traffic, and the acknowledgement of both. */
function stepRole(settings: OrchestratorSettings, table: dynamodb.ITable, entry: HandlerEntry): iam.Role {
  const role = new iam.Role(settings.scope, `${entry.id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `canary-orchestrator ${entry.id}: ${entry.description}`,
  });
  // Only the partitions and actions of the RunLog methods the step calls; no step writes the registry.
  const calls = STEP_RUN_LOG_CALLS[entry.id];
  if (!calls) throw new Error(`CanaryOrchestrator: infra/table-access.ts STEP_RUN_LOG_CALLS has no entry for catalog id ${entry.id}`);
  for (const statement of tableStatements(calls, table.tableArn)) role.addToPrincipalPolicy(statement);
  const access = STEP_ACCESS[entry.id] ?? {};
  if (access.traffic) role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeAlbRouting', actions: [...ELB_DESCRIBE_ACTIONS], resources: ['*'] }));
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: unscopedReason(access.traffic ? [TRACING_GRANT, ELB_DESCRIBE_GRANT] : [TRACING_GRANT], 'Every modifying action is scoped to registered ARNs, and table access to the partitions the step uses.'),
  });
  return role;
}
