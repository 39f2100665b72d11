import { parseScenarioFile, parseScenarioText } from '../../bench/judge/scenario';
import { InputValidationError } from '../../lambdas/domain/errors';

// The issue's own example scenario.
const example = {
  name: 'err-3x-at-5pct',
  expect: 'rollback',
  faultFromInterval: 0,
  slo: { errorRate: 0.01, latencyThresholdSeconds: 0.5, latencyQuantile: 0.99 },
  intervals: [{ canary: { requests: 120, errors: 1, slow: 0 }, stable: { requests: 2280, errors: 12, slow: 15 } }],
};
const healthy = { ...example, name: 'healthy', expect: 'promote', faultFromInterval: null };
const interval = (canary: Record<string, unknown>, stable: Record<string, unknown> = { requests: 1, errors: 0, slow: 0 }) => ({ canary, stable });

describe('parseScenarioFile', () => {
  it('reads a good file as it is', () => {
    const file = parseScenarioFile({ scenarios: [example, healthy] });
    expect(file.scenarios).toEqual([example, healthy]);
  });

  it.each<[string, unknown, string]>([
    [
      'a bad count deep in the file',
      { scenarios: [example, { ...example, name: 'b' }, { ...example, name: 'c' }, { ...example, name: 'd', intervals: [interval({ requests: 1, errors: 2, slow: 0 })] }] },
      'scenarios[3].intervals[0].canary.errors: must not exceed requests',
    ],
    ['slow above requests', { scenarios: [{ ...example, intervals: [interval({ requests: 1, errors: 0, slow: 0 }, { requests: 3, errors: 0, slow: 4 })] }] }, 'scenarios[0].intervals[0].stable.slow: must not exceed requests'],
    ['a negative count', { scenarios: [{ ...example, intervals: [interval({ requests: -1, errors: 0, slow: 0 })] }] }, 'scenarios[0].intervals[0].canary.requests: must be at least 0'],
    ['a fractional count', { scenarios: [{ ...example, intervals: [interval({ requests: 1.5, errors: 0, slow: 0 })] }] }, 'scenarios[0].intervals[0].canary.requests: must be a whole number'],
    ['a missing count', { scenarios: [{ ...example, intervals: [interval({ requests: 1, errors: 0 })] }] }, 'scenarios[0].intervals[0].canary.slow: required (number)'],
    ['an unknown expect', { scenarios: [{ ...example, expect: 'maybe' }] }, `scenarios[0].expect: must be one of "promote", "rollback", got 'maybe'`],
    ['a rollback without its fault', { scenarios: [{ ...example, faultFromInterval: null }] }, 'scenarios[0].faultFromInterval: required (the first bad interval) when expect is rollback'],
    ['a healthy scenario with a fault', { scenarios: [{ ...healthy, faultFromInterval: 0 }] }, 'scenarios[0].faultFromInterval: must be null when expect is promote'],
    ['a fault past the end', { scenarios: [{ ...example, faultFromInterval: 1 }] }, 'scenarios[0].faultFromInterval: must be less than the number of intervals (1)'],
    ['a missing fault', { scenarios: [{ ...example, faultFromInterval: undefined }] }, 'scenarios[0].faultFromInterval: required (number)'],
    ['an SLO out of range', { scenarios: [{ ...example, slo: { ...example.slo, errorRate: 0 } }] }, 'scenarios[0].slo.errorRate: must be greater than 0 (a share of requests)'],
    ['a latency quantile of 1', { scenarios: [{ ...example, slo: { ...example.slo, latencyQuantile: 1 } }] }, 'scenarios[0].slo.latencyQuantile: must be less than 1 (a quantile)'],
    ['an unknown field', { scenarios: [{ ...example, weight: 5 }] }, 'scenarios[0].weight: unknown field'],
    ['no intervals', { scenarios: [{ ...example, intervals: [] }] }, 'scenarios[0].intervals: must have at least one interval'],
    ['a duplicate name', { scenarios: [example, example] }, "scenarios[1].name: duplicate name 'err-3x-at-5pct' (also scenarios[0])"],
    ['no scenarios', { scenarios: [] }, 'scenarios: must have at least one scenario'],
    ['not a scenario file', {}, 'scenarios: required (array)'],
  ])('%s is refused, naming the field', (_name, value, message) => {
    expect(() => parseScenarioFile(value)).toThrow(InputValidationError);
    expect(() => parseScenarioFile(value)).toThrow(`Invalid scenario file: ${message}`);
  });

  it('lists every bad field at once', () => {
    const value = { scenarios: [{ ...example, intervals: [interval({ requests: 1, errors: 2, slow: 3 })] }] };
    expect(() => parseScenarioFile(value)).toThrow(
      'Invalid scenario file: scenarios[0].intervals[0].canary.errors: must not exceed requests; scenarios[0].intervals[0].canary.slow: must not exceed requests',
    );
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseScenarioText('{ "scenarios": ')).toThrow(/^Invalid scenario file: \(root\): not JSON: /);
    expect(parseScenarioText(JSON.stringify({ scenarios: [example] })).scenarios[0].name).toBe('err-3x-at-5pct');
  });
});
