import { prepare, type PrepareState } from '../use-cases/prepare';
import type { RunCursor } from '../use-cases/progress';
import { parseStepState } from './envelopes';
import { runtimeDeps } from './runtime';

export type PrepareEvent = PrepareState;
export type PrepareOutput = RunCursor;

/** Puts the new image on the canary workload and reports whether it runs it with healthy targets yet. */
export const handler = async (event: PrepareEvent): Promise<PrepareOutput> => prepare(runtimeDeps(), parseStepState(event));
