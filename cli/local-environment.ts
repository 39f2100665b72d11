import { resolve } from 'node:path';
import { DEMO_REPOSITORY, DemoEnvironment, type DemoStage } from '../local/demo/environment';
import { loadProfile } from '../local/demo/profile';
import { loadPlan } from '../local/demo/runner';
import { DEFAULT_PLAN_FILE, profileFile } from '../local/demo/scenarios';
import { startSfnStandIn, type ExecutionChange, type SfnStandIn } from '../local/sfn-standin';
import { removeLocalEnv, writeLocalEnv, type LocalEnv } from './local-env-file';

/**
 * The local environment `npm run local` runs: what the demo starts (dynalite, the ALB stand-in, a stable and a
 * canary demo service behind a listener, Prometheus scraping them, constant load; local/demo/environment.ts),
 * plus the Step Functions stand-in that runs the workflow for the CLI. Its endpoints go to an env file the CLI
 * finds. One per process: the handlers keep the endpoints of their first call.
 */

export interface LocalEnvironmentOptions {
  /** Where the endpoints are written. */
  readonly envFile: string;
  /** The registered service; default `demo-api`. */
  readonly service?: string;
  /** The plan registered with the service; default the demo plan. */
  readonly planFile?: string;
  readonly stableProfileFile?: string;
  readonly canaryProfileFile?: string;
  /** Requests per second of the load; default 100. */
  readonly rps?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Every execution start and end, and every safety-net delivery. */
  readonly onExecution?: (change: ExecutionChange) => void;
}

export interface LocalEnvironment {
  readonly envFile: string;
  readonly env: LocalEnv;
  readonly demo: DemoEnvironment;
  readonly stage: DemoStage;
  readonly sfn: SfnStandIn;
  /** Stops running executions (the safety net restores stable), removes the env file, stops everything else. */
  stop(): Promise<void>;
}

// The load runs as long as the environment does (the demo's stops after 10 minutes).
const LOAD_SECONDS = 7 * 86_400;

/** Starts the local environment and writes its env file. */
export async function startLocalEnvironment(options: LocalEnvironmentOptions): Promise<LocalEnvironment> {
  const log = options.log ?? (() => undefined);
  const service = options.service ?? 'demo-api';
  const { registered } = await loadPlan(resolve(options.planFile ?? DEFAULT_PLAN_FILE));
  const stableProfile = await loadProfile(resolve(options.stableProfileFile ?? profileFile('healthy')));
  const canaryProfile = await loadProfile(resolve(options.canaryProfileFile ?? profileFile('healthy')));

  const demo = await DemoEnvironment.start();
  let sfn: SfnStandIn | undefined;
  try {
    log(`dynamodb    dynalite on ${demo.dynalite.endpoint}, table ${demo.dynalite.tableName}`);
    log(`elbv2       ALB stand-in API on ${demo.alb.apiEndpoint}`);
    const stage = await demo.startStage({ service, stableProfile, canaryProfile, plan: registered, ...(options.rps !== undefined && { rps: options.rps }), loadSeconds: LOAD_SECONDS, log });
    sfn = await startSfnStandIn({ ...(options.onExecution !== undefined && { onChange: options.onExecution }) });
    // The safety net, run in this process, reads the executions' history from the stand-in, as it reads Step Functions in AWS.
    process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
    log(`sfn         Step Functions stand-in on ${sfn.endpoint} (${sfn.stateMachineArn})`);
    const env: LocalEnv = {
      version: 1,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region: sfn.region,
      tableName: demo.dynalite.tableName,
      stateMachineArn: sfn.stateMachineArn,
      endpoints: { dynamodb: demo.dynalite.endpoint, sfn: sfn.endpoint, elasticLoadBalancingV2: demo.alb.apiEndpoint },
      services: [{ name: service, listenerUrl: stage.listenerUrl, prometheusUrl: stage.prometheus.url, stableImage: `${DEMO_REPOSITORY}:v1`, canaryImage: `${DEMO_REPOSITORY}:v2` }],
      env: {
        AWS_REGION: sfn.region,
        AWS_ENDPOINT_URL_DYNAMODB: demo.dynalite.endpoint,
        AWS_ENDPOINT_URL_SFN: sfn.endpoint,
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: demo.alb.apiEndpoint,
        CANARY_TABLE: demo.dynalite.tableName,
        CANARY_STATE_MACHINE_ARN: sfn.stateMachineArn,
      },
    };
    await writeLocalEnv(options.envFile, env);
    const standIn = sfn;
    let stopping: Promise<void> | undefined;
    return {
      envFile: options.envFile,
      env,
      demo,
      stage,
      sfn: standIn,
      stop: () =>
        (stopping ??= (async () => {
          await standIn.stop().catch(() => undefined);
          await removeLocalEnv(options.envFile);
          await demo.stop();
        })()),
    };
  } catch (error) {
    await sfn?.stop().catch(() => undefined);
    await demo.stop().catch(() => undefined);
    throw error;
  }
}
