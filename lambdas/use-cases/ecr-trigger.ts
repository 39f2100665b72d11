import type { ExecutionInput } from '../domain/execution-input';

/**
 * ECR push → one rollout. The image is pinned by digest (the tag is kept for display), and the execution is
 * named after service and digest: ECR events are best-effort and may repeat, and Step Functions refuses a second
 * execution of the same name, so the same digest starts one run only.
 */

export interface EcrPush {
  readonly service: string;
  readonly account: string;
  readonly region: string;
  readonly repository: string;
  readonly digest: string;
  readonly tag?: string;
}

/** Starts an execution by name; false when an execution of that name already exists. */
export interface ExecutionStarter {
  start(name: string, input: ExecutionInput): Promise<{ started: boolean; executionArn: string }>;
}

export interface EcrTriggerResult {
  readonly started: boolean;
  readonly executionName: string;
  readonly executionArn: string;
  readonly input: ExecutionInput;
}

/** The execution input a push maps to. */
export function executionInputFor(push: EcrPush): ExecutionInput {
  return {
    service: push.service,
    image: `${push.account}.dkr.ecr.${push.region}.amazonaws.com/${push.repository}@${push.digest}`,
    dryRun: false,
    trigger: { source: 'ecr', ...(push.tag && { tag: push.tag }), reference: `${push.repository}@${push.digest}` },
  };
}

/** The execution name for a service and digest: ≤ 80 characters of [A-Za-z0-9-]. */
export function executionNameFor(service: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '').slice(0, 16);
  return `${service}-${hex}`.slice(0, 80);
}

/** Starts the rollout of a pushed image, once per digest. */
export async function triggerFromEcr(starter: ExecutionStarter, push: EcrPush): Promise<EcrTriggerResult> {
  const input = executionInputFor(push);
  const executionName = executionNameFor(push.service, push.digest);
  const { started, executionArn } = await starter.start(executionName, input);
  return { started, executionName, executionArn, input };
}
