import type { Cursor } from '../domain/decision';
import { analyze } from '../use-cases/analyze';
import type { StepState } from '../use-cases/set-weight';
import { parseStepState } from './envelopes';
import { runtimeDeps } from './runtime';

export type AnalyzeEvent = StepState;
export type AnalyzeOutput = Cursor;

/** Queries every check, judges, decides, records the analysis; the cursor carries the decision. */
export const handler = async (event: AnalyzeEvent): Promise<AnalyzeOutput> => analyze(runtimeDeps(), parseStepState(event));
