import type { StateMachineDefinition } from 'aws-local-stepfunctions';

/**
 * The history of each local execution, as Step Functions keeps it for GetExecutionHistory: an ExecutionStarted event
 * with the input, then one `<Type>StateEntered` event per state entered with that state's input
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html). Every local run records
 * here, whoever ran it (a test, the demo, the sfn stand-in), so the sfn stand-in serves the history of any of them, as
 * AWS serves every execution of the state machine. Kept in memory, the newest MAX_EXECUTIONS only.
 */

export interface LocalHistoryEvent {
  readonly id: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly executionStartedEventDetails?: { readonly input: string };
  readonly stateEnteredEventDetails?: { readonly name: string; readonly input: string };
}

const MAX_EXECUTIONS = 2000;
const histories = new Map<string, LocalHistoryEvent[]>();

/** Starts the history of an execution with its input. */
export function beginHistory(executionArn: string, input: unknown): void {
  histories.delete(executionArn);
  histories.set(executionArn, [{ id: 1, timestamp: new Date(), type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(input ?? {}) } }]);
  while (histories.size > MAX_EXECUTIONS) histories.delete(histories.keys().next().value as string);
}

/** Records that the execution entered a state, with the state's input. */
export function recordStateEntered(executionArn: string, definition: StateMachineDefinition, name: string, input: unknown): void {
  const events = histories.get(executionArn);
  if (!events) return;
  const type = definition.States[name]?.Type ?? 'Task';
  events.push({ id: events.length + 1, timestamp: new Date(), type: `${type}StateEntered`, stateEnteredEventDetails: { name, input: JSON.stringify(input ?? {}) } });
}

/** The execution's events, oldest first; undefined when no local run had that execution. */
export function executionHistory(executionArn: string): readonly LocalHistoryEvent[] | undefined {
  return histories.get(executionArn);
}
