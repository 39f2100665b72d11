import * as fs from 'node:fs';
import * as path from 'node:path';
import { Names, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { WORKFLOW_HANDLERS, substitutionName } from '../../lambdas/handlers/catalog';
import { REPO_ROOT } from '../handler-bundling';
import { unscopedReason } from '../nag-findings';
import { logGroup, type OrchestratorSettings } from './settings';
import { XRAY_ACTIONS } from './step-access';
import type { StepHandlers } from './step-handlers';

/** The workflow definition CDK deploys: the same file the local runner executes. */
export const ASL_PATH = path.join(REPO_ROOT, 'statemachine', 'canary.asl.json');

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

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** The `${Name}` placeholders of an ASL document, each once, in order of appearance. */
export function aslPlaceholders(asl: string): string[] {
  return [...new Set([...asl.matchAll(PLACEHOLDER)].map((match) => match[1] ?? ''))];
}

/** Properties of Workflow. */
export interface WorkflowProps {
  /** The Lambdas the ASL's Task states invoke, one per workflow catalog entry. */
  readonly handlers: StepHandlers;
}

/**
 * The Standard state machine `Workflow` that runs statemachine/canary.asl.json, with each `${…}` placeholder substituted
 * by the ARN of its catalog function; traced, logging ALL with execution data to `WorkflowLogs`.
 */
export class Workflow {
  /** The state machine; start an execution with `{ "service": ..., "image": ... }`. */
  readonly stateMachine: sfn.StateMachine;

  /** Adds the state machine and its log group to the orchestrator; fails synth when the ASL names a step no catalog entry provides. */
  constructor(settings: OrchestratorSettings, props: WorkflowProps) {
    const stepArns = WORKFLOW_HANDLERS.map((entry) => props.handlers.functionOf(entry).functionArn);
    const asl = fs.readFileSync(ASL_PATH, 'utf8');
    const substitutions = Object.fromEntries(WORKFLOW_HANDLERS.map((entry, index) => [substitutionName(entry), stepArns[index]]));
    const missing = aslPlaceholders(asl).filter((name) => !(name in substitutions));
    if (missing.length > 0) {
      throw new Error(`CanaryOrchestrator: ${path.relative(REPO_ROOT, ASL_PATH)} uses ${missing.map((m) => `\${${m}}`).join(', ')}, which no catalog entry provides`);
    }
    this.stateMachine = new sfn.StateMachine(settings.scope, 'Workflow', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(ASL_PATH),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      logs: {
        // The vended-logs prefix keeps Step Functions from growing the account's CloudWatch Logs resource policy.
        destination: logGroup(settings, 'WorkflowLogs', `/aws/vendedlogs/states/${Names.uniqueResourceName(settings.scope, { maxLength: 200 })}`),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    // The ASL invokes the unqualified function ARNs; grantInvoke would add `:*` (every version) as well.
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ sid: 'InvokeWorkflowSteps', actions: ['lambda:InvokeFunction'], resources: stepArns }));
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: unscopedReason(
        [
          { actions: VENDED_LOG_ACTIONS, why: 'logging of the workflow through vended log delivery, which AWS requires on Resource *' },
          { actions: STATE_MACHINE_XRAY_ACTIONS, why: 'tracing; X-Ray has no resource-level permission' },
        ],
        'InvokeFunction is scoped to the unqualified step functions.',
      ),
    });
  }
}
