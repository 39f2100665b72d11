import type { Cursor } from '../domain/decision';
import { promote } from '../use-cases/promote';
import type { StepState } from '../use-cases/set-weight';
import { parseStepState } from './envelopes';
import { runtimeDeps } from './runtime';

export type PromoteEvent = StepState;
export type PromoteOutput = Cursor;

/** Makes the new version the one serving all traffic. */
export const handler = async (event: PromoteEvent): Promise<PromoteOutput> => promote(runtimeDeps(), parseStepState(event));
