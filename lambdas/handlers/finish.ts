import { finish, type FinishResult, type FinishState } from '../use-cases/finish';
import { parseFinishState } from './envelopes';
import { runtimeDeps } from './runtime';

export type FinishEvent = FinishState;
export type FinishOutput = FinishResult;

/** Records the outcome with its numbers, releases the lock, notifies. */
export const handler = async (event: FinishEvent): Promise<FinishOutput> => finish(runtimeDeps(), parseFinishState(event));
