import type { CheckSpec } from './plan';

/**
 * Judging one check's measurement. Pure: numbers in, verdict out.
 * Fail closed: an empty result, NaN, or fewer samples than the check needs is `no-data`, never a pass;
 * a failed query is `error`, never a pass.
 */

/** What a query gave back: a number (±Infinity included), nothing, or a failure. */
export type QueryOutcome =
  | { readonly kind: 'value'; readonly value: number }
  | { readonly kind: 'empty' }
  | { readonly kind: 'error'; readonly message: string };

export type Verdict = 'pass' | 'fail' | 'no-data' | 'error';

export interface Measurement {
  readonly check: string;
  readonly verdict: Verdict;
  /** The check's value; null when there was none (empty, NaN, error). Infinity is reported as a string by JSON, so it is kept as ±1e308. */
  readonly value: number | null;
  readonly samples: number | null;
  readonly min?: number;
  readonly max?: number;
  /** How the check was judged (`threshold`, `sequential`, …): count-based values are shares of requests. */
  readonly judge?: string;
  /** One line: why this verdict, with the numbers. */
  readonly detail: string;
}

const finiteForJson = (value: number) => (value === Infinity ? Number.MAX_VALUE : value === -Infinity ? -Number.MAX_VALUE : value);

export function formatNumber(value: number): string {
  if (value === Number.MAX_VALUE || value === Infinity) return '+Inf';
  if (value === -Number.MAX_VALUE || value === -Infinity) return '-Inf';
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

export function describeThreshold(check: Pick<CheckSpec, 'min' | 'max'>): string {
  if (check.min !== undefined && check.max !== undefined) return `between ${formatNumber(check.min)} and ${formatNumber(check.max)}`;
  if (check.max !== undefined) return `≤ ${formatNumber(check.max)}`;
  return `≥ ${formatNumber(check.min ?? -Infinity)}`;
}

export function judgeCheck(check: CheckSpec, value: QueryOutcome, samples?: QueryOutcome): Measurement {
  const base = { check: check.name, ...(check.min !== undefined && { min: check.min }), ...(check.max !== undefined && { max: check.max }) };
  if (value.kind === 'error') return { ...base, verdict: 'error', value: null, samples: null, detail: `query failed: ${value.message}` };
  if (samples?.kind === 'error') return { ...base, verdict: 'error', value: null, samples: null, detail: `sample count query failed: ${samples.message}` };

  const sampleCount = samples === undefined ? null : samples.kind === 'value' && Number.isFinite(samples.value) ? samples.value : 0;
  const observed = value.kind === 'value' && !Number.isNaN(value.value) ? finiteForJson(value.value) : null;

  if (observed === null) {
    const why = value.kind === 'empty' ? 'the query returned no series' : 'the query returned NaN (nothing to divide by)';
    return { ...base, verdict: 'no-data', value: null, samples: sampleCount, detail: `no data: ${why}` };
  }
  if (sampleCount !== null && sampleCount < check.minSamples) {
    return {
      ...base,
      verdict: 'no-data',
      value: observed,
      samples: sampleCount,
      detail: `no data: ${formatNumber(sampleCount)} samples, fewer than minSamples ${check.minSamples}`,
    };
  }
  const tooLow = check.min !== undefined && observed < check.min;
  const tooHigh = check.max !== undefined && observed > check.max;
  const verdict: Verdict = tooLow || tooHigh ? 'fail' : 'pass';
  return {
    ...base,
    verdict,
    value: observed,
    samples: sampleCount,
    detail: `${check.name} ${formatNumber(observed)} ${verdict === 'pass' ? 'within' : 'outside'} ${describeThreshold(check)}`,
  };
}

/** How far outside its threshold a failing measurement is, relative to the threshold: for picking the trigger. */
export function breachSize(m: Measurement): number {
  if (m.verdict !== 'fail' || m.value === null) return 0;
  const over = m.max !== undefined && m.value > m.max ? (m.value - m.max) / Math.max(Math.abs(m.max), 1e-9) : 0;
  const under = m.min !== undefined && m.value < m.min ? (m.min - m.value) / Math.max(Math.abs(m.min), 1e-9) : 0;
  return Math.max(over, under);
}

/** Whether a passing measurement stood on data: a value, or samples counted; a pass "not judged" (no traffic to judge) did not. */
export function passedOnData(m: Measurement): boolean {
  return m.verdict === 'pass' && (m.samples === null ? m.value !== null : m.samples > 0);
}

/**
 * The verdict of a whole interval: the worst phase wins (fail, then error, then no-data, then pass). Fail closed: an
 * interval passes only when at least one check passed on data, so an empty interval (no check measured, or only checks
 * with nothing to judge) is `no-data`, never `pass`.
 */
export function intervalVerdict(measurements: readonly Measurement[]): Verdict {
  const order: Verdict[] = ['fail', 'error', 'no-data'];
  for (const verdict of order) if (measurements.some((m) => m.verdict === verdict)) return verdict;
  return measurements.some(passedOnData) ? 'pass' : 'no-data';
}

/** The measurement that explains an interval's verdict: the largest breach, else the first of that verdict. */
export function decisiveMeasurement(measurements: readonly Measurement[]): Measurement | undefined {
  const verdict = intervalVerdict(measurements);
  const matching = measurements.filter((m) => m.verdict === verdict);
  // An interval with no check that passed on data: the first check that had nothing to judge explains it.
  if (verdict === 'no-data' && matching.length === 0) return measurements[0];
  if (verdict !== 'fail') return matching[0];
  return matching.reduce<Measurement | undefined>((worst, m) => (worst === undefined || breachSize(m) > breachSize(worst) ? m : worst), undefined);
}
