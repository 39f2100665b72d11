import { resolvePlan } from '../../lambdas/domain/plan';
import {
  alphaOf,
  countQuerySet,
  intervalFromCumulative,
  judgeChecks,
  latencyBounds,
  measuredFromResults,
  measuredOf,
  sequentialConfigOf,
  stableGuardConfigOf,
  type MeasuredCounts,
} from '../../lambdas/domain/statistics';

describe('the plan’s statistical checks', () => {
  it('split the rollout’s α: 80% to the sequential checks, 20% to the stable guards, evenly within each', () => {
    // Prepare
    const plan = resolvePlan();
    const [errors, latency, stableErrors, stableLatency] = plan.checks;

    // Act, Assess
    expect([errors, latency].map((c) => alphaOf(plan, c))).toEqual([0.004, 0.004]);
    expect([stableErrors, stableLatency].map((c) => alphaOf(plan, c))).toEqual([0.001, 0.001]);
    const alone = resolvePlan({ checks: [{ name: 'stable-error-rate', enabled: false }, { name: 'stable-latency-p99', enabled: false }] });
    expect(alone.checks.map((c) => alphaOf(alone, c))).toEqual([0.005, 0.005]);
  });

  it('configure the statistics modules from the check, the guard’s α spent over the plan’s holds', () => {
    const plan = resolvePlan();
    expect(sequentialConfigOf(plan, plan.checks[0])).toMatchObject({ alpha: 0.004, slo: 0.01, maxRatio: 1.5, fastAbortFactor: 5, detectFactor: 1.75, minSamples: 20 });
    expect(stableGuardConfigOf(plan, plan.checks[2])).toMatchObject({ alpha: 0.001, slo: 0.01, sustainIntervals: 3, horizonIntervals: 15 });
  });

  it('count slow requests at each latency bound the count-based checks use, once', () => {
    const plan = resolvePlan({ checks: [{ name: 'latency-p95' }, { name: 'latency-p99', judge: 'threshold' }] });
    expect(latencyBounds(plan.checks)).toEqual([0.5, 0.3]);
  });

  it('judge every check in plan order, each with its own state', () => {
    const plan = resolvePlan({ checks: [{ name: 'memory-bytes', max: 1e9 }, { name: 'success-rate', judge: 'threshold' }] });
    const counts = measuredOf({ canary: { requests: 500, errors: 1, slow: 2 }, stable: { requests: 9500, errors: 20, slow: 30 } }, 0.5);

    const { measurements, statistics } = judgeChecks(plan, plan.checks, undefined, {
      counts: { kind: 'counts', counts },
      queries: { 'memory-bytes': { value: { kind: 'value', value: 2e8 } }, 'success-rate': { value: { kind: 'value', value: 0.999 }, samples: { kind: 'value', value: 500 } } },
    });

    expect(measurements.map((m) => [m.check, m.verdict])).toEqual([
      ['error-rate', 'pass'],
      ['latency-p99', 'pass'],
      ['stable-error-rate', 'pass'],
      ['stable-latency-p99', 'pass'],
      ['memory-bytes', 'pass'],
      ['success-rate', 'pass'],
    ]);
    expect(Object.keys(statistics)).toEqual(['error-rate', 'latency-p99', 'stable-error-rate', 'stable-latency-p99', 'memory-bytes']);
    expect(measurements[0]).toMatchObject({ judge: 'sequential', reason: 'no-evidence-of-breach', rollbackNow: false, value: 0.002, samples: 500 });
  });
});

describe('counts from the count queries', () => {
  it('one query per number: requests and errors of each version, slow at each bound', () => {
    const queries = countQuerySet({ latencyBounds: [0.5, 1], rangeSeconds: 120, endUnixSeconds: 1767261600 });
    expect(queries.map((q) => `${q.version}.${q.field}${q.bound === undefined ? '' : `@${q.bound}`}`)).toEqual([
      'canary.requests',
      'canary.errors',
      'canary.slow@0.5',
      'canary.slow@1',
      'stable.requests',
      'stable.errors',
      'stable.slow@0.5',
      'stable.slow@1',
    ]);
    expect(queries.every((q) => q.promql.includes('[120s] @ 1767261600'))).toBe(true);
    expect(queries[3].promql).toContain('le=~"1|1.0"');
  });

  it('whole numbers from increase(), bad capped at requests; a slow series missing while requests were served is null', () => {
    const queries = countQuerySet({ latencyBounds: [0.5], rangeSeconds: 60 });
    const counts = measuredFromResults(queries, [99.6, 101.2, null, 0, null, null]);
    expect(counts).toEqual({ canary: { requests: 100, errors: 100, slow: { '0.5': null } }, stable: { requests: 0, errors: 0, slow: { '0.5': 0 } } });
  });

  it('an interval is the difference of two cumulative readings, never negative', () => {
    const before: MeasuredCounts = { canary: { requests: 100, errors: 2, slow: { '0.5': 3 } }, stable: { requests: 1000, errors: 10, slow: { '0.5': 8 } } };
    const after: MeasuredCounts = { canary: { requests: 250, errors: 2, slow: { '0.5': 2 } }, stable: { requests: 2100, errors: 19, slow: { '0.5': null } } };
    expect(intervalFromCumulative(before, after)).toEqual({
      canary: { requests: 150, errors: 0, slow: { '0.5': 0 } },
      stable: { requests: 1100, errors: 9, slow: { '0.5': null } },
    });
    expect(intervalFromCumulative(undefined, after)).toEqual(after);
  });
});
