import { logBeta, xLogY } from './numeric';

/**
 * An anytime-valid confidence sequence for a proportion: Robbins' beta-binomial mixture.
 *
 * For independent requests that are "bad" with probability p, and a Beta(a, b) prior on p,
 *   M_n(p) = B(a + S, b + n − S) / B(a, b) / (p^S (1 − p)^(n − S))      (S bad among n)
 * is a nonnegative martingale with M_0 = 1 under p, so by Ville's inequality
 *   P(∃ n : M_n(p) ≥ 1/γ) ≤ γ.
 * The set { p : M_n(p) < 1/γ } therefore covers the true p at every n at once, with probability 1 − γ:
 * it may be looked at after every interval without inflating its error. It is an interval because
 * −ln M_n(p) is concave in p with its top at S/n.
 *
 * References: H. Robbins, "Statistical methods related to the law of the iterated logarithm",
 * Ann. Math. Statist. 41 (1970); S. R. Howard, A. Ramdas, J. McAuliffe, J. Sekhon, "Time-uniform,
 * nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49 (2021), §3 (conjugate mixtures).
 */

/** Beta prior of the mixture: a mean near the rate one expects makes the bounds tightest there. */
export interface BetaPrior {
  readonly a: number;
  readonly b: number;
}

/** A Beta(1, (1 − m)/m) prior: mean m, weak (worth one observation of "bad"). */
export function priorWithMean(mean: number): BetaPrior {
  const m = Math.min(0.5, Math.max(1e-6, mean));
  return { a: 1, b: (1 - m) / m };
}

/** ln M_n(p): the log-evidence against "the proportion is p" after S bad among n. */
export function logMixtureEvidence(bad: number, total: number, p: number, prior: BetaPrior): number {
  return logBeta(prior.a + bad, prior.b + total - bad) - logBeta(prior.a, prior.b) - xLogY(bad, p) - xLogY(total - bad, 1 - p);
}

export interface ProportionBounds {
  readonly lower: number;
  readonly upper: number;
}

// Bisection steps: 2^-44 of the unit interval is far below any rate that matters.
const ITERATIONS = 44;

/** The confidence sequence at level 1 − γ after `bad` of `total`: bounds that hold at every look at once. */
export function proportionBounds(bad: number, total: number, gamma: number, prior: BetaPrior): ProportionBounds {
  if (total <= 0) return { lower: 0, upper: 1 };
  const limit = Math.log(1 / gamma);
  const estimate = bad / total;
  const mixture = logBeta(prior.a + bad, prior.b + total - bad) - logBeta(prior.a, prior.b);
  const outside = (p: number) => mixture - xLogY(bad, p) - xLogY(total - bad, 1 - p) >= limit;
  let upper = 1;
  if (bad < total) {
    let inside = estimate;
    let out = 1;
    for (let i = 0; i < ITERATIONS; i++) {
      const mid = (inside + out) / 2;
      if (outside(mid)) out = mid;
      else inside = mid;
    }
    upper = out;
  }
  let lower = 0;
  if (bad > 0) {
    let inside = estimate;
    let out = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const mid = (inside + out) / 2;
      if (outside(mid)) out = mid;
      else inside = mid;
    }
    lower = out;
  }
  return { lower, upper };
}
