/**
 * The Mann–Whitney (Wilcoxon rank-sum) confidence interval for a location shift, as Kayenta's judge uses
 * it: the Hodges–Lehmann estimate is the median of all pairwise differences x_i − y_j, and the interval is
 * given by order statistics of those differences, with the normal approximation of the rank-sum statistic
 * (no tie correction, no continuity correction).
 */

export interface ShiftInterval {
  readonly lower: number;
  readonly upper: number;
  readonly estimate: number;
}

// Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9).
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** The standard normal quantile Φ⁻¹(p), 0 < p < 1. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
}

const median = (sorted: readonly number[]) => {
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
};

/** The shift of x over y with its confidence interval; infinite bounds when the samples are too small. */
export function mannWhitneyShift(x: readonly number[], y: readonly number[], confidence: number): ShiftInterval | null {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) return null;
  const differences: number[] = [];
  for (const a of x) for (const b of y) differences.push(a - b);
  differences.sort((p, q) => p - q);
  const mn = m * n;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const k = Math.floor(mn / 2 - z * Math.sqrt((mn * (m + n + 1)) / 12));
  const estimate = median(differences);
  if (k < 1) return { lower: -Infinity, upper: Infinity, estimate };
  return { lower: differences[k - 1], upper: differences[mn - k], estimate };
}
