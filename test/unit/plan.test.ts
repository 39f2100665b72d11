import { DEFAULT_PLAN, durationSeconds, holdIntervals, resolvePlan } from '../../lambdas/domain/plan';
import { BUILTIN_CHECKS, THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';
import { InputValidationError } from '../../lambdas/domain/errors';

function issuesOf(registered: unknown, override?: unknown): string[] {
  try {
    resolvePlan(registered, override);
  } catch (error) {
    if (error instanceof InputValidationError) return error.issues.map((i) => `${i.field}: ${i.message}`);
    throw error;
  }
  throw new Error('expected the plan to be refused');
}

describe('resolvePlan defaults', () => {
  it('gives the field defaults when nothing is registered or overridden', () => {
    const plan = resolvePlan(undefined, undefined);

    expect(plan.steps).toEqual([{ weight: 5, holdSeconds: 300 }, { weight: 25, holdSeconds: 600 }, { weight: 100 }]);
    expect(plan.analysis).toEqual({
      intervalSeconds: 60,
      consecutiveFailureLimit: 2,
      errorLimit: 4,
      noDataLimit: 5,
      window: '2m',
      alpha: 0.01,
      underpoweredLimit: 30,
      powerHold: 'promotion',
    });
    expect(plan.rollback).toEqual({ mode: 'immediate', stepHoldSeconds: 10 });
  });

  it('judges by default with the statistical checks that won the benchmark, success-rate no longer among them', () => {
    const plan = resolvePlan();

    expect(plan.checks).toEqual([
      { name: 'error-rate', judge: 'sequential', count: 'errors', slo: 0.01, maxRatio: 1.5, fastAbortFactor: 5, detectFactor: 1.75, minSamples: 20 },
      { name: 'latency-p99', judge: 'sequential', count: 'slow', max: 0.5, slo: 0.01, maxRatio: 1.5, fastAbortFactor: 5, detectFactor: 1.75, minSamples: 20 },
      { name: 'stable-error-rate', judge: 'stable-guard', count: 'errors', slo: 0.01, sustainIntervals: 3, minSamples: 0 },
      { name: 'stable-latency-p99', judge: 'stable-guard', count: 'slow', max: 0.5, slo: 0.01, sustainIntervals: 3, minSamples: 0 },
    ]);
  });

  it('reads a built-in max as the SLO (errors) or the latency bound (slow), and the stable guards follow them', () => {
    const plan = resolvePlan({ checks: [{ name: 'error-rate', max: 0.005 }, { name: 'latency-p99', max: 0.8 }] });

    expect(plan.checks.map((c) => [c.name, c.judge, c.slo, c.max])).toEqual([
      ['error-rate', 'sequential', 0.005, 0.005],
      ['latency-p99', 'sequential', 0.01, 0.8],
      ['stable-error-rate', 'stable-guard', 0.005, undefined],
      ['stable-latency-p99', 'stable-guard', 0.01, 0.8],
    ]);
  });

  it('keeps threshold judging selectable: THRESHOLD_CHECKS is the judging of before, guards off', () => {
    const plan = resolvePlan({ checks: THRESHOLD_CHECKS });

    expect(plan.checks.map((c) => [c.name, c.judge, c.min, c.max, c.minSamples])).toEqual([
      ['error-rate', 'threshold', undefined, 0.01, 20],
      ['latency-p99', 'threshold', undefined, 0.5, 20],
      ['success-rate', 'threshold', 0.99, undefined, 20],
    ]);
    expect(plan.checks[0].query).toBe(BUILTIN_CHECKS['error-rate'].query);
    expect(plan.checks[0].samplesQuery).toBe(BUILTIN_CHECKS['error-rate'].samplesQuery);
  });

  it('drops a check with enabled false, a default built-in included', () => {
    const plan = resolvePlan({ checks: [{ name: 'latency-p99', enabled: false }, { name: 'stable-latency-p99', enabled: false }] });
    expect(plan.checks.map((c) => c.name)).toEqual(['error-rate', 'stable-error-rate']);
  });

  it('gives memory-bytes the gauge trend and its defaults', () => {
    const plan = resolvePlan({ checks: [{ name: 'memory-bytes', max: 5e8 }] });
    expect(plan.checks.find((c) => c.name === 'memory-bytes')).toEqual({
      name: 'memory-bytes',
      judge: 'gauge-trend',
      query: BUILTIN_CHECKS['memory-bytes'].query,
      max: 5e8,
      minSamples: 0,
      windowIntervals: 10,
      projectIntervals: 5,
      minPoints: 4,
      minTrendT: 3,
    });
  });

  it('layers registered plan then execution overrides, analysis field by field and checks by name', () => {
    const plan = resolvePlan(
      { analysis: { intervalSeconds: 30 }, checks: [{ name: 'error-rate', max: 0.02 }] },
      { analysis: { consecutiveFailureLimit: 3 }, checks: [{ name: 'memory', query: 'max(mem{ {{ canarySelector }} })', max: 5e8 }], steps: [{ weight: 10, holdSeconds: 60 }, { weight: 100 }] },
    );

    expect(plan.analysis).toMatchObject({ intervalSeconds: 30, consecutiveFailureLimit: 3, errorLimit: 4 });
    expect(plan.steps).toEqual([{ weight: 10, holdSeconds: 60 }, { weight: 100 }]);
    expect(plan.checks.find((c) => c.name === 'error-rate')).toMatchObject({ judge: 'sequential', slo: 0.02, minSamples: 20 });
    expect(plan.checks.map((c) => c.name)).toEqual(['error-rate', 'latency-p99', 'stable-error-rate', 'stable-latency-p99', 'memory']);
    expect(plan.checks.find((c) => c.name === 'memory')).toMatchObject({ judge: 'threshold', minSamples: 0, max: 5e8 });
  });

  it('keeps a check-level min as the only threshold when a built-in check is given its own min', () => {
    const plan = resolvePlan({ checks: [{ name: 'error-rate', judge: 'threshold', min: 0 }] });
    expect(plan.checks[0]).toMatchObject({ min: 0 });
    expect(plan.checks[0].max).toBeUndefined();
  });

  it('accepts 0.1% steps and a bake at 100%', () => {
    const plan = resolvePlan({ steps: [{ weight: 0.1, holdSeconds: 60 }, { weight: 100, holdSeconds: 120 }] });
    expect(plan.steps[0].weight).toBe(0.1);
    expect(holdIntervals(plan, 1)).toBe(2);
  });

  it('does not mutate the defaults between calls', () => {
    resolvePlan({ analysis: { intervalSeconds: 5 }, steps: [{ weight: 20, holdSeconds: 5 }, { weight: 100 }] });
    expect(resolvePlan().analysis.intervalSeconds).toBe(DEFAULT_PLAN.analysis.intervalSeconds);
  });
});

describe('resolvePlan refuses bad plans, naming the field', () => {
  it.each<[string, unknown, unknown, string]>([
    ['weight above 100', { steps: [{ weight: 5, holdSeconds: 300 }, { weight: 150, holdSeconds: 600 }, { weight: 100 }] }, undefined, 'plan.steps[1].weight: must be between 0 and 100'],
    ['negative weight', { steps: [{ weight: -5, holdSeconds: 300 }, { weight: 100 }] }, undefined, 'plan.steps[0].weight: must be between 0 and 100'],
    ['zero weight', { steps: [{ weight: 0, holdSeconds: 300 }, { weight: 100 }] }, undefined, 'plan.steps[0].weight: must be greater than 0'],
    ['weight finer than 0.1', { steps: [{ weight: 2.55, holdSeconds: 300 }, { weight: 100 }] }, undefined, 'plan.steps[0].weight: must be a multiple of 0.1'],
    ['weight as a string', undefined, { steps: [{ weight: '5', holdSeconds: 300 }, { weight: 100 }] }, "plan.steps[0].weight: expected number, got '5'"],
    ['decreasing steps', { steps: [{ weight: 25, holdSeconds: 300 }, { weight: 5, holdSeconds: 300 }, { weight: 100 }] }, undefined, "plan.steps[1].weight: must not be less than the previous step's weight (25)"],
    ['last step not 100', { steps: [{ weight: 5, holdSeconds: 300 }, { weight: 50 }] }, undefined, 'plan.steps[1].weight: must be 100'],
    ['fractional hold', { steps: [{ weight: 5, holdSeconds: 90.5 }, { weight: 100 }] }, undefined, 'plan.steps[0].holdSeconds: must be whole seconds'],
    ['zero hold', { steps: [{ weight: 5, holdSeconds: 0 }, { weight: 100 }] }, undefined, 'plan.steps[0].holdSeconds: must be whole seconds greater than 0'],
    ['missing hold', { steps: [{ weight: 5 }, { weight: 100 }] }, undefined, 'plan.steps[0].holdSeconds: required (every step but the last holds)'],
    ['hold shorter than the interval', { steps: [{ weight: 5, holdSeconds: 30 }, { weight: 100 }] }, undefined, 'plan.steps[0].holdSeconds: must be at least analysis.intervalSeconds (60)'],
    ['no steps', { steps: [] }, undefined, 'plan.steps: must have at least one step'],
    ['duplicate check names', { checks: [{ name: 'p99', query: 'up', max: 1 }, { name: 'p99', query: 'up', max: 2 }] }, undefined, "plan.checks[5].name: duplicate name 'p99' (also checks[4])"],
    ['check without thresholds', { checks: [{ name: 'cpu', query: 'up' }] }, undefined, "plan.checks[4]: check 'cpu' needs min and/or max"],
    ['check min above max', { checks: [{ name: 'cpu', query: 'up', min: 2, max: 1 }] }, undefined, 'plan.checks[4].min: must not be greater than max (1)'],
    ['unknown check without query', { checks: [{ name: 'cpu', max: 1 }] }, undefined, 'plan.checks[4].query: required unless the name is a built-in check'],
    ['empty query', { checks: [{ name: 'cpu', query: '  ', max: 1 }] }, undefined, 'plan.checks[4].query: must not be empty'],
    ['unknown template variable', { checks: [{ name: 'cpu', query: 'up{ {{ namespace }} }', max: 1 }] }, undefined, 'plan.checks[4].query: unknown variable {{ namespace }}'],
    ['minSamples without samplesQuery', { checks: [{ name: 'cpu', query: 'up', max: 1, minSamples: 5 }] }, undefined, 'plan.checks[4].samplesQuery: required when minSamples is above 0'],
    ['bad check name', { checks: [{ name: 'Error Rate', query: 'up', max: 1 }] }, undefined, 'plan.checks[4].name: must be 1-63 characters'],
    ['unknown plan field', { step: [] }, undefined, 'plan.step: unknown field'],
    ['unknown step field', { steps: [{ weight: 5, hold: 300 }, { weight: 100 }] }, undefined, 'plan.steps[0].hold: unknown field'],
    ['interval as text', { analysis: { intervalSeconds: 'sixty' } }, undefined, "plan.analysis.intervalSeconds: expected number, got 'sixty'"],
    ['zero failure limit', { analysis: { consecutiveFailureLimit: 0 } }, undefined, 'plan.analysis.consecutiveFailureLimit: must be at least 1'],
    ['bad window', { analysis: { window: '2 minutes' } }, undefined, "plan.analysis.window: must be a duration like '30s', '2m' or '1h'"],
    ['unknown rollback mode', { rollback: { mode: 'slow' } }, undefined, 'plan.rollback.mode: must be one of "immediate", "gradual"'],
    ['steps not a list', undefined, { steps: 'fast' }, "plan.steps: expected array, got 'fast'"],
    ['an SLO that is no proportion', { checks: [{ name: 'latency-p99', slo: 1.5 }] }, undefined, 'plan.checks[1].slo: must be between 0 and 1'],
    ['an unknown judge', { checks: [{ name: 'error-rate', judge: 'bayesian' }] }, undefined, 'plan.checks[0].judge: must be one of "threshold", "sequential", "stable-guard", "gauge-trend"'],
    ['a field the judge does not read', { checks: [{ name: 'error-rate', judge: 'threshold', maxRatio: 2 }] }, undefined, "plan.checks[0].maxRatio: only for judge 'sequential' (this check is judged 'threshold')"],
    ['a guard field on a sequential check', { checks: [{ name: 'error-rate', sustainIntervals: 2 }] }, undefined, "plan.checks[0].sustainIntervals: only for judge 'stable-guard' (this check is judged 'sequential')"],
    ['success-rate judged sequentially', { checks: [{ name: 'success-rate', judge: 'sequential' }] }, undefined, "plan.checks[4].judge: 'success-rate' can be judged 'threshold', not 'sequential': it is 1 − error-rate"],
    ['a judge a built-in does not take', { checks: [{ name: 'stable-error-rate', judge: 'threshold' }] }, undefined, "plan.checks[2].judge: 'stable-error-rate' can be judged 'stable-guard', not 'threshold'"],
    [
      'two tests of the same counts (α spent twice)',
      { checks: [{ name: 'errors-again', count: 'errors', slo: 0.02 }] },
      undefined,
      "plan.checks[4]: 'errors-again' tests the same errors of the canary as checks[0] ('error-rate'): that spends the false-rollback rate twice",
    ],
    ['a slow count without its bound', { checks: [{ name: 'slow-1s', count: 'slow', slo: 0.001 }] }, undefined, 'plan.checks[4].max: required for a slow count: the latency bound in seconds'],
    ['a count check without an SLO', { checks: [{ name: 'odd', judge: 'sequential', count: 'slow', max: 2 }] }, undefined, "plan.checks[4].slo: required for judge 'sequential'"],
    ['a count check with a query', { checks: [{ name: 'odd', judge: 'sequential', count: 'errors', slo: 0.1, query: 'up' }] }, undefined, "plan.checks[4].query: not used by judge 'sequential'"],
    ['an error SLO given twice, differently', { checks: [{ name: 'error-rate', max: 0.01, slo: 0.02 }] }, undefined, 'plan.checks[0].max: must equal slo (0.02) for an error count'],
    ['a fast abort that is no multiple', { checks: [{ name: 'error-rate', fastAbortFactor: 1 }] }, undefined, 'plan.checks[0].fastAbortFactor: must be greater than 1'],
    ['a detect factor below 1', { checks: [{ name: 'latency-p99', detectFactor: 0.5 }] }, undefined, 'plan.checks[1].detectFactor: must be at least 1'],
    ['a gauge without its limit', { checks: [{ name: 'memory-bytes' }] }, undefined, "plan.checks[4].max: required: the gauge's limit"],
    ['a gauge needing more points than its window', { checks: [{ name: 'memory-bytes', max: 1e9, windowIntervals: 4, minPoints: 6 }] }, undefined, 'plan.checks[4].minPoints: must not exceed windowIntervals (4)'],
    ['alpha above one half', { analysis: { alpha: 0.7 } }, undefined, 'plan.analysis.alpha: must be greater than 0 and at most 0.5'],
    ['zero underpowered limit', { analysis: { underpoweredLimit: 0 } }, undefined, 'plan.analysis.underpoweredLimit: must be at least 1'],
    ['unknown power hold', { analysis: { powerHold: 'sometimes' } }, undefined, 'plan.analysis.powerHold: must be one of "promotion", "every-step"'],
    ['a check named like an Object property', { checks: [{ name: 'constructor', query: 'up', max: 1 }] }, undefined, 'plan.checks[4].name: is reserved'],
    ['a check named prototype', { checks: [{ name: 'prototype', query: 'up', max: 1 }] }, undefined, 'plan.checks[4].name: is reserved'],
    ['a first step above 25%', { steps: [{ weight: 30, holdSeconds: 300 }, { weight: 100 }] }, undefined, 'plan.steps[0].weight: must be at most 25'],
    ['a single step of 100%', { steps: [{ weight: 100 }] }, undefined, 'plan.steps: must have a step below 100% before the last'],
    ['a hold of more than a day', { steps: [{ weight: 5, holdSeconds: 86_401 }, { weight: 100 }] }, undefined, 'plan.steps[0].holdSeconds: must be at most 86400 seconds'],
    ['a hold of 1e12 seconds', undefined, { steps: [{ weight: 5, holdSeconds: 1e12 }, { weight: 100 }] }, 'plan.steps[0].holdSeconds: must be at most 86400 seconds'],
    ['an interval of more than an hour', { analysis: { intervalSeconds: 3601 } }, undefined, 'plan.analysis.intervalSeconds: must be at most 3600 seconds'],
    ['a rollback step hold of 1e12 seconds', { rollback: { mode: 'gradual', stepHoldSeconds: 1e12 } }, undefined, 'plan.rollback.stepHoldSeconds: must be at most 3600 seconds'],
    ['an approval timeout of 1e12 seconds', { approvals: { timeoutSeconds: 1e12 } }, undefined, 'plan.approvals.timeoutSeconds: must be at most 86400 seconds'],
    ['a window of more than a day', { analysis: { window: '25h' } }, undefined, 'plan.analysis.window: must be at most 24h'],
    ['a window too long for a number', { checks: [{ name: 'cpu', query: 'up', max: 1, window: '99999999999999999999999s' }] }, undefined, 'plan.checks[4].window: must be at most 24h'],
    ['a limit of 1e9', { analysis: { failureLimit: 1e9 } }, undefined, 'plan.analysis.failureLimit: must be at most 1000'],
    ['a query over 4096 characters', { checks: [{ name: 'cpu', query: `up${' '.repeat(4_095)}+1`, max: 1 }] }, undefined, 'plan.checks[4].query: must be at most 4096 characters'],
    ['a samples query over 4096 characters', { checks: [{ name: 'cpu', query: 'up', max: 1, minSamples: 1, samplesQuery: `count(up)${'+0'.repeat(2_044)}` }] }, undefined, 'plan.checks[4].samplesQuery: must be at most 4096 characters'],
    ['a __proto__ key in the plan', JSON.parse('{"__proto__": {"steps": []}}'), undefined, "plan.__proto__: '__proto__' is not allowed as a field name"],
    ['a constructor key in a check', undefined, { checks: [{ name: 'error-rate', constructor: { enabled: false } }] }, "plan.checks[0].constructor: 'constructor' is not allowed as a field name"],
  ])('%s', (_name, registered, override, expected) => {
    const issues = issuesOf(registered, override);
    expect(issues.join('\n')).toContain(expected);
  });

  it('lists every bad field at once', () => {
    const issues = issuesOf({ steps: [{ weight: 150, holdSeconds: 0 }, { weight: 100 }], analysis: { errorLimit: 0 } });
    expect(issues).toEqual(
      expect.arrayContaining([
        'plan.steps[0].weight: must be between 0 and 100',
        'plan.steps[0].holdSeconds: must be whole seconds greater than 0',
        'plan.analysis.errorLimit: must be at least 1',
      ]),
    );
  });
});

describe('durationSeconds', () => {
  it.each([
    ['30s', 30],
    ['2m', 120],
    ['1h', 3600],
  ])('%s is %d seconds', (text, seconds) => expect(durationSeconds(text)).toBe(seconds));
});

describe('resolvePlan enabled checks', () => {
  const everyDefaultOff = { checks: DEFAULT_PLAN.checks.map((c) => ({ name: c.name, enabled: false })) };

  it('refuses a plan whose every check is disabled, though the schema counts four', () => {
    expect(issuesOf(everyDefaultOff)).toEqual([expect.stringMatching(/^plan\.checks: must have at least one enabled check/)]);
  });

  it('refuses it from an execution too, and keeps a plan with one check left', () => {
    expect(issuesOf(undefined, everyDefaultOff).join()).toContain('plan.checks: must have at least one enabled check');
    const one = resolvePlan(undefined, { checks: everyDefaultOff.checks.slice(1) });
    expect(one.checks.map((c) => c.name)).toEqual(['error-rate']);
  });
});

describe('resolvePlan check overrides', () => {
  it("reads an execution's slo over a registered max of an error count, and the other way round: both are the SLO", () => {
    expect(resolvePlan({ checks: [{ name: 'error-rate', max: 0.005 }] }, { checks: [{ name: 'error-rate', slo: 0.001 }] }).checks[0]).toMatchObject({ slo: 0.001 });
    expect(resolvePlan({ checks: [{ name: 'error-rate', slo: 0.005 }] }, { checks: [{ name: 'error-rate', max: 0.002 }] }).checks[0]).toMatchObject({ slo: 0.002, max: 0.002 });
  });

  it('names max, with the SLO range, for an error-rate given max 1', () => {
    expect(issuesOf(undefined, { checks: [{ name: 'error-rate', max: 1 }] })).toEqual(['plan.checks[0].max: must be between 0 and 1: for an error count max is the SLO, the largest acceptable share of 5xx']);
  });

  it('refuses two checks of one name in the same override even when the name is inherited', () => {
    expect(issuesOf(undefined, { checks: [{ name: 'error-rate', max: 0.01 }, { name: 'error-rate', max: 0.02 }] }).join()).toContain("duplicate name 'error-rate'");
  });
});
