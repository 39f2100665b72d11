import type { FieldIssue } from '../errors';

/**
 * The per-interval counts model. Error rate and latency SLOs are both proportions with a known sample
 * size, so each interval is judged on counts (the increase of counters over the interval), not on ratios:
 *   requests — requests served in the interval,
 *   errors   — of those, answered 5xx,
 *   slow     — of those, slower than the latency threshold: the histogram's count minus its bucket at
 *              that bound (`le`), i.e. the requests above the threshold.
 * A latency SLO "p99 ≤ 0.5 s" is the proportion statement "slow/requests ≤ 1 − 0.99" at le = 0.5.
 */

export interface VersionCounts {
  readonly requests: number;
  readonly errors: number;
  readonly slow: number;
}

/** One interval of both versions, as the analyze step measures it and the benchmark's scenarios list it. */
export interface IntervalCounts {
  readonly canary: VersionCounts;
  readonly stable: VersionCounts;
}

/** Which bad outcome a proportion check counts. */
export type CountedOutcome = 'errors' | 'slow';

/** A proportion's counts: `bad` of `requests`. */
export interface ProportionCounts {
  readonly requests: number;
  readonly bad: number;
}

/** The same proportion for both versions over the same interval. */
export interface PairCounts {
  readonly canary: ProportionCounts;
  readonly stable: ProportionCounts;
}

export const NO_COUNTS: ProportionCounts = { requests: 0, bad: 0 };

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** What is wrong with one interval's counts, as `field: message` issues under `root` (empty when valid). */
export function countIssues(counts: IntervalCounts, root: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const version of ['canary', 'stable'] as const) {
    const c = counts[version];
    for (const field of ['requests', 'errors', 'slow'] as const) {
      if (!isCount(c[field])) issues.push({ field: `${root}.${version}.${field}`, message: 'must be a whole number ≥ 0' });
    }
    for (const field of ['errors', 'slow'] as const) {
      if (isCount(c[field]) && isCount(c.requests) && c[field] > c.requests) {
        issues.push({ field: `${root}.${version}.${field}`, message: 'must not exceed requests' });
      }
    }
  }
  return issues;
}

/** The canary/stable pair of one outcome in one interval. */
export function pairOf(counts: IntervalCounts, outcome: CountedOutcome): PairCounts {
  return {
    canary: { requests: counts.canary.requests, bad: counts.canary[outcome] },
    stable: { requests: counts.stable.requests, bad: counts.stable[outcome] },
  };
}

/** Sum of two proportion counts. */
export function addCounts(a: ProportionCounts, b: ProportionCounts): ProportionCounts {
  return { requests: a.requests + b.requests, bad: a.bad + b.bad };
}

/** bad/requests, or null when nothing was served. */
export function rateOf(c: ProportionCounts): number | null {
  return c.requests > 0 ? c.bad / c.requests : null;
}

/** Whether a proportion's counts are usable: whole, non-negative, bad ≤ requests. */
export function validProportion(c: ProportionCounts): boolean {
  return isCount(c.requests) && isCount(c.bad) && c.bad <= c.requests;
}

/** Raw numbers from Prometheus for one version: null when the query returned no series. */
export interface RawVersionCounts {
  readonly requests: number | null;
  readonly errors: number | null;
  readonly slow: number | null;
}

/**
 * Turns `increase()` results into whole counts. Prometheus extrapolates `increase()` to the window's edges,
 * so the numbers are fractional and, rarely, a bad count exceeds the total by a rounding hair: round each,
 * and cap bad counts at the requests. No series means nothing happened (0), never "unknown": a query that
 * failed is the caller's `error`, not a count.
 */
export function normalizeCounts(raw: { readonly canary: RawVersionCounts; readonly stable: RawVersionCounts }): IntervalCounts {
  const whole = (v: number | null) => (v === null || !Number.isFinite(v) || v < 0 ? 0 : Math.round(v));
  const version = (r: RawVersionCounts): VersionCounts => {
    const requests = whole(r.requests);
    return { requests, errors: Math.min(requests, whole(r.errors)), slow: Math.min(requests, whole(r.slow)) };
  };
  return { canary: version(raw.canary), stable: version(raw.stable) };
}

/**
 * The `le` matcher of a histogram bucket at `seconds`. Client libraries write the bound as `0.5` or `1`,
 * some as `1.0`, and Prometheus 3 rewrites classic-histogram bounds to the float form, so whole numbers
 * match both spellings.
 */
export function leMatcher(seconds: number): string {
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new RangeError(`latency threshold must be a positive number of seconds, got ${seconds}`);
  const plain = String(seconds);
  return Number.isInteger(seconds) ? `le=~"${plain}|${seconds.toFixed(1)}"` : `le="${plain}"`;
}

export interface CountQueryOptions {
  /** The latency SLO's threshold; the bucket with this upper bound must exist in the histogram. */
  readonly latencyThresholdSeconds: number;
  /** Length of the counted window: from the previous analysis to this one, so windows neither overlap nor gap. */
  readonly rangeSeconds: number;
  /** Unix seconds the window ends at (`@` modifier); unset means the query's evaluation time. */
  readonly endUnixSeconds?: number;
}

export type CountQueries = Readonly<Record<'canary' | 'stable', Readonly<Record<keyof VersionCounts, string>>>>;

/**
 * The PromQL of one interval's counts, as templates over the plan's variables (`{{ canarySelector }}`, ...),
 * rendered with `renderQuery`. Six instant queries; each returns one number or no series.
 */
export function countQueries(options: CountQueryOptions): CountQueries {
  if (!Number.isInteger(options.rangeSeconds) || options.rangeSeconds <= 0) throw new RangeError(`rangeSeconds must be whole seconds > 0, got ${options.rangeSeconds}`);
  const range = `[${options.rangeSeconds}s]${options.endUnixSeconds === undefined ? '' : ` @ ${Math.floor(options.endUnixSeconds)}`}`;
  const le = leMatcher(options.latencyThresholdSeconds);
  const of = (selector: 'canarySelector' | 'stableSelector') => ({
    requests: `sum(increase({{ requestsMetric }}{ {{ ${selector} }} }${range}))`,
    // `or vector(0)`: a version that served no 5xx has no such series; that is 0 errors, not "no data".
    errors: `sum(increase({{ requestsMetric }}{ {{ ${selector} }}, {{ statusLabel }}=~"5.." }${range})) or vector(0)`,
    slow:
      `sum(increase({{ durationMetric }}_count{ {{ ${selector} }} }${range}))` +
      ` - sum(increase({{ durationMetric }}_bucket{ {{ ${selector} }}, ${le} }${range}))`,
  });
  return { canary: of('canarySelector'), stable: of('stableSelector') };
}

/**
 * One version's counts as the engine measures them: slow requests per latency bound, since checks may judge
 * latency at different bounds (p99 ≤ 0.5 s, p95 ≤ 0.3 s). A bound whose histogram bucket does not exist is null:
 * "no data", never 0 slow requests (that would pass a latency check on a service that exports no histogram).
 */
export interface MeasuredVersionCounts {
  readonly requests: number;
  readonly errors: number;
  /** Requests above each latency bound, keyed by `boundKey(seconds)`. */
  readonly slow: Readonly<Record<string, number | null>>;
}

/** Both versions' measured counts: one interval's, or cumulative since an origin. */
export interface MeasuredCounts {
  readonly canary: MeasuredVersionCounts;
  readonly stable: MeasuredVersionCounts;
}

/** The key of a latency bound in `MeasuredVersionCounts.slow`: the seconds as JSON writes them. */
export function boundKey(seconds: number): string {
  return String(seconds);
}

/** The canary/stable pair of one outcome; null when the outcome is slow requests at a bound either version lacks. */
export function measuredPair(counts: MeasuredCounts, outcome: CountedOutcome, bound?: number): PairCounts | null {
  const bad = (c: MeasuredVersionCounts): number | null => (outcome === 'errors' ? c.errors : (c.slow[boundKey(bound ?? NaN)] ?? null));
  const canary = bad(counts.canary);
  const stable = bad(counts.stable);
  if (canary === null || stable === null) return null;
  return { canary: { requests: counts.canary.requests, bad: canary }, stable: { requests: counts.stable.requests, bad: stable } };
}

/** A scenario's (or any single-bound) interval as measured counts at `latencyThresholdSeconds`. */
export function measuredOf(counts: IntervalCounts, latencyThresholdSeconds: number): MeasuredCounts {
  const key = boundKey(latencyThresholdSeconds);
  const version = (c: VersionCounts): MeasuredVersionCounts => ({ requests: c.requests, errors: c.errors, slow: { [key]: c.slow } });
  return { canary: version(counts.canary), stable: version(counts.stable) };
}

/** One count query of an analysis: which number of which version it gives. */
export interface CountQuery {
  readonly version: 'canary' | 'stable';
  readonly field: 'requests' | 'errors' | 'slow';
  /** The latency bound of a `slow` query. */
  readonly bound?: number;
  /** PromQL template (`{{ canarySelector }}`, ...), rendered with `renderQuery`. */
  readonly promql: string;
}

/**
 * The count queries one analysis runs, shared by every count-based check: requests and errors of both
 * versions, and slow requests of both at each latency bound the checks use. Each is an instant query for
 * `increase()` over `[rangeSeconds] @ endUnixSeconds`, one number or no series.
 */
export function countQuerySet(options: { readonly latencyBounds: readonly number[]; readonly rangeSeconds: number; readonly endUnixSeconds?: number }): CountQuery[] {
  const bounds = [...new Set(options.latencyBounds)];
  const first = countQueries({ latencyThresholdSeconds: bounds[0] ?? 1, rangeSeconds: options.rangeSeconds, endUnixSeconds: options.endUnixSeconds });
  const queries: CountQuery[] = [];
  for (const version of ['canary', 'stable'] as const) {
    queries.push({ version, field: 'requests', promql: first[version].requests }, { version, field: 'errors', promql: first[version].errors });
    for (const bound of bounds) {
      const at = countQueries({ latencyThresholdSeconds: bound, rangeSeconds: options.rangeSeconds, endUnixSeconds: options.endUnixSeconds });
      queries.push({ version, field: 'slow', bound, promql: at[version].slow });
    }
  }
  return queries;
}

/**
 * The measured counts from the count queries' results (null: no series), in query order. Whole numbers as in
 * `normalizeCounts`; a slow query without a series while the version served requests means the histogram has no
 * bucket at that bound (or no histogram at all): null, "no data".
 */
export function measuredFromResults(queries: readonly CountQuery[], results: readonly (number | null)[]): MeasuredCounts {
  const whole = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) || v < 0 ? 0 : Math.round(v));
  const version = (name: 'canary' | 'stable'): MeasuredVersionCounts => {
    const of = (field: CountQuery['field']) => queries.map((q, i) => ({ q, v: results[i] })).filter(({ q }) => q.version === name && q.field === field);
    const requests = whole(of('requests')[0]?.v);
    const slow: Record<string, number | null> = {};
    for (const { q, v } of of('slow')) slow[boundKey(q.bound!)] = v === null || v === undefined ? (requests > 0 ? null : 0) : Math.min(requests, whole(v));
    return { requests, errors: Math.min(requests, whole(of('errors')[0]?.v)), slow };
  };
  return { canary: version('canary'), stable: version('stable') };
}

/**
 * One interval's counts from two cumulative readings (since the same origin): the differences, never negative
 * (`increase()` extrapolates at the window's edges, so a reading may dip by a fraction), bad counts capped at the
 * requests. Without a previous reading the cumulative counts are the interval's.
 */
export function intervalFromCumulative(previous: MeasuredCounts | undefined, current: MeasuredCounts): MeasuredCounts {
  const version = (p: MeasuredVersionCounts | undefined, c: MeasuredVersionCounts): MeasuredVersionCounts => {
    const requests = Math.max(0, c.requests - (p?.requests ?? 0));
    const slow: Record<string, number | null> = {};
    for (const [key, value] of Object.entries(c.slow)) slow[key] = value === null ? null : Math.min(requests, Math.max(0, value - (p?.slow[key] ?? 0)));
    return { requests, errors: Math.min(requests, Math.max(0, c.errors - (p?.errors ?? 0))), slow };
  };
  return { canary: version(previous?.canary, current.canary), stable: version(previous?.stable, current.stable) };
}

/**
 * The cumulative counts the analyses carry in the cursor: each analysis counts `increase()` from a fixed origin
 * (`since`, set at the first analysis) to now, and its interval is the difference with the previous reading.
 * Windows chained this way neither overlap nor gap, and they stay long enough for `increase()` to see two samples
 * however short the interval is next to the scrape interval (a 60 s window of a 60 s scrape has one sample only).
 */
export interface CountsCursor extends MeasuredCounts {
  /** Unix seconds: the origin of the cumulative counts. */
  readonly since: number;
  /** Unix seconds: the end of the last reading. */
  readonly until: number;
}
