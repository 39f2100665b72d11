import { z } from 'zod';
import { RouterError } from '../../domain/errors';
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
  type JsonValue,
  type KubeResourceType,
  type SplitView,
} from './kube-client';

/** The registration of an SMI route: a TrafficSplit whose backends are a stable and a canary Service. */
export interface SmiRouteConfig {
  readonly namespace: string;
  /** Name of the TrafficSplit. */
  readonly trafficSplit: string;
  readonly stableService: string;
  readonly canaryService: string;
}

/** Every version of split.smi-spec.io; the served one the cluster prefers is discovered. */
export const TRAFFIC_SPLIT: KubeResourceType = {
  kind: 'TrafficSplit',
  group: 'split.smi-spec.io',
  plural: 'trafficsplits',
  versions: ['v1alpha4', 'v1alpha3', 'v1alpha2', 'v1alpha1'],
};

const trafficSplit = z.looseObject({
  apiVersion: z.string().optional(),
  spec: z.looseObject({
    backends: z.array(
      z.looseObject({
        service: z.string(),
        // v1alpha1: a Kubernetes quantity ("500m", "1"); later versions: an integer.
        weight: z.union([z.number().nonnegative(), z.string()]).optional(),
      }),
    ),
  }),
});

/**
 * SMI TrafficSplit: `spec.backends[j].weight`, one split. The API version is the served one the cluster
 * prefers (v1alpha1 to v1alpha4); v1alpha1 weights are quantities and are written as strings. Weights
 * sum to 1000, so 0.1% steps hold.
 */
export class SmiRouter extends SplitWeightRouter {
  protected readonly scale = 1000;
  /** Whether the last read was v1alpha1, whose weights are quantities. */
  private quantities = false;

  constructor(
    client: KubeApi,
    private readonly config: SmiRouteConfig,
  ) {
    super(client, { type: TRAFFIC_SPLIT, namespace: config.namespace, name: config.trafficSplit, role: 'route' });
  }

  /** The two backends among the TrafficSplit's backends, with their indices and weights. */
  protected locate(object: unknown): SplitView {
    const split = parseResource(trafficSplit, object, this.ref);
    this.quantities = split.apiVersion?.endsWith('/v1alpha1') === true;
    const subject = subjectOf(this.ref);
    const destinations = split.spec.backends.map((backend, j): Destination => {
      const base = ['spec', 'backends', j] as const;
      return {
        role: backend.service === this.config.stableService ? 'stable' : backend.service === this.config.canaryService ? 'canary' : undefined,
        label: backend.service,
        weight: this.weightOf(backend.weight, `backends[${j}]`),
        weightPath: pointer(...base, 'weight'),
        identity: [{ op: 'test', path: pointer(...base, 'service'), value: backend.service }],
      };
    });
    return splitView(subject, [splitOf(subject, 'backends', destinations)], `its backends do not include both ${this.config.stableService} and ${this.config.canaryService}`);
  }

  /** backends[0] stable and backends[1] canary. */
  protected restoreWithoutRead(): JsonPatchOp[] {
    const at = (j: number, leaf: string) => pointer('spec', 'backends', j, leaf);
    return [
      { op: 'test', path: at(0, 'service'), value: this.config.stableService },
      { op: 'test', path: at(1, 'service'), value: this.config.canaryService },
      { op: 'add', path: at(0, 'weight'), value: this.weightValue(this.scale) },
      { op: 'add', path: at(1, 'weight'), value: this.weightValue(0) },
    ];
  }

  /** A quantity string for v1alpha1, an integer otherwise. */
  protected override weightValue(weight: number): JsonValue {
    return this.quantities ? String(weight) : weight;
  }

  /** A weight as a number; a v1alpha1 quantity may be "500m" (0.5) or plain ("950"). */
  private weightOf(weight: number | string | undefined, where: string): number {
    if (weight === undefined) return 0;
    if (typeof weight === 'number') return weight;
    const match = /^\s*([0-9]+(?:\.[0-9]+)?)(m?)\s*$/.exec(weight);
    if (match === null) throw new RouterError(`${subjectOf(this.ref)}: ${where}.weight '${weight}' is not a quantity this code reads (like 500m or 950)`);
    return Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
  }
}
