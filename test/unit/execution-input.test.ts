import { parseExecutionInput } from '../../lambdas/domain/execution-input';
import { InputValidationError } from '../../lambdas/domain/errors';
import { parseServiceConfig } from '../../lambdas/domain/service-config';

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
  ])('%s', (_name, input, expected) => {
    expect(messageOf(() => parseExecutionInput(input))).toContain(expected);
  });
});

describe('service registration', () => {
  const good = {
    name: 'payments-api',
    traffic: {
      kind: 'alb',
      listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
      stableTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/payments-stable/73e2d6bc24d8a067',
      canaryTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/payments-canary/83e2d6bc24d8a067',
    },
    metrics: { kind: 'prometheus', url: 'http://prometheus.monitoring:9090' },
  };

  it('accepts a minimal ALB + Prometheus registration with defaults', () => {
    expect(parseServiceConfig(good)).toMatchObject({ workload: { kind: 'none' }, notifications: {} });
  });

  it.each<[string, unknown, string]>([
    ['same target group twice', { ...good, traffic: { ...good.traffic, canaryTargetGroupArn: good.traffic.stableTargetGroupArn } }, 'service.traffic.canaryTargetGroupArn: must differ'],
    ['listener ARN of the wrong kind', { ...good, traffic: { ...good.traffic, listenerArn: good.traffic.stableTargetGroupArn } }, 'service.traffic.listenerArn: must be an ARN like'],
    ['unknown traffic kind', { ...good, traffic: { kind: 'f5' } }, 'service.traffic'],
    ['AMP without region', { ...good, metrics: { kind: 'amp', workspaceId: 'ws-1234' } }, 'service.metrics.region: required'],
    ['bad plan in the registration', { ...good, plan: { steps: [{ weight: 5, holdSeconds: 300 }, { weight: 50 }] } }, 'service.plan.steps[1].weight: must be 100'],
    ['bad label name', { ...good, metrics: { ...good.metrics, conventions: { versionLabel: 'track-name' } } }, 'service.metrics.conventions.versionLabel: must be a Prometheus label name'],
  ])('refuses %s', (_name, config, expected) => {
    expect(messageOf(() => parseServiceConfig(config))).toContain(expected);
  });
});
