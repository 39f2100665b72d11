import { startRun, type StartResult } from '../use-cases/start-run';
import { parseStartEvent } from './envelopes';
import { runtimeDeps, logger } from './runtime';

/** Start's input: the execution input and the execution's identity from the context object. */
export interface StartEvent {
  readonly input: unknown;
  readonly runId: string;
  readonly executionArn: string;
  readonly startedAt: string;
}
export type StartOutput = StartResult;

/** Validates the input, resolves the service, takes its lock and writes the run record. */
export const handler = async (event: StartEvent): Promise<StartOutput> => {
  const request = parseStartEvent(event);
  logger.appendKeys({ runId: request.runId });
  return startRun(runtimeDeps(), request);
};
