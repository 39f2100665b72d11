import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { CanaryOrchestrator } from '../../infra/canary-orchestrator';
import { CanaryOrchestratorStack } from '../../infra/canary-stack';

// Pins what CloudFormation would see of the orchestrator: every logical id with its type, and the properties that carry
// its wiring and its least privilege. A changed logical id replaces the resource on deploy (a new, empty table; a state
// machine with a new ARN), so a refactoring of infra/ must leave this snapshot as it is. Update it only for an intended
// change of the template: `npx jest test/cdk/template-shape.test.ts -u`, and review the diff.

const ROOT = path.resolve(__dirname, '..', '..');
const ENV = { account: '123456789012', region: 'eu-west-1' };

/** The context `cdk synth` uses (cdk.json), without bundling: unit tests never run esbuild. */
function testContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };
}

/** App options of every test app; CloudFormation schema validation is left to `npx cdk synth` (see canary-orchestrator.test.ts). */
const appProps = () => ({ context: testContext(), builtinCloudFormationValidation: false });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Resource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly DependsOn?: Json;
}

/** A value with its intrinsics as text: `${Id}` for Ref, `${Id.Attr}` for GetAtt, Fn::Join of such parts concatenated. */
function render(value: Json): Json {
  if (Array.isArray(value)) return value.map(render);
  if (value === null || typeof value !== 'object') return value;
  if (typeof value.Ref === 'string') return `\${${value.Ref}}`;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `\${${getAtt.filter((part) => typeof part === 'string').join('.')}}`;
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1].map(render);
    if (parts.every((part) => typeof part === 'string')) return parts.join(join[0]);
  }
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, render(inner)]));
}

/**
 * The properties of a resource that a refactoring must keep, rendered. Left out: what other parts of the repository
 * own and change on their own (asset hashes of the handler code and the ASL, the registration's config JSON).
 */
function keyProperties(resource: Resource): Json {
  const { Code: _code, DefinitionS3Location: _definition, Create: create, Update: _update, ...rest } = resource.Properties ?? {};
  const rendered = render(rest) as JsonObject;
  const call = create === undefined ? undefined : render(create);
  if (resource.Type !== 'Custom::CanaryServiceRegistration' || typeof call !== 'string') return rendered;
  // The registration as a call: which action, on which table, for which key; its config is pinned by canary-orchestrator.test.ts.
  const put = JSON.parse(call) as { action: string; parameters: { TableName: string; Item: Record<string, Json> } };
  return { ...rendered, Create: { action: put.action, TableName: put.parameters.TableName, Item: Object.keys(put.parameters.Item).sort() } };
}

/** Every resource by logical id: its type, retention and key properties. */
function shape(stack: Stack): Record<string, Json> {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  return Object.fromEntries(
    Object.keys(resources)
      .sort()
      .map((id) => {
        const resource = resources[id];
        return [
          id,
          {
            Type: resource.Type,
            ...(resource.DeletionPolicy !== undefined && { DeletionPolicy: resource.DeletionPolicy }),
            ...(resource.UpdateReplacePolicy !== undefined && { UpdateReplacePolicy: resource.UpdateReplacePolicy }),
            ...(resource.DependsOn !== undefined && { DependsOn: resource.DependsOn }),
            Properties: keyProperties(resource),
          },
        ];
      }),
  );
}

/** How many resources of each type the stack has. */
function counts(stack: Stack): Record<string, number> {
  const resources = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, Resource>);
  const byType: Record<string, number> = {};
  for (const resource of resources) byType[resource.Type] = (byType[resource.Type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(byType).sort(([a], [b]) => a.localeCompare(b)));
}

/** Every cdk-nag acknowledgement as `<construct path>: <finding id>`: they must stay on the constructs they silence. */
function acknowledgements(root: IConstruct): string[] {
  return root.node.findAll().flatMap((node) =>
    node.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>).map((id) => `${node.node.path}: ${id.replace(/^annotation::/i, '')}`)),
  );
}

const TG = (name: string) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${name}/73e2d6bc24d8a067`;
/** Kinds the example services do not use: an ECS workload with an ECR trigger, an EKS route and workload on AMP, ECS by ARN. */
const KIND_SERVICES = [
  {
    name: 'orders-api',
    traffic: { kind: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2', stableTargetGroupArn: TG('orders-stable'), canaryTargetGroupArn: TG('orders-canary') },
    metrics: { kind: 'prometheus', url: 'http://prometheus:9090' },
    workload: { kind: 'ecs', cluster: 'shop', stableService: 'orders-stable', canaryService: 'orders-canary' },
    triggers: { ecr: { repository: 'team/orders', tags: ['v*', 'stable'] } },
  },
  {
    name: 'payments-api',
    traffic: { kind: 'gateway-api', cluster: 'prod', namespace: 'payments', httpRoute: 'payments-api', stableService: 'payments-stable', canaryService: 'payments-canary' },
    metrics: { kind: 'amp', workspaceId: 'ws-12345678-abcd-1234-abcd-123456789012', region: 'eu-west-1' },
    workload: { kind: 'eks-deployment', cluster: 'prod', namespace: 'payments', stableDeployment: 'payments-stable', canaryDeployment: 'payments-canary' },
    triggers: { ecr: { repository: 'team/payments' } },
  },
  {
    name: 'orders-two',
    traffic: { kind: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab3', stableTargetGroupArn: TG('two-stable'), canaryTargetGroupArn: TG('two-canary') },
    metrics: { kind: 'prometheus', url: 'http://prometheus:9090' },
    workload: { kind: 'ecs', cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/shop2', stableService: 'arn:aws:ecs:eu-west-1:123456789012:service/shop2/two-a', canaryService: 'two-b' },
  },
];

// Jest never fires the process `exit` event that deletes synthesized temp assemblies.
afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

// Prepare: the deployable stack with infra/services.example.json, and a stack with every other kind, in a VPC, with all props set.
const example = new CanaryOrchestratorStack(new App(appProps()), 'Canary', { env: ENV });
const kinds = new Stack(new App(appProps()), 'Kinds', { env: ENV });
const vpc = ec2.Vpc.fromVpcAttributes(kinds, 'Vpc', {
  vpcId: 'vpc-0a1b2c3d',
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
  privateSubnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
  privateSubnetRouteTableIds: ['rtb-0a1b2c3d', 'rtb-4e5f6a7b'],
});
const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(kinds, 'Sg', 'sg-0a1b2c3d');
const orchestrator = new CanaryOrchestrator(kinds, 'Orchestrator', {
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  securityGroups: [securityGroup],
  retentionDays: 30,
  logRetention: RetentionDays.ONE_WEEK,
  removalPolicy: RemovalPolicy.DESTROY,
});
for (const service of KIND_SERVICES) orchestrator.addService(service);

describe('the synthesized template', () => {
  it('keeps the resources of the example stack: logical ids, types and key properties', () => {
    expect(counts(example)).toMatchSnapshot('resource counts');
    expect(shape(example)).toMatchSnapshot('resources');
  });

  it('keeps the resources of ECS, EKS and ECR-triggered services in a VPC with every prop set', () => {
    expect(counts(kinds)).toMatchSnapshot('resource counts');
    expect(shape(kinds)).toMatchSnapshot('resources');
  });

  it('keeps each cdk-nag acknowledgement on the construct whose finding it silences', () => {
    expect(acknowledgements(example)).toMatchSnapshot('example');
    expect(acknowledgements(kinds)).toMatchSnapshot('kinds');
  });
});
