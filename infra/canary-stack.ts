import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CanaryOrchestrator, type CanaryOrchestratorProps } from './canary-orchestrator';
import { REPO_ROOT } from './handler-bundling';

/** The services file used when `-c servicesFile=...` is not given. */
export const DEFAULT_SERVICES_FILE = path.join('infra', 'services.example.json');

/** Properties of CanaryOrchestratorStack. */
export interface CanaryOrchestratorStackProps extends StackProps {
  /** JSON file `{ "services": [registration, ...] }`; context `servicesFile` wins. @default infra/services.example.json */
  readonly servicesFile?: string;
  /** Passed to the CanaryOrchestrator construct. */
  readonly orchestrator?: CanaryOrchestratorProps;
}

/** Reads a services file: `{ "services": [...] }`, each entry a registration for CanaryOrchestrator.addService. */
export function readServicesFile(file: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`services file ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const services = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as { services?: unknown }).services : undefined;
  if (!Array.isArray(services)) throw new Error(`services file ${file}: expected { "services": [ ...registrations ] }`);
  return services;
}

/** The deployable app stack: the orchestrator plus every service of the services file, and where to start a run. */
export class CanaryOrchestratorStack extends Stack {
  /** The construct this stack deploys. */
  readonly orchestrator: CanaryOrchestrator;

  constructor(scope: Construct, id: string, props: CanaryOrchestratorStackProps = {}) {
    super(scope, id, { description: 'canary-orchestrator: staged ALB canary rollouts judged on Prometheus metrics', ...props });
    this.orchestrator = new CanaryOrchestrator(this, 'Orchestrator', props.orchestrator);

    const context: unknown = this.node.tryGetContext('servicesFile');
    const servicesFile = typeof context === 'string' && context !== '' ? context : (props.servicesFile ?? DEFAULT_SERVICES_FILE);
    const file = path.resolve(REPO_ROOT, servicesFile);
    readServicesFile(file).forEach((registration, index) => {
      try {
        this.orchestrator.addService(registration);
      } catch (error) {
        // The construct's message names the field; this adds which entry of which file.
        throw new Error(`${path.relative(REPO_ROOT, file)} services[${index}]: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    });

    const { stateMachine, table } = this.orchestrator;
    new CfnOutput(this, 'StateMachineArn', { value: stateMachine.stateMachineArn, description: 'The canary workflow' });
    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'Registry, locks, run records and events' });
    new CfnOutput(this, 'StartExecutionUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/statemachines/view/${stateMachine.stateMachineArn}`,
      description: 'Console: "Start execution" with {"service": "<name>", "image": "<image uri>"}',
    });
    new CfnOutput(this, 'RegisteredServices', {
      value: this.orchestrator.services.map((s) => s.config.name).join(',') || '(none)',
      description: 'Services a run may name',
    });
  }
}
