import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations, type PolicyViolation } from 'aws-cdk-lib';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { createCanaryApp } from '../../infra/canary-app';
import { CanaryOrchestrator } from '../../infra/canary-orchestrator';

const ROOT = path.resolve(__dirname, '..', '..');

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

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every Validations.of(...).acknowledge(...) in the tree, with the construct it sits on. */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  const visit = (node: IConstruct) => {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
    node.node.children.forEach(visit);
  };
  visit(root);
  return found;
}

const describeViolations = (violations: readonly PolicyViolation[]) =>
  violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId ?? '?'}`));

/** Findings before acknowledgements: the pack with its acknowledgement lookup turned off. */
function unacknowledgedFindings(root: IConstruct): Set<string> {
  const pack = new AwsSolutionsChecks();
  // cdk-nag consults this private method per finding; if it is ever renamed, every acknowledgement looks unused and the test fails loudly.
  Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  return new Set(pack.validateScope(root).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath ?? ''}`)));
}

const WILDCARD_ACK = 'AwsSolutions-IAM5[Resource::*]';

interface UnscopedPolicy {
  readonly path: string;
  /** Actions the policy allows on Resource *. */
  readonly actions: string[];
  /** The reason of the nearest IAM5[Resource::*] acknowledgement on the policy or an ancestor (the last one there, as CDK records it). */
  readonly reason?: string;
}

/** Every IAM policy in the tree that allows something on Resource *, with the acknowledgement cdk-nag applies to it. */
function unscopedPolicies(root: IConstruct): UnscopedPolicy[] {
  const policies = root.node.findAll().filter((node): node is iam.CfnPolicy => node instanceof iam.CfnPolicy);
  return policies.flatMap((policy) => {
    const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement: { Effect: string; Action: string | string[]; Resource: unknown }[] };
    const actions = document.Statement.filter((s) => s.Effect === 'Allow' && [s.Resource].flat().includes('*')).flatMap((s) => [s.Action].flat());
    if (actions.length === 0) return [];
    let reason: string | undefined;
    for (let node: IConstruct | undefined = policy; node && reason === undefined; node = node.node.scope) {
      const entries = node.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
      const reasons = entries.flatMap((entry) => Object.entries(entry.data as Record<string, string>).filter(([id]) => id.replace(/^annotation::/i, '') === WILDCARD_ACK).map(([, text]) => text));
      reason = reasons.at(-1);
    }
    return [{ path: policy.node.path, actions, ...(reason !== undefined && { reason }) }];
  });
}

/** The app's stack plus one with ECS and EKS services, whose image changes need the task-definition grants. */
function workloadsApp(): App {
  const workloads = new App(appProps());
  const stack = new Stack(workloads, 'Workloads', { env: { account: '123456789012', region: 'eu-west-1' } });
  const orchestrator = new CanaryOrchestrator(stack, 'Orchestrator');
  const tg = (name: string) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${name}/73e2d6bc24d8a067`;
  orchestrator.addService({
    name: 'orders-api',
    traffic: { kind: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2', stableTargetGroupArn: tg('orders-stable'), canaryTargetGroupArn: tg('orders-canary') },
    metrics: { kind: 'prometheus', url: 'http://prometheus:9090' },
    workload: { kind: 'ecs', cluster: 'shop', stableService: 'orders-stable', canaryService: 'orders-canary' },
  });
  return workloads;
}

// Jest never fires the process `exit` event that deletes synthesized temp assemblies.
afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

// Prepare (once for the file): the app exactly as infra/app.ts builds it, cdk-nag plugin included.
const { app } = createCanaryApp(appProps());
// Act: synth runs the registered AwsSolutions plugin, which throws on any unacknowledged error.
const synthError = ((): unknown => {
  try {
    app.synth();
    return undefined;
  } catch (error) {
    return error;
  }
})();

describe('cdk-nag AwsSolutions', () => {
  it('lets the app synthesize with the AwsSolutions plugin registered', () => {
    expect(synthError).toBeUndefined();
  });

  it('finds no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(app);

    expect(describeViolations(report.violations)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives every acknowledgement a reason of substance, and each one silences a real finding', () => {
    const acks = acknowledgements(app);
    const findings = unacknowledgedFindings(app);
    const covered = (ack: Acknowledgement) => [...findings].some((f) => f.startsWith(`${ack.id} ${ack.path}/`) || f === `${ack.id} ${ack.path}`);

    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      // A reason names what is allowed and why: long enough to say it, not a placeholder.
      expect(ack.reason.length).toBeGreaterThanOrEqual(80);
      expect(ack.reason).not.toMatch(/\b(todo|tbd|fixme|n\/a|ignore|suppress(ed)?)\b/i);
      expect({ ack: `${ack.id} on ${ack.path}`, silencesAFinding: covered(ack) }).toEqual({ ack: `${ack.id} on ${ack.path}`, silencesAFinding: true });
    }
    // Wildcard acknowledgements are per finding (IAM5[Resource::*]), never the whole rule.
    expect(acks.filter((a) => a.id === 'AwsSolutions-IAM5')).toEqual([]);
  });

  it('names, in each Resource * acknowledgement, exactly the actions its policy allows on Resource *', () => {
    const policies = [...unscopedPolicies(app), ...unscopedPolicies(workloadsApp())];
    // The eight step roles, the state machine's role, and the three task-definition policies of an ECS service.
    expect(policies.length).toBeGreaterThanOrEqual(9 + 3);
    expect(policies.some((p) => p.actions.includes('elasticloadbalancing:DescribeTargetHealth'))).toBe(true);
    expect(policies.some((p) => p.actions.includes('iam:PassRole'))).toBe(true);
    for (const policy of policies) {
      const named = [...new Set((policy.reason ?? '').match(/\b[a-z0-9-]+:[A-Z][A-Za-z]+\b/g) ?? [])].sort();
      expect({ policy: policy.path, named }).toEqual({ policy: policy.path, named: [...new Set(policy.actions)].sort() });
    }
  });

  it('fails synth of the app when a finding is not acknowledged', () => {
    const { app: broken, stack } = createCanaryApp(appProps());
    new iam.Role(stack, 'TooBroad', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new iam.PolicyStatement({ actions: ['elasticloadbalancing:*'], resources: ['*'] }),
    );

    expect(() => broken.synth()).toThrow(/AwsSolutions-IAM5/);
  });
});
