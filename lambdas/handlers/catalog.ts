/**
 * The Lambdas of the workflow. The ASL names each as `${<Id>FunctionArn}`; CDK builds one function per
 * entry from lambdas/handlers/<file>.ts; the local runner maps each Task to the same module.
 */
export interface HandlerEntry {
  /** PascalCase id: the substitution is `${<id>FunctionArn}`. */
  readonly id: string;
  /** File under lambdas/handlers, without extension. */
  readonly file: string;
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export const WORKFLOW_HANDLERS: readonly HandlerEntry[] = [
  { id: 'Start', file: 'start', description: 'Validate input, resolve the service, take its lock, write the run record', timeoutSeconds: 30, memoryMb: 256 },
  { id: 'Prepare', file: 'prepare', description: 'Put the new image on the canary workload and wait until it is ready and healthy', timeoutSeconds: 60, memoryMb: 256 },
  { id: 'SetWeight', file: 'set-weight', description: 'Apply a step weight and verify it by read-back', timeoutSeconds: 30, memoryMb: 256 },
  { id: 'Analyze', file: 'analyze', description: 'Query the checks, judge, decide, record the analysis', timeoutSeconds: 60, memoryMb: 512 },
  { id: 'Promote', file: 'promote', description: 'Make the new version serve all traffic', timeoutSeconds: 30, memoryMb: 256 },
  { id: 'Rollback', file: 'rollback', description: 'Put traffic back on stable', timeoutSeconds: 30, memoryMb: 256 },
  { id: 'Finish', file: 'finish', description: 'Record the outcome, release the lock, notify', timeoutSeconds: 30, memoryMb: 256 },
];

export const substitutionName = (entry: HandlerEntry) => `${entry.id}FunctionArn`;

/** Lambdas outside the workflow: the safety net, started by EventBridge when an execution ends badly. */
export const SAFETY_NET_HANDLER: HandlerEntry = {
  id: 'SafetyNet',
  file: 'safety-net',
  description: 'Put traffic back on stable when an execution ends ABORTED, TIMED_OUT or FAILED mid-run',
  timeoutSeconds: 60,
  memoryMb: 256,
};

/** Starts a rollout when a registered ECR repository receives an image (EventBridge "ECR Image Action"). */
export const ECR_TRIGGER_HANDLER: HandlerEntry = {
  id: 'EcrTrigger',
  file: 'ecr-trigger',
  description: 'Start a rollout for an image pushed to a registered ECR repository, once per digest',
  timeoutSeconds: 30,
  memoryMb: 256,
};
