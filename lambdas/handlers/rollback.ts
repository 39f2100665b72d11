import { rollback, type RollbackProgress, type RollbackState } from '../use-cases/rollback';
import { parseRollbackState } from './envelopes';
import { runtimeDeps } from './runtime';

export type RollbackEvent = RollbackState;
export type RollbackOutput = RollbackProgress;

/** Puts traffic back on stable: at once, or one step down per call in gradual mode. */
export const handler = async (event: RollbackEvent): Promise<RollbackOutput> => rollback(runtimeDeps(), parseRollbackState(event));
