import type { IntervalCounts, VersionCounts } from '../../lambdas/domain/statistics';
import { Rng } from './rng';
import type { Scenario, ScenarioFile, Slo } from './scenario';

/**
 * The seeded scenario generator. Every scenario is one rollout of the default plan: 5 intervals at 5%,
 * then 10 at 25% (300 s and 600 s holds at 60 s intervals). Per interval:
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
const WEIGHTS = [5, 5, 5, 5, 5, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25];

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
  /** Edits the truths of a healthy rollout; returns the first bad interval (null: healthy). */
  readonly apply: (truths: Truth[], ctx: Context, rng: Rng) => number | null;
}

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
      for (let t = from; t < truths.length; t++) truths[t].canary[metric] = factor * ctx.sloOf[metric] * jitter(rng, 0.1);
      return from;
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
      return null;
    },
  };
}

const jitter = (rng: Rng, sigma: number) => Math.exp(sigma * rng.normal() - (sigma * sigma) / 2);
const metricOf = (rng: Rng): Metric => (rng.next() < 0.5 ? 'errors' : 'slow');

const FAMILIES: readonly Family[] = [
  { name: 'healthy-high', count: 80, expect: 'promote', traffic: (i) => (i % 2 === 0 ? 'high' : 'medium'), apply: () => null },
  {
    name: 'healthy-low',
    count: 80,
    expect: 'promote',
    traffic: () => 'low',
    apply: (truths, _ctx, rng) => {
      // A third of them lose the canary's numbers for an interval or two (pod restart, scrape gap).
      if (rng.next() < 0.3) for (let g = rng.int(1, 2); g > 0; g--) truths[rng.int(1, truths.length - 2)].canaryDark = true;
      return null;
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
      return null;
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
      return first ?? truths.length - 1;
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
      for (let t = from; t < truths.length; t++) {
        truths[t].stableTraffic = amplification;
        truths[t].stable.errors = errors * jitter(rng, 0.1);
        if (slow !== null) truths[t].stable.slow = slow * jitter(rng, 0.1);
      }
      return from;
    },
  },
  {
    // The canary gets no traffic at all (a routing mistake): must never promote.
    name: 'no-canary-data',
    count: 20,
    expect: 'rollback',
    traffic: cycle,
    apply: (truths) => {
      for (const truth of truths) truth.canaryDark = true;
      return 0;
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

function scenario(family: Family, index: number, rng: Rng): Scenario {
  const trafficClass = family.traffic(index, rng);
  const [lo, hi] = TRAFFIC[trafficClass];
  const traffic = rng.logUniform(lo, hi);
  const slo = rng.pick(SLOS);
  const sloOf: Rates = { errors: slo.errorRate, slow: 1 - slo.latencyQuantile };
  const base: Rates = { errors: sloOf.errors * rng.uniform(0.1, 0.6), slow: sloOf.slow * rng.uniform(0.1, 0.6) };
  const canaryFactor: Rates = { errors: rng.uniform(0.8, 1.25), slow: rng.uniform(0.8, 1.25) };
  const truths: Truth[] = WEIGHTS.map(() => {
    const environment = jitter(rng, 0.25);
    const own = (metric: Metric, factor = 1) => base[metric] * factor * environment * jitter(rng, 0.1);
    return {
      canary: { errors: own('errors', canaryFactor.errors), slow: own('slow', canaryFactor.slow) },
      stable: { errors: own('errors'), slow: own('slow') },
      stableTraffic: 1,
      canaryDark: false,
    };
  });
  const fault = family.apply(truths, { slo, sloOf, base }, rng);
  const intervals: IntervalCounts[] = truths.map((truth, t) => {
    const total = Math.round(traffic * jitter(rng, 0.1));
    const canaryRequests = truth.canaryDark ? 0 : rng.binomial(total, WEIGHTS[t] / 100);
    const stableRequests = Math.round((total - canaryRequests) * truth.stableTraffic);
    return { canary: sample(rng, canaryRequests, truth.canary), stable: sample(rng, stableRequests, truth.stable) };
  });
  return {
    name: `${family.name}/${trafficClass}/${String(index).padStart(3, '0')}`,
    expect: family.expect,
    faultFromInterval: family.expect === 'rollback' ? fault : null,
    slo,
    intervals,
  };
}

/** The default benchmark: 600 scenarios over every family, the same for a given seed. */
export function generateScenarios(seed = DEFAULT_SEED): ScenarioFile {
  const rng = new Rng(seed);
  const scenarios: Scenario[] = [];
  for (const family of FAMILIES) for (let i = 0; i < family.count; i++) scenarios.push(scenario(family, i, rng));
  return { scenarios };
}

/** The family of a scenario: its name up to the first `/` (the generator names them family/traffic/index). */
export function familyOf(name: string): string {
  const slash = name.indexOf('/');
  return slash > 0 ? name.slice(0, slash) : 'unlabelled';
}

export const FAMILY_ORDER = FAMILIES.map((f) => f.name);
