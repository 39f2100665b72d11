import type { CheckSpec } from './plan';

/**
 * Checks a plan may name without writing PromQL: `{ "name": "error-rate", "max": 0.02 }`.
 * Every query is about the canary; every one has a sample count so that a quiet canary is
 * "no data", never a pass.
 */

export interface BuiltinCheck {
  readonly query: string;
  readonly samplesQuery?: string;
  readonly minSamples?: number;
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

const requests = (extra = '') => `{{ requestsMetric }}{ {{ canarySelector }}${extra} }[{{ window }}]`;
// `or vector(0)`: a canary that served no 5xx has no error series at all; that is a rate of 0, not "no data".
const errorRatio = `(sum(rate(${requests(', {{ statusLabel }}=~"5.."')})) or vector(0)) / sum(rate(${requests()}))`;
const requestCount = `sum(increase(${requests()}))`;
const quantile = (q: number) =>
  `histogram_quantile(${q}, sum by (le) (rate({{ durationMetric }}_bucket{ {{ canarySelector }} }[{{ window }}])))`;

/** Requests a check needs in its window before its value means anything. */
export const DEFAULT_MIN_SAMPLES = 20;

export const BUILTIN_CHECKS: Readonly<Record<string, BuiltinCheck>> = {
  'error-rate': {
    description: 'share of the canary requests answered 5xx',
    query: errorRatio,
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    max: 0.01,
  },
  'success-rate': {
    description: 'share of the canary requests not answered 5xx',
    query: `1 - ${errorRatio}`,
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    min: 0.99,
  },
  'latency-p99': {
    description: '99th percentile of the canary request duration, seconds',
    query: quantile(0.99),
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    max: 0.5,
  },
  'latency-p95': {
    description: '95th percentile of the canary request duration, seconds',
    query: quantile(0.95),
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    max: 0.3,
  },
  'latency-p50': {
    description: 'median canary request duration, seconds',
    query: quantile(0.5),
    samplesQuery: requestCount,
    minSamples: DEFAULT_MIN_SAMPLES,
    max: 0.1,
  },
  'memory-bytes': {
    description: 'largest resident memory of a canary process, bytes (give a max)',
    query: 'max(process_resident_memory_bytes{ {{ canarySelector }} })',
    samplesQuery: 'count(process_resident_memory_bytes{ {{ canarySelector }} })',
    minSamples: 1,
  },
};

export const BUILTIN_CHECK_NAMES = Object.keys(BUILTIN_CHECKS);

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
      query: `100 * ${canary} / (${canary} + (${intervalRequests('stableSelector')} or vector(0)))`,
      min: Math.max(0, cursor.weight - DRY_RUN_SHARE_TOLERANCE_POINTS),
      max: Math.min(100, cursor.weight + DRY_RUN_SHARE_TOLERANCE_POINTS),
      samplesQuery: `sum(increase({{ requestsMetric }}{ {{ canarySelector }} }[{{ interval }}]))`,
      minSamples: 1,
    },
  ];
}
