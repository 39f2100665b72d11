import { z } from 'zod';
import {
  type KubeApi,
  SplitWeightRouter,
  parseResource,
  pointer,
  splitOf,
  splitView,
  subjectOf,
  type Destination,
  type JsonPatchOp,
  type KubeResourceType,
  type SplitView,
} from './kube-client';

/** The registration of a Gateway API route: an HTTPRoute whose rules send to a stable and a canary Service. */
export interface GatewayApiRouteConfig {
  readonly namespace: string;
  /** Name of the HTTPRoute. */
  readonly httpRoute: string;
  /** Service (in the route's namespace) that serves stable. */
  readonly stableService: string;
  /** Service (in the route's namespace) that serves the canary. */
  readonly canaryService: string;
}

export const HTTP_ROUTE: KubeResourceType = { kind: 'HTTPRoute', group: 'gateway.networking.k8s.io', plural: 'httproutes', versions: ['v1', 'v1beta1'] };

const backendRef = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  kind: z.string().optional(),
  group: z.string().optional(),
  /** Gateway API default: 1. */
  weight: z.number().int().nonnegative().optional(),
});

const httpRoute = z.looseObject({
  spec: z.looseObject({
    rules: z.array(z.looseObject({ backendRefs: z.array(backendRef).optional() })).optional(),
  }),
});

/**
 * Gateway API HTTPRoute: `spec.rules[i].backendRefs[j].weight`. Every rule that sends to both Services
 * is a split (a rule sending to one of them only, e.g. a header match, is left alone); weights sum to
 * 1000, so 0.1% steps hold.
 */
export class GatewayApiRouter extends SplitWeightRouter {
  protected readonly scale = 1000;

  constructor(
    client: KubeApi,
    private readonly config: GatewayApiRouteConfig,
  ) {
    super(client, { type: HTTP_ROUTE, namespace: config.namespace, name: config.httpRoute, role: 'route' });
  }

  /** Every rule that sends to both Services, with each backendRef's index and weight. */
  protected locate(object: unknown): SplitView {
    const route = parseResource(httpRoute, object, this.ref);
    const subject = subjectOf(this.ref);
    const splits = (route.spec.rules ?? []).map((rule, i) =>
      splitOf(
        subject,
        `rules[${i}]`,
        (rule.backendRefs ?? []).map((ref, j): Destination => {
          const isService = (ref.kind ?? 'Service') === 'Service' && (ref.group ?? '') === '' && (ref.namespace ?? this.config.namespace) === this.config.namespace;
          const base = ['spec', 'rules', i, 'backendRefs', j] as const;
          return {
            role: !isService ? undefined : ref.name === this.config.stableService ? 'stable' : ref.name === this.config.canaryService ? 'canary' : undefined,
            label: ref.name,
            weight: ref.weight ?? 1,
            weightPath: pointer(...base, 'weight'),
            identity: [{ op: 'test', path: pointer(...base, 'name'), value: ref.name }],
          };
        }),
      ),
    );
    return splitView(subject, splits, `no rule sends traffic to both Service ${this.config.stableService} and Service ${this.config.canaryService}`);
  }

  /** rules[0] with backendRefs[0] stable and [1] canary. */
  protected restoreWithoutRead(): JsonPatchOp[] {
    const at = (j: number, leaf: string) => pointer('spec', 'rules', 0, 'backendRefs', j, leaf);
    return [
      { op: 'test', path: at(0, 'name'), value: this.config.stableService },
      { op: 'test', path: at(1, 'name'), value: this.config.canaryService },
      { op: 'add', path: at(0, 'weight'), value: this.scale },
      { op: 'add', path: at(1, 'weight'), value: 0 },
    ];
  }
}
