import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CanaryOrchestrator, KUBERNETES_GROUP } from '../../infra/canary-orchestrator';

// Registering services that deploy through ECS or EKS: least privilege on the workloads, the cluster mapping, cdk-nag.

const ENV = { account: '123456789012', region: 'eu-west-1' };
const TG = (name: string) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${name}/73e2d6bc24d8a067`;

const ecsService = {
  name: 'orders-api',
  traffic: { kind: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2', stableTargetGroupArn: TG('orders-stable'), canaryTargetGroupArn: TG('orders-canary') },
  metrics: { kind: 'prometheus', url: 'http://prometheus:9090' },
  workload: { kind: 'ecs', cluster: 'shop', stableService: 'orders-stable', canaryService: 'orders-canary' },
};
const eksService = {
  name: 'payments-api',
  traffic: { kind: 'gateway-api', cluster: 'prod', namespace: 'payments', httpRoute: 'payments-api', stableService: 'payments-stable', canaryService: 'payments-canary' },
  metrics: { kind: 'amp', workspaceId: 'ws-12345678-abcd-1234-abcd-123456789012', region: 'eu-west-1' },
  workload: { kind: 'eks-deployment', cluster: 'prod', namespace: 'payments', stableDeployment: 'payments-stable', canaryDeployment: 'payments-canary' },
};

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function synth(withVpc = false) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Workloads', { env: ENV });
  const vpc = withVpc ? new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] }) : undefined;
  // The VPC stands for the user's own; its flow logs are theirs to configure, not the orchestrator's.
  if (vpc) Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'A VPC of the test standing for the user’s own VPC, whose flow logs the user configures; the construct only places its Lambdas in it.' });
  const orchestrator = new CanaryOrchestrator(stack, 'Orchestrator', { ...(vpc && { vpc }) });
  orchestrator.addService(ecsService);
  orchestrator.addService(eksService);
  return { app, template: Template.fromStack(stack) };
}

const { app, template } = synth();
const statements = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([id, policy]) =>
  ((policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement).map((s) => ({ role: id, ...s })),
);
/** A resource as text, with the partition token read as `aws`. */
const render = (value: unknown): unknown => {
  if (Array.isArray(value)) return (value as unknown[]).map(render);
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
  if (join) return join[1].map((part) => (typeof part === 'string' ? part : (part as { Ref?: string }).Ref === 'AWS::Partition' ? 'aws' : JSON.stringify(part))).join(join[0]);
  return value;
};
const withSid = (sid: string) => statements.filter((s) => s.Sid === sid).map((s) => ({ ...s, Resource: render(s.Resource) }));
const roleOf = (step: string): unknown => expect.stringContaining(`${step}Role`);

describe('ECS workloads', () => {
  it('describe and update only the two registered services, from the steps that need them', () => {
    const services = ['arn:aws:ecs:eu-west-1:123456789012:service/shop/orders-stable', 'arn:aws:ecs:eu-west-1:123456789012:service/shop/orders-canary'];
    const updates = withSid('UpdateRegisteredEcsServices');
    expect(updates.map((s) => s.role).sort()).toEqual([roleOf('Prepare'), roleOf('Promote'), roleOf('Rollback')]);
    for (const s of updates) expect(s).toMatchObject({ Action: 'ecs:UpdateService', Resource: services });
    expect(withSid('DescribeRegisteredEcsServices').map((s) => s.role)).toEqual(expect.arrayContaining([roleOf('Start')]));
  });

  it('pass the task roles to ECS tasks only', () => {
    for (const s of withSid('PassTaskRoles')) expect(s).toMatchObject({ Action: 'iam:PassRole', Resource: '*', Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } });
    expect(withSid('PassTaskRoles')).toHaveLength(3);
  });
});

describe('EKS workloads and routes', () => {
  it('map every role that touches the cluster into the Kubernetes group, and may describe that cluster only', () => {
    const entries = Object.values(template.findResources('AWS::EKS::AccessEntry')) as { Properties: { ClusterName: string; KubernetesGroups: string[]; Type: string; PrincipalArn: unknown } }[];
    // Start (reads weights and stable's health), Prepare, SetWeight, Promote, Rollback, SafetyNet.
    expect(entries).toHaveLength(6);
    for (const entry of entries) expect(entry.Properties).toMatchObject({ ClusterName: 'prod', KubernetesGroups: [KUBERNETES_GROUP], Type: 'STANDARD' });
    for (const s of withSid('DescribeRegisteredClusters')) expect(s.Resource).toEqual('arn:aws:eks:eu-west-1:123456789012:cluster/prod');
  });

  it('never grants ELB writes for a mesh-routed service', () => {
    const modify = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('elasticloadbalancing:Modify')));
    for (const s of modify) expect(JSON.stringify(s.Resource)).not.toContain('payments');
  });
});

describe('cdk-nag', () => {
  it('passes with ECS and EKS services registered, in and out of a VPC', () => {
    expect(() => app.synth()).not.toThrow();
    const inVpc = synth(true);
    expect(() => inVpc.app.synth()).not.toThrow();
    const functions = Object.values(inVpc.template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs22.x' } })) as { Properties: { VpcConfig?: unknown } }[];
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) expect(fn.Properties.VpcConfig).toBeDefined();
  });
});
