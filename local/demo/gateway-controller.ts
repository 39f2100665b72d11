import { DescribeListenersCommand, ElasticLoadBalancingV2Client, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AlbStandIn } from '../alb-standin';
import type { JsonObject, KubeStandIn } from '../k8s-standin';

/**
 * A Gateway API implementation for the demo's EKS path: the HTTPRoute the orchestrator patches in the Kubernetes API
 * stand-in is the configuration, and the ALB stand-in's listener is the data plane that real requests go through,
 * as the AWS Gateway API controller programs a load balancer from routes. Each backendRef (a Service) maps to a
 * target group; every change of the route's weights is applied to the listener, stickiness kept.
 */

export interface GatewayControllerOptions {
  readonly kube: KubeStandIn;
  readonly alb: AlbStandIn;
  readonly namespace: string;
  readonly httpRoute: string;
  readonly listenerArn: string;
  /** Target group of each Service the route may name. */
  readonly targetGroups: Readonly<Record<string, string>>;
}

type BackendRef = { readonly name: string; readonly weight?: number };

/** The weights of the route's first rule, by Service name (Gateway API's default weight is 1). */
function routeWeights(route: JsonObject): Map<string, number> {
  const rules = (route.spec as { rules?: { backendRefs?: BackendRef[] }[] } | undefined)?.rules ?? [];
  return new Map((rules[0]?.backendRefs ?? []).map((ref) => [ref.name, ref.weight ?? 1]));
}

export interface GatewayController {
  /** Resolves once the listener carries the route's current weights. */
  synced(): Promise<void>;
  stop(): void;
}

/** Watches the HTTPRoute and keeps the listener's forward weights equal to it. */
export function startGatewayController(options: GatewayControllerOptions): GatewayController {
  const elb = new ElasticLoadBalancingV2Client({ endpoint: options.alb.apiEndpoint, region: options.alb.region, maxAttempts: 5 });
  let applying: Promise<void> = Promise.resolve();

  const apply = async (route: JsonObject) => {
    const weights = routeWeights(route);
    const { Listeners } = await elb.send(new DescribeListenersCommand({ ListenerArns: [options.listenerArn] }));
    const forward = Listeners?.[0]?.DefaultActions?.find((a) => a.Type === 'forward');
    // Gateway API weights are relative like ALB's; scale to 0–999 so 0.1% steps survive.
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    const TargetGroups = Object.entries(options.targetGroups).map(([service, TargetGroupArn]) => ({
      TargetGroupArn,
      Weight: total === 0 ? 0 : Math.min(999, Math.round((999 * (weights.get(service) ?? 0)) / total)),
    }));
    await elb.send(
      new ModifyListenerCommand({
        ListenerArn: options.listenerArn,
        DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups, ...(forward?.ForwardConfig?.TargetGroupStickinessConfig && { TargetGroupStickinessConfig: forward.ForwardConfig.TargetGroupStickinessConfig }) } }],
      }),
    );
  };

  const onChange = (kind: string, object: JsonObject) => {
    const meta = object.metadata as { name?: string; namespace?: string } | undefined;
    if (kind !== 'HTTPRoute' || meta?.name !== options.httpRoute || meta.namespace !== options.namespace) return;
    // One change at a time, in order: the listener always ends on the route's latest weights.
    applying = applying.then(() => apply(object)).catch(() => undefined);
  };
  const unsubscribe = options.kube.onChange(onChange);
  const current = options.kube.object('HTTPRoute', options.namespace, options.httpRoute);
  if (current) onChange('HTTPRoute', current);

  return {
    synced: () => applying,
    stop: () => {
      unsubscribe();
      elb.destroy();
    },
  };
}
