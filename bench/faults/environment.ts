import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DynamoDbRunLog } from '../../lambdas/adapters/dynamodb/dynamodb-run-log';
import { handler as safetyNetHandler, type SafetyNetEvent } from '../../lambdas/handlers/safety-net';
import { startAlbStandIn, type AlbStandIn, type ForwardView } from '../../local/alb-standin';
import { startDynalite, type Dynalite } from '../../local/dynamodb/dynalite';
import { startDynamoDbFaultProxy, type DynamoDbFaultProxy } from '../../local/faults/dynamodb-fault-proxy';
import { startPrometheusFaultProxy, type PrometheusFaultProxy } from '../../local/faults/prometheus-fault-proxy';
import { startPrometheus, type RunningPrometheus } from '../../local/prometheus/prometheus-server';
import { startSfnStandIn, type ExecutionView, type SfnStandIn, type StatusChangeEvent } from '../../local/sfn-standin';
import { runLocalWorkflow, type LocalRunOptions, type LocalRunResult, type TaskFaults } from '../../local/workflow/local-workflow';
import { SyntheticTraffic } from '../../test/support/synthetic-traffic';
import { startTestExporter, type TestExporter } from '../../test/support/test-exporter';

/**
 * The one environment every fault case shares: dynalite behind a DynamoDB fault proxy, a real Prometheus scraping a
 * synthetic-traffic exporter, the ALB stand-in, and the Step Functions stand-in that runs each execution with the
 * deployed handlers and delivers its status change to the safety net, as EventBridge does. Each case registers its
 * own services (own listener and target groups) and scopes its faults to them, so cases can run side by side.
 */

/** Retries of the ASL pinned short, so a case's retries take milliseconds, not real backoff. */
export const RETRY_INTERVAL_MS = 50;
/** EventBridge retries a failed target (with backoff, for up to 24 h); here 6 attempts, 1 s doubling (31 s). */
const DELIVERY_ATTEMPTS = 6;
const DELIVERY_RETRY_MS = 1000;

export interface Service {
  readonly name: string;
  readonly listenerArn: string;
  readonly listenerUrl: string;
  readonly stableTargetGroupArn: string;
  readonly canaryTargetGroupArn: string;
  readonly canaryTargetGroupName: string;
  readonly traffic: SyntheticTraffic;
  /** The canary's share of traffic in percent, as the stand-in routes now. */
  canaryShare(): number;
  /** Every weight change of the listener: epoch ms and the canary's share then. */
  readonly timeline: { readonly at: number; readonly canary: number }[];
}

export interface ServiceOptions {
  readonly plan: Record<string, unknown>;
  /** Where its metrics are queried; default the shared Prometheus. */
  readonly metricsUrl?: string;
  /** TargetGroupStickinessConfig on the listener's forward action. */
  readonly stickySeconds?: number;
}

/** What one execution does beyond the plain workflow. */
export interface RunHooks {
  readonly taskFaults?: TaskFaults;
  readonly onStateEntered?: (state: string, input: unknown) => void;
  /** Replaces the run (e.g. to make it fail by an unknown error); gets the plain run to call. */
  readonly run?: (input: unknown, options: LocalRunOptions, plain: (input: unknown, options: LocalRunOptions) => Promise<LocalRunResult>) => Promise<LocalRunResult>;
  /** Replaces the delivery of its status change; gets the safety net to call. */
  readonly deliver?: (event: StatusChangeEvent, safetyNet: (event: SafetyNetEvent) => Promise<unknown>) => Promise<unknown>;
}

export interface RunHandle {
  readonly runId: string;
  readonly executionArn: string;
  /** States entered, with the epoch ms of entry. */
  readonly entered: { readonly state: string; readonly at: number }[];
  /** Resolves once the execution ended and its status change was delivered. */
  settled(): Promise<ExecutionView>;
}

const canaryOf = (view: ForwardView | undefined, canaryArn: string): number => {
  const total = (view?.targetGroups ?? []).reduce((sum, t) => sum + t.weight, 0);
  const canary = view?.targetGroups.find((t) => t.targetGroupArn === canaryArn)?.weight ?? 0;
  return total === 0 ? 0 : (100 * canary) / total;
};

export class FaultEnvironment {
  readonly runLog: DynamoDbRunLog;
  readonly sfn: SFNClient;
  private readonly hooks = new Map<string, RunHooks>();
  private readonly events = new Map<string, StatusChangeEvent[]>();
  private readonly traffic: SyntheticTraffic[] = [];
  private readonly proxies: PrometheusFaultProxy[] = [];

  private constructor(
    readonly dynalite: Dynalite,
    readonly dynamo: DynamoDbFaultProxy,
    readonly exporter: TestExporter,
    readonly prometheus: RunningPrometheus,
    readonly alb: AlbStandIn,
    private readonly standIn: { current?: SfnStandIn },
  ) {
    // Reads go straight to dynalite: the checks must see the table as it is, whatever the proxy does.
    this.runLog = new DynamoDbRunLog(dynalite.client, { tableName: dynalite.tableName });
    this.sfn = new SFNClient({ endpoint: this.sfnStandIn.endpoint, region: this.sfnStandIn.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  }

  get sfnStandIn(): SfnStandIn {
    if (!this.standIn.current) throw new Error('the Step Functions stand-in is not running');
    return this.standIn.current;
  }

  /** Starts every part and points the handlers' environment at them. */
  static async start(): Promise<FaultEnvironment> {
    const [dynalite, exporter, alb] = await Promise.all([startDynalite(), startTestExporter(), startAlbStandIn({ healthCheckIntervalMs: 1000 })]);
    const [dynamo, prometheus] = await Promise.all([startDynamoDbFaultProxy(dynalite.endpoint), startPrometheus({ targets: [exporter.target], scrapeIntervalSeconds: 1 })]);
    await prometheus.waitForTargetsUp();
    const holder: { current?: SfnStandIn; env?: FaultEnvironment } = {};
    const standIn = await startSfnStandIn({
      run: (input, options) => holder.env!.runExecution(input, options),
      deliver: (event) => holder.env!.deliverStatusChange(event),
      deliveryAttempts: DELIVERY_ATTEMPTS,
      deliveryRetryMs: DELIVERY_RETRY_MS,
    });
    holder.current = standIn;
    Object.assign(process.env, {
      TABLE_NAME: dynalite.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: alb.apiEndpoint,
      AWS_ENDPOINT_URL_SFN: standIn.endpoint,
      STATE_MACHINE_ARN: standIn.stateMachineArn,
      // One attempt per SDK call: retries are the workflow's (ASL Retry) and EventBridge's, which is what the cases exercise.
      AWS_MAX_ATTEMPTS: '1',
    });
    const env = new FaultEnvironment(dynalite, dynamo, exporter, prometheus, alb, holder);
    holder.env = env;
    return env;
  }

  /** A Prometheus fault proxy for one case, in front of the shared Prometheus. */
  async prometheusProxy(): Promise<PrometheusFaultProxy> {
    const proxy = await startPrometheusFaultProxy(this.prometheus.url);
    this.proxies.push(proxy);
    return proxy;
  }

  /** Registers a service behind its own listener, stable at 100%, with synthetic traffic following the weights. */
  async addService(name: string, options: ServiceOptions): Promise<Service> {
    const target = { host: '127.0.0.1', port: Number(this.exporter.target.split(':')[1]) };
    const canaryTargetGroupName = `${name}-c`.slice(0, 32);
    const stableTargetGroupArn = this.alb.createTargetGroup({ name: `${name}-s`.slice(0, 32), targets: [target], healthCheckPath: '/metrics' });
    const canaryTargetGroupArn = this.alb.createTargetGroup({ name: canaryTargetGroupName, targets: [target], healthCheckPath: '/metrics' });
    const forward: Action = {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: stableTargetGroupArn, Weight: 1 },
          { TargetGroupArn: canaryTargetGroupArn, Weight: 0 },
        ],
        ...(options.stickySeconds !== undefined && { TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: options.stickySeconds } }),
      },
    };
    const { arn: listenerArn, url: listenerUrl } = await this.alb.createListener({ defaultActions: [forward] });
    const canaryShare = () => canaryOf(this.alb.currentForward(listenerArn), canaryTargetGroupArn);
    const timeline: { at: number; canary: number }[] = [{ at: Date.now(), canary: 0 }];
    this.alb.onWeightsChanged((event) => {
      if (event.listenerArn === listenerArn && event.ruleArn === undefined) timeline.push({ at: event.at, canary: canaryOf(event.current, canaryTargetGroupArn) });
    });
    await this.runLog.putServiceConfig(name, {
      name,
      traffic: { kind: 'alb', listenerArn, stableTargetGroupArn, canaryTargetGroupArn },
      metrics: { kind: 'prometheus', url: options.metricsUrl ?? this.prometheus.url },
      plan: options.plan,
    });
    const traffic = new SyntheticTraffic(this.exporter, { service: name, rps: 200, canaryShare });
    traffic.start();
    this.traffic.push(traffic);
    return { name, listenerArn, listenerUrl, stableTargetGroupArn, canaryTargetGroupArn, canaryTargetGroupName, traffic, canaryShare, timeline };
  }

  /** Registers what an execution of this name does; call before it starts (StartExecution, an ECR push). */
  prepare(runId: string, hooks: RunHooks): { readonly entered: { state: string; at: number }[] } {
    const entered: { state: string; at: number }[] = [];
    this.hooks.set(runId, {
      ...hooks,
      onStateEntered: (state, input) => {
        entered.push({ state, at: Date.now() });
        hooks.onStateEntered?.(state, input);
      },
    });
    return { entered };
  }

  /** Starts an execution through the Step Functions API (StartExecution on the stand-in). */
  async start(runId: string, input: unknown, hooks: RunHooks = {}): Promise<RunHandle> {
    const { entered } = this.prepare(runId, hooks);
    const out = await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.sfnStandIn.stateMachineArn, name: runId, input: JSON.stringify(input) }));
    const executionArn = out.executionArn!;
    return { runId, executionArn, entered, settled: () => this.sfnStandIn.settled(executionArn) };
  }

  /** The ARN an execution of this name has (Step Functions: the state machine's ARN with `execution` and the name). */
  executionArn(runId: string): string {
    return `${this.sfnStandIn.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
  }

  /** StopExecution, as a user or pipeline would. */
  async stopExecution(executionArn: string, cause = 'stopped by the fault case'): Promise<void> {
    await this.sfn.send(new StopExecutionCommand({ executionArn, error: 'UserStopped', cause }));
  }

  /** Status changes delivered (or attempted) for a run, oldest first. */
  statusChanges(runId: string): readonly StatusChangeEvent[] {
    return this.events.get(runId) ?? [];
  }

  /** The stand-in's runner: the plain local workflow with short retries and the run's hooks. */
  private runExecution(input: unknown, options: LocalRunOptions): Promise<LocalRunResult> {
    const hooks = this.hooks.get(options.runId ?? '') ?? {};
    const plain = (i: unknown, o: LocalRunOptions) =>
      runLocalWorkflow(i, {
        ...o,
        retryIntervalMs: RETRY_INTERVAL_MS,
        ...(hooks.taskFaults && { taskFaults: hooks.taskFaults }),
        onStateEntered: (state, stateInput) => {
          o.onStateEntered?.(state, stateInput);
          hooks.onStateEntered?.(state, stateInput);
        },
      });
    return hooks.run ? hooks.run(input, options, plain) : plain(input, options);
  }

  /** The status-change rule's target: the safety net, or the run's replacement of it. */
  private deliverStatusChange(event: StatusChangeEvent): Promise<unknown> {
    const list = this.events.get(event.detail.name) ?? [];
    if (!list.includes(event)) list.push(event);
    this.events.set(event.detail.name, list);
    const hooks = this.hooks.get(event.detail.name);
    const safetyNet = (e: SafetyNetEvent) => safetyNetHandler(e);
    return hooks?.deliver ? hooks.deliver(event, safetyNet) : safetyNet(event);
  }

  async stop(): Promise<void> {
    for (const traffic of this.traffic) traffic.stop();
    await this.standIn.current?.stop();
    this.sfn.destroy();
    await Promise.allSettled([...this.proxies.map((p) => p.stop()), this.dynamo.stop(), this.prometheus.stop(), this.exporter.stop(), this.alb.stop()]);
    await this.dynalite.stop();
  }
}
