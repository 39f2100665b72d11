import { z } from 'zod';
import { BUILTIN_CHECKS, BUILTIN_CHECK_NAMES } from './builtin-checks';
import { unknownTemplateVariables, TEMPLATE_VARIABLES } from './query-template';
import { parseOrThrow } from './validation';

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

const duration = z.string().regex(DURATION, { message: "must be a duration like '30s', '2m' or '1h'" });

const wholeSeconds = z
  .number()
  .int({ message: 'must be whole seconds' })
  .positive({ message: 'must be whole seconds greater than 0' });

const limit = z.number().int({ message: 'must be a whole number' }).min(1, { message: 'must be at least 1' });

const weight = z
  .number()
  .refine((w) => w >= 0 && w <= 100, { message: 'must be between 0 and 100' })
  .refine((w) => w > 0, { message: 'must be greater than 0 (a step that sends no traffic judges nothing)' })
  .refine((w) => Math.abs(w * 10 - Math.round(w * 10)) < 1e-9, { message: 'must be a multiple of 0.1' });

export const stepSchema = z.strictObject({
  weight,
  holdSeconds: wholeSeconds.optional(),
  /** A person must approve (`canary approve`) before traffic moves to this step; on the last step, before promotion. */
  approval: z.boolean().optional(),
});

export const analysisSchema = z.strictObject({
  /** Seconds between two analyses. */
  intervalSeconds: wholeSeconds,
  /** Failed intervals in a row that roll back; 2 means one noisy breach never does. */
  consecutiveFailureLimit: limit,
  /** Failed intervals in all that roll back, in a row or not; unset means no such limit. */
  failureLimit: limit.optional(),
  /** Intervals in a row whose queries failed that roll back. */
  errorLimit: limit,
  /** Intervals in a row without enough data that roll back: no data holds, and then fails. */
  noDataLimit: limit,
  /** Range of the queries' `[window]`. */
  window: duration,
});

const checkName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { message: 'must be 1-63 characters: lowercase letters, digits, . _ -' });

const promql = z.string().trim().min(1, { message: 'must not be empty' });

/** The message for a check with neither a query nor a built-in name. */
const UNKNOWN_CHECK_HINT = `required unless the name is a built-in check (${BUILTIN_CHECK_NAMES.join(', ')})`;

export const checkSchema = z.strictObject({
  name: checkName,
  /** PromQL returning one number; see TEMPLATE_VARIABLES for what it may use. */
  query: z
    .string({ error: (issue) => (issue.input === undefined ? UNKNOWN_CHECK_HINT : undefined) })
    .trim()
    .min(1, { message: 'must not be empty' }),
  min: z.number().optional(),
  max: z.number().optional(),
  /** PromQL returning how many observations `query` stands on. */
  samplesQuery: promql.optional(),
  /** Fewer samples than this is "no data", never a pass. */
  minSamples: z.number().int({ message: 'must be a whole number' }).min(0, { message: 'must be at least 0' }),
  /** Overrides the analysis window for this check. */
  window: duration.optional(),
});

export const approvalsSchema = z.strictObject({
  /** How long a gate waits for approval before the run rolls back. */
  timeoutSeconds: wholeSeconds,
});

export const rollbackSchema = z.strictObject({
  /** `immediate`: all traffic back to stable at once. `gradual`: down the schedule with short holds. */
  mode: z.enum(['immediate', 'gradual']),
  /** Hold of each step on the way down in `gradual` mode. */
  stepHoldSeconds: wholeSeconds,
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
    const last = plan.steps[plan.steps.length - 1];
    if (last && last.weight !== 100) issue(['steps', plan.steps.length - 1, 'weight'], 'must be 100 (the last step sends all traffic to the new version)');

    const seen = new Map<string, number>();
    plan.checks.forEach((check, i) => {
      const first = seen.get(check.name);
      if (first !== undefined) issue(['checks', i, 'name'], `duplicate name '${check.name}' (also checks[${first}])`);
      else seen.set(check.name, i);
      if (check.min === undefined && check.max === undefined) issue(['checks', i], `check '${check.name}' needs min and/or max`);
      if (check.min !== undefined && check.max !== undefined && check.min > check.max) issue(['checks', i, 'min'], `must not be greater than max (${check.max})`);
      if (check.minSamples > 0 && check.samplesQuery === undefined) issue(['checks', i, 'samplesQuery'], `required when minSamples is above 0`);
      for (const field of ['query', 'samplesQuery'] as const) {
        const unknown = unknownTemplateVariables(check[field] ?? '');
        if (unknown.length > 0) {
          issue(['checks', i, field], `unknown variable ${unknown.map((v) => `{{ ${v} }}`).join(', ')}; known: ${TEMPLATE_VARIABLES.join(', ')}`);
        }
      }
    });
  });

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

export const DEFAULT_PLAN = {
  steps: [{ weight: 5, holdSeconds: 300 }, { weight: 25, holdSeconds: 600 }, { weight: 100 }],
  analysis: { intervalSeconds: 60, consecutiveFailureLimit: 2, errorLimit: 4, noDataLimit: 5, window: '2m' },
  checks: [{ name: 'error-rate' }, { name: 'latency-p99' }, { name: 'success-rate' }],
  rollback: { mode: 'immediate', stepHoldSeconds: 10 },
  approvals: { timeoutSeconds: 3600 },
} as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

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
    if (index >= 0 && isRecord(check)) merged[index] = { ...(merged[index] as Record<string, unknown>), ...check };
    else merged.push(check);
  }
  return merged;
}

/** Fills a named built-in check's query, sample count and thresholds; the plan's own fields win. */
function expandBuiltin(check: unknown): unknown {
  if (!isRecord(check) || typeof check.name !== 'string') return check;
  const builtin = BUILTIN_CHECKS[check.name];
  if (!builtin) return { minSamples: 0, ...check };
  // A plan that writes its own query for a built-in name owns the whole check.
  if (check.query !== undefined) return { minSamples: 0, ...check };
  const { description: _description, min, max, ...defaults } = builtin;
  // A plan that sets either threshold sets the thresholds: the built-in's other bound does not linger.
  const hasOwnThreshold = check.min !== undefined || check.max !== undefined;
  const thresholds = hasOwnThreshold ? {} : { ...(min !== undefined && { min }), ...(max !== undefined && { max }) };
  return { ...defaults, ...thresholds, minSamples: defaults.minSamples ?? 0, ...check };
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
 * The plan a run follows: defaults, then the service's registered plan, then the execution's overrides.
 * Throws InputValidationError naming every bad field (`plan.steps[1].weight: must be between 0 and 100`).
 */
export function resolvePlan(registered?: unknown, override?: unknown, root = 'plan'): Plan {
  let merged = mergeLayer(structuredClone(DEFAULT_PLAN), registered);
  merged = mergeLayer(merged, override);
  if (isRecord(merged) && Array.isArray(merged.checks)) merged = { ...merged, checks: merged.checks.map(expandBuiltin) };
  return parseOrThrow(planSchema, merged, root, root === 'plan' ? 'plan' : root);
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
