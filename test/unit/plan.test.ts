import { DEFAULT_PLAN, durationSeconds, holdIntervals, resolvePlan } from '../../lambdas/domain/plan';
import { BUILTIN_CHECKS } from '../../lambdas/domain/builtin-checks';
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
    expect(plan.analysis).toEqual({ intervalSeconds: 60, consecutiveFailureLimit: 2, errorLimit: 4, noDataLimit: 5, window: '2m' });
    expect(plan.checks.map((c) => [c.name, c.min, c.max])).toEqual([
      ['error-rate', undefined, 0.01],
      ['latency-p99', undefined, 0.5],
      ['success-rate', 0.99, undefined],
    ]);
    expect(plan.rollback).toEqual({ mode: 'immediate', stepHoldSeconds: 10 });
    expect(plan.checks[0].query).toBe(BUILTIN_CHECKS['error-rate'].query);
    expect(plan.checks[0].minSamples).toBe(20);
  });

  it('layers registered plan then execution overrides, analysis field by field and checks by name', () => {
    const plan = resolvePlan(
      { analysis: { intervalSeconds: 30 }, checks: [{ name: 'error-rate', max: 0.02 }] },
      { analysis: { consecutiveFailureLimit: 3 }, checks: [{ name: 'memory', query: 'max(mem{ {{ canarySelector }} })', max: 5e8 }], steps: [{ weight: 10, holdSeconds: 60 }, { weight: 100 }] },
    );

    expect(plan.analysis).toMatchObject({ intervalSeconds: 30, consecutiveFailureLimit: 3, errorLimit: 4 });
    expect(plan.steps).toEqual([{ weight: 10, holdSeconds: 60 }, { weight: 100 }]);
    expect(plan.checks.find((c) => c.name === 'error-rate')).toMatchObject({ max: 0.02, minSamples: 20 });
    expect(plan.checks.map((c) => c.name)).toEqual(['error-rate', 'latency-p99', 'success-rate', 'memory']);
    expect(plan.checks.find((c) => c.name === 'memory')).toMatchObject({ minSamples: 0, max: 5e8 });
  });

  it('keeps a check-level min as the only threshold when a built-in check is given its own min', () => {
    const plan = resolvePlan({ checks: [{ name: 'error-rate', min: 0 }] });
    expect(plan.checks[0]).toMatchObject({ min: 0 });
    expect(plan.checks[0].max).toBeUndefined();
  });

  it('accepts 0.1% steps and a bake at 100%', () => {
    const plan = resolvePlan({ steps: [{ weight: 0.1, holdSeconds: 60 }, { weight: 100, holdSeconds: 120 }] });
    expect(plan.steps[0].weight).toBe(0.1);
    expect(holdIntervals(plan, 1)).toBe(2);
  });

  it('does not mutate the defaults between calls', () => {
    resolvePlan({ analysis: { intervalSeconds: 5 }, steps: [{ weight: 50, holdSeconds: 5 }, { weight: 100 }] });
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
    ['duplicate check names', { checks: [{ name: 'p99', query: 'up', max: 1 }, { name: 'p99', query: 'up', max: 2 }] }, undefined, "plan.checks[4].name: duplicate name 'p99' (also checks[3])"],
    ['check without thresholds', { checks: [{ name: 'cpu', query: 'up' }] }, undefined, "plan.checks[3]: check 'cpu' needs min and/or max"],
    ['check min above max', { checks: [{ name: 'cpu', query: 'up', min: 2, max: 1 }] }, undefined, 'plan.checks[3].min: must not be greater than max (1)'],
    ['unknown check without query', { checks: [{ name: 'cpu', max: 1 }] }, undefined, 'plan.checks[3].query: required unless the name is a built-in check'],
    ['empty query', { checks: [{ name: 'cpu', query: '  ', max: 1 }] }, undefined, 'plan.checks[3].query: must not be empty'],
    ['unknown template variable', { checks: [{ name: 'cpu', query: 'up{ {{ namespace }} }', max: 1 }] }, undefined, 'plan.checks[3].query: unknown variable {{ namespace }}'],
    ['minSamples without samplesQuery', { checks: [{ name: 'cpu', query: 'up', max: 1, minSamples: 5 }] }, undefined, 'plan.checks[3].samplesQuery: required when minSamples is above 0'],
    ['bad check name', { checks: [{ name: 'Error Rate', query: 'up', max: 1 }] }, undefined, 'plan.checks[3].name: must be 1-63 characters'],
    ['unknown plan field', { step: [] }, undefined, 'plan.step: unknown field'],
    ['unknown step field', { steps: [{ weight: 5, hold: 300 }, { weight: 100 }] }, undefined, 'plan.steps[0].hold: unknown field'],
    ['interval as text', { analysis: { intervalSeconds: 'sixty' } }, undefined, "plan.analysis.intervalSeconds: expected number, got 'sixty'"],
    ['zero failure limit', { analysis: { consecutiveFailureLimit: 0 } }, undefined, 'plan.analysis.consecutiveFailureLimit: must be at least 1'],
    ['bad window', { analysis: { window: '2 minutes' } }, undefined, "plan.analysis.window: must be a duration like '30s', '2m' or '1h'"],
    ['unknown rollback mode', { rollback: { mode: 'slow' } }, undefined, 'plan.rollback.mode: must be one of "immediate", "gradual"'],
    ['steps not a list', undefined, { steps: 'fast' }, "plan.steps: expected array, got 'fast'"],
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

describe('resolvePlan check overrides', () => {
  it('refuses two checks of one name in the same override even when the name is inherited', () => {
    expect(issuesOf(undefined, { checks: [{ name: 'error-rate', max: 0.01 }, { name: 'error-rate', max: 0.02 }] }).join()).toContain("duplicate name 'error-rate'");
  });
});
