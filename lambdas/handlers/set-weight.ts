import type { Cursor } from '../domain/decision';
import { setWeight, type StepState } from '../use-cases/set-weight';
import { parseStepState } from './envelopes';
import { runtimeDeps } from './runtime';

export type SetWeightEvent = StepState;
export type SetWeightOutput = Cursor;

/** Applies the current step's weight (verified by read-back) and records it. */
export const handler = async (event: SetWeightEvent): Promise<SetWeightOutput> => setWeight(runtimeDeps(), parseStepState(event));
