import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbRunLog } from '../adapters/dynamodb/dynamodb-run-log';
import { AlbTrafficRouter } from '../adapters/alb/alb-traffic-router';
import { PrometheusMetricsSource } from '../adapters/prometheus/prometheus-metrics-source';
import { SigV4Signer, ampWorkspaceUrl } from '../adapters/prometheus/sigv4-signer';
import { SecretsManagerSecretReader } from '../adapters/secrets/secrets-manager-secret-reader';
import { SNSClient } from '@aws-sdk/client-sns';
import { LogNotifier } from '../adapters/log/log-notifier';
import { SlackNotifier } from '../adapters/slack/slack-notifier';
import { SnsNotifier } from '../adapters/sns/sns-notifier';
import { FanoutNotifier } from '../adapters/notify/fanout-notifier';
import type { Notifier } from '../ports/notifier';
import { EKSClient } from '@aws-sdk/client-eks';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EksClusterAccess } from '../adapters/k8s/eks-token';
import { GatewayApiRouter } from '../adapters/k8s/gateway-api-router';
import { IstioRouter } from '../adapters/k8s/istio-router';
import { SmiRouter } from '../adapters/k8s/smi-router';
import { NginxRouter } from '../adapters/k8s/nginx-router';
import { DeploymentWorkload } from '../adapters/k8s/deployment-workload';
import { EcsWorkload } from '../adapters/ecs/ecs-workload';
import type { RunTraffic } from '../domain/traffic';
import type { TrafficRouter } from '../ports/traffic-router';
import type { Workload } from '../ports/workload';
import type { WorkloadConfig } from '../domain/service-config';
import { ConfigurationError } from '../domain/errors';
import type { RunMetrics } from '../domain/run';
import type { Deps } from '../use-cases/deps';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SfnExecutionReader } from '../adapters/sfn/sfn-execution-reader';

/**
 * The composition root: the one place that turns the environment into adapters. Deployed Lambdas,
 * the local workflow and the tests all come through here; local runs differ only in the environment
 * (TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, a Prometheus URL).
 */

import { logger } from './logger';

export { logger };

let cached: Deps | undefined;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

function build(): Deps {
  const dynamo = new DynamoDBClient({});
  const elb = new ElasticLoadBalancingV2Client({});
  const secrets = new SecretsManagerSecretReader(new SecretsManagerClient({}));
  const logNotifier = new LogNotifier(logger);
  // Built on first use: a service on an ALB never loads the EKS or ECS clients.
  let access: EksClusterAccess | undefined;
  const eks = () => (access ??= new EksClusterAccess(new EKSClient({})));
  let ecs: ECSClient | undefined;
  let sns: SNSClient | undefined;
  const retentionDays = Number(process.env.RETENTION_DAYS);
  const runLog = new DynamoDbRunLog(dynamo, { tableName: required('TABLE_NAME'), ...(retentionDays > 0 && { retentionDays }) });
  const signers = new Map<string, SigV4Signer>();
  return {
    runLog,
    executions: new SfnExecutionReader(new SFNClient({})),
    routerFor: (traffic: RunTraffic): TrafficRouter => {
      switch (traffic.kind) {
        case 'alb':
          return new AlbTrafficRouter(elb, traffic);
        case 'gateway-api':
          return new GatewayApiRouter(eks().api(traffic.cluster), traffic);
        case 'istio':
          return new IstioRouter(eks().api(traffic.cluster), traffic);
        case 'smi':
          return new SmiRouter(eks().api(traffic.cluster), traffic);
        case 'nginx':
          return new NginxRouter(eks().api(traffic.cluster), traffic);
      }
    },
    workloadFor: (workload: WorkloadConfig): Workload | undefined => {
      switch (workload.kind) {
        case 'none':
          return undefined;
        case 'ecs':
          return new EcsWorkload((ecs ??= new ECSClient({})), workload);
        case 'eks-deployment':
          return new DeploymentWorkload(eks().api(workload.cluster), workload);
      }
    },
    metricsFor: async (metrics: RunMetrics) => {
      if (metrics.kind === 'amp') {
        let signer = signers.get(metrics.region);
        if (!signer) signers.set(metrics.region, (signer = new SigV4Signer({ region: metrics.region })));
        return new PrometheusMetricsSource({ baseUrl: ampWorkspaceUrl(metrics.region, metrics.workspaceId), signer });
      }
      const bearerToken = metrics.bearerTokenSecretArn ? await secrets.read(metrics.bearerTokenSecretArn) : undefined;
      return new PrometheusMetricsSource({ baseUrl: metrics.url, ...(bearerToken && { bearerToken }) });
    },
    // Every notification is logged; Slack and SNS when the service registered them.
    notifierFor: (notifications) => {
      const channels: { name: string; notifier: Notifier }[] = [{ name: 'log', notifier: logNotifier }];
      const { slackWebhookSecretArn, snsTopicArn, dashboardUrl } = notifications;
      if (slackWebhookSecretArn) {
        channels.push({ name: 'slack', notifier: new SlackNotifier({ webhookUrl: () => secrets.read(slackWebhookSecretArn), ...(dashboardUrl && { dashboardUrl }) }) });
      }
      if (snsTopicArn) channels.push({ name: 'sns', notifier: new SnsNotifier((sns ??= new SNSClient({})), snsTopicArn) });
      return channels.length === 1 ? logNotifier : new FanoutNotifier(channels);
    },
    now: () => new Date(),
    log: logger,
  };
}

/** The adapters of this container, built on first use and kept for the next invocations. */
export function runtimeDeps(): Deps {
  cached ??= build();
  return cached;
}
