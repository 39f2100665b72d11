/**
 * Statistical judging: pure functions whose state is small JSON that travels in the workflow state between
 * intervals. See sequential-test.ts for the method and its references, plan-checks.ts for how a plan's checks are
 * judged with them (the function the analyze step and the judge benchmark share).
 */
export * from './counts';
export * from './confidence-sequence';
export * from './sequential-test';
export * from './stable-guard';
export * from './gauge-trend';
export * from './measurement';
export { formatEvidence, significant } from './numeric';
export * from './plan-checks';
