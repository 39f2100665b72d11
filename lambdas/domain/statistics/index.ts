/**
 * Statistical judging: pure functions whose state is small JSON that travels in the workflow state between
 * intervals. See sequential-test.ts for the method and its references.
 */
export * from './counts';
export * from './confidence-sequence';
export * from './sequential-test';
export * from './stable-guard';
export * from './gauge-trend';
export * from './measurement';
export { significant } from './numeric';
