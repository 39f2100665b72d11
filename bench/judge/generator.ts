import { DEFAULT_PLAN } from '../../lambdas/domain/plan';
import type { IntervalCounts, VersionCounts } from '../../lambdas/domain/statistics';
import { Rng, seedOf } from './rng';
import type { Scenario, ScenarioFile, Slo } from './scenario';

/**
 * The seeded scenario generator. Every scenario is one rollout of the default plan: 5 intervals at 5%,
 * then 10 at 25% (300 s and 600 s holds at 60 s intervals), followed by `continuation` intervals at 25% (default 30)
 * that only a run still held at the end of the plan gets to see (run.ts). Per interval:
 *   total requests  = traffic × lognormal jitter (σ 0.1); the canary's share is Binomial(total, weight);
 *   a version's rate = its base rate × a shared environment factor (lognormal σ 0.25: both versions see the
 *                     same dependency weather) × its own jitter (lognormal σ 0.1);
 *   errors, slow    = Binomial(requests, rate), independently.
 * Base rates are 10–60% of the SLO (errors: of errorRate; slow: of 1 − latencyQuantile). A healthy canary
 * differs from stable by a factor in [0.8, 1.25] (a new release is never identical). Traffic classes
 * (requests per 60 s interval, both versions): high 20k–100k, medium 3k–20k, low 400–3k (7–50 rps;
 * 20–150 canary requests per interval at 5%).
 */

export const DEFAULT_SEED = 6;
/** The default plan's analyses: 5 at 5%, then 10 at 25%. Every fault, blip and gap of a scenario lies within them. */
const PLANNED_WEIGHTS = [5, 5, 5, 5, 5, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25];
export const PLANNED_INTERVALS = PLANNED_WEIGHTS.length;
const CONTINUATION_WEIGHT = 25;
/**
 * Intervals after the planned ones, at 25%, the same process continued: what a run sees that the engine still holds at
 * the end of the plan (too few passing intervals, or the power hold). As many as the engine holds a step for power
 * (`analysis.underpoweredLimit`), after which it fails closed and rolls back.
 */
export const DEFAULT_CONTINUATION: number = DEFAULT_PLAN.analysis.underpoweredLimit;

type Traffic = 'high' | 'medium' | 'low';
const TRAFFIC: Record<Traffic, [number, number]> = { high: [20_000, 100_000], medium: [3_000, 20_000], low: [400, 3_000] };
const CLASSES: readonly Traffic[] = ['high', 'medium', 'low'];

type Metric = 'errors' | 'slow';

interface Rates {
  errors: number;
  slow: number;
}

/** One interval's true rates and traffic before sampling; families edit these. */
interface Truth {
  canary: Rates;
  stable: Rates;
  /** Multiplies the stable's requests (a retry storm adds requests). */
  stableTraffic: number;
  /** The canary receives no traffic this interval (misrouting, a scrape gap). */
  canaryDark: boolean;
}

interface Family {
  readonly name: string;
  readonly count: number;
  readonly expect: 'promote' | 'rollback';
  readonly traffic: (i: number, rng: Rng) => Traffic;
  /** Edits the truths of a healthy rollout's planned intervals; returns the first bad interval (null: healthy). */
  readonly apply: (truths: Truth[], ctx: Context, rng: Rng) => Applied;
}

/** What a family did to a rollout: its first bad interval, and how it goes on in the continuation. */
interface Applied {
  readonly fault: number | null;
  /** Edits a healthy truth of the continuation (the fault persists); unset: nothing to continue (healthy, blips). */
  readonly next?: (truth: Truth, rng: Rng) => void;
}

const healthy: Applied = { fault: null };

interface Context {
  readonly slo: Slo;
  readonly sloOf: Rates;
  readonly base: Rates;
}

const cycle = (i: number) => CLASSES[i % CLASSES.length];

function regression(metric: Metric, factor: number, count: number): Family {
  return {
    name: `${metric === 'errors' ? 'err' : 'lat'}-${factor}x`,
    count,
    expect: 'rollback',
    traffic: cycle,
    apply: (truths, ctx, rng) => {
      const from = rng.int(0, 6);
      const next = (truth: Truth, r: Rng) => void (truth.canary[metric] = factor * ctx.sloOf[metric] * jitter(r, 0.1));
      for (let t = from; t < truths.length; t++) next(truths[t], rng);
      return { fault: from, next };
    },
  };
}

/** A transient incident on some versions: 2–8× the SLO for one or two intervals, then back to normal. */
function blip(name: string, versions: readonly ('canary' | 'stable')[]): Family {
  return {
    name,
    count: 40,
    expect: 'promote',
    traffic: cycle,
    apply: (truths, ctx, rng) => {
      const metric = metricOf(rng);
      const start = rng.int(1, truths.length - 3);
      const duration = rng.int(1, 2);
      const level = rng.uniform(2, 8) * ctx.sloOf[metric];
      for (let t = start; t < start + duration; t++) for (const version of versions) truths[t][version][metric] = level * jitter(rng, 0.1);
      return healthy;
    },
  };
}

const jitter = (rng: Rng, sigma: number) => Math.exp(sigma * rng.normal() - (sigma * sigma) / 2);
const metricOf = (rng: Rng): Metric => (rng.next() < 0.5 ? 'errors' : 'slow');

const FAMILIES: readonly Family[] = [
  { name: 'healthy-high', count: 80, expect: 'promote', traffic: (i) => (i % 2 === 0 ? 'high' : 'medium'), apply: () => healthy },
  {
    name: 'healthy-low',
    count: 80,
    expect: 'promote',
    traffic: () => 'low',
    apply: (truths, _ctx, rng) => {
      // A third of them lose the canary's numbers for an interval or two (pod restart, scrape gap).
      if (rng.next() < 0.3) for (let g = rng.int(1, 2); g > 0; g--) truths[rng.int(1, truths.length - 2)].canaryDark = true;
      return healthy;
    },
  },
  // A dependency hiccup: both versions at 2–8× the SLO for one or two intervals.
  blip('blip-shared', ['canary', 'stable']),
  // Something on the stable's side alone (a noisy neighbour, a GC storm): 2–8× the SLO for one or two intervals.
  blip('blip-stable', ['stable']),
  {
    // The canary alone for one interval (cold start, a warming cache): 2–5× the SLO.
    name: 'blip-canary',
    count: 40,
    expect: 'promote',
    traffic: cycle,
    apply: (truths, ctx, rng) => {
      const metric = metricOf(rng);
      truths[rng.int(0, truths.length - 3)].canary[metric] = rng.uniform(2, 5) * ctx.sloOf[metric];
      return healthy;
    },
  },
  regression('errors', 1.5, 40),
  regression('errors', 2, 40),
  regression('errors', 5, 40),
  regression('errors', 10, 40),
  regression('slow', 1.5, 15),
  regression('slow', 2, 15),
  regression('slow', 5, 15),
  regression('slow', 10, 15),
  {
    // A leak or a filling queue: from a start, the canary's rate climbs linearly to 4–8× the SLO by the end.
    name: 'gradual',
    count: 40,
    expect: 'rollback',
    traffic: cycle,
    apply: (truths, ctx, rng) => {
      const metric = metricOf(rng);
      const start = rng.int(0, 4);
      const peak = rng.uniform(4, 8) * ctx.sloOf[metric];
      let first: number | null = null;
      for (let t = start; t < truths.length; t++) {
        const healthy = truths[t].canary[metric];
        const rate = healthy + ((peak - healthy) * (t - start + 1)) / (truths.length - start);
        truths[t].canary[metric] = rate;
        if (first === null && rate > ctx.sloOf[metric]) first = t;
      }
      // From the end of the plan on it stays at its peak.
      return { fault: first ?? truths.length - 1, next: (truth) => void (truth.canary[metric] = peak) };
    },
  },
  {
    // The canary's failures make clients retry against stable: stable traffic ×1.3–2, its errors 2–6× the SLO
    // (half the time its latency too), while the canary's own numbers stay healthy.
    name: 'retry-storm',
    count: 40,
    expect: 'rollback',
    traffic: cycle,
    apply: (truths, ctx, rng) => {
      const from = rng.int(2, 7);
      const amplification = rng.uniform(1.3, 2);
      const errors = rng.uniform(2, 6) * ctx.sloOf.errors;
      const slow = rng.next() < 0.5 ? rng.uniform(2, 4) * ctx.sloOf.slow : null;
      const next = (truth: Truth, r: Rng) => {
        truth.stableTraffic = amplification;
        truth.stable.errors = errors * jitter(r, 0.1);
        if (slow !== null) truth.stable.slow = slow * jitter(r, 0.1);
      };
      for (let t = from; t < truths.length; t++) next(truths[t], rng);
      return { fault: from, next };
    },
  },
  {
    // The canary gets no traffic at all (a routing mistake): must never promote.
    name: 'no-canary-data',
    count: 20,
    expect: 'rollback',
    traffic: cycle,
    apply: (truths) => {
      const next = (truth: Truth) => void (truth.canaryDark = true);
      for (const truth of truths) next(truth);
      return { fault: 0, next };
    },
  },
];

const SLOS: readonly Slo[] = [
  { errorRate: 0.01, latencyThresholdSeconds: 0.5, latencyQuantile: 0.99 },
  { errorRate: 0.01, latencyThresholdSeconds: 0.5, latencyQuantile: 0.99 },
  { errorRate: 0.005, latencyThresholdSeconds: 0.3, latencyQuantile: 0.95 },
  { errorRate: 0.02, latencyThresholdSeconds: 1, latencyQuantile: 0.99 },
];

const sample = (rng: Rng, requests: number, rates: Rates): VersionCounts => ({
  requests,
  errors: rng.binomial(requests, Math.min(0.95, rates.errors)),
  slow: rng.binomial(requests, Math.min(0.95, rates.slow)),
});

/**
 * One scenario: the plan's intervals from the benchmark's stream `rng`, then `continuation` more at 25% from a stream
 * of the scenario's own, so that the plan's intervals are the same whatever the continuation.
 */
function scenario(family: Family, index: number, rng: Rng, seed: number, continuation: number): Scenario {
  const trafficClass = family.traffic(index, rng);
  const name = `${family.name}/${trafficClass}/${String(index).padStart(3, '0')}`;
  const [lo, hi] = TRAFFIC[trafficClass];
  const traffic = rng.logUniform(lo, hi);
  const slo = rng.pick(SLOS);
  const sloOf: Rates = { errors: slo.errorRate, slow: 1 - slo.latencyQuantile };
  const base: Rates = { errors: sloOf.errors * rng.uniform(0.1, 0.6), slow: sloOf.slow * rng.uniform(0.1, 0.6) };
  const canaryFactor: Rates = { errors: rng.uniform(0.8, 1.25), slow: rng.uniform(0.8, 1.25) };
  const healthyTruth = (r: Rng): Truth => {
    const environment = jitter(r, 0.25);
    const own = (metric: Metric, factor = 1) => base[metric] * factor * environment * jitter(r, 0.1);
    return {
      canary: { errors: own('errors', canaryFactor.errors), slow: own('slow', canaryFactor.slow) },
      stable: { errors: own('errors'), slow: own('slow') },
      stableTraffic: 1,
      canaryDark: false,
    };
  };
  const sampleInterval = (r: Rng, truth: Truth, weight: number): IntervalCounts => {
    const total = Math.round(traffic * jitter(r, 0.1));
    const canaryRequests = truth.canaryDark ? 0 : r.binomial(total, weight / 100);
    const stableRequests = Math.round((total - canaryRequests) * truth.stableTraffic);
    return { canary: sample(r, canaryRequests, truth.canary), stable: sample(r, stableRequests, truth.stable) };
  };

  const truths = PLANNED_WEIGHTS.map(() => healthyTruth(rng));
  const applied = family.apply(truths, { slo, sloOf, base }, rng);
  const intervals = truths.map((truth, t) => sampleInterval(rng, truth, PLANNED_WEIGHTS[t]));
  const own = new Rng(seedOf(`${seed}/${name}`));
  for (let t = 0; t < continuation; t++) {
    const truth = healthyTruth(own);
    applied.next?.(truth, own);
    intervals.push(sampleInterval(own, truth, CONTINUATION_WEIGHT));
  }
  return { name, expect: family.expect, faultFromInterval: family.expect === 'rollback' ? applied.fault : null, slo, intervals };
}

/** The default benchmark: 600 scenarios over every family, the same for a given seed and continuation. */
export function generateScenarios(seed = DEFAULT_SEED, continuation = DEFAULT_CONTINUATION): ScenarioFile {
  if (!Number.isInteger(continuation) || continuation < 0) throw new RangeError(`continuation must be a whole number ≥ 0, got ${continuation}`);
  const rng = new Rng(seed);
  const scenarios: Scenario[] = [];
  for (const family of FAMILIES) for (let i = 0; i < family.count; i++) scenarios.push(scenario(family, i, rng, seed, continuation));
  return { scenarios };
}

/** The family of a scenario: its name up to the first `/` (the generator names them family/traffic/index). */
export function familyOf(name: string): string {
  const slash = name.indexOf('/');
  return slash > 0 ? name.slice(0, slash) : 'unlabelled';
}

export const FAMILY_ORDER = FAMILIES.map((f) => f.name);
