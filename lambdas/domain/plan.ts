import { z } from 'zod';
import {
  BUILTIN_CHECK_NAMES,
  builtinCheck,
  CHECK_JUDGES,
  COUNT_JUDGES,
  SEQUENTIAL_CHECK_DEFAULTS,
  STABLE_GUARD_CHECK_DEFAULTS,
  type CheckJudge,
} from './builtin-checks';
import { unknownTemplateVariables, TEMPLATE_VARIABLES } from './query-template';
import { GAUGE_TREND_DEFAULTS } from './statistics/gauge-trend';
import { parseOrThrow, refuseReservedKeys, RESERVED_KEYS } from './validation';

/**
 * The rollout plan: the weight schedule, how often and how strictly each step is judged, the checks,
 * and how to roll back. A service registers one at deploy time; an execution may override parts.
 */

const DURATION = /^([1-9][0-9]*)(s|m|h)$/;
const DURATION_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** Seconds in a PromQL duration such as `2m`; the plan schema only lets valid ones through. */
export function durationSeconds(duration: string): number {
  const match = DURATION.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  return Number(match[1]) * DURATION_SECONDS[match[2] as keyof typeof DURATION_SECONDS];
}

/**
 * The bounds every plan keeps, whoever writes it. Durations are bounded so that a plan cannot hold a run for years,
 * and so that the worst case of a run fits Step Functions' history (history-budget.ts); the first step is a canary.
 */
export const PLAN_BOUNDS = {
  /** Longest hold of one step: a day. */
  maxHoldSeconds: 86_400,
  /** Shortest and longest analysis interval (the tests judge every second). */
  minIntervalSeconds: 1,
  maxIntervalSeconds: 3_600,
  /** Longest wait for an approval: a day. */
  maxApprovalTimeoutSeconds: 86_400,
  /** Longest hold of a step on the way down in a gradual rollback. */
  maxRollbackStepHoldSeconds: 3_600,
  /** Longest query window (`analysis.window`, a check's `window`). */
  maxWindowSeconds: 86_400,
  /** Largest counting limit: a limit above it is a limit switched off. */
  maxLimit: 1_000,
  /** Longest PromQL query or samples query, characters. */
  maxQueryLength: 4_096,
  /** Largest first weight, percent: the first step exposes few users, whatever a registration or a policy says. */
  maxFirstWeight: 25,
} as const;

const duration = z
  .string()
  .regex(DURATION, { message: "must be a duration like '30s', '2m' or '1h'" })
  .refine((d) => !DURATION.test(d) || durationSeconds(d) <= PLAN_BOUNDS.maxWindowSeconds, { message: `must be at most ${PLAN_BOUNDS.maxWindowSeconds / 3600}h` });

/** Whole seconds from 1 (or `min`) to `max`. */
const seconds = (max: number, min = 1) =>
  z
    .number()
    .int({ message: 'must be whole seconds' })
    .min(min, { message: min === 1 ? 'must be whole seconds greater than 0' : `must be at least ${min} seconds` })
    .max(max, { message: `must be at most ${max} seconds` });

const limit = z
  .number()
  .int({ message: 'must be a whole number' })
  .min(1, { message: 'must be at least 1' })
  .max(PLAN_BOUNDS.maxLimit, { message: `must be at most ${PLAN_BOUNDS.maxLimit}` });

const weight = z
  .number()
  .refine((w) => w >= 0 && w <= 100, { message: 'must be between 0 and 100' })
  .refine((w) => w > 0, { message: 'must be greater than 0 (a step that sends no traffic judges nothing)' })
  .refine((w) => Math.abs(w * 10 - Math.round(w * 10)) < 1e-9, { message: 'must be a multiple of 0.1' });

export const stepSchema = z.strictObject({
  weight,
  /** Seconds the step holds, judged every interval; at most a day. */
  holdSeconds: seconds(PLAN_BOUNDS.maxHoldSeconds).optional(),
  /** A person must approve (`canary approve`) before traffic moves to this step; on the last step, before promotion. */
  approval: z.boolean().optional(),
});

export const analysisSchema = z.strictObject({
  /** Seconds between two analyses, 1 to 3600. */
  intervalSeconds: seconds(PLAN_BOUNDS.maxIntervalSeconds, PLAN_BOUNDS.minIntervalSeconds),
  /** Failed intervals in a row that roll back; 2 means one noisy breach never does. */
  consecutiveFailureLimit: limit,
  /** Failed intervals in all that roll back, in a row or not; unset means no such limit. */
  failureLimit: limit.optional(),
  /** Intervals in a row whose queries failed that roll back. */
  errorLimit: limit,
  /** Intervals in a row without enough data that roll back: no data holds, and then fails. */
  noDataLimit: limit,
  /** Range of the queries' `[window]` (threshold and gauge checks; count-based checks count from one analysis to the next). */
  window: duration,
  /** False-rollback rate of the whole rollout, shared by the statistical checks (80% to the sequential ones, 20% to the stable guards). */
  alpha: z.number().refine((a) => a > 0 && a <= 0.5, { message: 'must be greater than 0 and at most 0.5' }),
  /**
   * Intervals a step may hold once its hold is done, waiting until every sequential check could detect the
   * regression it commits to (`detectFactor` × its SLO); then the run fails closed and rolls back, like noDataLimit.
   */
  underpoweredLimit: limit,
  /**
   * Where the power hold applies: `promotion` (the hold before 100%; earlier steps pass on "no breach", and the data
   * then accrue at the larger weight) or `every-step` (no step passes before the data could detect the regression).
   */
  powerHold: z.enum(['promotion', 'every-step']),
});

const checkName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { message: 'must be 1-63 characters: lowercase letters, digits, . _ -' })
  // A check's name keys its state in the run (statistics by name): an Object property there would read as state.
  .refine((name) => !RESERVED_KEYS.includes(name), { message: 'is reserved (it would name an Object property in the run state); choose another name' });

const promql = z
  .string()
  .trim()
  .min(1, { message: 'must not be empty' })
  .max(PLAN_BOUNDS.maxQueryLength, { message: `must be at most ${PLAN_BOUNDS.maxQueryLength} characters` });

/** The message for a check with neither a query nor a built-in name. */
const UNKNOWN_CHECK_HINT = `required unless the name is a built-in check (${BUILTIN_CHECK_NAMES.join(', ')})`;

const isProportion = (v: unknown): v is number => typeof v === 'number' && v > 0 && v < 1;
const proportion = z.number().refine(isProportion, { message: 'must be between 0 and 1' });
const wholeAtLeast = (n: number) => z.number().int({ message: 'must be a whole number' }).min(n, { message: `must be at least ${n}` });

export const checkSchema = z.strictObject({
  name: checkName,
  /** How the check is judged (builtin-checks.ts): `threshold`, `sequential`, `stable-guard` or `gauge-trend`. */
  judge: z.enum(CHECK_JUDGES),
  /** `false` drops the check, e.g. a default built-in the service cannot serve. */
  enabled: z.boolean().optional(),
  /** Threshold and gauge checks: PromQL returning one number; see TEMPLATE_VARIABLES for what it may use. */
  query: promql.optional(),
  min: z.number().optional(),
  /** Threshold: the value's upper bound. Gauge: the limit. Count-based: for `errors` the SLO (as `slo`), for `slow` the latency bound in seconds. */
  max: z.number().optional(),
  /** PromQL returning how many observations `query` stands on. */
  samplesQuery: promql.optional(),
  /** Threshold: fewer samples in the window is "no data". Sequential: canary requests (since the start) before a pass. */
  minSamples: wholeAtLeast(0),
  /** Overrides the analysis window for this check's query. */
  window: duration.optional(),
  /** Count-based: what a bad request is, `errors` (5xx) or `slow` (slower than `max` seconds). */
  count: z.enum(['errors', 'slow']).optional(),
  /** Count-based: the SLO, the largest acceptable share of bad requests. */
  slo: proportion.optional(),
  /** Sequential: the tolerated canary/stable ratio of the shares. */
  maxRatio: z.number().min(1, { message: 'must be at least 1' }).optional(),
  /** Sequential: the tolerated canary − stable difference of the shares. */
  maxIncrease: z.number().refine((v) => v >= 0 && v < 1, { message: 'must be at least 0 and less than 1' }).optional(),
  /** Sequential: roll back only when the canary is also proven above the SLO. */
  requireAboveSlo: z.boolean().optional(),
  /** Sequential: roll back at once when one interval proves the canary above this multiple of the SLO. */
  fastAbortFactor: z.number().gt(1, { message: 'must be greater than 1' }).optional(),
  /** Sequential: a step passes only once the data rule out a canary at this multiple of the SLO (the regression it commits to detect). */
  detectFactor: z.number().min(1, { message: 'must be at least 1' }).optional(),
  /** Stable guard: intervals in a row the stable must be above the SLO. */
  sustainIntervals: wholeAtLeast(1).max(PLAN_BOUNDS.maxLimit, { message: `must be at most ${PLAN_BOUNDS.maxLimit}` }).optional(),
  /** Gauge: points of the trend, the intervals it projects ahead, the points it needs, the slope's t-statistic it needs. */
  windowIntervals: wholeAtLeast(3).max(PLAN_BOUNDS.maxLimit, { message: `must be at most ${PLAN_BOUNDS.maxLimit}` }).optional(),
  projectIntervals: wholeAtLeast(0).max(PLAN_BOUNDS.maxLimit, { message: `must be at most ${PLAN_BOUNDS.maxLimit}` }).optional(),
  minPoints: wholeAtLeast(3).max(PLAN_BOUNDS.maxLimit, { message: `must be at most ${PLAN_BOUNDS.maxLimit}` }).optional(),
  minTrendT: z.number().min(0, { message: 'must be at least 0' }).optional(),
});

/** The fields each judge reads (besides name, judge, enabled, minSamples); any other is refused, naming the judges that take it. */
const JUDGE_FIELDS: Readonly<Record<CheckJudge, readonly string[]>> = {
  threshold: ['query', 'min', 'max', 'samplesQuery', 'window'],
  'gauge-trend': ['query', 'max', 'window', 'windowIntervals', 'projectIntervals', 'minPoints', 'minTrendT'],
  sequential: ['count', 'slo', 'max', 'maxRatio', 'maxIncrease', 'requireAboveSlo', 'fastAbortFactor', 'detectFactor'],
  'stable-guard': ['count', 'slo', 'max', 'sustainIntervals'],
};
const JUDGED_FIELDS = [...new Set(Object.values(JUDGE_FIELDS).flat())];

/** The requests a count-based check tests, as a key: two checks of one key would test the same counts twice. */
export function countedSeries(check: Pick<CheckSpec, 'judge' | 'count' | 'max'>): string | undefined {
  if (!COUNT_JUDGES.includes(check.judge) || check.count === undefined) return undefined;
  const version = check.judge === 'stable-guard' ? 'stable' : 'canary';
  return check.count === 'slow' ? `slow requests (above ${check.max} s) of the ${version}` : `errors of the ${version}`;
}

export const approvalsSchema = z.strictObject({
  /** How long a gate waits for a person (an approval, or a pause) before the run rolls back; at most a day. */
  timeoutSeconds: seconds(PLAN_BOUNDS.maxApprovalTimeoutSeconds),
});

export const rollbackSchema = z.strictObject({
  /** `immediate`: all traffic back to stable at once. `gradual`: down the schedule with short holds. */
  mode: z.enum(['immediate', 'gradual']),
  /** Hold of each step on the way down in `gradual` mode; at most an hour. */
  stepHoldSeconds: seconds(PLAN_BOUNDS.maxRollbackStepHoldSeconds),
});

export const planSchema = z
  .strictObject({
    steps: z.array(stepSchema).min(1, { message: 'must have at least one step' }).max(50, { message: 'must have at most 50 steps' }),
    analysis: analysisSchema,
    checks: z.array(checkSchema).min(1, { message: 'must have at least one check' }).max(20, { message: 'must have at most 20 checks' }),
    rollback: rollbackSchema,
    approvals: approvalsSchema,
  })
  .superRefine((plan, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    plan.steps.forEach((step, i) => {
      const previous = plan.steps[i - 1];
      if (previous && step.weight < previous.weight) issue(['steps', i, 'weight'], `must not be less than the previous step's weight (${previous.weight})`);
      const last = i === plan.steps.length - 1;
      if (!last && step.holdSeconds === undefined) issue(['steps', i, 'holdSeconds'], 'required (every step but the last holds)');
      if (step.holdSeconds !== undefined && step.holdSeconds < plan.analysis.intervalSeconds) {
        issue(['steps', i, 'holdSeconds'], `must be at least analysis.intervalSeconds (${plan.analysis.intervalSeconds}): a hold is judged once per interval`);
      }
    });
    if (plan.steps[0]?.approval) issue(['steps', 0, 'approval'], 'not allowed on the first step: approve the release by starting it');
    // A canary: the first step exposes few users, and some step below 100% is judged before all traffic moves.
    const first = plan.steps[0];
    if (first && first.weight > PLAN_BOUNDS.maxFirstWeight) {
      issue(['steps', 0, 'weight'], `must be at most ${PLAN_BOUNDS.maxFirstWeight} (the first step of every plan sends at most ${PLAN_BOUNDS.maxFirstWeight}% to the new version)`);
    }
    if (plan.steps.length === 1) issue(['steps'], 'must have a step below 100% before the last: a rollout that starts at 100% judges nothing before all traffic moves');
    const last = plan.steps[plan.steps.length - 1];
    if (last && last.weight !== 100) issue(['steps', plan.steps.length - 1, 'weight'], 'must be 100 (the last step sends all traffic to the new version)');

    if (plan.checks.length > 0 && plan.checks.every((c) => c.enabled === false)) {
      issue(['checks'], 'must have at least one enabled check (every check is enabled: false): a run judged on nothing would promote on nothing');
    }
    const seen = new Map<string, number>();
    const series = new Map<string, number>();
    plan.checks.forEach((check, i) => {
      const first = seen.get(check.name);
      if (first !== undefined) issue(['checks', i, 'name'], `duplicate name '${check.name}' (also checks[${first}])`);
      else seen.set(check.name, i);
      if (check.enabled === false) return;
      for (const [path, message] of checkIssues(check)) issue(['checks', i, ...path], message);
      const counted = countedSeries(check);
      if (counted === undefined) return;
      const same = series.get(counted);
      if (same === undefined) series.set(counted, i);
      else {
        issue(
          ['checks', i],
          `'${check.name}' tests the same ${counted} as checks[${same}] ('${plan.checks[same].name}'): that spends the false-rollback rate twice on one question; drop one, or judge it 'threshold'`,
        );
      }
    });
  });

/** What is wrong with one (enabled) check, as [path under the check, message]. */
function checkIssues(check: z.output<typeof checkSchema>): [(string | number)[], string][] {
  const issues: [(string | number)[], string][] = [];
  const at = (field: string | undefined, message: string) => issues.push([field === undefined ? [] : [field], message]);
  const fields = JUDGE_FIELDS[check.judge];
  for (const field of JUDGED_FIELDS) {
    if (check[field as keyof typeof check] === undefined || fields.includes(field)) continue;
    const takers = CHECK_JUDGES.filter((j) => JUDGE_FIELDS[j].includes(field)).map((j) => `'${j}'`);
    at(field, `only for judge ${takers.join(' or ')} (this check is judged '${check.judge}')`);
  }
  const builtin = builtinCheck(check.name);
  if (builtin && (check.query === undefined || check.query === builtin.query) && !builtin.judges.includes(check.judge)) {
    const hint = check.name === 'success-rate' ? ": it is 1 − error-rate; judge 'error-rate' sequentially instead" : '';
    at('judge', `'${check.name}' can be judged ${builtin.judges.map((j) => `'${j}'`).join(' or ')}, not '${check.judge}'${hint}`);
    return issues;
  }
  if (check.judge === 'threshold' || check.judge === 'gauge-trend') {
    if (check.query === undefined) at('query', UNKNOWN_CHECK_HINT);
    if (check.judge === 'threshold') {
      if (check.min === undefined && check.max === undefined) at(undefined, `check '${check.name}' needs min and/or max`);
      if (check.min !== undefined && check.max !== undefined && check.min > check.max) at('min', `must not be greater than max (${check.max})`);
    } else if (check.max === undefined) at('max', "required: the gauge's limit");
    if (check.minSamples > 0 && check.samplesQuery === undefined) at('samplesQuery', `required when minSamples is above 0`);
    for (const field of ['query', 'samplesQuery'] as const) {
      const unknown = unknownTemplateVariables(check[field] ?? '');
      if (unknown.length > 0) at(field, `unknown variable ${unknown.map((v) => `{{ ${v} }}`).join(', ')}; known: ${TEMPLATE_VARIABLES.join(', ')}`);
    }
    if (check.judge === 'gauge-trend' && (check.minPoints ?? 0) > (check.windowIntervals ?? Infinity)) at('minPoints', `must not exceed windowIntervals (${check.windowIntervals})`);
    return issues;
  }
  if (check.query !== undefined) at('query', `not used by judge '${check.judge}': it counts requests with the shared count queries of the metric conventions`);
  if (check.count === undefined) at('count', `required for judge '${check.judge}': 'errors' or 'slow'`);
  if (check.slo === undefined) at('slo', `required for judge '${check.judge}': the largest acceptable share of bad requests`);
  if (check.count === 'slow' && !(check.max !== undefined && check.max > 0)) at('max', 'required for a slow count: the latency bound in seconds, greater than 0');
  if (check.count === 'errors' && check.max !== undefined && !isProportion(check.max)) {
    at('max', 'must be between 0 and 1: for an error count max is the SLO, the largest acceptable share of 5xx');
  } else if (check.count === 'errors' && check.max !== undefined && check.slo !== undefined && check.max !== check.slo) {
    at('max', `must equal slo (${check.slo}) for an error count (both are the SLO); give one`);
  }
  return issues;
}

export type Plan = z.output<typeof planSchema>;
export type PlanStep = z.output<typeof stepSchema>;
export type CheckSpec = z.output<typeof checkSchema>;
export type AnalysisSettings = z.output<typeof analysisSchema>;

/** What a service registers or an execution passes: any part of a plan; the rest comes from defaults. */
export type PlanOverrides = {
  steps?: unknown;
  analysis?: Record<string, unknown>;
  checks?: unknown;
  rollback?: Record<string, unknown>;
  approvals?: Record<string, unknown>;
  [other: string]: unknown;
};

/**
 * The defaults every plan starts from. The checks are the winner of the judge benchmark (bench/judge, README
 * "Judging"): error rate and p99 latency judged sequentially on counts against the stable version, and both
 * guarded on the stable version. (success-rate is no longer among them: it is 1 − error-rate.)
 */
export const DEFAULT_PLAN = {
  steps: [{ weight: 5, holdSeconds: 300 }, { weight: 25, holdSeconds: 600 }, { weight: 100 }],
  analysis: { intervalSeconds: 60, consecutiveFailureLimit: 2, errorLimit: 4, noDataLimit: 5, window: '2m', alpha: 0.01, underpoweredLimit: 30, powerHold: 'promotion' },
  checks: [{ name: 'error-rate' }, { name: 'latency-p99' }, { name: 'stable-error-rate' }, { name: 'stable-latency-p99' }],
  rollback: { mode: 'immediate', stepHoldSeconds: 10 },
  approvals: { timeoutSeconds: 3600 },
} as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * For an error count `slo` and `max` are one number (the SLO): a layer that gives one replaces the other of the layer
 * below, so that a registered `max: 0.005` and an execution's `slo: 0.001` mean the SLO 0.001, not a conflict.
 */
function withoutReplacedSlo(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const name = typeof base.name === 'string' ? base.name : '';
  const count = layer.count ?? base.count ?? builtinCheck(name)?.counted?.count;
  const judge = layer.judge ?? base.judge ?? builtinCheck(name)?.judge;
  if (count !== 'errors' || judge === 'threshold' || (layer.slo === undefined) === (layer.max === undefined)) return base;
  const { [layer.slo === undefined ? 'slo' : 'max']: _replaced, ...rest } = base;
  return rest;
}

/** Checks merge by name: a known name updates that check, a new name is added. */
function mergeChecks(base: unknown, override: unknown): unknown {
  if (!Array.isArray(override)) return override === undefined ? base : override;
  const merged: unknown[] = Array.isArray(base) ? base.map((c: unknown) => (isRecord(c) ? { ...c } : c)) : [];
  const inherited = merged.length;
  const named = new Set<unknown>();
  for (const check of override) {
    // Only a check of the layer below is updated, once: two checks of one name in one layer stay two (and are refused).
    const name = isRecord(check) ? check.name : undefined;
    const repeated = named.has(name);
    named.add(name);
    const index = isRecord(check) && !repeated ? merged.findIndex((c, i) => i < inherited && isRecord(c) && c.name === check.name) : -1;
    if (index >= 0 && isRecord(check)) merged[index] = { ...withoutReplacedSlo(merged[index] as Record<string, unknown>, check), ...check };
    else merged.push(check);
  }
  return merged;
}

type Raw = Record<string, unknown>;

/** `value`, or `fallback` when it is unset; unlike `??`, a null stays, for the schema to refuse by name. */
const unlessUnset = <T, F>(value: T | undefined, fallback: F): T | F => (value === undefined ? fallback : value);

/** The tunables a judge gets when the check sets none. */
function withJudgeDefaults(check: Raw): Raw {
  switch (check.judge) {
    case 'sequential': {
      const tolerance = check.maxRatio === undefined && check.maxIncrease === undefined ? { maxRatio: SEQUENTIAL_CHECK_DEFAULTS.maxRatio } : {};
      const { maxRatio: _ratio, ...defaults } = SEQUENTIAL_CHECK_DEFAULTS;
      return { ...defaults, ...tolerance, ...check };
    }
    case 'stable-guard':
      return { minSamples: 0, ...STABLE_GUARD_CHECK_DEFAULTS, ...check };
    case 'gauge-trend': {
      const { windowIntervals, projectIntervals, minPoints, minTrendT } = GAUGE_TREND_DEFAULTS;
      return { minSamples: 0, windowIntervals, projectIntervals, minPoints, minTrendT, ...check };
    }
    default:
      return { minSamples: 0, ...check };
  }
}

/**
 * Fills a check from its built-in (query, sample count, thresholds, or what it counts) and its judge's defaults;
 * the plan's own fields win. `expanded` holds the checks already filled, for a stable guard that follows its
 * canary check's SLO.
 */
function expandCheck(check: unknown, expanded: ReadonlyMap<string, Raw>): unknown {
  if (!isRecord(check) || typeof check.name !== 'string') return check;
  const builtin = builtinCheck(check.name);
  // A custom check, or a plan that writes its own query for a built-in name: the plan owns the whole check.
  if (!builtin || check.query !== undefined) return withJudgeDefaults({ ...check, judge: unlessUnset(check.judge, check.count !== undefined ? 'sequential' : 'threshold') });
  const judge = unlessUnset(check.judge, builtin.judge);
  // A judge the built-in does not take is refused by the schema; fill nothing.
  if (typeof judge !== 'string' || !builtin.judges.includes(judge as CheckJudge)) return { minSamples: 0, ...check, judge };
  if (judge === 'gauge-trend') return withJudgeDefaults({ query: builtin.query, ...check, judge });
  if (judge === 'threshold') {
    const { query, samplesQuery, minSamples, min, max } = builtin;
    // A plan that sets either threshold sets the thresholds: the built-in's other bound does not linger.
    const hasOwnThreshold = check.min !== undefined || check.max !== undefined;
    const thresholds = hasOwnThreshold ? {} : { ...(min !== undefined && { min }), ...(max !== undefined && { max }) };
    return withJudgeDefaults({ query, ...(samplesQuery !== undefined && { samplesQuery }), minSamples: minSamples ?? 0, ...thresholds, ...check, judge });
  }
  const counted = builtin.counted!;
  // A stable guard follows its canary check's SLO and latency bound, unless it sets its own.
  const leader = counted.follows === undefined ? undefined : expanded.get(counted.follows);
  const leaderSlo = leader === undefined ? undefined : typeof leader.slo === 'number' ? leader.slo : counted.count === 'errors' && isProportion(leader.max) ? leader.max : undefined;
  const leaderMax = leader !== undefined && counted.count === 'slow' && typeof leader.max === 'number' ? leader.max : undefined;
  // An error count's max is its SLO; one that is no proportion stays on max, where the schema names it.
  const slo = unlessUnset(check.slo, (counted.count === 'errors' && isProportion(check.max) ? check.max : undefined) ?? leaderSlo ?? counted.slo);
  const max = counted.count === 'slow' ? unlessUnset(check.max, leaderMax ?? counted.max) : check.max;
  return withJudgeDefaults({ ...check, judge, count: counted.count, slo, ...(max !== undefined && { max }) });
}

/** Expands every check; stable guards last, so that they can follow the checks they guard. */
function expandChecks(checks: readonly unknown[]): unknown[] {
  const expanded = new Map<string, Raw>();
  const isGuard = (c: unknown) => isRecord(c) && typeof c.name === 'string' && builtinCheck(c.name)?.counted?.follows !== undefined;
  const out: unknown[] = [...checks];
  checks.forEach((c, i) => {
    if (isGuard(c)) return;
    out[i] = expandCheck(c, expanded);
    const e = out[i];
    if (isRecord(e) && typeof e.name === 'string' && e.enabled !== false) expanded.set(e.name, e);
  });
  checks.forEach((c, i) => {
    if (isGuard(c)) out[i] = expandCheck(c, expanded);
  });
  return out;
}

function mergeLayer(base: Record<string, unknown>, layer: unknown): Record<string, unknown> {
  if (layer === undefined) return base;
  if (!isRecord(layer)) return layer as Record<string, unknown>;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    if (key === 'checks') out.checks = mergeChecks(base.checks, value);
    else if ((key === 'analysis' || key === 'rollback' || key === 'approvals') && isRecord(value) && isRecord(base[key])) out[key] = { ...base[key], ...value };
    else out[key] = value;
  }
  return out;
}

/**
 * The merged plan with its disabled checks still in place, so that `checks[i]` is the index every message names
 * (the policy compares registered and final checks by these indices). Throws like resolvePlan.
 */
export function resolveFullPlan(registered?: unknown, override?: unknown, root = 'plan'): Plan {
  const subject = root === 'plan' ? 'plan' : root;
  refuseReservedKeys(registered, root, subject);
  refuseReservedKeys(override, root, subject);
  let merged = mergeLayer(structuredClone(DEFAULT_PLAN), registered);
  merged = mergeLayer(merged, override);
  if (isRecord(merged) && Array.isArray(merged.checks)) merged = { ...merged, checks: expandChecks(merged.checks) };
  return parseOrThrow(planSchema, merged, root, subject);
}

/** The checks a run judges: the enabled ones. */
export function enabledChecks(plan: Plan): Plan {
  return { ...plan, checks: plan.checks.filter((c) => c.enabled !== false) };
}

/**
 * The plan a run follows: defaults, then the service's registered plan, then the execution's overrides.
 * Throws InputValidationError naming every bad field (`plan.steps[1].weight: must be between 0 and 100`).
 * Only the plan's own rules: the registration's policy and the history budget are execution-validation.ts's.
 */
export function resolvePlan(registered?: unknown, override?: unknown, root = 'plan'): Plan {
  // Disabled checks were validated in place (so that messages point at the merged list); the run judges without them.
  return enabledChecks(resolveFullPlan(registered, override, root));
}

/** The hold of a step in whole intervals, at least one. */
export function holdIntervals(plan: Plan, stepIndex: number): number {
  const step = plan.steps[stepIndex];
  if (!step?.holdSeconds) return 0;
  return Math.max(1, Math.ceil(step.holdSeconds / plan.analysis.intervalSeconds));
}

/** Index of the last step: the one that sends 100% to the new version. */
export function finalStepIndex(plan: Plan): number {
  return plan.steps.length - 1;
}
