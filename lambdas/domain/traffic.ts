import type { TrafficConfig } from './service-config';

/**
 * The traffic router of one run: the registered config with the roles resolved. `stable` is what serves all
 * traffic at start; with workload `none` a promotion leaves the new version on the registered canary, so the
 * next run finds the roles traded (blue/green) and `swapped` is true.
 */
export type RunTraffic = TrafficConfig & { readonly swapped: boolean };

/** The run's traffic with the stable and canary roles as registered (swapped false) or traded (true); undefined when the kind cannot trade them. */
export function runTraffic(config: TrafficConfig, swapped: boolean): RunTraffic | undefined {
  if (!swapped) return { ...config, swapped };
  switch (config.kind) {
    case 'alb':
      return { ...config, stableTargetGroupArn: config.canaryTargetGroupArn, canaryTargetGroupArn: config.stableTargetGroupArn, swapped };
    case 'gateway-api':
    case 'smi':
      return { ...config, stableService: config.canaryService, canaryService: config.stableService, swapped };
    case 'istio':
      return { ...config, stable: config.canary, canary: config.stable, swapped };
    case 'nginx':
      // The canary Ingress is the canary by its annotation; the roles cannot trade.
      return undefined;
  }
}

/** What the router shifts, for messages: `listener …`, `HTTPRoute payments/payments-api`. */
export function describeTraffic(traffic: TrafficConfig): string {
  switch (traffic.kind) {
    case 'alb':
      return traffic.ruleArn ? `listener rule ${traffic.ruleArn}` : `listener ${traffic.listenerArn}`;
    case 'gateway-api':
      return `HTTPRoute ${traffic.namespace}/${traffic.httpRoute} on ${traffic.cluster}`;
    case 'istio':
      return `VirtualService ${traffic.namespace}/${traffic.virtualService} on ${traffic.cluster}`;
    case 'smi':
      return `TrafficSplit ${traffic.namespace}/${traffic.trafficSplit} on ${traffic.cluster}`;
    case 'nginx':
      return `canary Ingress ${traffic.namespace}/${traffic.canaryIngress} on ${traffic.cluster}`;
  }
}

/** A run's traffic on an ALB listener or rule. */
export type AlbRunTraffic = Extract<RunTraffic, { kind: 'alb' }>;
