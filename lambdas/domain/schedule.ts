import type { Plan } from './plan';

/**
 * The weights a gradual rollback steps through from `weight`: every lower step weight of the plan,
 * highest first, then 0. An immediate rollback is just [0].
 */
export function rollbackWeights(plan: Plan, weight: number): number[] {
  if (plan.rollback.mode === 'immediate') return [0];
  const lower = [...new Set(plan.steps.map((s) => s.weight))].filter((w) => w < weight).sort((a, b) => b - a);
  return [...lower, 0];
}

/** The next weight of a rollback already at `weight`, or undefined when it has reached 0. */
export function nextRollbackWeight(plan: Plan, weight: number): number | undefined {
  if (weight <= 0) return undefined;
  return rollbackWeights(plan, weight)[0];
}

/** Attempts Finish makes at writing a run's final records before the execution hands them to the safety net (about 9 hours). */
export const RECORD_ATTEMPTS = 40;

/** The wait before Finish's next attempt at the records: 30 s doubling, at most 15 minutes. */
export const recordRetrySeconds = (attempt: number) => Math.min(900, 30 * 2 ** Math.max(0, attempt - 1));
