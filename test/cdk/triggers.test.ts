import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mockClient } from 'aws-sdk-client-mock';
import { SFNClient, StartExecutionCommand, ExecutionAlreadyExists } from '@aws-sdk/client-sfn';
import { CanaryOrchestrator } from '../../infra/canary-orchestrator';
import { CanaryPipelineExampleStack } from '../../infra/codepipeline';
import { handler as ecrTrigger } from '../../lambdas/handlers/ecr-trigger';
import { parseExecutionInput } from '../../lambdas/domain/execution-input';
import { executionInputJsonSchema } from '../../lambdas/domain/execution-input-schema';

// No bundling and no CloudFormation WASM check in unit tests (cdk synth in CI runs both).
const noBundling = { context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false };
const ARN = (kind: string, name: string) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:${kind}/${name}`;
const service = {
  name: 'payments-api',
  traffic: { kind: 'alb', listenerArn: ARN('listener', 'app/web/50dc6c495c0c9188/f2f7dc8efc522ab2'), stableTargetGroupArn: ARN('targetgroup', 'blue/73e2d6bc24d8a067'), canaryTargetGroupArn: ARN('targetgroup', 'green/2453ed029918f21f') },
  metrics: { kind: 'prometheus', url: 'http://prometheus:9090' },
  triggers: { ecr: { repository: 'team/payments-api', tags: ['v*', 'stable'] } },
};

// An ECR push as EventBridge delivers it.
const PUSH = {
  version: '0',
  id: 'c0d1e2f3-0000-4000-8000-000000000001',
  'detail-type': 'ECR Image Action',
  source: 'aws.ecr',
  account: '123456789012',
  time: '2026-11-22T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: { result: 'SUCCESS', 'repository-name': 'team/payments-api', 'image-digest': `sha256:${'ab12'.repeat(16)}`, 'action-type': 'PUSH', 'image-tag': 'v2.4.1' },
};

type Transformer = { InputPathsMap: Record<string, string>; InputTemplate: string };

/**
 * Applies an EventBridge input transformer to an event, as EventBridge does with a JSON template: a placeholder
 * inside quotes takes the raw text, one outside quotes takes the JSON value (strings quoted).
 */
function transform(t: Transformer, event: unknown): unknown {
  const valueAt = (jsonPath: string) => jsonPath.replace(/^\$\.?/, '').split('.').filter(Boolean).reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], event);
  const text = t.InputTemplate.replace(/"<([A-Za-z0-9_-]+)>"|<([A-Za-z0-9_-]+)>/g, (_m, quoted: string | undefined, bare: string | undefined) => {
    const value = valueAt(t.InputPathsMap[(quoted ?? bare)!]);
    return JSON.stringify(quoted !== undefined && typeof value !== 'string' ? JSON.stringify(value) : value);
  });
  return JSON.parse(text);
}

describe('ECR push trigger', () => {
  const app = new App(noBundling);
  const stack = new Stack(app, 'Triggers', { env: { account: '123456789012', region: 'eu-west-1' } });
  new CanaryOrchestrator(stack, 'Orchestrator').addService(service);
  const template = Template.fromStack(stack);
  const rules = Object.values(template.findResources('AWS::Events::Rule')) as { Properties: { EventPattern: Record<string, unknown>; Targets: (Record<string, unknown> & { InputTransformer: Transformer })[] } }[];
  const rule = rules.find((r) => r.Properties.EventPattern.source instanceof Array && (r.Properties.EventPattern.source as string[])[0] === 'aws.ecr')!;

  it('matches successful pushes of the registered repository and tags', () => {
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': ['team/payments-api'], 'image-tag': [{ wildcard: 'v*' }, 'stable'] },
    });
  });

  it('targets the trigger Lambda with retries and a dead-letter queue', () => {
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(rule.Properties.Targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [expect.stringContaining('EcrTriggerFunction'), 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringContaining('EcrTriggerDeadLetters'), 'Arn'] } },
      RetryPolicy: { MaximumEventAgeInSeconds: 7200, MaximumRetryAttempts: 8 },
    });
    const roles = template.findResources('AWS::IAM::Policy');
    const triggerPolicy = Object.entries(roles).find(([id]) => id.includes('EcrTriggerRole'))![1] as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } };
    expect(triggerPolicy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([{ Sid: 'StartRollouts', Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: expect.stringContaining('Workflow') } }]));
  });

  it('maps a sample push through the rule to the expected execution, pinned by digest', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:canary:payments-api-ab12ab12ab12ab12' });
    process.env.STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:canary';

    const result = await ecrTrigger(transform(rule.Properties.Targets[0].InputTransformer, PUSH) as never);

    const call = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(call.name).toBe('payments-api-ab12ab12ab12ab12');
    const input = JSON.parse(call.input!) as unknown;
    expect(input).toEqual({
      service: 'payments-api',
      image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/payments-api@sha256:${'ab12'.repeat(16)}`,
      dryRun: false,
      trigger: { source: 'ecr', tag: 'v2.4.1', reference: `team/payments-api@sha256:${'ab12'.repeat(16)}` },
    });
    // What the workflow's Start will accept.
    expect(parseExecutionInput(input)).toEqual(input);
    expect(result.started).toBe(true);
    sfn.restore();
  });

  it('starts nothing for a digest that already started a run (ECR events may repeat)', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolvesOnce({ executionArn: 'arn:first' }).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const event = transform(rule.Properties.Targets[0].InputTransformer, PUSH) as never;

    const first = await ecrTrigger(event);
    const again = await ecrTrigger(event);

    expect(first.started).toBe(true);
    expect(again).toMatchObject({ started: false, executionName: first.executionName });
    sfn.restore();
  });
});

describe('CodePipeline example', () => {
  it('runs an ECR push through a canary stage, pinned by digest, and passes cdk-nag', () => {
    const app = new App(noBundling);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new CanaryPipelineExampleStack(app, 'Pipeline', {
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:canary-workflow',
      service: 'payments-api',
      repositoryName: 'team/payments-api',
    });
    const template = Template.fromStack(stack);
    const pipeline = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as { Properties: { Stages: { Name: string; Actions: { ActionTypeId: { Provider: string }; Configuration: Record<string, string> }[] }[] } };

    expect(pipeline.Properties.Stages.map((s) => s.Name)).toEqual(['Source', 'Canary-payments-api']);
    const [canary] = pipeline.Properties.Stages[1].Actions;
    expect(canary.ActionTypeId.Provider).toBe('StepFunctions');
    expect(canary.Configuration.StateMachineArn).toBe('arn:aws:states:eu-west-1:123456789012:stateMachine:canary-workflow');
    expect(canary.Configuration.ExecutionNamePrefix).toBe('payments-api');
    // The input is a CloudFormation join (the repository URI is a token); its parts carry the fields.
    const input = JSON.stringify(canary.Configuration.Input);
    for (const part of ['\\"service\\":\\"payments-api\\"', '/team/payments-api@#{Source.ImageDigest}', '\\"source\\":\\"codepipeline\\"', '#{codepipeline.PipelineExecutionId}']) {
      expect(input).toContain(part);
    }
    // Synthesis runs the cdk-nag plugin: an unacknowledged finding would throw here.
    expect(() => app.synth()).not.toThrow();
  });

  it('refuses something that is not a state machine ARN', () => {
    expect(() => new CanaryPipelineExampleStack(new App(noBundling), 'Bad', { stateMachineArn: 'canary', service: 's', repositoryName: 'r' })).toThrow(
      "stateMachineArn must be a state machine ARN, got 'canary'",
    );
  });
});

describe('execution input JSON Schema', () => {
  it('the checked-in schema is the one the zod schema generates (npm run schema)', () => {
    const checkedIn = JSON.parse(readFileSync(path.resolve(__dirname, '../../statemachine/execution-input.schema.json'), 'utf8')) as unknown;
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(executionInputJsonSchema())));
  });

  it('documents the required fields, refuses unknown ones, and its examples are valid inputs', () => {
    const schema = executionInputJsonSchema() as { required: string[]; additionalProperties: boolean; examples: unknown[] };
    expect(schema.required).toEqual(['service', 'image']);
    expect(schema.additionalProperties).toBe(false);
    for (const example of schema.examples) expect(() => parseExecutionInput(example)).not.toThrow();
  });
});
