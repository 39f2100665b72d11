import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { build, stop } from 'esbuild';
import {
  CanaryOrchestrator,
  EXECUTION_READ_ACTIONS,
  HANDLER_BUNDLING,
  HANDLER_ESBUILD,
  SAFETY_NET_MAX_RECEIVES,
  SAFETY_NET_VISIBILITY_TIMEOUT,
  secretResourceArn,
} from '../../infra/canary-orchestrator';
import { ITEM_ACTIONS, WRITE_ACTIONS } from '../../infra/table-access';
import { CanaryOrchestratorStack, readServicesFile } from '../../infra/canary-stack';
import { REPO_ROOT, handlerEntry } from '../../infra/handler-bundling';
import { TABLE } from '../../lambdas/adapters/dynamodb/table-layout';
import { parseServiceConfig, type ServiceConfig } from '../../lambdas/domain/service-config';
import { SAFETY_NET_HANDLER, WORKFLOW_HANDLERS, substitutionName } from '../../lambdas/handlers/catalog';

const ROOT = path.resolve(__dirname, '..', '..');
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Statement {
  readonly role: string;
  readonly sid?: string;
  readonly actions: string[];
  readonly resources: Json[];
  readonly conditions?: JsonObject;
}

/** The context `cdk synth` uses (cdk.json), without bundling: unit tests never run esbuild. */
function testContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };
}

/**
 * App options of every test app. CDK's built-in CloudFormation schema validation compiles a 9 MB WebAssembly module
 * whose background optimization outlives the test and makes jest kill its worker; `npx cdk synth` runs it instead.
 */
const appProps = (context: Record<string, unknown> = {}) => ({ context: { ...testContext(), ...context }, builtinCloudFormationValidation: false });

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** A CloudFormation string with its Refs as `${Ref:Id}`: Fn::Join parts are concatenated. */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return join[1].map(render).join(join[0]);
    if (typeof value.Ref === 'string') return `\${Ref:${value.Ref}}`;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `\${GetAtt:${getAtt.filter((part) => typeof part === 'string').join('.')}}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** Every Allow statement of every AWS::IAM::Policy, with the logical id of the role it is attached to. */
function statementsOf(template: Template): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy') as Record<string, { Properties: JsonObject }>;
  return Object.values(policies).flatMap(({ Properties }) => {
    const roles = asList(Properties.Roles as Json[]).map((r) => (r as { Ref: string }).Ref);
    const document = Properties.PolicyDocument as { Statement: JsonObject[] };
    return roles.flatMap((role) =>
      document.Statement.map((s) => ({
        role,
        ...(typeof s.Sid === 'string' && { sid: s.Sid }),
        actions: asList(s.Action as string | string[]),
        resources: asList(s.Resource),
        ...(s.Condition !== undefined && { conditions: s.Condition as JsonObject }),
      })),
    );
  });
}

/** Logical id of the role of the function whose description is the catalog entry's. */
function roleOfStep(template: Template, id: string): string {
  const entry = [...WORKFLOW_HANDLERS, SAFETY_NET_HANDLER].find((e) => e.id === id);
  const functions = template.findResources('AWS::Lambda::Function', { Properties: { Description: entry?.description } }) as Record<string, { Properties: { Role: { 'Fn::GetAtt': string[] } } }>;
  const found = Object.values(functions);
  expect(found).toHaveLength(1);
  return found[0].Properties.Role['Fn::GetAtt'][0];
}

const EXAMPLE = readServicesFile(path.join(ROOT, 'infra', 'services.example.json'));
const EXAMPLE_CONFIGS: ServiceConfig[] = EXAMPLE.map((r) => parseServiceConfig(r));

// Jest never fires the process `exit` event that deletes synthesized temp assemblies.
afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

// Prepare (once for the file): the deployable stack with the example services, in a known account and region.
const app = new App(appProps());
const stack = new CanaryOrchestratorStack(app, 'Canary', { env: { account: ACCOUNT, region: REGION } });
const template = Template.fromStack(stack);
const tableId = stack.getLogicalId(stack.orchestrator.table.node.defaultChild as never);
const statements = statementsOf(template);

describe('the table', () => {
  it('has the keys, the two GSIs, TTL and point-in-time recovery of table-layout.ts, and is retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE.sortKey, AttributeType: 'S' },
        ]),
        GlobalSecondaryIndexes: [TABLE.serviceRunsIndex, TABLE.rollbacksIndex].map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
    expect(TABLE.serviceRunsIndex.name).toBe('service-runs');
    expect(TABLE.rollbacksIndex.name).toBe('rollbacks');
  });
});

describe('the step functions', () => {
  it('are one Node 22 arm64 function per catalog entry (and the safety net), traced, with the catalog timeout and memory and the table name', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs22.x' } }))).toHaveLength(WORKFLOW_HANDLERS.length + 1);
    for (const entry of [...WORKFLOW_HANDLERS, SAFETY_NET_HANDLER]) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: entry.description,
        Handler: 'index.handler',
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Timeout: entry.timeoutSeconds,
        MemorySize: entry.memoryMb,
        LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
        Environment: {
          Variables: Match.objectLike({ TABLE_NAME: { Ref: tableId }, POWERTOOLS_SERVICE_NAME: 'canary-orchestrator', POWERTOOLS_LOG_LEVEL: 'INFO' }),
        },
      });
      expect(fs.existsSync(handlerEntry(entry.file))).toBe(true);
    }
    expect(Object.keys(stack.orchestrator.functions).sort()).toEqual([...WORKFLOW_HANDLERS, SAFETY_NET_HANDLER].map((e) => e.id).sort());
  });

  it('log to explicit log groups with a retention, never through the LogRetention custom resource', () => {
    template.resourceCountIs('Custom::LogRetention', 0);
    const groups = template.findResources('AWS::Logs::LogGroup') as Record<string, { Properties: { RetentionInDays?: number } }>;
    const functions = template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { LoggingConfig?: { LogGroup: { Ref: string } } } }>;
    for (const fn of Object.values(functions)) {
      const group = groups[fn.Properties.LoggingConfig?.LogGroup.Ref ?? ''];
      expect(group?.Properties.RetentionInDays).toBe(90);
    }
  });
});

describe('bundling', () => {
  // esbuild keeps a service process for the next build; let jest's worker exit.
  afterAll(async () => {
    await stop();
  });

  /** The classes of ERROR_CLASSES as bundled with `options`, each with the name it reports at runtime. */
  async function bundledErrorNames(options: typeof HANDLER_ESBUILD | Omit<typeof HANDLER_ESBUILD, 'keepNames'>): Promise<Record<string, string>> {
    const result = await build({
      ...options,
      external: [...options.external],
      stdin: { contents: "export { ERROR_CLASSES } from './lambdas/domain/errors';", resolveDir: REPO_ROOT, loader: 'ts' },
      bundle: true,
      write: false,
      sourcemap: false,
      logLevel: 'silent',
    });
    const module = { exports: {} as { ERROR_CLASSES?: Record<string, { name: string }> } };
    vm.runInNewContext(result.outputFiles[0].text, { module, exports: module.exports });
    return Object.fromEntries(Object.entries(module.exports.ERROR_CLASSES ?? {}).map(([key, cls]) => [key, cls.name]));
  }

  it('keeps the error class names that the ASL Retry/Catch match, and would lose them without keepNames', async () => {
    const kept = await bundledErrorNames(HANDLER_ESBUILD);
    const { keepNames: _keepNames, ...withoutKeepNames } = HANDLER_ESBUILD;
    const lost = await bundledErrorNames(withoutKeepNames);

    expect(Object.keys(kept)).toEqual(expect.arrayContaining(['ThrottlingError', 'TransientError', 'WeightVerificationError']));
    for (const [key, name] of Object.entries(kept)) expect(name).toBe(key);
    expect(Object.entries(lost).filter(([key, name]) => key !== name).length).toBeGreaterThan(0);
  });

  it('gives NodejsFunction the same options the bundle-size script uses, with local esbuild', () => {
    expect(HANDLER_BUNDLING).toMatchObject({
      format: HANDLER_ESBUILD.format,
      target: 'node22',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      keepNames: true,
      externalModules: ['@aws-sdk/*'],
      forceDockerBundling: false,
    });
    expect(HANDLER_ESBUILD.external).toEqual(['@aws-sdk/*']);
  });
});

describe('the state machine', () => {
  const machines = template.findResources('AWS::StepFunctions::StateMachine') as Record<string, { Properties: JsonObject }>;
  const machine = Object.values(machines)[0].Properties;

  it('is STANDARD, logs ALL with execution data, and is traced', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }] },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('deploys statemachine/canary.asl.json itself (the definition asset is the file)', () => {
    const assembly = app.synth();
    const location = machine.DefinitionS3Location as { Key: string };
    const deployed = fs.readFileSync(path.join(assembly.directory, `asset.${location.Key}`), 'utf8');
    expect(deployed).toBe(fs.readFileSync(path.join(ROOT, 'statemachine', 'canary.asl.json'), 'utf8'));
  });

  it('gets every ${…} placeholder of the ASL substituted with the ARN of the matching catalog function', () => {
    const asl = fs.readFileSync(path.join(ROOT, 'statemachine', 'canary.asl.json'), 'utf8');
    const placeholders = [...new Set([...asl.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]))].sort();
    const substitutions = machine.DefinitionSubstitutions as Record<string, { 'Fn::GetAtt': [string, string] }>;

    expect(placeholders.length).toBeGreaterThan(0);
    expect(Object.keys(substitutions).sort()).toEqual(placeholders);
    for (const entry of WORKFLOW_HANDLERS) {
      const [logicalId, attribute] = substitutions[substitutionName(entry)]['Fn::GetAtt'];
      expect(attribute).toBe('Arn');
      expect((template.toJSON().Resources as Record<string, { Properties: { Description?: string } }>)[logicalId].Properties.Description).toBe(entry.description);
    }
  });

  it('may invoke exactly the step functions, unqualified', () => {
    const machineRole = (machine.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const invokes = statements.filter((s) => s.role === machineRole && s.actions.includes('lambda:InvokeFunction'));
    const stepFunctionIds = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs22.x' } })).filter(
      (id) => !id.includes(SAFETY_NET_HANDLER.id),
    );
    expect(invokes.flatMap((s) => s.resources).map(render).sort()).toEqual(stepFunctionIds.map((id) => `\${GetAtt:${id}.Arn}`).sort());
  });
});

describe('the service registry', () => {
  const registrations = template.findResources('Custom::CanaryServiceRegistration') as Record<string, { Properties: Record<string, Json> }>;

  it('writes one registry item per registered service, holding its validated config as JSON', () => {
    expect(Object.keys(registrations)).toHaveLength(EXAMPLE_CONFIGS.length);
    for (const config of EXAMPLE_CONFIGS) {
      const found = Object.values(registrations).map((r) => r.Properties).find((p) => render(p.Create).includes(`"SERVICE#${config.name}"`));
      expect(found).toBeDefined();
      const create = JSON.parse(render(found?.Create ?? '')) as { action: string; parameters: { TableName: string; Item: Record<string, { S: string }> } };
      expect(create.action).toBe('PutItem');
      expect(create.parameters.TableName).toBe(`\${Ref:${tableId}}`);
      expect(create.parameters.Item[TABLE.partitionKey]).toEqual({ S: 'REGISTRY' });
      expect(create.parameters.Item[TABLE.sortKey]).toEqual({ S: `SERVICE#${config.name}` });
      expect(JSON.parse(create.parameters.Item.config.S)).toEqual(JSON.parse(JSON.stringify(config)));
      // What Start reads back parses to the same config.
      expect(parseServiceConfig(JSON.parse(create.parameters.Item.config.S))).toEqual(config);
      expect(render(found?.Update ?? '')).toBe(render(found?.Create ?? ''));

      const remove = JSON.parse(render(found?.Delete ?? '')) as { action: string; parameters: { Key: unknown } };
      expect(remove.action).toBe('DeleteItem');
      expect(remove.parameters.Key).toEqual({ [TABLE.partitionKey]: { S: 'REGISTRY' }, [TABLE.sortKey]: { S: `SERVICE#${config.name}` } });
    }
  });

  it('lets the registry writer put and delete registry items only', () => {
    const writes = statements.filter((s) => s.role.includes('RegistryWriterRole') && s.actions.some((a) => a.startsWith('dynamodb:')));
    expect(writes).toHaveLength(EXAMPLE_CONFIGS.length);
    for (const statement of writes) {
      expect(statement.actions.sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
      expect(statement.resources.map(render)).toEqual([`\${GetAtt:${tableId}.Arn}`]);
      expect(statement.conditions).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REGISTRY'] } });
    }
  });
});

describe('least privilege', () => {
  const [payments, checkout] = EXAMPLE_CONFIGS;
  // Prepare writes too: its health gate attaches a detached canary target group at weight 0 (ALB health-checks only routed groups).
  const writers = ['Prepare', 'SetWeight', 'Promote', 'Rollback', 'SafetyNet'].map((id) => roleOfStep(template, id));
  const granted = (role: string, action: string) =>
    statements.filter((s) => s.role === role && s.actions.includes(action)).flatMap((s) => s.resources.map(render)).sort();
  const everywhere = (action: string) => statements.filter((s) => s.actions.includes(action));

  it('has no wildcard action anywhere', () => {
    for (const statement of statements) {
      for (const action of statement.actions) expect(action).not.toMatch(/\*/);
    }
  });

  it('modifies only the registered listener, or the registered rule when a rule is given', () => {
    if (payments.traffic.kind !== 'alb' || checkout.traffic.kind !== 'alb') throw new Error('the examples register ALB services');
    expect(payments.traffic.ruleArn).toBeUndefined();
    expect(checkout.traffic.ruleArn).toBeDefined();
    for (const role of writers) {
      expect(granted(role, 'elasticloadbalancing:ModifyListener')).toEqual([payments.traffic.listenerArn]);
      expect(granted(role, 'elasticloadbalancing:ModifyRule')).toEqual([checkout.traffic.ruleArn]);
    }
    const modifying = statements.filter((s) => s.actions.some((a) => /^elasticloadbalancing:(?!Describe)/.test(a)));
    expect(modifying.map((s) => s.role).sort()).toEqual([...writers, ...writers].sort());
    for (const statement of modifying) expect(statement.resources).not.toContain('*');
    // Start reads the weights but never shifts them.
    const start = roleOfStep(template, 'Start');
    expect(granted(start, 'elasticloadbalancing:DescribeListeners')).toEqual(['*']);
    expect(granted(start, 'elasticloadbalancing:ModifyListener')).toEqual([]);
  });

  it('uses Resource * only for calls AWS cannot scope', () => {
    const unscopable = /^(elasticloadbalancing:Describe(Listeners|Rules|TargetHealth)|xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$/;
    for (const statement of statements.filter((s) => s.resources.includes('*'))) {
      for (const action of statement.actions) expect(action).toMatch(unscopable);
    }
  });

  it('queries only the registered AMP workspace, from Analyze only', () => {
    if (checkout.metrics.kind !== 'amp') throw new Error('the example registers checkout-web on AMP');
    const analyze = roleOfStep(template, 'Analyze');
    expect(granted(analyze, 'aps:QueryMetrics')).toEqual([`arn:aws:aps:${checkout.metrics.region}:${ACCOUNT}:workspace/${checkout.metrics.workspaceId}`]);
    expect(everywhere('aps:QueryMetrics').map((s) => s.role)).toEqual([analyze]);
  });

  it('reads only the registered secrets: the Prometheus token from Analyze, the Slack webhook from the steps that notify', () => {
    if (payments.metrics.kind !== 'prometheus') throw new Error('the example registers payments-api on Prometheus');
    const analyze = roleOfStep(template, 'Analyze');
    const notifiers = ['Start', 'Analyze', 'Finish', 'SafetyNet'].map((step) => roleOfStep(template, step));
    expect(granted(analyze, 'secretsmanager:GetSecretValue').sort()).toEqual([payments.metrics.bearerTokenSecretArn, checkout.notifications.slackWebhookSecretArn].sort());
    for (const role of notifiers.filter((r) => r !== analyze)) expect(granted(role, 'secretsmanager:GetSecretValue')).toEqual([checkout.notifications.slackWebhookSecretArn]);
    expect([...new Set(everywhere('secretsmanager:GetSecretValue').map((s) => s.role))].sort()).toEqual(notifiers.sort());
    for (const role of notifiers) expect(granted(role, 'sns:Publish')).toEqual([checkout.notifications.snsTopicArn]);
    expect(everywhere('sns:Publish').map((s) => s.role).sort()).toEqual(notifiers.sort());
  });

  /** Every DynamoDB statement of a role as `<LeadingKeys pattern>: <actions>`, or `<resource>: <actions>` when unconditioned. */
  const tableGrants = (role: string): Record<string, string[]> =>
    Object.fromEntries(
      statements
        .filter((s) => s.role === role && s.actions.some((a) => a.startsWith('dynamodb:')))
        .map((s) => {
          const keys = (s.conditions?.['ForAllValues:StringLike'] as JsonObject | undefined)?.['dynamodb:LeadingKeys'];
          return [Array.isArray(keys) ? (keys as string[]).join(',') : s.resources.map(render).join(','), s.actions.map((a) => a.replace('dynamodb:', '')).sort()];
        }),
    );
  /** IAM StringLike: `*` any run of characters, `?` one character, all else literal. */
  const escape = (text: string) => text.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  const like = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map((part) => part.split('?').map(escape).join('.')).join('.*')}$`).test(value);
  const steps = [...WORKFLOW_HANDLERS, SAFETY_NET_HANDLER].map((entry) => ({ id: entry.id, role: roleOfStep(template, entry.id) }));
  const stepStatements = (role: string) => statements.filter((s) => s.role === role && s.actions.some((a) => a.startsWith('dynamodb:')));

  it('gives each step exactly the table partitions and actions its run-log calls need', () => {
    const table = `\${GetAtt:${tableId}.Arn}`;
    expect(Object.fromEntries(steps.map(({ id, role }) => [id, tableGrants(role)]))).toEqual({
      Start: { REGISTRY: ['GetItem', 'Query'], 'SERVICE#*': ['DeleteItem', 'GetItem', 'PutItem'], 'RUN#*': ['PutItem', 'UpdateItem'] },
      Prepare: { 'RUN#*': ['PutItem'] },
      SetWeight: { 'RUN#*': ['PutItem', 'UpdateItem'] },
      Analyze: { 'RUN#*': ['GetItem', 'PutItem'] },
      Promote: { 'RUN#*': ['PutItem', 'UpdateItem'] },
      Rollback: { 'RUN#*': ['PutItem'] },
      Finish: { 'SERVICE#*': ['DeleteItem'], 'RUN#*': ['PutItem', 'UpdateItem'] },
      SafetyNet: { 'SERVICE#*': ['DeleteItem', 'GetItem'], 'RUN#*': ['GetItem', 'PutItem', 'Query', 'UpdateItem'] },
    });
    // No step queries an index: the table itself is the only DynamoDB resource of a step role.
    for (const { role } of steps) for (const statement of stepStatements(role)) expect(statement.resources.map(render)).toEqual([table]);
  });

  it('never lets a statement touch the table without a LeadingKeys condition, nor with a non-item action', () => {
    const dynamo = statements.filter((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThanOrEqual(WORKFLOW_HANDLERS.length);
    for (const statement of dynamo) {
      for (const action of statement.actions) expect(ITEM_ACTIONS).toContain(action);
      expect(statement.conditions).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': expect.any(Array) } });
      const keys = (statement.conditions?.['ForAllValues:StringLike'] as JsonObject)['dynamodb:LeadingKeys'] as string[];
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key).toMatch(/^(REGISTRY|SERVICE#\*|RUN#\*)$/);
    }
  });

  it('lets the step roles write runs and locks only, and lets only Start read the registry', () => {
    for (const { id, role } of steps) {
      for (const statement of stepStatements(role)) {
        const keys = (statement.conditions?.['ForAllValues:StringLike'] as JsonObject)['dynamodb:LeadingKeys'] as string[];
        const reachesRegistry = keys.some((key) => like(key, 'REGISTRY'));
        if (statement.actions.some((a) => (WRITE_ACTIONS as readonly string[]).includes(a))) {
          expect({ id, keys }).toEqual({ id, keys: keys.filter((key) => key === 'RUN#*' || key === 'SERVICE#*') });
          expect({ id, reachesRegistry }).toEqual({ id, reachesRegistry: false });
        }
        if (reachesRegistry) expect({ id, actions: statement.actions.sort() }).toEqual({ id: 'Start', actions: ['dynamodb:GetItem', 'dynamodb:Query'] });
      }
    }
    expect(like('RUN#*', 'REGISTRY')).toBe(false);
    expect(like('SERVICE#*', 'SERVICE#payments-api')).toBe(true);
  });
});

describe('addService', () => {
  const listener = (n: number) => `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/web${n}/50dc6c495c0c9188/f2f7dc8efc522ab${n}`;
  const registration = (name: string, n: number, extra: Record<string, unknown> = {}) => ({
    name,
    traffic: {
      kind: 'alb' as const,
      listenerArn: listener(n),
      stableTargetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${name}-a/73e2d6bc24d8a06${n}`,
      canaryTargetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${name}-b/73e2d6bc24d8a06${n}`,
    },
    metrics: { kind: 'prometheus' as const, url: 'http://prometheus.monitoring:9090' },
    ...extra,
  });
  const construct = () => {
    const scope = new Stack(new App(appProps()), 'Unit', { env: { account: ACCOUNT, region: REGION } });
    return { scope, orchestrator: new CanaryOrchestrator(scope, 'Orchestrator') };
  };

  it('refuses a bad registration at synth, naming the field', () => {
    const { orchestrator } = construct();
    const bad = registration('payments-api', 1, { plan: { steps: [{ weight: 150, holdSeconds: 300 }, { weight: 100 }] } });

    expect(() => orchestrator.addService(bad)).toThrow('plan.steps[0].weight: must be between 0 and 100');
    expect(() => orchestrator.addService({ ...registration('x', 2), traffic: { ...registration('x', 2).traffic, listenerArn: 'listener-1' } })).toThrow(
      /traffic\.listenerArn: must be an ARN like/,
    );
    expect(orchestrator.services).toHaveLength(0);
  });

  it('applies its props: retention of records and logs, removal policy', () => {
    const scope = new Stack(new App(appProps()), 'Props', { env: { account: ACCOUNT, region: REGION } });
    new CanaryOrchestrator(scope, 'Orchestrator', { retentionDays: 30, logRetention: RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
    const props = Template.fromStack(scope);

    props.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: { DeletionProtectionEnabled: false } });
    props.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    props.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ RETENTION_DAYS: '30' }) } });
    expect(() => new CanaryOrchestrator(new Stack(), 'Bad', { retentionDays: 0 })).toThrow('retentionDays must be a whole number of days >= 1, got 0');
  });

  it('refuses the same service twice', () => {
    const { orchestrator } = construct();
    orchestrator.addService(registration('payments-api', 1));

    expect(() => orchestrator.addService(registration('payments-api', 2))).toThrow("service 'payments-api' is registered twice");
  });

  it('names the file and the entry when a services file holds a bad registration', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-services-'));
    const file = path.join(dir, 'services.json');
    fs.writeFileSync(file, JSON.stringify({ services: [registration('good', 1), registration('bad', 2, { plan: { steps: [{ weight: 150 }] } })] }));

    expect(() => new CanaryOrchestratorStack(new App(appProps({ servicesFile: file })), 'FromFile')).toThrow(
      /services\[1\]: .*plan\.steps\[0\]\.weight: must be between 0 and 100/,
    );
    fs.writeFileSync(file, JSON.stringify([registration('good', 1)]));
    expect(() => readServicesFile(file)).toThrow('expected { "services": [ ...registrations ] }');
  });

  it('grows one statement per permission as services register, and renders an unchanged config unchanged', () => {
    const { scope, orchestrator } = construct();
    orchestrator.addService(registration('one', 1));
    orchestrator.addService(registration('two', 2, { metrics: { kind: 'prometheus', url: 'http://p:9090', bearerTokenSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prom-token` } }));
    const unit = Template.fromStack(scope);
    const modify = statementsOf(unit).filter((s) => s.actions.includes('elasticloadbalancing:ModifyListener'));

    expect(modify).toHaveLength(5);
    for (const statement of modify) expect(statement.resources.sort()).toEqual([listener(1), listener(2)].sort());
    // A secret named without Secrets Manager's random suffix still matches the real ARN.
    expect(statementsOf(unit).filter((s) => s.actions.includes('secretsmanager:GetSecretValue')).flatMap((s) => s.resources)).toEqual([
      `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prom-token-??????`,
    ]);
    expect(secretResourceArn(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prom-token-Xk3pQ9`)).toBe(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prom-token-Xk3pQ9`);

    const again = construct();
    again.orchestrator.addService(registration('one', 1));
    const first = Object.values(unit.findResources('Custom::CanaryServiceRegistration')).map((r) => JSON.stringify(r))[0];
    const second = Object.values(Template.fromStack(again.scope).findResources('Custom::CanaryServiceRegistration')).map((r) => JSON.stringify(r))[0];
    expect(second).toBe(first);
  });
});

describe('the safety net', () => {
  type Resource = { Properties: JsonObject };
  const only = (type: string, props?: JsonObject): [string, Resource] => {
    const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined) as Record<string, Resource>);
    expect(found).toHaveLength(1);
    return found[0];
  };
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const queueId = logicalId(stack.orchestrator.safetyNetQueue);
  const deadLettersId = logicalId(stack.orchestrator.safetyNetDeadLetters);
  const [ruleId, rule] = only('AWS::Events::Rule');
  const safetyNetFunctionId = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: SAFETY_NET_HANDLER.description } }))[0];

  it("hears this state machine's ABORTED, TIMED_OUT and FAILED status changes and queues them, with EventBridge's longest delivery retries", () => {
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [{ Ref: expect.stringMatching(/Workflow/) }] },
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLettersId, 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
      }),
    ]);
    // The function is no target of EventBridge: Lambda's two asynchronous retries would give up within minutes.
    expect(Object.values(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'events.amazonaws.com' } })).map((p) => (p as Resource).Properties.FunctionName)).not.toContainEqual(
      { 'Fn::GetAtt': [safetyNetFunctionId, 'Arn'] },
    );
  });

  it('feeds the safety net one event at a time and retries a failed one for at least a day before the dead-letter queue', () => {
    const queue = template.toJSON().Resources[queueId] as Resource;
    const visibility = queue.Properties.VisibilityTimeout as number;
    const redrive = queue.Properties.RedrivePolicy as { deadLetterTargetArn: Json; maxReceiveCount: number };
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(visibility).toBe(SAFETY_NET_VISIBILITY_TIMEOUT.toSeconds());
    expect(visibility).toBeGreaterThanOrEqual(6 * SAFETY_NET_HANDLER.timeoutSeconds);
    expect(redrive).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [deadLettersId, 'Arn'] }, maxReceiveCount: SAFETY_NET_MAX_RECEIVES });
    // The last receive comes (maxReceiveCount - 1) visibility timeouts after the first; the queue keeps the message longer.
    expect((redrive.maxReceiveCount - 1) * visibility).toBeGreaterThanOrEqual(86_400);
    expect(queue.Properties.MessageRetentionPeriod as number).toBeGreaterThan(redrive.maxReceiveCount * visibility);
    const deadLetters = template.toJSON().Resources[deadLettersId] as Resource;
    expect(deadLetters.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });

    const [, mapping] = only('AWS::Lambda::EventSourceMapping');
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: safetyNetFunctionId },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets only the safety-net rule send to its queues, over TLS only', () => {
    for (const id of [queueId, deadLettersId]) {
      const [, policy] = only('AWS::SQS::QueuePolicy', { Queues: [{ Ref: id }] });
      const document = (policy.Properties.PolicyDocument as { Statement: JsonObject[] }).Statement;
      const allows = document.filter((s) => s.Effect === 'Allow');
      expect(allows).toEqual([
        expect.objectContaining({
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          Resource: { 'Fn::GetAtt': [id, 'Arn'] },
        }),
      ]);
      expect(asList(allows[0].Action as string | string[])).toContain('sqs:SendMessage');
      expect(document).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    }
  });

  it("may read this state machine's executions, and no other role may", () => {
    const safetyNet = roleOfStep(template, SAFETY_NET_HANDLER.id);
    const machineId = logicalId(stack.orchestrator.stateMachine);
    const reads = statements.filter((s) => s.actions.some((a) => (EXECUTION_READ_ACTIONS as readonly string[]).includes(a)));
    expect(reads.map((s) => ({ role: s.role, actions: s.actions, resources: s.resources.map(render) }))).toEqual([
      { role: safetyNet, actions: [...EXECUTION_READ_ACTIONS], resources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:\${GetAtt:${machineId}.Name}:*`] },
    ]);
  });
});
