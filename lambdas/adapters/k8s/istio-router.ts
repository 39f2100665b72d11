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

/** A destination of an Istio route: a host, and a subset of it when both versions share the host. */
export interface IstioDestination {
  readonly host: string;
  readonly subset?: string;
}

/** The registration of an Istio route: a VirtualService whose http routes send to a stable and a canary destination. */
export interface IstioRouteConfig {
  readonly namespace: string;
  /** Name of the VirtualService. */
  readonly virtualService: string;
  readonly stable: IstioDestination;
  readonly canary: IstioDestination;
}

export const VIRTUAL_SERVICE: KubeResourceType = {
  kind: 'VirtualService',
  group: 'networking.istio.io',
  plural: 'virtualservices',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
};

const routeDestination = z.looseObject({
  destination: z.looseObject({ host: z.string(), subset: z.string().optional() }),
  weight: z.number().int().nonnegative().optional(),
});

const virtualService = z.looseObject({
  spec: z.looseObject({
    http: z.array(z.looseObject({ route: z.array(routeDestination).optional() })).optional(),
  }),
});

/**
 * Istio VirtualService: `spec.http[i].route[j].weight`. Every http route that sends to both
 * destinations is a split. Istio wants integer weights summing to 100, so shares are whole percents:
 * 2.5% is written (and reported) as 3%.
 */
export class IstioRouter extends SplitWeightRouter {
  protected readonly scale = 100;

  constructor(
    client: KubeApi,
    private readonly config: IstioRouteConfig,
  ) {
    super(client, { type: VIRTUAL_SERVICE, namespace: config.namespace, name: config.virtualService, role: 'route' });
  }

  /** Every http route that sends to both destinations, with each destination's index and weight. */
  protected locate(object: unknown): SplitView {
    const service = parseResource(virtualService, object, this.ref);
    const subject = subjectOf(this.ref);
    const splits = (service.spec.http ?? []).map((http, i) => {
      const routes = http.route ?? [];
      return splitOf(
        subject,
        `http[${i}]`,
        routes.map(({ destination, weight }, j): Destination => {
          const base = ['spec', 'http', i, 'route', j] as const;
          return {
            role: matches(destination, this.config.stable) ? 'stable' : matches(destination, this.config.canary) ? 'canary' : undefined,
            label: label(destination),
            // Istio leaves a zero weight out; a lone destination takes everything.
            weight: weight ?? (routes.length === 1 ? 100 : 0),
            weightPath: pointer(...base, 'weight'),
            identity: this.identity(base, destination),
          };
        }),
      );
    });
    return splitView(subject, splits, `no http route sends traffic to both ${label(this.config.stable)} and ${label(this.config.canary)}`);
  }

  /** http[0] with route[0] stable and route[1] canary. */
  protected restoreWithoutRead(): JsonPatchOp[] {
    const at = (j: number) => ['spec', 'http', 0, 'route', j] as const;
    return [
      ...this.identity(at(0), this.config.stable),
      ...this.identity(at(1), this.config.canary),
      { op: 'add', path: pointer(...at(0), 'weight'), value: this.scale },
      { op: 'add', path: pointer(...at(1), 'weight'), value: 0 },
    ];
  }

  /** `test` ops on the destination's host, and on its subset when it has one. */
  private identity(base: readonly (string | number)[], destination: IstioDestination): JsonPatchOp[] {
    return [
      { op: 'test', path: pointer(...base, 'destination', 'host'), value: destination.host },
      ...(destination.subset === undefined ? [] : [{ op: 'test' as const, path: pointer(...base, 'destination', 'subset'), value: destination.subset }]),
    ];
  }
}

function matches(found: IstioDestination, wanted: IstioDestination): boolean {
  return found.host === wanted.host && found.subset === wanted.subset;
}

function label(destination: IstioDestination): string {
  return destination.subset === undefined ? destination.host : `${destination.host} subset ${destination.subset}`;
}
