import type { Action, RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2';
import { startControlPlane, type ApiCallRecord } from './control-plane';
import { DataPlane } from './data-plane';
import { FaultInjector } from './faults';
import { HealthChecker } from './health';
import { AlbModel, type ForwardView, type TargetGroupSpec, type TargetHealthState, type WeightsChangedListener } from './model';

export { ElbApiError } from './api-error';
export type { ApiCallRecord } from './control-plane';
export type { FailOptions, FaultInjector, FaultScope } from './faults';
export type { ForwardTarget, ForwardView, TargetGroupSpec, TargetHealthState, WeightsChangedEvent, WeightsChangedListener } from './model';

/**
 * The local ALB stand-in: the ELBv2 Query API calls the engine uses (DescribeListeners, DescribeRules,
 * ModifyListener, ModifyRule, DescribeTargetGroups, DescribeTargetHealth) and, per listener, an HTTP
 * server that routes real requests by the current weights with target-group stickiness.
 * Everything listens on 127.0.0.1 only.
 */

export interface AlbStandInOptions {
  /** Region in the ARNs; default eu-west-1. */
  readonly region?: string;
  /** Account in the ARNs; default 123456789012. */
  readonly accountId?: string;
  /** Port of the API; default 0 (a free port). */
  readonly apiPort?: number;
  /** Default health-check interval of new target groups; default 1000 ms. */
  readonly healthCheckIntervalMs?: number;
  /** Uniform [0, 1) source for the weighted choice of target groups; default Math.random. */
  readonly random?: () => number;
  /** Subscribed before any call: sees every weight change. */
  readonly onWeightsChanged?: WeightsChangedListener;
}

export interface CreateListenerOptions {
  /** Default: a load balancer named `standin`, created on first use. */
  readonly loadBalancerArn?: string;
  readonly defaultActions: readonly Action[];
  /** Port of the listener's HTTP server on 127.0.0.1; default 0 (a free port). */
  readonly port?: number;
}

export interface CreateRuleOptions {
  readonly listenerArn: string;
  readonly priority: number;
  readonly conditions: readonly RuleCondition[];
  readonly actions: readonly Action[];
}

export interface TargetHealthView {
  readonly host: string;
  readonly port: number;
  /** `unused` when no listener or rule forwards to the group. */
  readonly state: TargetHealthState | 'unused';
}

export interface AlbStandIn {
  /** Base URL of the ELBv2 API, for the SDK's `endpoint` or `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`. */
  readonly apiEndpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** Environment that points the SDK (and so the unchanged handlers) at this stand-in. */
  readonly env: Readonly<Record<string, string>>;
  /** Throttle or fail the next N API calls. */
  readonly faults: FaultInjector;
  /** Creates an application load balancer; returns its ARN. */
  createLoadBalancer(name: string): string;
  /** Creates a target group of IP targets and starts its health checks; returns its ARN. */
  createTargetGroup(spec: TargetGroupSpec): string;
  /** Creates a listener and starts its HTTP server on 127.0.0.1; returns its ARN and base URL. */
  createListener(options: CreateListenerOptions): Promise<{ arn: string; url: string }>;
  /** Adds a rule to a listener; returns its ARN. */
  createRule(options: CreateRuleOptions): string;
  /** The forward action of a listener's default actions or of a rule: target groups, weights, stickiness. */
  currentForward(listenerOrRuleArn: string): ForwardView | undefined;
  /** The forward weights of a listener or rule by target group name, e.g. { 'web-stable': 950, 'web-canary': 50 }. */
  weights(listenerOrRuleArn: string): Record<string, number>;
  /** The health of each target of a group, as DescribeTargetHealth reports it. */
  targetHealth(targetGroupArn: string): TargetHealthView[];
  /** Resolves once every target of the group is healthy; rejects after `timeoutMs` (default 10 s). */
  waitForHealthy(targetGroupArn: string, timeoutMs?: number): Promise<void>;
  /** Calls `listener` on every weight change made through ModifyListener / ModifyRule; returns the unsubscribe. */
  onWeightsChanged(listener: WeightsChangedListener): () => void;
  /** Requests the data plane forwarded, by target group name, since start or the last reset. */
  routedCounts(): Record<string, number>;
  /** Sets every routed count back to zero. */
  resetRoutedCounts(): void;
  /** Every API call answered so far, oldest first. */
  apiCalls(): readonly ApiCallRecord[];
  /** Stops the API, every listener and health check; resolves when all sockets are closed. */
  stop(): Promise<void>;
}

/** Starts the ALB stand-in: its API server now, a data-plane server per listener created later. */
export async function startAlbStandIn(options: AlbStandInOptions = {}): Promise<AlbStandIn> {
  const region = options.region ?? 'eu-west-1';
  const accountId = options.accountId ?? '123456789012';
  const model = new AlbModel(region, accountId, options.healthCheckIntervalMs ?? 1000);
  if (options.onWeightsChanged !== undefined) model.onWeightsChanged(options.onWeightsChanged);
  const faults = new FaultInjector();
  const health = new HealthChecker(model);
  const dataPlane = new DataPlane(model, { random: options.random ?? Math.random });
  const controlPlane = await startControlPlane(model, faults, options.apiPort ?? 0);
  let defaultLoadBalancerArn: string | undefined;
  let stopped: Promise<void> | undefined;

  const targetHealth = (targetGroupArn: string): TargetHealthView[] => {
    const tg = model.targetGroup(targetGroupArn);
    const inUse = model.isInUse(tg.arn);
    return tg.targets.map((t) => ({ host: t.host, port: t.port, state: inUse ? t.health : 'unused' }));
  };

  return {
    apiEndpoint: controlPlane.endpoint,
    region,
    accountId,
    env: { AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: controlPlane.endpoint },
    faults,

    createLoadBalancer: (name) => model.createLoadBalancer(name).arn,

    createTargetGroup(spec) {
      const tg = model.createTargetGroup(spec);
      health.watch(tg);
      return tg.arn;
    },

    async createListener({ loadBalancerArn, defaultActions, port }) {
      const lbArn = loadBalancerArn ?? (defaultLoadBalancerArn ??= model.createLoadBalancer('standin').arn);
      const listener = model.createListener(lbArn, defaultActions);
      try {
        const url = await dataPlane.listen(listener, port ?? 0);
        return { arn: listener.arn, url };
      } catch (error) {
        model.listeners.delete(listener.arn);
        throw error;
      }
    },

    createRule: ({ listenerArn, priority, conditions, actions }) => model.createRule(listenerArn, priority, conditions, actions).arn,

    currentForward: (arn) => model.forwardOf(model.actionsOf(arn)),

    weights(arn) {
      const view = model.forwardOf(model.actionsOf(arn));
      return Object.fromEntries((view?.targetGroups ?? []).map((t) => [t.targetGroupName, t.weight]));
    },

    targetHealth,

    async waitForHealthy(targetGroupArn, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const targets = model.targetGroup(targetGroupArn).targets;
        if (targets.length > 0 && targets.every((t) => t.health === 'healthy')) return;
        if (Date.now() > deadline) {
          const states = targets.map((t) => `${t.host}:${t.port}=${t.health}`).join(', ');
          throw new Error(`target group ${targetGroupArn} not healthy after ${timeoutMs} ms: ${states}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },

    onWeightsChanged: (listener) => model.onWeightsChanged(listener),

    routedCounts: () => Object.fromEntries(dataPlane.routed),

    resetRoutedCounts: () => dataPlane.routed.clear(),

    apiCalls: () => [...controlPlane.calls],

    stop() {
      stopped ??= (async () => {
        health.stop();
        await Promise.all([controlPlane.close(), dataPlane.close()]);
      })();
      return stopped;
    },
  };
}
