// Module-scope aliases: a global lookup is slow inside the test runner's vm context.
const { imul, sqrt, log, cos, exp, round, max, min, floor, PI } = Math;

/**
 * A seeded random source (mulberry32) and the samplers the generator needs. Deterministic: the same seed
 * gives the same scenarios on every machine.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Log-uniform in [lo, hi): traffic spans orders of magnitude. */
  logUniform(lo: number, hi: number): number {
    return exp(this.uniform(log(lo), log(hi)));
  }

  /** Whole number in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + floor(this.next() * (hi - lo + 1));
  }

  /** One of the items. */
  pick<T>(items: readonly T[]): T {
    return items[floor(this.next() * items.length)];
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return sqrt(-2 * log(u)) * cos(2 * PI * v);
  }

  /** Binomial(n, p): exact by inversion when the mean is small, normal approximation (rounded, clipped) when large. */
  binomial(n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - this.binomial(n, 1 - p);
    const mean = n * p;
    if (mean < 40) {
      // Inversion: walk the pmf from 0 with the recurrence P(k+1) = P(k)·(n−k)/(k+1)·p/(1−p).
      const u = this.next();
      const q = 1 - p;
      let pk = exp(n * log(q));
      let cumulative = pk;
      let k = 0;
      while (u > cumulative && k < n) {
        pk *= ((n - k) / (k + 1)) * (p / q);
        k++;
        cumulative += pk;
        if (pk < 1e-300 && k > mean) break;
      }
      return k;
    }
    const x = round(mean + sqrt(mean * (1 - p)) * this.normal());
    return max(0, min(n, x));
  }
}

/** FNV-1a of a name: the seed of a random stream tied to a scenario, the same on every run of the benchmark. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
