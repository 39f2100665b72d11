import { z } from 'zod';
import { parseOrThrow, refuseReservedKeys } from './validation';
import { InputValidationError } from './errors';
import { DEFAULT_CONVENTIONS, LABEL_VALUE, LABEL_VALUE_RULE } from './query-template';
import { enabledChecks, resolveFullPlan } from './plan';
import { policyIssues, policySchema } from './policy';
import { historyBudgetIssues } from './history-budget';

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
// Pasted raw into PromQL as {{ service }}, {{ canary }}, {{ stable }} (query-template.ts): only characters that cannot end a string.
const labelValue = z.string().regex(LABEL_VALUE, { message: LABEL_VALUE_RULE });

export const albTrafficSchema = z.strictObject({
  kind: z.literal('alb'),
  listenerArn,
  /** A listener rule to shift instead of the listener's default action. */
  ruleArn: ruleArn.optional(),
  stableTargetGroupArn: targetGroupArn,
  canaryTargetGroupArn: targetGroupArn,
});

// Kubernetes object names (RFC 1123 subdomain / label) and EKS cluster names.
const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, { message: 'must be a Kubernetes object name (lowercase letters, digits, - and .)' });
const namespace = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, { message: 'must be a Kubernetes namespace name' });
const eksCluster = z.string().regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, { message: 'must be an EKS cluster name' });
const istioDestination = z.strictObject({ host: z.string().min(1, { message: 'must not be empty' }), subset: z.string().min(1).optional() });

/** Mesh routers on EKS: the orchestrator patches one route object in the cluster. */
const meshCommon = {
  /** EKS cluster name (same account and region as the orchestrator). */
  cluster: eksCluster,
  namespace,
};

export const trafficSchema = z.discriminatedUnion('kind', [
  albTrafficSchema,
  /** Gateway API HTTPRoute: backendRefs[].weight of the stable and canary Services. */
  z.strictObject({ kind: z.literal('gateway-api'), ...meshCommon, httpRoute: k8sName, stableService: k8sName, canaryService: k8sName }),
  /** Istio VirtualService: http[].route[].weight of the stable and canary destinations. */
  z.strictObject({ kind: z.literal('istio'), ...meshCommon, virtualService: k8sName, stable: istioDestination, canary: istioDestination }),
  /** SMI TrafficSplit: backends[].weight (the served API version is discovered). */
  z.strictObject({ kind: z.literal('smi'), ...meshCommon, trafficSplit: k8sName, stableService: k8sName, canaryService: k8sName }),
  /** NGINX Ingress canary: the canary Ingress' canary-weight annotation. */
  z.strictObject({ kind: z.literal('nginx'), ...meshCommon, canaryIngress: k8sName, canaryService: k8sName }),
]);

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
  /** Value of the service label; defaults to the service name. Letters, digits and . _ : @ / + - only. */
  serviceLabelValue: labelValue.optional(),
  /** Version label values of the pods behind each registered target (stable, canary); the same characters. */
  versions: z.strictObject({ stable: labelValue, canary: labelValue }).optional(),
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

const rollout = {
  /** How long the canary (and at promotion, stable) may take to run the new image before the run rolls back. */
  readyTimeoutSeconds: z.number().int().min(30, { message: 'must be at least 30 seconds' }).max(7200, { message: 'must be at most 7200 seconds' }).default(900),
  /** Seconds between two readiness checks. */
  pollSeconds: z.number().int().min(1, { message: 'must be at least 1' }).max(300, { message: 'must be at most 300' }).default(15),
};

export const workloadSchema = z.discriminatedUnion('kind', [
  /** An outside system deploys; the engine only shifts traffic. */
  z.strictObject({ kind: z.literal('none') }),
  /** Two ECS services: the canary gets the new image, then at promotion the stable does, and the canary scales to zero. */
  z.strictObject({
    kind: z.literal('ecs'),
    cluster: z.string().min(1, { message: 'must name the ECS cluster' }),
    stableService: z.string().min(1, { message: 'must name the stable ECS service' }),
    canaryService: z.string().min(1, { message: 'must name the canary ECS service' }),
    containerName: z.string().min(1).optional(),
    canaryDesiredCount: z.number().int().min(1, { message: 'must be at least 1' }).optional(),
    ...rollout,
  }),
  /** Two Kubernetes Deployments on EKS, selected by the stable and canary Services. */
  z.strictObject({
    kind: z.literal('eks-deployment'),
    cluster: eksCluster,
    namespace,
    stableDeployment: k8sName,
    canaryDeployment: k8sName,
    containerName: z.string().min(1).optional(),
    canaryReplicas: z.number().int().min(1, { message: 'must be at least 1' }).optional(),
    ...rollout,
  }),
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
  /** What an execution input may not loosen (policy.ts); unset: the registered plan is the floor. */
  policy: policySchema.optional(),
});

export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type TrafficConfig = z.output<typeof trafficSchema>;
export type MetricsConfig = z.output<typeof metricsSchema>;
export type WorkloadConfig = z.output<typeof workloadSchema>;
export type NotificationsConfig = z.output<typeof notificationsSchema>;

/** Validates a registration (plan included) so that a bad one fails `cdk synth`, not a release. */
export function parseServiceConfig(value: unknown, root = 'service'): ServiceConfig {
  refuseReservedKeys(value, root, 'service registration');
  const config = parseOrThrow(serviceConfigSchema, value, root, 'service registration');
  // The registered plan keeps its own policy and fits the history budget, so that a run of it as registered can start.
  const plan = resolveFullPlan(config.plan, undefined, `${root}.plan`);
  const planIssues = [
    ...policyIssues(config.policy, plan, plan, { plan: `${root}.plan`, policy: `${root}.policy` }),
    ...historyBudgetIssues(enabledChecks(plan), config.workload, `${root}.plan`),
  ];
  if (planIssues.length > 0) throw new InputValidationError(planIssues, 'service registration');
  const t = config.traffic;
  const same =
    (t.kind === 'alb' && t.stableTargetGroupArn === t.canaryTargetGroupArn && 'canaryTargetGroupArn') ||
    ((t.kind === 'gateway-api' || t.kind === 'smi') && t.stableService === t.canaryService && 'canaryService') ||
    (t.kind === 'istio' && t.stable.host === t.canary.host && t.stable.subset === t.canary.subset && 'canary');
  if (same) {
    throw new InputValidationError([{ field: `${root}.traffic.${same}`, message: 'must differ from the stable one' }], 'service registration');
  }
  const w = config.workload;
  if (w.kind !== 'none' && (w.kind === 'ecs' ? w.stableService === w.canaryService : w.stableDeployment === w.canaryDeployment)) {
    throw new InputValidationError([{ field: `${root}.workload.${w.kind === 'ecs' ? 'canaryService' : 'canaryDeployment'}`, message: 'must differ from the stable one' }], 'service registration');
  }
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
