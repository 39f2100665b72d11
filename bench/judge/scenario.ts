import { z } from 'zod';
import { InputValidationError } from '../../lambdas/domain/errors';
import { countIssues, type IntervalCounts } from '../../lambdas/domain/statistics';
import { parseOrThrow } from '../../lambdas/domain/validation';

/**
 * The scenario file (kept exactly as issue 6 specifies; other test sets use it):
 *   { "scenarios": [ { "name", "expect": "promote"|"rollback", "faultFromInterval": number|null,
 *       "slo": { "errorRate", "latencyThresholdSeconds", "latencyQuantile" },
 *       "intervals": [ { "canary": { "requests", "errors", "slow" }, "stable": { … } } ] } ] }
 * `faultFromInterval` is the 0-based index of the first bad interval, null for a healthy scenario.
 */

export interface Slo {
  readonly errorRate: number;
  readonly latencyThresholdSeconds: number;
  readonly latencyQuantile: number;
}

export interface Scenario {
  readonly name: string;
  readonly expect: 'promote' | 'rollback';
  readonly faultFromInterval: number | null;
  readonly slo: Slo;
  readonly intervals: readonly IntervalCounts[];
}

export interface ScenarioFile {
  readonly scenarios: readonly Scenario[];
}

const count = z.number().int({ message: 'must be a whole number' }).min(0, { message: 'must be at least 0' });
const version = z.strictObject({ requests: count, errors: count, slow: count });
const proportion = (what: string) => z.number().gt(0, { message: `must be greater than 0 (${what})` }).lt(1, { message: `must be less than 1 (${what})` });

const scenarioSchema = z
  .strictObject({
    name: z.string().trim().min(1, { message: 'must not be empty' }),
    expect: z.enum(['promote', 'rollback']),
    faultFromInterval: count.nullable(),
    slo: z.strictObject({
      errorRate: proportion('a share of requests'),
      latencyThresholdSeconds: z.number().gt(0, { message: 'must be greater than 0' }),
      latencyQuantile: proportion('a quantile'),
    }),
    intervals: z.array(z.strictObject({ canary: version, stable: version })).min(1, { message: 'must have at least one interval' }),
  })
  .superRefine((s, ctx) => {
    if (s.expect === 'promote' && s.faultFromInterval !== null) {
      ctx.addIssue({ code: 'custom', path: ['faultFromInterval'], message: 'must be null when expect is promote' });
    }
    if (s.expect === 'rollback' && s.faultFromInterval === null) {
      ctx.addIssue({ code: 'custom', path: ['faultFromInterval'], message: 'required (the first bad interval) when expect is rollback' });
    }
    if (s.faultFromInterval !== null && s.intervals.length > 0 && s.faultFromInterval >= s.intervals.length) {
      ctx.addIssue({ code: 'custom', path: ['faultFromInterval'], message: `must be less than the number of intervals (${s.intervals.length})` });
    }
  });

const fileSchema = z.strictObject({ scenarios: z.array(scenarioSchema).min(1, { message: 'must have at least one scenario' }) });

/**
 * Parses a scenario file's JSON value; throws InputValidationError naming every bad field, e.g.
 * `scenarios[3].intervals[0].canary.errors: must not exceed requests`.
 */
export function parseScenarioFile(value: unknown): ScenarioFile {
  const file = parseOrThrow(fileSchema, value, '', 'scenario file');
  const issues = file.scenarios.flatMap((s, i) => s.intervals.flatMap((interval, j) => countIssues(interval, `scenarios[${i}].intervals[${j}]`)));
  const seen = new Map<string, number>();
  file.scenarios.forEach((s, i) => {
    const first = seen.get(s.name);
    if (first !== undefined) issues.push({ field: `scenarios[${i}].name`, message: `duplicate name '${s.name}' (also scenarios[${first}])` });
    else seen.set(s.name, i);
  });
  if (issues.length > 0) throw new InputValidationError(issues, 'scenario file');
  return file;
}

/** Parses scenario file text: JSON first, then the fields. */
export function parseScenarioText(text: string): ScenarioFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputValidationError([{ field: '(root)', message: `not JSON: ${(error as Error).message}` }], 'scenario file');
  }
  return parseScenarioFile(value);
}
