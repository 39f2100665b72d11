import { initialCursor, type Cursor } from '../../lambdas/domain/decision';
import { THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';
import { MetricsQueryError } from '../../lambdas/domain/errors';
import { resolvePlan, type Plan } from '../../lambdas/domain/plan';
import { DEFAULT_CONVENTIONS } from '../../lambdas/domain/query-template';
import type { SequentialTestState, StableGuardState } from '../../lambdas/domain/statistics';
import { measure, type MeasuredRun } from '../../lambdas/use-cases/analyze';
import type { MetricsSource, QueryOptions, QueryResult } from '../../lambdas/ports/metrics-source';

// The analyze step's measuring against a scripted metrics source: which queries run, how the cumulative counts
// become intervals, and what is kept in the cursor.

type Version = 'canary' | 'stable';
type Field = 'requests' | 'errors' | 'slow';

/** A metrics source answering the count queries from a table of cumulative counts, and recording every query. */
class ScriptedSource implements MetricsSource {
  readonly queries: string[] = [];
  /** The instant each query was evaluated at (the `time` parameter), in epoch seconds. */
  readonly evaluatedAt: (number | undefined)[] = [];
  failWith: string | undefined;
  noBucket = false;
  constructor(public counts: Record<Version, Record<Field, number>>) {}

  async query(promql: string, options: QueryOptions = {}): Promise<QueryResult> {
    this.queries.push(promql);
    this.evaluatedAt.push(options.at && options.at.getTime() / 1000);
    if (this.failWith) throw new MetricsQueryError(this.failWith);
    const version: Version = promql.includes('version="canary"') ? 'canary' : 'stable';
    const field: Field = promql.includes('_bucket') ? 'slow' : promql.includes('=~"5.."') ? 'errors' : 'requests';
    if (field === 'slow' && this.noBucket) return { kind: 'empty' };
    return { kind: 'value', value: this.counts[version][field] };
  }
}

const runOf = (plan: Plan): MeasuredRun => ({
  plan,
  metrics: { resolved: { conventions: DEFAULT_CONVENTIONS, serviceLabelValue: 'payments-api', canaryVersion: 'canary', stableVersion: 'stable' } },
});

const PLAN = resolvePlan();
const T0 = new Date('2026-01-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const end = (seconds: number) => Math.floor(at(seconds).getTime() / 1000);

describe('measure: the count-based checks', () => {
  it('runs one set of six count queries for all four default checks, windowed on the interval before the first analysis', async () => {
    // Prepare
    const source = new ScriptedSource({ canary: { requests: 1000.4, errors: 3, slow: 2 }, stable: { requests: 19000, errors: 40, slow: 30 } });
    const cursor: Cursor = { ...initialCursor(PLAN), weight: 5 };

    // Act
    const { measurements, cursor: next } = await measure(source, runOf(PLAN), cursor, PLAN.checks, at(0));

    // Assess
    expect(source.queries).toHaveLength(6);
    expect(source.queries.every((q) => q.includes('[60s]') && !q.includes('@'))).toBe(true);
    expect(source.evaluatedAt).toEqual(Array(6).fill(end(0)));
    expect(source.queries.filter((q) => q.includes('le="0.5"'))).toHaveLength(2);
    expect(measurements.map((m) => [m.check, m.verdict, m.samples])).toEqual([
      ['error-rate', 'pass', 1000],
      ['latency-p99', 'pass', 1000],
      ['stable-error-rate', 'pass', 19000],
      ['stable-latency-p99', 'pass', 19000],
    ]);
    expect(next.counts).toEqual({
      since: end(0) - 60,
      until: end(0),
      canary: { requests: 1000, errors: 3, slow: { '0.5': 2 } },
      stable: { requests: 19000, errors: 40, slow: { '0.5': 30 } },
    });
    expect(Object.keys(next.statistics!)).toEqual(['error-rate', 'latency-p99', 'stable-error-rate', 'stable-latency-p99']);
  });

  it('counts from the same origin each time and judges the difference: windows neither overlap nor gap', async () => {
    const source = new ScriptedSource({ canary: { requests: 1000, errors: 3, slow: 2 }, stable: { requests: 19000, errors: 40, slow: 30 } });
    const first = await measure(source, runOf(PLAN), { ...initialCursor(PLAN), weight: 5 }, PLAN.checks, at(0));
    source.counts = { canary: { requests: 2500, errors: 5, slow: 4 }, stable: { requests: 40000, errors: 90, slow: 61 } };
    source.queries.length = 0;
    source.evaluatedAt.length = 0;

    const second = await measure(source, runOf(PLAN), first.cursor, PLAN.checks, at(61));

    expect(source.queries.every((q) => q.includes('[121s]'))).toBe(true);
    expect(source.evaluatedAt).toEqual(Array(6).fill(end(61)));
    expect(second.cursor.counts).toMatchObject({ since: end(0) - 60, until: end(61), canary: { requests: 2500 } });
    const errorRate = second.cursor.statistics!['error-rate'] as SequentialTestState;
    expect(errorRate).toMatchObject({ intervals: 2, canary: { requests: 2500, bad: 5 }, stable: { requests: 40000, bad: 90 } });
    const guard = second.cursor.statistics!['stable-error-rate'] as StableGuardState;
    expect(guard.recent).toEqual([
      { requests: 19000, bad: 40 },
      { requests: 21000, bad: 50 },
    ]);
  });

  it('a failed count query makes every count-based check an error and keeps the last reading, so the next interval counts both', async () => {
    const source = new ScriptedSource({ canary: { requests: 1000, errors: 3, slow: 2 }, stable: { requests: 19000, errors: 40, slow: 30 } });
    const first = await measure(source, runOf(PLAN), { ...initialCursor(PLAN), weight: 5 }, PLAN.checks, at(0));
    source.failWith = 'cannot reach http://prometheus:9090: connect ECONNREFUSED';

    const failed = await measure(source, runOf(PLAN), first.cursor, PLAN.checks, at(60));

    expect(failed.measurements.map((m) => [m.verdict, m.detail])).toEqual(
      repeat(4, ['error', 'query failed: cannot reach http://prometheus:9090: connect ECONNREFUSED']),
    );
    expect(failed.cursor.counts).toEqual(first.cursor.counts);
    expect(failed.cursor.statistics).toEqual(first.cursor.statistics);
  });

  it('a histogram without the bucket at the latency bound is no data for the latency checks, never 0 slow requests', async () => {
    const source = new ScriptedSource({ canary: { requests: 1000, errors: 3, slow: 0 }, stable: { requests: 19000, errors: 40, slow: 0 } });
    source.noBucket = true;

    const { measurements } = await measure(source, runOf(PLAN), { ...initialCursor(PLAN), weight: 5 }, PLAN.checks, at(0));

    expect(measurements.map((m) => [m.check, m.verdict])).toEqual([
      ['error-rate', 'pass'],
      ['latency-p99', 'no-data'],
      ['stable-error-rate', 'pass'],
      ['stable-latency-p99', 'no-data'],
    ]);
    expect(measurements[1].detail).toBe('no data: the duration histogram has no bucket at le=0.5 s (the latency check counts the requests above it)');
  });
});

describe('measure: threshold judging', () => {
  it('runs each threshold check its own query and sample count over the window, and keeps no statistics', async () => {
    const plan = resolvePlan({ checks: THRESHOLD_CHECKS });
    const source = new ScriptedSource({ canary: { requests: 0.004, errors: 0, slow: 0 }, stable: { requests: 0, errors: 0, slow: 0 } });

    const { measurements, cursor } = await measure(source, runOf(plan), { ...initialCursor(plan), weight: 5 }, plan.checks, at(0));

    expect(source.queries).toHaveLength(6);
    expect(source.queries.every((q) => q.includes('[2m]'))).toBe(true);
    expect(measurements.map((m) => m.check)).toEqual(['error-rate', 'latency-p99', 'success-rate']);
    expect(cursor.statistics).toBeUndefined();
    expect(cursor.counts).toBeUndefined();
  });
});

function repeat<T>(n: number, item: T): T[] {
  return Array.from({ length: n }, () => item);
}
