import type { RunCursor } from '../use-cases/progress';
import { promote, type PromoteState } from '../use-cases/promote';
import { parseStepState } from './envelopes';
import { runtimeDeps } from './runtime';

export type PromoteEvent = PromoteState;
export type PromoteOutput = RunCursor;

/** Makes the new version the one serving all traffic; with a workload, one phase of the promotion per call. */
export const handler = async (event: PromoteEvent): Promise<PromoteOutput> => promote(runtimeDeps(), parseStepState(event));
