import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ServiceConfig } from '../../lambdas/domain/service-config';
import { unscopedReason } from '../nag-findings';
import type { OrchestratorSettings } from './settings';
import { ALL_HANDLERS, STEP_ACCESS, type StepAccess } from './step-access';

/** Copying an ECS task definition with a new image; AWS offers no resource-level permission for these. */
export const TASK_DEFINITION_ACTIONS = ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition', 'ecs:TagResource'] as const;

/** The Kubernetes group the orchestrator's roles map to in an EKS cluster (bind it with the Role in the README). */
export const KUBERNETES_GROUP = 'canary-orchestrator';

/** A secret ARN as IAM sees it: without Secrets Manager's 6-character suffix, `-??????` stands in for it. */
export function secretResourceArn(arn: string): string {
  return /-[A-Za-z0-9]{6}$/.test(arn) ? arn : `${arn}-??????`;
}

/** Properties of ServiceGrants. */
export interface ServiceGrantsProps {
  /** The step roles by catalog id (StepHandlers.roles); each gets what its STEP_ACCESS entry allows. */
  readonly roles: Readonly<Record<string, iam.Role>>;
}

/**
 * What each registered service adds to the step roles, by STEP_ACCESS: the listener or rule to shift, the cluster
 * (and an access entry in KUBERNETES_GROUP), the workloads, the metrics source and the notification targets it names,
 * and nothing else. Later services extend the statements of earlier ones instead of adding new ones.
 */
export class ServiceGrants {
  // Statements by `<role addr>/<sid>`, and markers of the per-role policies and access entries already created.
  private readonly grants = new Map<string, iam.PolicyStatement>();

  /** Keeps the roles to grant to; grants nothing yet. */
  constructor(
    private readonly settings: OrchestratorSettings,
    private readonly props: ServiceGrantsProps,
  ) {}

  /** Grants the steps exactly what `config` names: traffic, workload, metrics, notifications, in that order. */
  addService(config: ServiceConfig): void {
    const traffic = config.traffic;
    if (traffic.kind === 'alb') {
      const writers = this.rolesWith((a) => a.traffic === 'write');
      // With a rule, the router modifies only that rule; the listener's default action is left alone.
      if (traffic.ruleArn) this.allow(writers, 'ShiftRegisteredRules', ['elasticloadbalancing:ModifyRule'], [traffic.ruleArn]);
      else this.allow(writers, 'ShiftRegisteredListeners', ['elasticloadbalancing:ModifyListener'], [traffic.listenerArn]);
    } else {
      this.grantCluster(this.rolesWith((a) => a.traffic !== undefined), traffic.cluster);
    }
    this.grantWorkload(config.workload);
    this.grantMetrics(config.metrics);
    const notifiers = this.rolesWith((a) => a.notifications === true);
    const { slackWebhookSecretArn, snsTopicArn } = config.notifications;
    if (slackWebhookSecretArn) this.allow(notifiers, 'ReadSlackWebhooks', ['secretsmanager:GetSecretValue'], [secretResourceArn(slackWebhookSecretArn)]);
    if (snsTopicArn) this.allow(notifiers, 'PublishNotifications', ['sns:Publish'], [snsTopicArn]);
  }

  /** The AMP workspace to query, or the Prometheus bearer-token secret to read, for the steps that analyze. */
  private grantMetrics(metrics: ServiceConfig['metrics']): void {
    const analysts = this.rolesWith((a) => a.metrics === true);
    if (metrics.kind === 'amp') {
      const workspaceArn = Stack.of(this.settings.scope).formatArn({
        service: 'aps',
        region: metrics.region,
        resource: 'workspace',
        resourceName: metrics.workspaceId,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
      this.allow(analysts, 'QueryRegisteredWorkspaces', ['aps:QueryMetrics'], [workspaceArn]);
    } else if (metrics.bearerTokenSecretArn) {
      this.allow(analysts, 'ReadPrometheusTokens', ['secretsmanager:GetSecretValue'], [secretResourceArn(metrics.bearerTokenSecretArn)]);
    }
  }

  /**
   * Workloads. ECS: describe and update only the two registered services; copying a task definition cannot be
   * scoped (AWS has no resource-level permission for it) and passes the task's roles to ECS tasks only. EKS: the
   * cluster, through an access entry in the Kubernetes group the README's Role binds.
   */
  private grantWorkload(workload: ServiceConfig['workload']): void {
    if (workload.kind === 'none') return;
    const users = this.rolesWith((a) => a.workload !== undefined);
    const writers = this.rolesWith((a) => a.workload === 'write');
    if (workload.kind === 'eks-deployment') {
      this.grantCluster(users, workload.cluster);
      return;
    }
    const clusterName = workload.cluster.split('/').pop() ?? workload.cluster;
    const serviceArn = (service: string) =>
      service.startsWith('arn:')
        ? service
        : Stack.of(this.settings.scope).formatArn({ service: 'ecs', resource: 'service', resourceName: `${clusterName}/${service}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const services = [serviceArn(workload.stableService), serviceArn(workload.canaryService)];
    this.allow(users, 'DescribeRegisteredEcsServices', ['ecs:DescribeServices'], services);
    this.allow(writers, 'UpdateRegisteredEcsServices', ['ecs:UpdateService'], services);
    for (const role of writers) this.grantTaskDefinitionCopies(role);
  }

  /**
   * The unscopable part of an ECS image change, in a policy of its own so that its acknowledgement names exactly
   * its actions: copy the task definition with the new image, and pass the roles it already names to ECS tasks.
   */
  private grantTaskDefinitionCopies(role: iam.Role): void {
    const key = `${role.node.addr}/TaskDefinitionCopies`;
    if (this.grants.has(key)) return;
    const copy = new iam.PolicyStatement({ sid: 'CopyTaskDefinitions', actions: [...TASK_DEFINITION_ACTIONS], resources: ['*'] });
    const pass = new iam.PolicyStatement({
      sid: 'PassTaskRoles',
      actions: ['iam:PassRole'],
      resources: ['*'],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    });
    const policy = new iam.Policy(this.settings.scope, `${role.node.id}TaskDefinitionCopies`, { roles: [role], statements: [copy, pass] });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: unscopedReason(
        [
          { actions: TASK_DEFINITION_ACTIONS, why: 'Describe and Register have no resource-level permission, and the revision TagResource tags has no ARN before it is registered' },
          {
            actions: ['iam:PassRole'],
            why: 'limited by condition to ecs-tasks.amazonaws.com: the copied task definition keeps the task and execution roles it names, which the registration does not',
          },
        ],
        'UpdateService is scoped to the registered services.',
      ),
    });
    this.grants.set(key, copy);
  }

  /** eks:DescribeCluster on the cluster, and an access entry per role mapping it to the Kubernetes group. */
  private grantCluster(roles: readonly iam.Role[], cluster: string): void {
    const clusterArn = Stack.of(this.settings.scope).formatArn({ service: 'eks', resource: 'cluster', resourceName: cluster, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.allow(roles, 'DescribeRegisteredClusters', ['eks:DescribeCluster'], [clusterArn]);
    for (const role of roles) {
      const key = `access-entry/${cluster}/${role.node.addr}`;
      if (this.grants.has(key)) continue;
      new eks.CfnAccessEntry(this.settings.scope, `AccessEntry-${cluster}-${role.node.id}`, { clusterName: cluster, principalArn: role.roleArn, kubernetesGroups: [KUBERNETES_GROUP], type: 'STANDARD' });
      this.grants.set(key, new iam.PolicyStatement());
    }
  }

  /** Roles of the steps whose access matches `wanted`, in catalog order. */
  private rolesWith(wanted: (access: StepAccess) => boolean): iam.Role[] {
    return ALL_HANDLERS.filter((entry) => wanted(STEP_ACCESS[entry.id] ?? {})).flatMap((entry) => {
      const role = this.props.roles[entry.id];
      return role ? [role] : [];
    });
  }

  /** Allows `actions` on `resources`: one statement per role and sid, which later services extend. */
  private allow(roles: readonly iam.Role[], sid: string, actions: readonly string[], resources: readonly string[]): void {
    for (const role of roles) {
      const key = `${role.node.addr}/${sid}`;
      const statement = this.grants.get(key);
      if (!statement) {
        const created = new iam.PolicyStatement({ sid, actions: [...actions], resources: [...new Set(resources)] });
        role.addToPrincipalPolicy(created);
        this.grants.set(key, created);
        continue;
      }
      const known = new Set(statement.resources);
      const added = resources.filter((arn) => !known.has(arn));
      if (added.length > 0) statement.addResources(...added);
    }
  }
}
