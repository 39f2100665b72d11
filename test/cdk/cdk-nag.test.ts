import * as fs from 'node:fs';
import * as path from 'node:path';
import { Validations, type PolicyViolation } from 'aws-cdk-lib';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { createCanaryApp } from '../../infra/canary-app';

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

  it('fails synth of the app when a finding is not acknowledged', () => {
    const { app: broken, stack } = createCanaryApp(appProps());
    new iam.Role(stack, 'TooBroad', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new iam.PolicyStatement({ actions: ['elasticloadbalancing:*'], resources: ['*'] }),
    );

    expect(() => broken.synth()).toThrow(/AwsSolutions-IAM5/);
  });
});
