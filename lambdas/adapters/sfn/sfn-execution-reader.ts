import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { ThrottlingError, TransientError } from '../../domain/errors';
import type { ExecutionReader, ExecutionSnapshot } from '../../ports/execution-reader';
import { NETWORK_ERROR_CODES } from '../network-errors';

/** Pages of history read at most: the state that carries the run is among the last few events of any execution. */
const MAX_PAGES = 5;
const PAGE_SIZE = 100;

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const carriesRun = (value: unknown): boolean => typeof value === 'object' && value !== null && 'run' in value;

/**
 * Step Functions GetExecutionHistory, newest first (reverseOrder): the newest `…StateEntered` event whose input
 * carries `run` is where the execution was; its ExecutionStarted event holds the input. The history keeps each
 * state's input (includeExecutionData, the default) for 90 days after the execution closed
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
 */
export class SfnExecutionReader implements ExecutionReader {
  constructor(private readonly client: SFNClient) {}

  /** The execution's input and its last state with the run; undefined when Step Functions does not know it. */
  async snapshot(executionArn: string): Promise<ExecutionSnapshot | undefined> {
    let nextToken: string | undefined;
    let found: { state: unknown; stateName?: string } | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.page(executionArn, nextToken);
      for (const event of out.events ?? []) {
        if (found === undefined) {
          const entered = event.stateEnteredEventDetails;
          const state = parseJson(entered?.input);
          if (entered && carriesRun(state)) found = { state, ...(entered.name !== undefined && { stateName: entered.name }) };
        }
        if (event.type === 'ExecutionStarted') return { input: parseJson(event.executionStartedEventDetails?.input), ...found };
      }
      nextToken = out.nextToken;
      if (nextToken === undefined) break;
    }
    // A long history: the start is further back than we read; the state we found is what matters.
    return found === undefined ? undefined : { input: undefined, ...found };
  }

  private async page(executionArn: string, nextToken: string | undefined): Promise<{ events?: HistoryEvent[]; nextToken?: string }> {
    try {
      return await this.client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: PAGE_SIZE, includeExecutionData: true, ...(nextToken && { nextToken }) }));
    } catch (error) {
      const name = (error as { name?: string; code?: string }).name ?? '';
      const code = (error as { code?: string }).code ?? '';
      if (name === 'ExecutionDoesNotExist') return {};
      if (name === 'ThrottlingException' || name === 'TooManyRequestsException') throw new ThrottlingError(`GetExecutionHistory throttled: ${(error as Error).message}`, { cause: error });
      if (name === 'ServiceUnavailable' || name === 'InternalServerError' || name === 'TimeoutError' || NETWORK_ERROR_CODES.has(code)) {
        throw new TransientError(`GetExecutionHistory failed: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  }
}
