import { SAFETY_NET_HANDLER, WORKFLOW_HANDLERS, type HandlerEntry } from '../../lambdas/handlers/catalog';
import type { UnscopedGrant } from '../nag-findings';

/** Every Lambda the orchestrator deploys for every run: the workflow's steps and the safety net. */
export const ALL_HANDLERS: readonly HandlerEntry[] = [...WORKFLOW_HANDLERS, SAFETY_NET_HANDLER];

/** The ELBv2 reads of the ALB router. AWS offers no resource-level permission for Describe* calls. */
export const ELB_DESCRIBE_ACTIONS = ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth'] as const;

/** What CDK grants a function with active tracing; X-Ray offers no resource-level permission for either. */
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] as const;

/** The acknowledged part of every traced function's role. */
export const TRACING_GRANT: UnscopedGrant = { actions: XRAY_ACTIONS, why: 'active tracing; X-Ray has no resource-level permission' };

/** The acknowledged part of the role of a step that touches traffic. */
export const ELB_DESCRIBE_GRANT: UnscopedGrant = {
  actions: ELB_DESCRIBE_ACTIONS,
  why: 'the router reads the weights back and checks target health; ELBv2 Describe* calls have no resource-level permission',
};

/** What one workflow step may touch beyond the table. */
export interface StepAccess {
  /** `read`: describe listeners/rules; `write`: also modify the registered listener or rule. */
  readonly traffic?: 'read' | 'write';
  /** Query the registered metrics source (AMP workspace, Prometheus bearer-token secret). */
  readonly metrics?: boolean;
  /** Send to the registered notification targets (Slack webhook secret, SNS topic). */
  readonly notifications?: boolean;
  /** `read`: look at the workloads (ECS services, Deployments); `write`: also change their image and size. */
  readonly workload?: 'read' | 'write';
}

/** Least privilege per catalog id; a handler missing here gets the table and nothing else. */
export const STEP_ACCESS: Readonly<Record<string, StepAccess>> = {
  // Reads the weights to learn which registered target group is stable and checks stable's health; shifts nothing.
  Start: { traffic: 'read', notifications: true, workload: 'read' },
  // Puts the image on the canary workload; checks the canary's targets. A finished run leaves the canary target group out
  // of the action (no sticky client stays on it), and ALB health-checks only groups a listener forwards to: the health
  // gate attaches it at weight 0 first, so it writes the registered listener or rule (weights unchanged).
  Prepare: { traffic: 'write', workload: 'write' },
  SetWeight: { traffic: 'write' },
  // Announces each passed step with its numbers.
  Analyze: { metrics: true, notifications: true },
  Promote: { traffic: 'write', workload: 'write' },
  Rollback: { traffic: 'write', workload: 'write' },
  // Only formats the manual restore command from the ARNs; makes no ELB call.
  Finish: { notifications: true },
  // Puts traffic back on stable when an execution dies mid-run, and says so.
  SafetyNet: { traffic: 'write', notifications: true },
};
