import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CanaryOrchestratorStack } from './canary-stack';
import { CanaryPipelineExampleStack } from './codepipeline';

/** Name of the deployed stack. */
export const STACK_NAME = 'CanaryOrchestrator';

/**
 * The CDK app: the stack in the CLI's default account/region, checked by cdk-nag's AwsSolutions pack at synth.
 * With `-c pipelineService=<service> -c pipelineRepository=<ecr repository> -c pipelineStateMachineArn=<arn>` it adds
 * the example release pipeline (ECR push → canary stage) in a stack of its own.
 */
export function createCanaryApp(props: AppProps = {}): { app: App; stack: CanaryOrchestratorStack; pipeline?: CanaryPipelineExampleStack } {
  const app = new App(props);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const stack = new CanaryOrchestratorStack(app, STACK_NAME, { env });
  const service: unknown = app.node.tryGetContext('pipelineService');
  const repositoryName: unknown = app.node.tryGetContext('pipelineRepository');
  const stateMachineArn: unknown = app.node.tryGetContext('pipelineStateMachineArn');
  const pipeline =
    typeof service === 'string' && typeof repositoryName === 'string' && typeof stateMachineArn === 'string'
      ? new CanaryPipelineExampleStack(app, `${STACK_NAME}Pipeline`, { env, stateMachineArn, service, repositoryName })
      : undefined;
  // cdk-nag v3 is a policy-validation plugin: a finding not acknowledged with Validations.of(...).acknowledge fails synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, ...(pipeline && { pipeline }) };
}
