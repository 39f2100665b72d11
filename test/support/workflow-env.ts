import { DynamoDbRunLog } from '../../lambdas/adapters/dynamodb/dynamodb-run-log';
import { startAlbStandIn, type AlbStandIn } from '../../local/alb-standin';
import { startDynalite, type Dynalite } from '../../local/dynamodb/dynalite';
import { startPrometheus, type RunningPrometheus } from '../../local/prometheus/prometheus-server';
import { runLocalWorkflow, type LocalRunOptions, type LocalRunResult } from '../../local/workflow/local-workflow';
import { startSfnStandIn, type SfnStandIn } from '../../local/sfn-standin';
import { SyntheticTraffic } from './synthetic-traffic';
import { startTestExporter, type TestExporter } from './test-exporter';

/**
 * Everything a whole-workflow test needs, real where the architecture names a real part: dynalite, a Prometheus
 * server scraping the services' metrics every second, the ALB stand-in's API, and the handler modules CDK deploys,
 * pointed at them through the environment only.
 */

export const FAST_ANALYSIS = { intervalSeconds: 1, window: '5s', consecutiveFailureLimit: 2, errorLimit: 4, noDataLimit: 5 };

/**
 * A person's gate (an approval, a pause) waits a minute at 1 s intervals: the default hour would be 3,600 analyses, more
 * history than Step Functions keeps, and the plan would be refused (lambdas/domain/history-budget.ts).
 */
export const FAST_APPROVALS = { timeoutSeconds: 60 };

/** Two steps of 2 s at 1 s intervals, then 100%: a default-shaped plan that runs in seconds. */
export const FAST_PLAN = {
  steps: [{ weight: 20, holdSeconds: 2 }, { weight: 50, holdSeconds: 2 }, { weight: 100 }],
  analysis: FAST_ANALYSIS,
  approvals: FAST_APPROVALS,
};

export interface ServiceUnderTest {
  readonly name: string;
  readonly listenerArn: string;
  readonly stableTargetGroupArn: string;
  readonly canaryTargetGroupArn: string;
  readonly traffic: SyntheticTraffic;
  /** The canary's share of traffic in percent, as the stand-in routes now. */
  canaryShare(): number;
}

export interface AddServiceOptions {
  readonly plan?: Record<string, unknown>;
  /** Where the service's metrics are queried; default the test's Prometheus. */
  readonly metricsUrl?: string;
  readonly rps?: number;
  readonly extra?: Record<string, unknown>;
}

export class WorkflowEnv {
  readonly runLog: DynamoDbRunLog;
  private readonly services: SyntheticTraffic[] = [];

  private constructor(
    readonly dynalite: Dynalite,
    readonly exporter: TestExporter,
    readonly prometheus: RunningPrometheus,
    readonly alb: AlbStandIn,
    readonly sfn: SfnStandIn,
  ) {
    this.runLog = new DynamoDbRunLog(dynalite.client, { tableName: dynalite.tableName });
  }

  /** Starts every stand-in and points the handlers' environment at them. */
  static async start(): Promise<WorkflowEnv> {
    // The sfn stand-in serves the history of every local run: the safety net reads it, as it reads Step Functions in AWS.
    const [dynalite, exporter, alb, sfn] = await Promise.all([startDynalite(), startTestExporter(), startAlbStandIn({ healthCheckIntervalMs: 5000 }), startSfnStandIn()]);
    const prometheus = await startPrometheus({ targets: [exporter.target], scrapeIntervalSeconds: 1 });
    await prometheus.waitForTargetsUp();
    Object.assign(process.env, {
      TABLE_NAME: dynalite.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: alb.apiEndpoint,
      AWS_ENDPOINT_URL_SFN: sfn.endpoint,
      // One attempt per SDK call: retries are the workflow's (ASL Retry), which is what these tests exercise.
      AWS_MAX_ATTEMPTS: '1',
    });
    return new WorkflowEnv(dynalite, exporter, prometheus, alb, sfn);
  }

  /** Registers a service behind its own listener, stable at 100%, with synthetic traffic following the weights. */
  async addService(name: string, options: AddServiceOptions = {}): Promise<ServiceUnderTest> {
    const target = { host: '127.0.0.1', port: Number(this.exporter.target.split(':')[1]) };
    const stableTargetGroupArn = this.alb.createTargetGroup({ name: `${name}-s`.slice(0, 32), targets: [target], healthCheckPath: '/metrics' });
    const canaryTargetGroupArn = this.alb.createTargetGroup({ name: `${name}-c`.slice(0, 32), targets: [target], healthCheckPath: '/metrics' });
    const { arn: listenerArn } = await this.alb.createListener({
      defaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: stableTargetGroupArn, Weight: 1 },
              { TargetGroupArn: canaryTargetGroupArn, Weight: 0 },
            ],
          },
        },
      ],
    });
    const canaryShare = () => {
      const forward = this.alb.currentForward(listenerArn);
      const weightOf = (arn: string) => forward?.targetGroups.find((t) => t.targetGroupArn === arn)?.weight ?? 0;
      const stable = weightOf(stableTargetGroupArn);
      const canary = weightOf(canaryTargetGroupArn);
      return stable + canary === 0 ? 0 : (100 * canary) / (stable + canary);
    };
    await this.runLog.putServiceConfig(name, {
      name,
      traffic: { kind: 'alb', listenerArn, stableTargetGroupArn, canaryTargetGroupArn },
      metrics: { kind: 'prometheus', url: options.metricsUrl ?? this.prometheus.url },
      ...(options.plan && { plan: options.plan }),
      ...options.extra,
    });
    const traffic = new SyntheticTraffic(this.exporter, { service: name, rps: options.rps ?? 200, canaryShare });
    traffic.start();
    this.services.push(traffic);
    return { name, listenerArn, stableTargetGroupArn, canaryTargetGroupArn, traffic, canaryShare };
  }

  /** Runs one execution of the real workflow, retries shortened so failure paths take seconds. */
  run(input: unknown, options: LocalRunOptions = {}): Promise<LocalRunResult> {
    return runLocalWorkflow(input, { retryIntervalMs: 50, ...options });
  }

  async stop(): Promise<void> {
    for (const traffic of this.services) traffic.stop();
    await Promise.allSettled([this.prometheus.stop(), this.exporter.stop(), this.alb.stop(), this.dynalite.stop(), this.sfn.stop()]);
  }
}

export const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1';
