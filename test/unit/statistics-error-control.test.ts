import { Rng } from '../../bench/judge/rng';
import {
  initialSequentialState,
  priorWithMean,
  proportionBounds,
  resolveSequentialConfig,
  stepSequentialTest,
  type SequentialTestInput,
} from '../../lambdas/domain/statistics';
import { normalQuantile } from '../../bench/judge/mann-whitney';

/**
 * Error-rate control shown by simulation, with a fixed seed: thousands of rollouts with binomial noise,
 * judged after every interval (5 at 5%, then 10–15 at 25%), against the false-rollback rate α.
 */

interface Simulation {
  readonly runs: number;
  readonly intervals: number;
  readonly traffic: number;
  readonly stableRate: number;
  /** The canary's rate given the stable's rate of the interval. */
  readonly canaryRate: (stable: number) => number;
  /** Lognormal σ of a per-interval factor both versions share (dependency weather). */
  readonly shared?: number;
  readonly seed: number;
}

/** Fraction of runs the sequential test failed, and how many intervals it took when it did. */
function simulate(input: SequentialTestInput, sim: Simulation): { rate: number; detections: number[] } {
  const config = resolveSequentialConfig({ minSamples: 1, ...input });
  const rng = new Rng(sim.seed);
  let failed = 0;
  const detections: number[] = [];
  for (let r = 0; r < sim.runs; r++) {
    let state = initialSequentialState(config);
    for (let t = 0; t < sim.intervals; t++) {
      const weight = t < 5 ? 0.05 : 0.25;
      const shared = sim.shared ? Math.exp(sim.shared * rng.normal() - sim.shared ** 2 / 2) : 1;
      const canaryRequests = rng.binomial(sim.traffic, weight);
      const stableRequests = sim.traffic - canaryRequests;
      const stableRate = sim.stableRate * shared;
      const result = stepSequentialTest(config, state, {
        canary: { requests: canaryRequests, bad: rng.binomial(canaryRequests, Math.min(1, sim.canaryRate(stableRate))) },
        stable: { requests: stableRequests, bad: rng.binomial(stableRequests, stableRate) },
      });
      state = result.state;
      if (result.verdict === 'fail') {
        failed++;
        detections.push(t + 1);
        break;
      }
    }
  }
  return { rate: failed / sim.runs, detections };
}

/** The rate α may not exceed, with three binomial standard errors of simulation noise. */
const ceiling = (alpha: number, runs: number) => alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs);

describe('false rollbacks stay under α at every peek (seeded simulation)', () => {
  it('at the edge of the null (canary exactly maxRatio × stable), α 0.05, 20 peeks', () => {
    const { rate } = simulate({ alpha: 0.05, maxRatio: 1.5 }, { runs: 600, intervals: 20, traffic: 4000, stableRate: 0.01, canaryRate: (s) => 1.5 * s, seed: 1 });
    expect(rate).toBeLessThanOrEqual(ceiling(0.05, 600));
  });

  it('healthy A/A rollouts with weather both versions share, default α 0.01', () => {
    const { rate } = simulate(
      { alpha: 0.01, maxRatio: 1.5, slo: 0.01 },
      { runs: 1000, intervals: 15, traffic: 2400, stableRate: 0.005, canaryRate: (s) => s, shared: 0.3, seed: 2 },
    );
    expect(rate).toBeLessThanOrEqual(ceiling(0.01, 1000));
  });

  it('the increase axis at its edge (canary = stable + maxIncrease)', () => {
    const { rate } = simulate({ alpha: 0.05, maxIncrease: 0.005 }, { runs: 600, intervals: 15, traffic: 6000, stableRate: 0.01, canaryRate: (s) => s + 0.005, seed: 3 });
    expect(rate).toBeLessThanOrEqual(ceiling(0.05, 600));
  });

  it('the slo axis at its edge (canary exactly at the SLO)', () => {
    const { rate } = simulate({ alpha: 0.05, slo: 0.02, requireAboveSlo: true }, { runs: 600, intervals: 15, traffic: 6000, stableRate: 0.02, canaryRate: () => 0.02, seed: 4 });
    expect(rate).toBeLessThanOrEqual(ceiling(0.05, 600));
  });

  it('while a fixed-sample test read at every peek false-alarms far above its level', () => {
    // The same A/A rollouts, judged each interval by a one-sided two-proportion z-test at 1% on cumulative counts.
    const rng = new Rng(5);
    const z = normalQuantile(0.99);
    const runs = 1500;
    let alarms = 0;
    for (let r = 0; r < runs; r++) {
      let [nc, ec, ns, es] = [0, 0, 0, 0];
      for (let t = 0; t < 15; t++) {
        const c = rng.binomial(2400, t < 5 ? 0.05 : 0.25);
        nc += c;
        ns += 2400 - c;
        ec += rng.binomial(c, 0.005);
        es += rng.binomial(2400 - c, 0.005);
        const pooled = (ec + es) / (nc + ns);
        const se = Math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / ns));
        if (se > 0 && (ec / nc - es / ns) / se > z) {
          alarms++;
          break;
        }
      }
    }
    // About one rollout in ten: ten times its level.
    expect(alarms / runs).toBeGreaterThan(0.05);
  });
});

describe('power on known regressions (seeded simulation)', () => {
  it('a canary 4× the stable (2% vs 0.5%) at 5% of 20k requests a minute: always caught, 95% within 5 intervals', () => {
    const { rate, detections } = simulate(
      { alpha: 0.0025, maxRatio: 1.5, slo: 0.01 },
      { runs: 200, intervals: 15, traffic: 20000, stableRate: 0.005, canaryRate: () => 0.02, seed: 6 },
    );
    expect(rate).toBe(1);
    expect(Math.min(...detections)).toBe(2);
    expect(detections.filter((d) => d <= 5).length / detections.length).toBeGreaterThanOrEqual(0.95);
  });

  it('10× the SLO at 2000 canary requests a minute aborts at the first interval (in ≥ 98% of runs)', () => {
    const { rate, detections } = simulate(
      { alpha: 0.0025, maxRatio: 1.5, slo: 0.01 },
      { runs: 200, intervals: 15, traffic: 40000, stableRate: 0.005, canaryRate: () => 0.1, seed: 7 },
    );
    expect(rate).toBe(1);
    expect(detections.filter((d) => d === 1).length / detections.length).toBeGreaterThanOrEqual(0.98);
  });
});

describe('the confidence sequence of a proportion', () => {
  it('covers the true rate at every look at once in at least 1 − γ of runs', () => {
    const rng = new Rng(8);
    const runs = 400;
    let misses = 0;
    for (let r = 0; r < runs; r++) {
      let [bad, total] = [0, 0];
      for (let t = 0; t < 30; t++) {
        total += 500;
        bad += rng.binomial(500, 0.01);
        const { lower, upper } = proportionBounds(bad, total, 0.05, priorWithMean(0.01));
        if (lower > 0.01 || upper < 0.01) {
          misses++;
          break;
        }
      }
    }
    expect(misses / runs).toBeLessThanOrEqual(ceiling(0.05, runs));
  });

  it('brackets the estimate and narrows as data comes in', () => {
    const small = proportionBounds(5, 500, 0.05, priorWithMean(0.01));
    const large = proportionBounds(50, 5000, 0.05, priorWithMean(0.01));
    expect(small.lower).toBeLessThan(0.01);
    expect(small.upper).toBeGreaterThan(0.01);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
    expect(proportionBounds(0, 0, 0.05, priorWithMean(0.01))).toEqual({ lower: 0, upper: 1 });
    expect(proportionBounds(0, 1000, 0.05, priorWithMean(0.01)).lower).toBe(0);
    expect(proportionBounds(1000, 1000, 0.05, priorWithMean(0.01)).upper).toBe(1);
  });
});
