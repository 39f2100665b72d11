import { z } from 'zod';
import type { FieldIssue } from './errors';
import { durationSeconds, enabledChecks, PLAN_BOUNDS, type CheckSpec, type Plan } from './plan';
import { alphaOf, isCountBased } from './statistics/plan-checks';
import { RESERVED_KEYS } from './validation';

/**
 * A service registration's policy: the floor an execution input may tighten, never loosen (ARCHITECTURE rule 9).
 * Anyone allowed to StartExecution can pass a plan; the policy is what they cannot switch off.
 *
 * Without a written policy (and for each field a written one leaves out) the registered plan (defaults + the
 * registration's plan) is the floor: an execution may not disable or loosen a registered check, raise a limit, judge
 * less often, lower α, lengthen the window, weaken the power hold or remove an approval. Whatever the policy says,
 * every plan's first step sends at most 25% and some step below 100% is judged (plan.ts, PLAN_BOUNDS): a registration
 * chooses its own plan, but not one that starts at 100%; a policy may set a lower first-weight cap, never a higher one.
 * The registered plan must satisfy its own policy (parseServiceConfig, at synth).
 */

const checkName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { message: 'must be a check name (lowercase letters, digits, . _ -)' });
const positiveInt = (max: number) =>
  z
    .number()
    .int({ message: 'must be a whole number' })
    .min(1, { message: 'must be at least 1' })
    .max(max, { message: `must be at most ${max}` });

export const policyLimitsSchema = z.strictObject({
  /** Largest analysis.consecutiveFailureLimit an execution may set. */
  consecutiveFailureLimit: positiveInt(PLAN_BOUNDS.maxLimit).optional(),
  /** Largest analysis.failureLimit an execution may set; with it, an execution must set one. */
  failureLimit: positiveInt(PLAN_BOUNDS.maxLimit).optional(),
  /** Largest analysis.errorLimit an execution may set. */
  errorLimit: positiveInt(PLAN_BOUNDS.maxLimit).optional(),
  /** Largest analysis.noDataLimit an execution may set. */
  noDataLimit: positiveInt(PLAN_BOUNDS.maxLimit).optional(),
  /** Largest analysis.underpoweredLimit an execution may set. */
  underpoweredLimit: positiveInt(PLAN_BOUNDS.maxLimit).optional(),
});

export const policySchema = z
  .strictObject({
    /** Checks an execution may neither disable nor loosen; unset: every enabled check of the registered plan. */
    requiredChecks: z.array(checkName).max(20, { message: 'must list at most 20 checks' }).optional(),
    /** Largest first weight, percent, at most 25 (the cap of every plan); unset: 25. */
    maxFirstWeight: z
      .number()
      .refine((w) => w > 0 && w <= PLAN_BOUNDS.maxFirstWeight, { message: `must be greater than 0 and at most ${PLAN_BOUNDS.maxFirstWeight} (every plan's cap)` })
      .optional(),
    /** Largest increase between two consecutive steps' weights, percentage points (the jump to 100% included); unset: none. */
    maxStepIncrease: z
      .number()
      .refine((w) => w > 0 && w <= 100, { message: 'must be greater than 0 and at most 100' })
      .optional(),
    /** Fewest steps, the last (100%) included; unset: 2 (one judged step below 100%, then 100%). */
    minSteps: z.number().int({ message: 'must be a whole number' }).min(2, { message: 'must be at least 2' }).max(50, { message: 'must be at most 50' }).optional(),
    /** Shortest hold of a step that holds, seconds; unset: one analysis interval. */
    minHoldSeconds: positiveInt(PLAN_BOUNDS.maxHoldSeconds).optional(),
    /** Longest hold of a step, seconds; unset: a day (PLAN_BOUNDS). */
    maxHoldSeconds: positiveInt(PLAN_BOUNDS.maxHoldSeconds).optional(),
    /** Shortest analysis.intervalSeconds an execution may set; unset: 1. */
    minIntervalSeconds: positiveInt(PLAN_BOUNDS.maxIntervalSeconds).optional(),
    /** Longest analysis.intervalSeconds an execution may set; unset: the registered plan's (judge more often, never less). */
    maxIntervalSeconds: positiveInt(PLAN_BOUNDS.maxIntervalSeconds).optional(),
    /** Largest analysis limits an execution may set; each one unset: the registered plan's. */
    limits: policyLimitsSchema.optional(),
  })
  .superRefine((policy, ctx) => {
    const pair = (min: keyof typeof policy, max: keyof typeof policy) => {
      const [lo, hi] = [policy[min], policy[max]];
      if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) ctx.addIssue({ code: 'custom', path: [min], message: `must not be greater than ${max} (${hi})` });
    };
    pair('minHoldSeconds', 'maxHoldSeconds');
    pair('minIntervalSeconds', 'maxIntervalSeconds');
    const seen = new Set<string>();
    policy.requiredChecks?.forEach((name, i) => {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['requiredChecks', i], message: `duplicate name '${name}'` });
      seen.add(name);
    });
  });

export type Policy = z.output<typeof policySchema>;
export type PolicyLimits = z.output<typeof policyLimitsSchema>;

/** The rules, as the errors name them. */
export const POLICY_RULES = {
  check: 'an execution may tighten a registered check, never loosen it',
  limit: 'an execution may tighten the registered limits, never loosen them',
  interval: 'an execution may judge more often than the registered plan, never less often',
  alpha: 'an execution may not lower the registered false-rollback rate: a smaller α needs more evidence before a bad canary rolls back',
  window: 'an execution may shorten the registered query window, never lengthen it: a longer window dilutes a spike',
  powerHold: "an execution may not weaken the registered power hold ('every-step' to 'promotion')",
  approval: 'an execution may add approvals, never remove one',
  dilution: 'an execution may not dilute the false-rollback rate of the registered checks',
} as const;

/** Where the fields live: the plan compared (`plan`, `service.plan`) and the policy that sets the bounds. */
export interface PolicyRoots {
  readonly plan: string;
  readonly policy: string;
}

const show = (value: unknown): string => {
  if (typeof value === 'string') return value.length > 60 ? `'${value.slice(0, 60)}…'` : `'${value}'`;
  return String(value);
};

/** Fields of a check, each compared the way it tightens. */
const SAME_FIELDS = ['count', 'query', 'samplesQuery', 'windowIntervals'] as const;
const NOT_RAISED = ['slo', 'maxRatio', 'maxIncrease', 'fastAbortFactor', 'detectFactor', 'sustainIntervals', 'minPoints', 'minTrendT'] as const;
const NOT_LOWERED = ['min', 'minSamples', 'projectIntervals'] as const;
/** A breach of a sequential check must be proven on every tolerance axis: adding one makes a rollback harder. */
const AXES = ['maxRatio', 'maxIncrease'] as const;

const FIELD_NAMES: Readonly<Record<string, string>> = {
  slo: 'SLO',
  max: 'max',
  min: 'min',
  minSamples: 'minSamples',
  maxRatio: 'maxRatio',
  maxIncrease: 'maxIncrease',
  fastAbortFactor: 'fastAbortFactor',
  detectFactor: 'detectFactor (a larger one passes on less data)',
  sustainIntervals: 'sustainIntervals',
  minPoints: 'minPoints',
  minTrendT: 'minTrendT',
  projectIntervals: 'projectIntervals',
};

/** The query window a threshold or gauge check judges over; undefined for the count-based ones. */
function windowOf(plan: Plan, check: CheckSpec): string | undefined {
  return check.judge === 'threshold' || check.judge === 'gauge-trend' ? (check.window ?? plan.analysis.window) : undefined;
}

/** How a required check's final form loosens its registered form, as [field, message]. */
function checkLoosening(registered: Plan, r: CheckSpec, final: Plan, f: CheckSpec): [string, string][] {
  const out: [string, string][] = [];
  if (f.enabled === false) return [['enabled', `must not disable the registered check '${r.name}'`]];
  // Another judge is another check (its count, queries and thresholds follow from it): that alone is the issue.
  if (r.judge !== f.judge) return [['judge', `must not change the registered judge ${show(r.judge)}`]];
  for (const field of SAME_FIELDS) {
    if (r[field] !== f[field]) out.push([field, r[field] === undefined ? `must not be set on the registered check '${r.name}'` : `must not change the registered ${field} ${show(r[field])}`]);
  }
  // Another query is another check; comparing its thresholds would say nothing more.
  if (out.some(([field]) => field === 'query')) return out;
  // For an error count max is the SLO (compared as slo); elsewhere it is an upper bound: the value's, the gauge's, the latency's.
  const fields: readonly string[] = r.count === 'errors' ? NOT_RAISED : [...NOT_RAISED, 'max'];
  for (const field of fields) {
    const [rv, fv] = [r[field as keyof CheckSpec], f[field as keyof CheckSpec]];
    if (typeof rv !== 'number') continue;
    if (typeof fv !== 'number') out.push([field, `must not remove the registered ${FIELD_NAMES[field]} ${rv}`]);
    else if (fv > rv) out.push([field, `must not raise the registered ${FIELD_NAMES[field]} ${rv}`]);
  }
  for (const field of NOT_LOWERED) {
    const [rv, fv] = [r[field], f[field]];
    if (typeof rv !== 'number') continue;
    if (typeof fv !== 'number') out.push([field, `must not remove the registered ${FIELD_NAMES[field]} ${rv}`]);
    else if (fv < rv) out.push([field, `must not lower the registered ${FIELD_NAMES[field]} ${rv}`]);
  }
  if (r.judge === 'sequential') {
    for (const axis of AXES) {
      if (r[axis] === undefined && f[axis] !== undefined) out.push([axis, `must not be added to the registered check '${r.name}': a rollback would then need proof on this axis too`]);
    }
  }
  if (r.requireAboveSlo !== true && f.requireAboveSlo === true) out.push(['requireAboveSlo', 'must not be set: the registered check rolls back without proof above the SLO']);
  const [rw, fw] = [windowOf(registered, r), windowOf(final, f)];
  if (rw !== undefined && fw !== undefined && durationSeconds(fw) > durationSeconds(rw)) out.push(['window', `must not be longer than the registered window ${rw}`]);
  return out;
}

/** Issues of the required checks: disabled, replaced or loosened; a required check missing from the registration. */
function requiredCheckIssues(policy: Policy | undefined, registered: Plan, final: Plan, roots: PolicyRoots): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const enabled = registered.checks.filter((c) => c.enabled !== false);
  const required = policy?.requiredChecks ?? enabled.map((c) => c.name);
  const rule = policy?.requiredChecks === undefined ? POLICY_RULES.check : `requiredChecks: a required check may be tightened, never loosened`;
  required.forEach((name, k) => {
    const r = enabled.find((c) => c.name === name);
    if (r === undefined) {
      issues.push({ field: `${roots.policy}.requiredChecks[${k}]`, message: `'${name}' is not an enabled check of the registered plan (its checks: ${enabled.map((c) => c.name).join(', ')})` });
      return;
    }
    const i = final.checks.findIndex((c) => c.name === name);
    if (i < 0) {
      issues.push({ field: `${roots.plan}.checks`, message: `must keep the registered check '${name}' (policy: ${rule})` });
      return;
    }
    for (const [field, message] of checkLoosening(registered, r, final, final.checks[i])) {
      const at = field === 'window' && final.checks[i].window === undefined ? `${roots.plan}.analysis.window` : `${roots.plan}.checks[${i}].${field}`;
      issues.push({ field: at, message: `${message} (policy: ${rule})` });
    }
  });
  return dedupe(issues);
}

/** A check added (or enabled) by the execution must not lower the α share of a required count-based check (Bonferroni split). */
function dilutionIssues(policy: Policy | undefined, registered: Plan, final: Plan, roots: PolicyRoots): FieldIssue[] {
  if (final.analysis.alpha < registered.analysis.alpha) return [];
  const [reg, fin] = [enabledChecks(registered), enabledChecks(final)];
  const required = new Set(policy?.requiredChecks ?? reg.checks.map((c) => c.name));
  const diluted = reg.checks
    .filter((r) => required.has(r.name) && isCountBased(r))
    .map((r) => ({ r, f: fin.checks.find((c) => c.name === r.name) }))
    .filter((p): p is { r: CheckSpec; f: CheckSpec } => p.f !== undefined && isCountBased(p.f) && alphaOf(fin, p.f) < alphaOf(reg, p.r) * (1 - 1e-9));
  if (diluted.length === 0) return [];
  const registeredCounted = new Set(reg.checks.filter(isCountBased).map((c) => c.name));
  const { r, f } = diluted[0];
  const numbers = `'${r.name}' would be judged at α ${Number(alphaOf(fin, f).toPrecision(4))} instead of ${Number(alphaOf(reg, r).toPrecision(4))}`;
  // The α that keeps every required check's share: the plan's α scaled by the largest dilution.
  const scale = Math.max(...diluted.map((d) => alphaOf(reg, d.r) / alphaOf(fin, d.f)));
  const keep = Number((final.analysis.alpha * scale).toPrecision(3));
  const remedy = keep <= 0.5 ? `register it, or raise analysis.alpha to at least ${keep}` : 'register it instead';
  return final.checks.flatMap((c, i) =>
    c.enabled !== false && isCountBased(c) && !registeredCounted.has(c.name)
      ? [{ field: `${roots.plan}.checks[${i}]`, message: `adding the ${c.judge} check '${c.name}' splits analysis.alpha further: ${numbers}; ${remedy} (policy: ${POLICY_RULES.dilution})` }]
      : [],
  );
}

/** Issues of the weights, holds and approvals. */
function stepIssues(policy: Policy | undefined, registered: Plan, final: Plan, roots: PolicyRoots): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const at = (path: string, message: string, rule: string) => issues.push({ field: `${roots.plan}.${path}`, message: `${message} (policy: ${rule})` });
  const steps = final.steps;
  const firstCap = policy?.maxFirstWeight;
  // The 25% cap of every plan is the schema's; a policy's lower cap is checked here.
  if (firstCap !== undefined && steps[0].weight > firstCap) at('steps[0].weight', `must be at most ${firstCap}`, `maxFirstWeight ${firstCap}`);
  const increase = policy?.maxStepIncrease;
  if (increase !== undefined) {
    steps.forEach((step, i) => {
      const before = steps[i - 1];
      if (before && step.weight - before.weight > increase + 1e-9) {
        at(`steps[${i}].weight`, `must be at most ${Math.round((before.weight + increase) * 10) / 10} (${increase} points above the previous step's ${before.weight}); add steps in between`, `maxStepIncrease ${increase}`);
      }
    });
  }
  if (policy?.minSteps !== undefined && steps.length < policy.minSteps) at('steps', `must have at least ${policy.minSteps} steps (the last, 100%, included), not ${steps.length}`, `minSteps ${policy.minSteps}`);
  steps.forEach((step, i) => {
    if (step.holdSeconds === undefined) return;
    if (policy?.minHoldSeconds !== undefined && step.holdSeconds < policy.minHoldSeconds) at(`steps[${i}].holdSeconds`, `must be at least ${policy.minHoldSeconds} seconds`, `minHoldSeconds ${policy.minHoldSeconds}`);
    if (policy?.maxHoldSeconds !== undefined && step.holdSeconds > policy.maxHoldSeconds) at(`steps[${i}].holdSeconds`, `must be at most ${policy.maxHoldSeconds} seconds`, `maxHoldSeconds ${policy.maxHoldSeconds}`);
  });
  // A registered approval before w% means traffic never reaches w% unapproved: the first final step at w% or more keeps it.
  registered.steps.forEach((step, j) => {
    if (!step.approval || j === 0) return;
    const k = steps.findIndex((s) => s.weight >= step.weight);
    if (k === 0) at('steps[0].weight', `must be below ${step.weight}: the registered plan asks for approval before traffic reaches ${step.weight}% (registered steps[${j}])`, POLICY_RULES.approval);
    else if (k > 0 && steps[k].approval !== true) {
      at(`steps[${k}].approval`, `required: the registered plan asks for approval before traffic reaches ${step.weight}% (registered steps[${j}])`, POLICY_RULES.approval);
    }
  });
  return dedupe(issues);
}

const LIMITS = ['consecutiveFailureLimit', 'failureLimit', 'errorLimit', 'noDataLimit', 'underpoweredLimit'] as const;

/** Issues of the analysis settings: interval, limits, α, window, power hold. */
function analysisIssues(policy: Policy | undefined, registered: Plan, final: Plan, roots: PolicyRoots): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const at = (field: string, message: string, rule: string) => issues.push({ field: `${roots.plan}.analysis.${field}`, message: `${message} (policy: ${rule})` });
  const [r, f] = [registered.analysis, final.analysis];
  const maxInterval = policy?.maxIntervalSeconds ?? r.intervalSeconds;
  if (f.intervalSeconds > maxInterval) {
    at('intervalSeconds', `must be at most ${maxInterval}`, policy?.maxIntervalSeconds === undefined ? POLICY_RULES.interval : `maxIntervalSeconds ${maxInterval}`);
  }
  if (policy?.minIntervalSeconds !== undefined && f.intervalSeconds < policy.minIntervalSeconds) at('intervalSeconds', `must be at least ${policy.minIntervalSeconds}`, `minIntervalSeconds ${policy.minIntervalSeconds}`);
  for (const limit of LIMITS) {
    const written = policy?.limits?.[limit];
    const bound = written ?? r[limit];
    if (bound === undefined) continue;
    const rule = written === undefined ? POLICY_RULES.limit : `limits.${limit} ${written}`;
    const value = f[limit];
    if (value === undefined) at(limit, `required, at most ${bound}${written === undefined ? ' (the registered plan sets one)' : ''}`, rule);
    else if (value > bound) at(limit, `must be at most ${bound}${written === undefined ? ', the registered value' : ''}`, rule);
  }
  if (f.alpha < r.alpha) at('alpha', `must not be lower than the registered ${r.alpha}`, POLICY_RULES.alpha);
  if (durationSeconds(f.window) > durationSeconds(r.window)) at('window', `must not be longer than the registered ${r.window}`, POLICY_RULES.window);
  if (r.powerHold === 'every-step' && f.powerHold !== 'every-step') at('powerHold', "must stay 'every-step', as registered", POLICY_RULES.powerHold);
  return issues;
}

function dedupe(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.field}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The registered plan with those override fields that have the right type laid over its analysis and named checks. */
function overlaid(registered: Plan, overrides: unknown): Plan {
  if (!isRecord(overrides)) return registered;
  const typed = (base: Record<string, unknown>, layer: Record<string, unknown>) => {
    const out = { ...base };
    for (const [key, value] of Object.entries(layer)) {
      if (RESERVED_KEYS.includes(key)) continue;
      const same = typeof value === typeof base[key] || (base[key] === undefined && (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'));
      if (!same || (typeof value === 'number' && !Number.isFinite(value))) continue;
      // A window that is no duration is the schema's to name; comparing it would say nothing.
      if (key === 'window' && !(typeof value === 'string' && /^[1-9][0-9]*(s|m|h)$/.test(value))) continue;
      out[key] = value;
    }
    return out;
  };
  const analysis = isRecord(overrides.analysis) ? (typed(registered.analysis, overrides.analysis) as Plan['analysis']) : registered.analysis;
  const layers = Array.isArray(overrides.checks) ? overrides.checks.filter(isRecord) : [];
  const checks = registered.checks.map((check) => {
    const layer = layers.find((l) => l.name === check.name);
    return layer === undefined ? check : (typed(check, layer) as CheckSpec);
  });
  return { ...registered, analysis, checks };
}

/**
 * The policy issues that can be told from the overrides alone, for a plan the schema refused: disabling, replacing or
 * loosening a required check, raising a limit. So a refused switch-off says which rule it breaks, whatever else is wrong.
 */
export function overridePolicyIssues(policy: Policy | undefined, registered: Plan, overrides: unknown, roots: PolicyRoots = { plan: 'plan', policy: 'policy' }): FieldIssue[] {
  const final = overlaid(registered, overrides);
  return [...analysisIssues(policy, registered, final, roots), ...requiredCheckIssues(policy, registered, final, roots)];
}

/**
 * Every way `final` (a plan resolved with its disabled checks in place, resolveFullPlan) breaks the policy against
 * `registered` (the registered plan, likewise). With final = registered it checks the registration against its own
 * policy. Each message names the rule: `must not raise the registered SLO 0.01 (policy: …)`.
 */
export function policyIssues(policy: Policy | undefined, registered: Plan, final: Plan, roots: PolicyRoots = { plan: 'plan', policy: 'policy' }): FieldIssue[] {
  return [
    ...stepIssues(policy, registered, final, roots),
    ...analysisIssues(policy, registered, final, roots),
    ...requiredCheckIssues(policy, registered, final, roots),
    ...dilutionIssues(policy, registered, final, roots),
  ];
}
