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

function taskHandlers(definition: StateMachineDefinition, region: string): LocalHandlers {
  const byArn = new Map(WORKFLOW_HANDLERS.map((entry) => [localFunctionArn(region, entry), MODULES[entry.file]]));
  const handlers: LocalHandlers = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const fn = byArn.get(state.Resource);
    if (!fn) throw new Error(`Task ${name} names ${state.Resource}, which is not a workflow handler`);
    // Round-trip through JSON like Lambda does, so nothing but JSON crosses a step.
    handlers[name] = async (input) => JSON.parse(JSON.stringify(await fn(JSON.parse(JSON.stringify(input)) as never))) as ReturnType<LocalHandlers[string]>;
  }
  return handlers;
}

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
      taskResourceLocalHandlers: taskHandlers(definition, region),
      ...(options.waitMs && { waitTimeOverrides: { ...options.waitMs } }),
      ...(options.retryIntervalMs !== undefined && { retryIntervalOverrides }),
    },
    context: { Execution: { Id: executionArn, Name: runId, StartTime: new Date(started).toISOString() } },
  });
  options.signal?.addEventListener('abort', () => execution.abort(), { once: true });

  const states: string[] = [];
  const logging = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') {
        states.push(event.state.name);
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
