/**
 * Small numeric helpers for the statistics modules. Pure, no dependencies; every result is a finite
 * number (never NaN or ±Infinity) so that it can travel in the workflow state as JSON.
 */

// Module-scope aliases: a global lookup is slow inside a vm context (the test runner's), a closure binding is not.
const { log, exp, max, min, sin, PI } = Math;
const { MAX_VALUE: MAX, isFinite: finite, isNaN: nan } = Number;

// Lanczos approximation (g = 7, 9 coefficients): about 15 significant digits for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  if (x < 0.5) return log(PI / sin(PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * log(2 * PI) + (z + 0.5) * log(t) - t + log(sum);
}

/** ln B(a, b) for a, b > 0. */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** ln Σ exp(values), stable for large magnitudes; an empty list gives the most negative finite number. */
export function logSumExp(values: readonly number[]): number {
  if (values.length === 0) return -MAX;
  let top = -Infinity;
  for (const v of values) top = max(top, v);
  let sum = 0;
  for (const v of values) sum += exp(v - top);
  return top + log(sum);
}

/** x·ln(y), with 0·ln(0) = 0 (a count of zero contributes nothing to a likelihood). */
export function xLogY(x: number, y: number): number {
  return x === 0 ? 0 : x * log(y);
}

/** Rounds to a number of significant digits, for records and notifications (never for the statistic itself). */
export function significant(value: number, digits = 4): number {
  if (!finite(value)) return value > 0 ? MAX : value < 0 ? -MAX : 0;
  return value === 0 ? 0 : +value.toPrecision(digits);
}

/** Clamps a log-evidence value into the finite range JSON can carry. */
export function finiteLog(value: number): number {
  if (nan(value)) return 0;
  return max(-MAX, min(MAX, value));
}

/** An e-value for people, from its log10: `0.28`, `31`, `4,210`, or `10^12.3` when it is astronomical. */
export function formatEvidence(log10: number): string {
  if (log10 >= 6) return `10^${significant(log10, 3)}`;
  const value = 10 ** log10;
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : String(significant(value, 2));
}
