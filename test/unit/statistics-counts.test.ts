import { countIssues, countQueries, leMatcher, normalizeCounts, pairOf, type IntervalCounts } from '../../lambdas/domain/statistics';
import { renderQuery, templateValues, DEFAULT_CONVENTIONS } from '../../lambdas/domain/query-template';

const interval: IntervalCounts = { canary: { requests: 120, errors: 1, slow: 0 }, stable: { requests: 2280, errors: 12, slow: 15 } };

describe('the counts model', () => {
  it('pairs one outcome of both versions', () => {
    expect(pairOf(interval, 'slow')).toEqual({ canary: { requests: 120, bad: 0 }, stable: { requests: 2280, bad: 15 } });
  });

  it('names each bad count', () => {
    const bad = { canary: { requests: 10, errors: 11, slow: -1 }, stable: { requests: 2.5, errors: 0, slow: 0 } } as IntervalCounts;
    expect(countIssues(bad, 'scenarios[3].intervals[0]')).toEqual([
      { field: 'scenarios[3].intervals[0].canary.slow', message: 'must be a whole number ≥ 0' },
      { field: 'scenarios[3].intervals[0].canary.errors', message: 'must not exceed requests' },
      { field: 'scenarios[3].intervals[0].stable.requests', message: 'must be a whole number ≥ 0' },
    ]);
    expect(countIssues(interval, 'x')).toEqual([]);
  });

  it('turns extrapolated increase() results into whole counts: no series is 0, bad never exceeds requests', () => {
    expect(
      normalizeCounts({ canary: { requests: 119.6, errors: 1.2, slow: null }, stable: { requests: 2280.4, errors: 2281, slow: NaN } }),
    ).toEqual({ canary: { requests: 120, errors: 1, slow: 0 }, stable: { requests: 2280, errors: 2280, slow: 0 } });
  });
});

describe('the PromQL of one interval', () => {
  it('matches both spellings of a whole-number bucket bound', () => {
    expect(leMatcher(0.5)).toBe('le="0.5"');
    expect(leMatcher(1)).toBe('le=~"1|1.0"');
    expect(() => leMatcher(0)).toThrow(RangeError);
  });

  it('counts requests, 5xx and requests above the latency threshold, for canary and stable, over an exact window', () => {
    const q = countQueries({ latencyThresholdSeconds: 0.5, rangeSeconds: 60, endUnixSeconds: 1_763_800_000 });
    const values = templateValues({
      conventions: DEFAULT_CONVENTIONS,
      serviceLabelValue: 'payments-api',
      canaryVersion: 'v2',
      stableVersion: 'v1',
      window: '2m',
      intervalSeconds: 60,
    });
    expect(renderQuery(q.canary.requests, values)).toBe('sum(increase(http_requests_total{ service="payments-api", version="v2" }[60s] @ 1763800000))');
    expect(renderQuery(q.canary.errors, values)).toBe(
      'sum(increase(http_requests_total{ service="payments-api", version="v2", status=~"5.." }[60s] @ 1763800000)) or vector(0)',
    );
    expect(renderQuery(q.stable.slow, values)).toBe(
      'sum(increase(http_request_duration_seconds_count{ service="payments-api", version="v1" }[60s] @ 1763800000))' +
        ' - sum(increase(http_request_duration_seconds_bucket{ service="payments-api", version="v1", le="0.5" }[60s] @ 1763800000))',
    );
    expect(countQueries({ latencyThresholdSeconds: 1, rangeSeconds: 75 }).stable.requests).toBe('sum(increase({{ requestsMetric }}{ {{ stableSelector }} }[75s]))');
  });
});
