import type { CheckSpec } from './plan';

/**
 * Checks a plan may name without writing PromQL: `{ "name": "error-rate", "max": 0.02 }`.
 *
 * Each built-in has a default judge and the judges it accepts (`judge` in the plan picks another):
 * - `threshold`: the query's value against `min`/`max` over the analysis window (the static judging of the core
 *   engine); every query counts its samples, so a quiet canary is "no data", never a pass.
 * - `sequential`: counts of bad requests (5xx; requests slower than `max` seconds) of the canary against the stable
 *   version, judged with an anytime-valid sequential test (statistics/sequential-test.ts).
 * - `stable-guard`: the stable version's bad requests against the SLO, for what only shows there (a retry storm).
 * - `gauge-trend`: a gauge (memory) against `max`, plus the trend of the window projected ahead.
 */

/** How a check is judged. */
export const CHECK_JUDGES = ['threshold', 'sequential', 'stable-guard', 'gauge-trend'] as const;
export type CheckJudge = (typeof CHECK_JUDGES)[number];

/** Judges that work on the shared request counts rather than on a query of their own. */
export const COUNT_JUDGES: readonly CheckJudge[] = ['sequential', 'stable-guard'];

/** What a count-based check counts as a bad request (of the canary when judged `sequential`, of stable as a `stable-guard`). */
export interface CountedTemplate {
  readonly count: 'errors' | 'slow';
  /** The SLO: the largest acceptable share of bad requests. */
  readonly slo: number;
  /** For `slow`: the latency bound, seconds (a histogram bucket `le`). */
  readonly max?: number;
  /** A stable guard takes its SLO (and latency bound) from this canary check of the same plan, when that one has them. */
  readonly follows?: string;
}

export interface BuiltinCheck {
  readonly description: string;
  /** The judge a plan gets when it names the check and no judge. */
  readonly judge: CheckJudge;
  /** The judges the check may be given. */
  readonly judges: readonly CheckJudge[];
  /** Threshold and gauge judging: the query (one number), its sample count, and the built-in thresholds. */
  readonly query?: string;
  readonly samplesQuery?: string;
  readonly minSamples?: number;
  readonly min?: number;
  readonly max?: number;
  /** Count-based judging: what is counted. */
  readonly counted?: CountedTemplate;
}

const requests = (extra = '') => `{{ requestsMetric }}{ {{ canarySelector }}${extra} }[{{ window }}]`;
// `or vector(0)`: a canary that served no 5xx has no error series at all; that is a rate of 0, not "no data".
const errorRatio = `(sum(rate(${requests(', {{ statusLabel }}=~"5.."')})) or vector(0)) / sum(rate(${requests()}))`;
const requestCount = `sum(increase(${requests()}))`;
const quantile = (q: number) =>
  `histogram_quantile(${q}, sum by (le) (rate({{ durationMetric }}_bucket{ {{ canarySelector }} }[{{ window }}])))`;

/** Requests a threshold check needs in its window before its value means anything. */
export const DEFAULT_MIN_SAMPLES = 20;

/** Canary requests (since the rollout began) a sequential check needs before it may pass. */
export const DEFAULT_SEQUENTIAL_MIN_SAMPLES = 20;

/** The tunables a sequential check gets when it sets none: the settings that won the judge benchmark (bench/judge). */
export const SEQUENTIAL_CHECK_DEFAULTS = { maxRatio: 1.5, fastAbortFactor: 5, detectFactor: 1.75, minSamples: DEFAULT_SEQUENTIAL_MIN_SAMPLES } as const;

/** The stable guard's default: the stable must be above the SLO this many intervals in a row. */
export const STABLE_GUARD_CHECK_DEFAULTS = { sustainIntervals: 3 } as const;

/** A latency check at quantile q: the p-quantile ≤ max seconds, i.e. at most 1 − q of requests slower than max. */
function latency(q: number, max: number, label: string): BuiltinCheck & { readonly query: string; readonly samplesQuery: string } {
  return {
    description: `${label} of the canary request duration, seconds`,
    judge: 'sequential',
    judges: ['sequential', 'threshold'],
    query: quantile(q),
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    max,
    counted: { count: 'slow', max, slo: Math.round((1 - q) * 1e9) / 1e9 },
  };
}

export const BUILTIN_CHECKS = {
  'error-rate': {
    description: 'share of the canary requests answered 5xx',
    judge: 'sequential',
    judges: ['sequential', 'threshold'],
    query: errorRatio,
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    max: 0.01,
    counted: { count: 'errors', slo: 0.01 },
  },
  // Threshold only: it is 1 − error-rate, so judging it sequentially would test the same counts twice (α spent twice).
  'success-rate': {
    description: 'share of the canary requests not answered 5xx',
    judge: 'threshold',
    judges: ['threshold'],
    query: `1 - ${errorRatio}`,
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    min: 0.99,
  },
  'latency-p99': latency(0.99, 0.5, '99th percentile'),
  'latency-p95': latency(0.95, 0.3, '95th percentile'),
  'latency-p50': latency(0.5, 0.1, 'median'),
  'stable-error-rate': {
    description: 'share of the stable requests answered 5xx, guarded against the SLO while the canary runs',
    judge: 'stable-guard',
    judges: ['stable-guard'],
    counted: { count: 'errors', slo: 0.01, follows: 'error-rate' },
  },
  'stable-latency-p99': {
    description: 'share of the stable requests slower than the p99 bound, guarded against the SLO while the canary runs',
    judge: 'stable-guard',
    judges: ['stable-guard'],
    counted: { count: 'slow', max: 0.5, slo: 0.01, follows: 'latency-p99' },
  },
  'memory-bytes': {
    description: 'largest resident memory of a canary process, bytes (give a max)',
    judge: 'gauge-trend',
    judges: ['gauge-trend', 'threshold'],
    query: 'max(process_resident_memory_bytes{ {{ canarySelector }} })',
    samplesQuery: 'count(process_resident_memory_bytes{ {{ canarySelector }} })',
    minSamples: 1,
  },
} as const satisfies Readonly<Record<string, BuiltinCheck>>;

/** The built-in check of a name, if there is one. */
export function builtinCheck(name: string): BuiltinCheck | undefined {
  return Object.hasOwn(BUILTIN_CHECKS, name) ? (BUILTIN_CHECKS as Readonly<Record<string, BuiltinCheck>>)[name] : undefined;
}

export const BUILTIN_CHECK_NAMES = Object.keys(BUILTIN_CHECKS);

/**
 * The checks of the static threshold judging, the engine's default before the statistical judge: pin them in a
 * plan (`"checks": THRESHOLD_CHECKS`) to keep that behaviour. The stable guards are switched off, since they
 * belong to the statistical default.
 */
export const THRESHOLD_CHECKS = [
  { name: 'error-rate', judge: 'threshold' },
  { name: 'latency-p99', judge: 'threshold' },
  { name: 'success-rate', judge: 'threshold' },
  { name: 'stable-error-rate', enabled: false },
  { name: 'stable-latency-p99', enabled: false },
] as const;

/** How far, in percentage points, the canary's observed share of requests may be from its weight in a dry run. */
export const DRY_RUN_SHARE_TOLERANCE_POINTS = 2;

const intervalRequests = (selector: string) => `sum(rate({{ requestsMetric }}{ {{ ${selector} }} }[{{ interval }}]))`;

/**
 * The routing check of a dry run: the canary's share of requests over the last interval matches the weight.
 * Not judged in the first interval after a shift, whose window still holds traffic of the previous weight.
 * A canary without metrics (mislabelled series) gives no data here and in every plan check: the dry run fails loudly.
 */
export function dryRunChecks(cursor: { weight: number; stepAnalyses: number }): CheckSpec[] {
  if (cursor.stepAnalyses === 0) return [];
  const canary = intervalRequests('canarySelector');
  return [
    {
      name: 'traffic-share',
      judge: 'threshold',
      query: `100 * ${canary} / (${canary} + (${intervalRequests('stableSelector')} or vector(0)))`,
      min: Math.max(0, cursor.weight - DRY_RUN_SHARE_TOLERANCE_POINTS),
      max: Math.min(100, cursor.weight + DRY_RUN_SHARE_TOLERANCE_POINTS),
      samplesQuery: `sum(increase({{ requestsMetric }}{ {{ canarySelector }} }[{{ interval }}]))`,
      minSamples: 1,
    },
  ];
}
