import { parseExecutionInput } from '../../lambdas/domain/execution-input';
import { InputValidationError } from '../../lambdas/domain/errors';
import { parseServiceConfig } from '../../lambdas/domain/service-config';
import { PAYMENTS_REGISTRATION } from '../support/registrations';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputValidationError) return error.message;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('execution input', () => {
  it('needs only service and image, and fills the rest', () => {
    expect(parseExecutionInput({ service: 'payments-api', image: IMAGE })).toEqual({ service: 'payments-api', image: IMAGE, dryRun: false, trigger: { source: 'console' } });
  });

  it.each([
    IMAGE,
    'payments-api:v1',
    'localhost:5000/team/app:latest',
    `${'123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api'}@sha256:${'a'.repeat(64)}`,
    `ghcr.io/org/app:v1@sha256:${'b'.repeat(64)}`,
  ])('accepts image %s', (image) => {
    expect(parseExecutionInput({ service: 's', image }).image).toBe(image);
  });

  it.each<[string, unknown, string]>([
    ['missing service', { image: IMAGE }, 'service: required (string)'],
    ['missing image', { service: 'payments-api' }, 'image: required (string)'],
    ['untagged image', { service: 'payments-api', image: 'payments-api' }, 'image: must name a tag'],
    ['image with spaces', { service: 'payments-api', image: 'payments api:v1' }, 'image: must be an image reference like'],
    ['uppercase service', { service: 'Payments', image: IMAGE }, 'service: must be a registered service name'],
    ['dryRun as string', { service: 'payments-api', image: IMAGE, dryRun: 'yes' }, "dryRun: expected boolean, got 'yes'"],
    ['unknown field', { service: 'payments-api', image: IMAGE, imgae: IMAGE }, 'imgae: unknown field'],
    ['plan as a list', { service: 'payments-api', image: IMAGE, plan: [] }, 'plan: expected record, got an array'],
    ['bad trigger source', { service: 'payments-api', image: IMAGE, trigger: { source: 'cron' } }, 'trigger.source: must be one of'],
    ['not an object', 'payments-api', 'input: expected object'],
    ['a __proto__ key at the top', JSON.parse(`{"service":"payments-api","image":"${IMAGE}","__proto__":{"dryRun":true}}`), "__proto__: '__proto__' is not allowed as a field name"],
    ['a __proto__ key in the plan, which the plan record would drop', JSON.parse(`{"service":"payments-api","image":"${IMAGE}","plan":{"__proto__":{"checks":[]}}}`), "plan.__proto__: '__proto__' is not allowed"],
    ['a prototype key deep in a check', { service: 'payments-api', image: IMAGE, plan: { checks: [{ name: 'error-rate', x: { prototype: 1 } }] } }, "plan.checks[0].x.prototype: 'prototype' is not allowed"],
    ['a constructor key in the trigger', { service: 'payments-api', image: IMAGE, trigger: { source: 'cli', constructor: 'x' } }, "trigger.constructor: 'constructor' is not allowed"],
  ])('%s', (_name, input, expected) => {
    expect(messageOf(() => parseExecutionInput(input))).toContain(expected);
  });
});

describe('service registration', () => {
  const good = PAYMENTS_REGISTRATION;

  it('accepts a minimal ALB + Prometheus registration with defaults', () => {
    expect(parseServiceConfig(good)).toMatchObject({ workload: { kind: 'none' }, notifications: {} });
  });

  it('accepts a policy the registered plan keeps, and keeps it for Start', () => {
    const policy = { requiredChecks: ['error-rate'], maxFirstWeight: 5, maxStepIncrease: 75, minSteps: 3, minHoldSeconds: 300, maxHoldSeconds: 600, limits: { errorLimit: 4 } };
    expect(parseServiceConfig({ ...good, policy }).policy).toEqual(policy);
  });

  it('names the first breach of the budget with its numbers, at synth', () => {
    const message = messageOf(() => parseServiceConfig({ ...good, plan: { analysis: { intervalSeconds: 10 }, steps: [{ weight: 5, holdSeconds: 86_400 }, { weight: 100 }] } }));
    expect(message).toMatch(/above the 25,000 Step Functions allows \(start 7, steps \(8,\d{3} intervals over 1 step\) [\d,]+, .*retries [\d,]+\); shorten holds/);
  });

  it.each<[string, unknown, string]>([
    ['same target group twice', { ...good, traffic: { ...good.traffic, canaryTargetGroupArn: good.traffic.stableTargetGroupArn } }, 'service.traffic.canaryTargetGroupArn: must differ'],
    ['listener ARN of the wrong kind', { ...good, traffic: { ...good.traffic, listenerArn: good.traffic.stableTargetGroupArn } }, 'service.traffic.listenerArn: must be an ARN like'],
    ['unknown traffic kind', { ...good, traffic: { kind: 'f5' } }, 'service.traffic'],
    ['AMP without region', { ...good, metrics: { kind: 'amp', workspaceId: 'ws-1234' } }, 'service.metrics.region: required'],
    ['bad plan in the registration', { ...good, plan: { steps: [{ weight: 5, holdSeconds: 300 }, { weight: 50 }] } }, 'service.plan.steps[1].weight: must be 100'],
    ['bad label name', { ...good, metrics: { ...good.metrics, conventions: { versionLabel: 'track-name' } } }, 'service.metrics.conventions.versionLabel: must be a Prometheus label name'],
    ['a service label value with a quote', { ...good, metrics: { ...good.metrics, serviceLabelValue: 'pay"} or vector(1) or {x="' } }, 'service.metrics.serviceLabelValue: must be 1-128 characters: letters, digits'],
    ['a version with a backslash', { ...good, metrics: { ...good.metrics, versions: { stable: 'blue\\', canary: 'green' } } }, 'service.metrics.versions.stable: must be 1-128 characters'],
    ['a version with a brace', { ...good, metrics: { ...good.metrics, versions: { stable: 'blue', canary: 'green}' } } }, 'service.metrics.versions.canary: must be 1-128 characters'],
    ['a __proto__ key in the registration', JSON.parse(`{"name":"payments-api","__proto__":{"plan":{}}}`), "service.__proto__: '__proto__' is not allowed"],
    ['a plan of every check disabled', { ...good, plan: { checks: ['error-rate', 'latency-p99', 'stable-error-rate', 'stable-latency-p99'].map((name) => ({ name, enabled: false })) } }, 'service.plan.checks: must have at least one enabled check'],
    ['a policy cap above 25%', { ...good, policy: { maxFirstWeight: 30 } }, 'service.policy.maxFirstWeight: must be greater than 0 and at most 25'],
    ['a policy whose minimum hold is above its maximum', { ...good, policy: { minHoldSeconds: 600, maxHoldSeconds: 300 } }, 'service.policy.minHoldSeconds: must not be greater than maxHoldSeconds (300)'],
    ['an unknown policy field', { ...good, policy: { maxWeight: 5 } }, 'service.policy.maxWeight: unknown field'],
    ['a plan that breaks its own policy', { ...good, policy: { maxFirstWeight: 2, minSteps: 4 } }, 'service.plan.steps[0].weight: must be at most 2 (policy: maxFirstWeight 2)'],
    ['a required check the plan does not have', { ...good, policy: { requiredChecks: ['error-rate', 'memory-bytes'] } }, "service.policy.requiredChecks[1]: 'memory-bytes' is not an enabled check of the registered plan"],
    ['a failure-limit bound on a plan without one', { ...good, policy: { limits: { failureLimit: 5 } } }, 'service.plan.analysis.failureLimit: required, at most 5 (policy: limits.failureLimit 5)'],
    [
      'a plan over the history budget',
      { ...good, plan: { analysis: { intervalSeconds: 10 }, steps: [{ weight: 5, holdSeconds: 86_400 }, { weight: 100 }] } },
      'service.plan: the worst case of this plan is 84,658 history events, above the 25,000 Step Functions allows',
    ],
  ])('refuses %s', (_name, config, expected) => {
    expect(messageOf(() => parseServiceConfig(config))).toContain(expected);
  });
});
