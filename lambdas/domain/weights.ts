/**
 * Weights. The domain speaks percent of traffic on the canary (0.1% resolution); routers translate.
 * ALB target-group weights run 0–999, so percent × 10 gives 0.1% steps: 5% → canary 50, stable 950.
 */

export interface Weights {
  /** Percent of traffic on the canary, 0–100, one decimal. */
  readonly canary: number;
  /** Percent of traffic on stable: 100 − canary. */
  readonly stable: number;
}

export const ALB_MAX_WEIGHT = 999;

/** Rounds to the 0.1% resolution every router supports. */
export function roundPercent(percent: number): number {
  return Math.round(percent * 10) / 10;
}

export function weightsFor(canaryPercent: number): Weights {
  const canary = roundPercent(Math.min(100, Math.max(0, canaryPercent)));
  return { canary, stable: roundPercent(100 - canary) };
}

/** ALB weights for a canary share: sum 1000, each capped at 999 (a lone positive weight already means 100%). */
export function toAlbWeights(canaryPercent: number): { canary: number; stable: number } {
  const canary = Math.round(weightsFor(canaryPercent).canary * 10);
  return { canary: Math.min(ALB_MAX_WEIGHT, canary), stable: Math.min(ALB_MAX_WEIGHT, 1000 - canary) };
}

/** The canary share that ALB weights give. Both 0 is no traffic at all, reported as all on stable. */
export function fromAlbWeights(canaryWeight: number, stableWeight: number): Weights {
  const total = canaryWeight + stableWeight;
  if (total === 0) return weightsFor(0);
  return weightsFor((canaryWeight / total) * 100);
}

export function sameWeights(a: Weights, b: Weights): boolean {
  return Math.abs(a.canary - b.canary) < 0.05;
}
