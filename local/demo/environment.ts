import { DynamoDbRunLog } from '../../lambdas/adapters/dynamodb/dynamodb-run-log';
import { startKubeStandIn, type KubeStandIn } from '../k8s-standin';
import { startGatewayController, type GatewayController } from './gateway-controller';
import { startAlbStandIn, type AlbStandIn, type WeightsChangedEvent } from '../alb-standin';
import { startDynalite, type Dynalite } from '../dynamodb/dynalite';
import { startPrometheus, type RunningPrometheus } from '../prometheus/prometheus-server';
import { LoadGenerator } from './load-generator';
import type { Profile } from './profile';
import { startServiceProcess, type ServiceProcess } from './service-process';

/**
 * What the demo runs on: DynamoDB (dynalite), the ALB stand-in, and for each scenario a stage of two service
 * processes behind their target groups, a Prometheus scraping them every second, and the load. The handlers
 * are the deployed ones; only their environment points here.
 */

/** Prometheus scrape interval of the demo, seconds. */
export const SCRAPE_INTERVAL_SECONDS = 1;
/** Image repository of the demo service; stable runs :v1, the canary :v2. */
export const DEMO_REPOSITORY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-api';

/**
 * Evenly spread numbers in [0, 1) (the golden-ratio sequence) for the stand-in's weighted choice. A busy ALB's
 * shares are close to its weights because it serves thousands of clients; at the demo's 100 requests per second
 * random draws would wander by a few points per 5 s, as much as a dry run allows, so the demo spreads them evenly.
 */
export function evenlySpread(seed = Math.random()): () => number {
  let next = seed;
  return () => {
    next = (next + 0.6180339887498949) % 1;
    return next;
  };
}

let started = false;

/** How the demo's traffic is routed: ALB weights, or a Gateway API HTTPRoute on an EKS-like cluster. */
export type DemoRouter = 'alb' | 'gateway-api';

/** The cluster name of the demo's EKS path (the Kubernetes API stand-in answers for it). */
export const DEMO_CLUSTER = 'demo';
const DEMO_NAMESPACE = 'demo';

/** DynamoDB and the ALB stand-in (and for the EKS path the Kubernetes API stand-in), with the handlers pointed at them. One per process. */
export class DemoEnvironment {
  readonly runLog: DynamoDbRunLog;
  private readonly stages = new Set<DemoStage>();
  private readonly starting = new Set<Promise<DemoStage>>();

  private constructor(
    readonly dynalite: Dynalite,
    readonly alb: AlbStandIn,
    /** Every weight change the stand-in applied, oldest first, with the moment it took effect. */
    readonly weightEvents: readonly WeightsChangedEvent[],
    /** The Kubernetes API stand-in, on the EKS path (`--router gateway-api`). */
    readonly kube?: KubeStandIn,
  ) {
    this.runLog = new DynamoDbRunLog(dynalite.client, { tableName: dynalite.tableName });
  }

  /**
   * Starts dynalite and the stand-in and points the handlers at them. The handlers keep the clients of their
   * first call, so a process gets one environment: a second start is refused rather than silently ignored.
   */
  static async start(options: { readonly router?: DemoRouter } = {}): Promise<DemoEnvironment> {
    if (started) throw new Error('a DemoEnvironment was already started in this process; the handlers keep their first endpoints, so reuse it');
    started = true;
    const weightEvents: WeightsChangedEvent[] = [];
    const [dynalite, alb, kube] = await Promise.all([
      startDynalite(),
      startAlbStandIn({ random: evenlySpread(), healthCheckIntervalMs: 1000, onWeightsChanged: (event) => weightEvents.push(event) }),
      options.router === 'gateway-api' ? startKubeStandIn({ auth: { eks: { clusterName: DEMO_CLUSTER } } }) : Promise.resolve(undefined),
    ]);
    // Dummy credentials, always: nothing here reaches AWS, and a profile or SSO session of the user's must not be asked.
    for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete process.env[name];
    process.env.AWS_REGION = alb.region;
    process.env.AWS_ACCESS_KEY_ID = 'local-demo';
    process.env.AWS_SECRET_ACCESS_KEY = 'local-demo';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.TABLE_NAME = dynalite.tableName;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.endpoint;
    process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = alb.apiEndpoint;
    // The EKS path: DescribeCluster answers with the stand-in's endpoint and CA; the handlers sign real EKS tokens.
    if (kube) Object.assign(process.env, kube.env);
    return new DemoEnvironment(dynalite, alb, weightEvents, kube);
  }

  /** Starts a stage: services, target groups, listener, Prometheus, load; registers the service. */
  async startStage(options: StageOptions): Promise<DemoStage> {
    const starting = DemoStage.start(this, options);
    this.starting.add(starting);
    try {
      const stage = await starting;
      this.stages.add(stage);
      void stage.stopped.then(() => this.stages.delete(stage));
      return stage;
    } finally {
      this.starting.delete(starting);
    }
  }

  /** Stops every stage still running (waiting for one still starting), then the stand-in and dynalite. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await Promise.allSettled([...this.stages].map((stage) => stage.stop()));
    await Promise.allSettled([this.alb.stop(), this.dynalite.stop(), ...(this.kube ? [this.kube.stop()] : [])]);
  }
}

export interface StageOptions {
  /** The registered service name and the `service` label. */
  readonly service: string;
  readonly stableProfile: Profile;
  readonly canaryProfile: Profile;
  /** The plan registered with the service. */
  readonly plan: Record<string, unknown>;
  /** Requests per second of the load; default 100. */
  readonly rps?: number;
  /** The load stops by itself after this many seconds; default 600. */
  readonly loadSeconds?: number;
  /** Progress lines while it starts. */
  readonly log?: (line: string) => void;
}

/** A service with its two versions running, behind the stand-in, scraped, registered and under load. */
export class DemoStage {
  private stopping: Promise<void> | undefined;
  private markStopped: () => void = () => undefined;
  /** Resolves once stop() has finished. */
  readonly stopped = new Promise<void>((resolve) => {
    this.markStopped = resolve;
  });

  private constructor(
    readonly env: DemoEnvironment,
    readonly service: string,
    readonly stable: ServiceProcess,
    readonly canary: ServiceProcess,
    readonly prometheus: RunningPrometheus,
    readonly listenerArn: string,
    readonly listenerUrl: string,
    readonly stableTargetGroupArn: string,
    readonly canaryTargetGroupArn: string,
    readonly load: LoadGenerator,
    readonly startSeconds: number,
    /** On the EKS path: what keeps the listener on the HTTPRoute's weights. */
    readonly gateway?: GatewayController,
  ) {}

  /** Starts everything of one stage; whatever started is stopped again when a later part fails. */
  static async start(env: DemoEnvironment, options: StageOptions): Promise<DemoStage> {
    const began = Date.now();
    const log = options.log ?? (() => undefined);
    const undo: (() => Promise<void>)[] = [];
    try {
      const spawn = (role: 'stable' | 'canary', profile: Profile) =>
        startServiceProcess({ service: options.service, role, profile }).then((svc) => {
          undo.push(() => svc.stop());
          return svc;
        });
      // Both settle before going on, so a service that started beside a failed one is stopped too.
      const spawned = await Promise.allSettled([spawn('stable', options.stableProfile), spawn('canary', options.canaryProfile)]);
      const failed = spawned.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      const [stable, canary] = spawned.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value);
      log(`services    stable (pid ${stable.pid}) on ${stable.target}, canary (pid ${canary.pid}) on ${canary.target}`);

      const targetGroup = (role: 'stable' | 'canary', svc: ServiceProcess) =>
        env.alb.createTargetGroup({ name: `${options.service}-${role}`.slice(0, 32), targets: [{ host: '127.0.0.1', port: svc.port }], healthCheckPath: '/healthz' });
      const stableTargetGroupArn = targetGroup('stable', stable);
      const canaryTargetGroupArn = targetGroup('canary', canary);
      const listener = await env.alb.createListener({
        defaultActions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: stableTargetGroupArn, Weight: 1 },
                { TargetGroupArn: canaryTargetGroupArn, Weight: 0 },
              ],
              TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 30 },
            },
          },
        ],
      });
      log(`load bal.   ALB stand-in listener ${listener.url} → stable 100% / canary 0%, stickiness on (AWSALBTG, 30 s)`);

      const prometheus = await startPrometheus({ targets: [stable.target, canary.target], scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS, jobName: 'demo' });
      undo.push(() => prometheus.stop());
      log(`prometheus  ${prometheus.url}, scraping both services every ${SCRAPE_INTERVAL_SECONDS} s`);
      await Promise.all([env.alb.waitForHealthy(stableTargetGroupArn, 20_000), env.alb.waitForHealthy(canaryTargetGroupArn, 20_000), prometheus.waitForTargetsUp(30_000)]);

      // On the EKS path the orchestrator patches an HTTPRoute, and a gateway controller programs the listener from it.
      let gateway: GatewayController | undefined;
      if (env.kube) {
        const [stableService, canaryService] = [`${options.service}-stable`, `${options.service}-canary`];
        env.kube.put({
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: options.service, namespace: DEMO_NAMESPACE },
          spec: { parentRefs: [{ name: 'demo-gateway' }], rules: [{ backendRefs: [{ name: stableService, port: 80, weight: 100 }, { name: canaryService, port: 80, weight: 0 }] }] },
        });
        const started = startGatewayController({
          kube: env.kube,
          alb: env.alb,
          namespace: DEMO_NAMESPACE,
          httpRoute: options.service,
          listenerArn: listener.arn,
          targetGroups: { [stableService]: stableTargetGroupArn, [canaryService]: canaryTargetGroupArn },
        });
        gateway = started;
        undo.push(async () => started.stop());
        await started.synced();
        log(`gateway     HTTPRoute ${DEMO_NAMESPACE}/${options.service} on the EKS stand-in '${DEMO_CLUSTER}' → the listener (a gateway controller follows its weights)`);
      }
      await env.runLog.putServiceConfig(options.service, {
        name: options.service,
        traffic: env.kube
          ? { kind: 'gateway-api', cluster: DEMO_CLUSTER, namespace: DEMO_NAMESPACE, httpRoute: options.service, stableService: `${options.service}-stable`, canaryService: `${options.service}-canary` }
          : { kind: 'alb', listenerArn: listener.arn, stableTargetGroupArn, canaryTargetGroupArn },
        metrics: { kind: 'prometheus', url: prometheus.url },
        plan: options.plan,
      });

      const load = new LoadGenerator({ url: listener.url, rps: options.rps ?? 100, maxSeconds: options.loadSeconds ?? 600 });
      load.start();
      undo.push(() => load.stop());
      log(`load        ${options.rps ?? 100} requests/s through the listener, clients keep their cookies`);
      const stage = new DemoStage(env, options.service, stable, canary, prometheus, listener.arn, listener.url, stableTargetGroupArn, canaryTargetGroupArn, load, (Date.now() - began) / 1000, gateway);
      return stage;
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      throw error;
    }
  }

  /** The weights of the listener as the stand-in routes now, percent. */
  weights(): { stable: number; canary: number; raw: Record<string, number> } {
    const forward = this.env.alb.currentForward(this.listenerArn);
    const weightOf = (arn: string) => forward?.targetGroups.find((t) => t.targetGroupArn === arn)?.weight ?? 0;
    const stable = weightOf(this.stableTargetGroupArn);
    const canary = weightOf(this.canaryTargetGroupArn);
    const total = stable + canary;
    const percent = (w: number) => (total === 0 ? 0 : Math.round((1000 * w) / total) / 10);
    return { stable: percent(stable), canary: percent(canary), raw: { stable, canary } };
  }

  /** Requests the stand-in routed to each version since it started. */
  routed(): { stable: number; canary: number } {
    const counts = this.env.alb.routedCounts();
    const name = (arn: string) => arn.split('/')[1] ?? '';
    return { stable: counts[name(this.stableTargetGroupArn)] ?? 0, canary: counts[name(this.canaryTargetGroupArn)] ?? 0 };
  }

  /** Stops the load, Prometheus and both services; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.load.stop();
      this.gateway?.stop();
      await Promise.allSettled([this.prometheus.stop(), this.stable.stop(), this.canary.stop()]);
      this.markStopped();
    })();
    return this.stopping;
  }
}
