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
