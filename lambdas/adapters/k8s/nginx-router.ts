import { z } from 'zod';
import { RouteNotFoundError, RouterError } from '../../domain/errors';
import { weightsFor, type Weights } from '../../domain/weights';
import {
  type KubeApi,
  KubeWeightRouter,
  parseResource,
  pointer,
  shareOf,
  subjectOf,
  type JsonPatchOp,
  type KubeResourceType,
  type RouteView,
} from './kube-client';

/** The registration of an NGINX Ingress canary: the canary Ingress beside the service's main Ingress. */
export interface NginxRouteConfig {
  readonly namespace: string;
  /** Name of the Ingress that carries `nginx.ingress.kubernetes.io/canary: "true"`. */
  readonly canaryIngress: string;
  /** Service the canary Ingress sends to. */
  readonly canaryService: string;
}

export const INGRESS: KubeResourceType = { kind: 'Ingress', group: 'networking.k8s.io', plural: 'ingresses', versions: ['v1'] };

export const CANARY_ANNOTATION = 'nginx.ingress.kubernetes.io/canary';
export const WEIGHT_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight';
export const WEIGHT_TOTAL_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight-total';
const DEFAULT_WEIGHT_TOTAL = 100;

const backend = z.looseObject({ service: z.looseObject({ name: z.string() }).optional() });

const ingress = z.looseObject({
  metadata: z.looseObject({ annotations: z.record(z.string(), z.string()).optional() }),
  spec: z.looseObject({
    defaultBackend: backend.optional(),
    rules: z.array(z.looseObject({ http: z.looseObject({ paths: z.array(z.looseObject({ backend })) }).optional() })).optional(),
  }),
});

interface NginxView extends RouteView {
  /** `canary-weight-total`, or 100. */
  readonly total: number;
  /** JSON Pointer of the backend service name that proves this Ingress still sends to the canary Service. */
  readonly backendNamePath: string;
}

/**
 * NGINX Ingress canary: the annotation `nginx.ingress.kubernetes.io/canary-weight` (a string) on the
 * canary Ingress, out of `canary-weight-total` (default 100, so 1% steps). Stable gets the rest through
 * the main Ingress, which is never touched.
 */
export class NginxRouter extends KubeWeightRouter<NginxView> {
  constructor(
    client: KubeApi,
    private readonly config: NginxRouteConfig,
  ) {
    super(client, { type: INGRESS, namespace: config.namespace, name: config.canaryIngress, role: 'route' });
  }

  /** The canary weight and total of the annotations, and where the Ingress names the canary Service. */
  protected locate(object: unknown): NginxView {
    const found = parseResource(ingress, object, this.ref);
    const subject = subjectOf(this.ref);
    const annotations = found.metadata.annotations ?? {};
    if (annotations[CANARY_ANNOTATION] !== 'true') {
      throw new RouterError(`${subject} is not a canary Ingress: it lacks the annotation ${CANARY_ANNOTATION}: "true"`);
    }
    const total = annotationNumber(subject, annotations, WEIGHT_TOTAL_ANNOTATION, DEFAULT_WEIGHT_TOTAL);
    const weight = annotationNumber(subject, annotations, WEIGHT_ANNOTATION, 0);
    if (total < 1) throw new RouterError(`${subject}: ${WEIGHT_TOTAL_ANNOTATION} must be at least 1, is ${total}`);
    const backendNamePath = this.backendNamePath(found);
    if (backendNamePath === undefined) throw new RouteNotFoundError(`${subject} does not send to Service ${this.config.canaryService}`);
    return { total, backendNamePath, placeWeights: [shareOf(Math.min(weight, total), total - Math.min(weight, total))], placeNames: ['annotations'] };
  }

  /** The share nearest `canaryPercent` that an integer out of `canary-weight-total` can express. */
  protected applicable(view: NginxView, canaryPercent: number): Weights {
    const weight = Math.round((weightsFor(canaryPercent).canary * view.total) / 100);
    return shareOf(weight, view.total - weight);
  }

  /** `test` ops on the canary annotation and the canary Service name, then the weight annotation. */
  protected patchFor(view: NginxView, target: Weights): JsonPatchOp[] {
    const weight = Math.round((target.canary * view.total) / 100);
    return [
      { op: 'test', path: pointer('metadata', 'annotations', CANARY_ANNOTATION), value: 'true' },
      { op: 'test', path: view.backendNamePath, value: this.config.canaryService },
      { op: 'add', path: pointer('metadata', 'annotations', WEIGHT_ANNOTATION), value: String(weight) },
    ];
  }

  /** The weight annotation to "0", on the Ingress that is still a canary Ingress. */
  protected restoreWithoutRead(): JsonPatchOp[] {
    return [
      { op: 'test', path: pointer('metadata', 'annotations', CANARY_ANNOTATION), value: 'true' },
      { op: 'add', path: pointer('metadata', 'annotations', WEIGHT_ANNOTATION), value: '0' },
    ];
  }

  private backendNamePath(found: z.output<typeof ingress>): string | undefined {
    const { canaryService } = this.config;
    for (const [i, rule] of (found.spec.rules ?? []).entries()) {
      for (const [j, path] of (rule.http?.paths ?? []).entries()) {
        if (path.backend.service?.name === canaryService) return pointer('spec', 'rules', i, 'http', 'paths', j, 'backend', 'service', 'name');
      }
    }
    if (found.spec.defaultBackend?.service?.name === canaryService) return pointer('spec', 'defaultBackend', 'service', 'name');
    return undefined;
  }
}

function annotationNumber(subject: string, annotations: Record<string, string>, name: string, fallback: number): number {
  const value = annotations[name];
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value.trim())) throw new RouterError(`${subject}: annotation ${name} is '${value}', not a whole number`);
  return Number(value.trim());
}
