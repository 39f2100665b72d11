import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, StateMachine, type RunOptions, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { WORKFLOW_HANDLERS, substitutionName, type HandlerEntry } from '../../lambdas/handlers/catalog';
import { handler as start } from '../../lambdas/handlers/start';
import { handler as prepare } from '../../lambdas/handlers/prepare';
import { handler as setWeight } from '../../lambdas/handlers/set-weight';
import { handler as analyze } from '../../lambdas/handlers/analyze';
import { handler as promote } from '../../lambdas/handlers/promote';
import { handler as rollback } from '../../lambdas/handlers/rollback';
import { handler as finish } from '../../lambdas/handlers/finish';
import { beginHistory, recordStateEntered } from './execution-history';

/**
 * Runs statemachine/canary.asl.json locally with aws-local-stepfunctions, each Task overridden to call the
 * same handler module CDK deploys. Only the environment differs from AWS (endpoints, table name).
 */

export const ASL_PATH = path.resolve(__dirname, '../../statemachine/canary.asl.json');
export const LOCAL_ACCOUNT = '123456789012';
export const STATE_MACHINE_NAME = 'canary-orchestrator';

type JsonHandler = (input: never) => Promise<unknown>;

// The same handler modules the CDK functions are built from, keyed by the catalog's file names.
const MODULES: Record<string, JsonHandler> = {
  start,
  prepare,
  'set-weight': setWeight,
  analyze,
  promote,
  rollback,
  finish,
};

export const localFunctionArn = (region: string, entry: HandlerEntry) => `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${STATE_MACHINE_NAME}-${entry.file}`;

/** The ASL with every `${…FunctionArn}` substituted, as CDK's definitionSubstitutions does. */
export function loadDefinition(region = process.env.AWS_REGION ?? 'eu-west-1'): StateMachineDefinition {
  let text = readFileSync(ASL_PATH, 'utf8');
  for (const entry of WORKFLOW_HANDLERS) text = text.split(`\${${substitutionName(entry)}}`).join(localFunctionArn(region, entry));
  const left = /\$\{[A-Za-z]+\}/.exec(text);
  if (left) throw new Error(`statemachine/canary.asl.json uses ${left[0]}, which no handler in lambdas/handlers/catalog.ts provides`);
  return JSON.parse(text) as StateMachineDefinition;
}

/** Task state name → the handler its Resource names. */
type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type TaskOutput = Awaited<ReturnType<LocalHandlers[string]>>;

function taskHandlers(definition: StateMachineDefinition, region: string, faults: TaskFaults = {}): LocalHandlers {
  const byArn = new Map(WORKFLOW_HANDLERS.map((entry) => [localFunctionArn(region, entry), MODULES[entry.file]]));
  const handlers: LocalHandlers = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const fn = byArn.get(state.Resource);
    if (!fn) throw new Error(`Task ${name} names ${state.Resource}, which is not a workflow handler`);
    // Round-trip through JSON like Lambda does, so nothing but JSON crosses a step.
    const invoke = async (input: unknown): Promise<TaskOutput> => JSON.parse(JSON.stringify(await fn(JSON.parse(JSON.stringify(input)) as never))) as TaskOutput;
    const rule = faults[name];
    handlers[name] = rule ? withTaskFaults(name, rule, invoke) : invoke;
  }
  return handlers;
}

// ---- Task fault injection (bench/faults, test/integration/fault-matrix.test.ts) -------------------------------
// Kept apart from the runner above on purpose: it only wraps a Task's handler when LocalRunOptions.taskFaults
// names the Task, so runs without faults call exactly the handler modules CDK deploys.

/** How the Lambda behind a Task dies on one attempt. */
export type TaskFaultKind = 'crash' | 'timeout';

/**
 * One attempt's fault: the kind, and whether the handler ran first ('after': its calls were made, only the answer
 * is lost, the worst case for a retry) or not at all ('before': the runtime died at start). A bare kind is 'after'.
 */
export type TaskFault = TaskFaultKind | { readonly kind: TaskFaultKind; readonly at: 'before' | 'after' };

/** By Task state name: the fault of this attempt (1 = the first call since the state was entered), or none. */
export type TaskFaults = Readonly<Record<string, (attempt: number, input: unknown) => TaskFault | undefined>>;

/**
 * The error a dead Lambda gives the Task. Step Functions: "Unhandled errors in Lambda are reported as Lambda.Unknown
 * in the error output. These include out-of-memory errors and function timeouts. You can match on Lambda.Unknown,
 * States.ALL, or States.TaskFailed" (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
 * So both kinds are `Lambda.Unknown` (the ASL's first retrier of every Task matches it, with States.Timeout); the Cause
 * carries what Lambda's runtime reported: `Runtime.ExitError` for a process that exited or was killed out of memory,
 * `Sandbox.Timedout` with "Task timed out after N seconds" for a function timeout (AWS Lambda Developer Guide,
 * "Lambda function errors"). A Task's own TimeoutSeconds would give `States.Timeout` instead: every Task here has a
 * TimeoutSeconds above its function's timeout, so the function's timeout is what fires first.
 */
export class LambdaUnknownError extends Error {
  override readonly name = 'Lambda.Unknown';

  constructor(
    readonly state: string,
    readonly kind: TaskFaultKind,
  ) {
    const requestId = randomUUID();
    const payload =
      kind === 'crash'
        ? { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed` }
        : { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after 30.00 seconds` };
    super(JSON.stringify(payload));
  }
}

/** Wraps one Task's handler: attempts are counted per entry (a retry gets the same input), faults thrown as Lambda would. */
function withTaskFaults(state: string, rule: TaskFaults[string], invoke: (input: unknown) => Promise<TaskOutput>): LocalHandlers[string] {
  let lastInput: string | undefined;
  let attempt = 0;
  return async (input) => {
    const text = JSON.stringify(input);
    attempt = text === lastInput ? attempt + 1 : 1;
    lastInput = text;
    const fault = rule(attempt, input);
    if (fault === undefined) return invoke(input);
    const kind = typeof fault === 'string' ? fault : fault.kind;
    const at = typeof fault === 'string' ? 'after' : fault.at;
    if (at === 'after') await invoke(input).catch(() => undefined);
    throw new LambdaUnknownError(state, kind);
  };
}
// ---- end of Task fault injection ------------------------------------------------------------------------------

export interface LocalRunOptions {
  /** The execution name, which is the run id; a random one by default. */
  readonly runId?: string;
  /** Milliseconds a Wait state waits instead of its seconds, by state name (default: the real seconds). */
  readonly waitMs?: Readonly<Record<string, number>>;
  /** Milliseconds between retries instead of the ASL's backoff (default: the real backoff). */
  readonly retryIntervalMs?: number;
  /** Every state the execution enters, as it enters it: for live views. */
  readonly onStateEntered?: (state: string, input: unknown) => void;
  /** Aborts the execution, like StopExecution. */
  readonly signal?: AbortSignal;
  /** Task faults: crash or time out the Lambda behind a Task on chosen attempts (see TaskFaults). */
  readonly taskFaults?: TaskFaults;
}

export interface LocalRunResult {
  readonly runId: string;
  readonly executionArn: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly output?: unknown;
  /** The execution's error and cause when it failed. */
  readonly error?: string;
  readonly cause?: string;
  /** States entered, in order: Step Functions bills each as a state transition. */
  readonly states: readonly string[];
  readonly stateTransitions: number;
  readonly wallSeconds: number;
}

/** Runs one execution of the canary workflow to its end. */
export async function runLocalWorkflow(input: unknown, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const region = process.env.AWS_REGION ?? 'eu-west-1';
  const definition = loadDefinition(region);
  const runId = options.runId ?? randomUUID();
  const executionArn = `arn:aws:states:${region}:${LOCAL_ACCOUNT}:execution:${STATE_MACHINE_NAME}:${runId}`;
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });

  const retryIntervalOverrides: Record<string, number> = {};
  if (options.retryIntervalMs !== undefined) {
    for (const [name, state] of Object.entries(definition.States)) if ('Retry' in state && state.Retry) retryIntervalOverrides[name] = options.retryIntervalMs;
  }
  const started = Date.now();
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: taskHandlers(definition, region, options.taskFaults),
      ...(options.waitMs && { waitTimeOverrides: { ...options.waitMs } }),
      ...(options.retryIntervalMs !== undefined && { retryIntervalOverrides }),
    },
    context: { Execution: { Id: executionArn, Name: runId, StartTime: new Date(started).toISOString() } },
  });
  options.signal?.addEventListener('abort', () => execution.abort(), { once: true });

  const states: string[] = [];
  beginHistory(executionArn, input);
  const logging = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') {
        states.push(event.state.name);
        recordStateEntered(executionArn, definition, event.state.name, event.state.input);
        options.onStateEntered?.(event.state.name, event.state.input);
      }
    }
  })();

  const base = { runId, executionArn, states };
  const finish = async (result: Omit<LocalRunResult, 'runId' | 'executionArn' | 'states' | 'stateTransitions' | 'wallSeconds'>): Promise<LocalRunResult> => {
    await logging.catch(() => undefined);
    return { ...base, ...result, stateTransitions: states.length, wallSeconds: (Date.now() - started) / 1000 };
  };
  try {
    const output = await execution.result;
    return finish({ status: 'SUCCEEDED', output });
  } catch (error) {
    if (error instanceof ExecutionAbortedError) return finish({ status: 'ABORTED' });
    if (error instanceof ExecutionError) {
      const cause = error.cause instanceof Error ? error.cause : undefined;
      return finish({ status: 'FAILED', error: cause?.name ?? 'ExecutionError', cause: cause?.message ?? error.message });
    }
    throw error;
  }
}

/**
 * The EventBridge event Step Functions emits when an execution ends ("Step Functions Execution Status Change"),
 * as the safety-net rule delivers it. Locally the caller hands it to the safety-net handler.
 */
export function statusChangeEvent(result: LocalRunResult, input: unknown) {
  const region = process.env.AWS_REGION ?? 'eu-west-1';
  const stateMachineArn = `arn:aws:states:${region}:${LOCAL_ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change' as const,
    source: 'aws.states',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region,
    resources: [result.executionArn],
    detail: {
      executionArn: result.executionArn,
      stateMachineArn,
      name: result.runId,
      status: result.status,
      input: JSON.stringify(input),
      output: result.output === undefined ? null : JSON.stringify(result.output),
      error: result.error ?? null,
      cause: result.cause ?? null,
    },
  };
}
