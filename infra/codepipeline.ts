import { RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** Options of a canary stage. */
export interface CanaryStageOptions {
  /** The orchestrator's state machine (CanaryOrchestrator.stateMachine, or imported by ARN). */
  readonly stateMachine: sfn.IStateMachine;
  /** A service registered with the orchestrator. */
  readonly service: string;
  /** The image to roll out; CodePipeline variables are resolved, e.g. from an EcrSourceAction's `variables`. */
  readonly image: string;
  /** @default `Canary-<service>` */
  readonly stageName?: string;
  readonly dryRun?: boolean;
}

/** The execution-name prefix of a canary stage: execution names are at most 80 characters and the action id takes 37. */
export const canaryExecutionPrefix = (service: string) => service.slice(0, 40);

/**
 * Adds a stage that runs a canary rollout of `image` with a Step Functions invoke action. The stage succeeds
 * when the release is promoted and fails when it is rolled back (the execution fails on purpose then).
 */
export function addCanaryStage(pipeline: codepipeline.Pipeline, options: CanaryStageOptions): codepipeline.IStage {
  return pipeline.addStage({
    stageName: options.stageName ?? `Canary-${options.service}`,
    actions: [
      new actions.StepFunctionInvokeAction({
        actionName: 'CanaryRollout',
        stateMachine: options.stateMachine,
        stateMachineInput: actions.StateMachineInput.literal({
          service: options.service,
          image: options.image,
          ...(options.dryRun && { dryRun: true }),
          trigger: { source: 'codepipeline', reference: '#{codepipeline.PipelineExecutionId}' },
        }),
        executionNamePrefix: canaryExecutionPrefix(options.service),
      }),
    ],
  });
}

/** Properties of the example pipeline. */
export interface CanaryPipelineExampleProps extends StackProps {
  /** ARN of the deployed orchestrator's state machine (the CanaryOrchestrator stack's StateMachineArn output). */
  readonly stateMachineArn: string;
  readonly service: string;
  /** The ECR repository whose pushes release the service. */
  readonly repositoryName: string;
  /** @default latest */
  readonly imageTag?: string;
}

const ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]+)$/;

/** An example release pipeline: an ECR push → a canary rollout of the pushed image, pinned by digest. */
export class CanaryPipelineExampleStack extends Stack {
  readonly pipeline: codepipeline.Pipeline;

  constructor(scope: Construct, id: string, props: CanaryPipelineExampleProps) {
    const arn = ARN.exec(props.stateMachineArn);
    if (!arn) throw new Error(`CanaryPipelineExampleStack: stateMachineArn must be a state machine ARN, got '${props.stateMachineArn}'`);
    // The pipeline runs where the orchestrator is: its account and region come from the ARN.
    super(scope, id, { ...props, env: { account: arn[3], region: arn[2] } });
    const stateMachine = sfn.StateMachine.fromStateMachineArn(this, 'Orchestrator', props.stateMachineArn);
    const repository = ecr.Repository.fromRepositoryName(this, 'Repository', props.repositoryName);
    const artifacts = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    const sourceOutput = new codepipeline.Artifact('Image');
    const source = new actions.EcrSourceAction({ actionName: 'Push', repository, imageTag: props.imageTag ?? 'latest', output: sourceOutput, variablesNamespace: 'Source' });
    this.pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      artifactBucket: artifacts,
      crossAccountKeys: false,
      stages: [{ stageName: 'Source', actions: [source] }],
    });
    addCanaryStage(this.pipeline, { stateMachine, service: props.service, image: `${repository.repositoryUri}@${source.variables.imageDigest}` });
    this.acknowledge(artifacts, `arn:${arn[1]}:states:${arn[2]}:${arn[3]}:execution:${arn[4]}:${canaryExecutionPrefix(props.service)}*`);
  }

  /** The findings CDK's own grants raise, each acknowledged by its exact id with the reason it is sound. */
  private acknowledge(artifacts: s3.Bucket, executions: string): void {
    Validations.of(artifacts).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "The artifact bucket of an example pipeline holds only the ECR source action's small imageDetail.json; access to it is already " +
        "recorded by CloudTrail and the pipeline's history, and a logging bucket would double the example for nothing.",
    });
    const bucket = `<${this.getLogicalId(artifacts.node.defaultChild as s3.CfnBucket)}.Arn>/*`;
    const s3Reason =
      'CDK grants the pipeline and its source action read/write on the objects of the artifact bucket only (s3:GetObject*, s3:GetBucket*, ' +
      's3:List*, s3:DeleteObject*, s3:Abort* on this one bucket and its objects): artifact keys are generated per execution.';
    for (const id of ['Action::s3:Abort*', 'Action::s3:DeleteObject*', 'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::${bucket}`]) {
      Validations.of(this.pipeline).acknowledge({ id: `AwsSolutions-IAM5[${id}]`, reason: s3Reason });
    }
    Validations.of(this.pipeline).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${executions}]`,
      reason:
        'The canary stage describes the executions it starts; their names are the service prefix plus the action execution id, known only at run ' +
        'time, so the grant is scoped to this state machine and this prefix.',
    });
  }
}
