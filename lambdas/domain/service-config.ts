import { z } from 'zod';
import { parseOrThrow } from './validation';
import { InputValidationError } from './errors';
import { DEFAULT_CONVENTIONS } from './query-template';
import { resolvePlan } from './plan';

/**
 * What a service registers at deploy time (CanaryOrchestrator.addService): how its traffic is routed,
 * where its metrics are, what deploys it, who hears about it, and its plan.
 */

const arn = (service: string, resource: string, example: string) =>
  z
    .string()
    .regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:[0-9]{12}:${resource}`), {
      message: `must be an ARN like ${example}`,
    });

export const listenerArn = arn('elasticloadbalancing', 'listener/', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2');
export const ruleArn = arn('elasticloadbalancing', 'listener-rule/', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee');
export const targetGroupArn = arn('elasticloadbalancing', 'targetgroup/', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/payments-stable/73e2d6bc24d8a067');
export const secretArn = arn('secretsmanager', 'secret:', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:canary/prometheus-token-AbCdEf');
export const topicArn = arn('sns', '', 'arn:aws:sns:eu-west-1:123456789012:canary-notifications');

const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, { message: 'must be an http(s) URL' });
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { message: 'must be a Prometheus label name' });
const metricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { message: 'must be a Prometheus metric name' });
const nonEmpty = z.string().min(1, { message: 'must not be empty' });

export const albTrafficSchema = z.strictObject({
  kind: z.literal('alb'),
  listenerArn,
  /** A listener rule to shift instead of the listener's default action. */
  ruleArn: ruleArn.optional(),
  stableTargetGroupArn: targetGroupArn,
  canaryTargetGroupArn: targetGroupArn,
});

export const trafficSchema = z.discriminatedUnion('kind', [albTrafficSchema]);

const metricsCommon = {
  /** Label and metric names the service's metrics use; each defaults to the conventions. */
  conventions: z
    .strictObject({
      serviceLabel: labelName.optional(),
      versionLabel: labelName.optional(),
      statusLabel: labelName.optional(),
      requestsMetric: metricName.optional(),
      durationMetric: metricName.optional(),
    })
    .optional(),
  /** Value of the service label; defaults to the service name. */
  serviceLabelValue: nonEmpty.optional(),
  /** Version label values of the pods behind each registered target (stable, canary). */
  versions: z.strictObject({ stable: nonEmpty, canary: nonEmpty }).optional(),
};

export const metricsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('prometheus'),
    /** Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090 */
    url: httpUrl,
    /** Secrets Manager secret holding a bearer token for the Prometheus API. */
    bearerTokenSecretArn: secretArn.optional(),
    ...metricsCommon,
  }),
  z.strictObject({
    kind: z.literal('amp'),
    /** Amazon Managed Prometheus workspace id, e.g. ws-1234abcd-.... */
    workspaceId: z.string().regex(/^ws-[0-9a-zA-Z-]+$/, { message: 'must be a workspace id like ws-12345678-abcd-1234-abcd-123456789012' }),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]$/, { message: 'must be an AWS region like eu-west-1' }),
    ...metricsCommon,
  }),
]);

export const workloadSchema = z.discriminatedUnion('kind', [
  /** An outside system deploys; the engine only shifts traffic. */
  z.strictObject({ kind: z.literal('none') }),
]);

export const notificationsSchema = z.strictObject({
  /** Secrets Manager secret whose value is a Slack incoming-webhook URL. */
  slackWebhookSecretArn: secretArn.optional(),
  snsTopicArn: topicArn.optional(),
  /** A dashboard link; `{from}` and `{to}` become the run's time range in epoch milliseconds. */
  dashboardUrl: httpUrl.optional(),
});

export const triggersSchema = z.strictObject({
  /** Start a rollout when an image is pushed to this ECR repository (of the stack's account and region). */
  ecr: z
    .strictObject({
      repository: z.string().regex(/^(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, { message: 'must be an ECR repository name like team/payments-api' }),
      /** Only tags matching one of these EventBridge wildcard patterns (`v*`, `release-*`); all tags when unset. */
      tags: z.array(z.string().min(1, { message: 'must not be empty' }).max(128)).min(1, { message: 'must list at least one pattern, or leave tags out' }).optional(),
    })
    .optional(),
});

export const serviceConfigSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be 1-63 characters: lowercase letters, digits, -' }),
  traffic: trafficSchema,
  metrics: metricsSchema,
  workload: workloadSchema.default({ kind: 'none' }),
  notifications: notificationsSchema.default({}),
  /** What starts a rollout by itself (ECR pushes); the console, the CLI and CodePipeline always can. */
  triggers: triggersSchema.default({}),
  /** The service's plan; the defaults fill whatever it leaves out. */
  plan: z.record(z.string(), z.unknown()).optional(),
});

export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type TrafficConfig = z.output<typeof trafficSchema>;
export type MetricsConfig = z.output<typeof metricsSchema>;
export type WorkloadConfig = z.output<typeof workloadSchema>;
export type NotificationsConfig = z.output<typeof notificationsSchema>;

/** Validates a registration (plan included) so that a bad one fails `cdk synth`, not a release. */
export function parseServiceConfig(value: unknown, root = 'service'): ServiceConfig {
  const config = parseOrThrow(serviceConfigSchema, value, root, 'service registration');
  resolvePlan(config.plan, undefined, `${root}.plan`);
  if (config.traffic.kind === 'alb' && config.traffic.stableTargetGroupArn === config.traffic.canaryTargetGroupArn) {
    throw new InputValidationError(
      [{ field: `${root}.traffic.canaryTargetGroupArn`, message: 'must differ from traffic.stableTargetGroupArn' }],
      'service registration',
    );
  }
  return config;
}

/** The label conventions with every default filled. */
export function conventionsOf(metrics: MetricsConfig) {
  return { ...DEFAULT_CONVENTIONS, ...stripUndefined(metrics.conventions ?? {}) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
