import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CanaryOrchestratorStack } from './canary-stack';

/** Name of the deployed stack. */
export const STACK_NAME = 'CanaryOrchestrator';

/** The CDK app: the stack in the CLI's default account/region, checked by cdk-nag's AwsSolutions pack at synth. */
export function createCanaryApp(props: AppProps = {}): { app: App; stack: CanaryOrchestratorStack } {
  const app = new App(props);
  const stack = new CanaryOrchestratorStack(app, STACK_NAME, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // cdk-nag v3 is a policy-validation plugin: a finding not acknowledged with Validations.of(...).acknowledge fails synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
