import { InputValidationError } from '../../lambdas/domain/errors';
import { planForRun, validateExecution, type RegistrationSource } from '../../lambdas/domain/execution-validation';
import { DEFAULT_PLAN } from '../../lambdas/domain/plan';
import { parseServiceConfig } from '../../lambdas/domain/service-config';
import type { Deps } from '../../lambdas/use-cases/deps';
import { startRun } from '../../lambdas/use-cases/start-run';
import { PAYMENTS_REGISTRATION } from '../support/registrations';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1';
const CHECK_RULE = '(policy: an execution may tighten a registered check, never loosen it)';
const LIMIT_RULE = '(policy: an execution may tighten the registered limits, never loosen them)';

const registration = (extra: Record<string, unknown> = {}) => ({
  ...PAYMENTS_REGISTRATION,
  ...extra,
});

/** The issues an execution's plan overrides meet against a registration, as `field: message`. */
function refusal(overrides: unknown, extra: Record<string, unknown> = {}): string[] {
  try {
    planForRun(parseServiceConfig(registration(extra)), overrides);
  } catch (error) {
    if (error instanceof InputValidationError) return error.issues.map((i) => `${i.field}: ${i.message}`);
    throw error;
  }
  throw new Error('expected the plan to be refused');
}

const allowed = (overrides: unknown, extra: Record<string, unknown> = {}) => planForRun(parseServiceConfig(registration(extra)), overrides);

describe('the default policy: an execution may tighten the registered plan, never loosen it', () => {
  it('refuses disabling every check, each registered check by name', () => {
    const issues = refusal({ checks: DEFAULT_PLAN.checks.map((c) => ({ name: c.name, enabled: false })) });
    expect(issues[0]).toMatch(/^plan\.checks: must have at least one enabled check/);
    expect(issues).toContain(`plan.checks[0].enabled: must not disable the registered check 'error-rate' ${CHECK_RULE}`);
    expect(issues).toContain(`plan.checks[3].enabled: must not disable the registered check 'stable-latency-p99' ${CHECK_RULE}`);
  });

  it('refuses disabling one registered check', () => {
    expect(refusal({ checks: [{ name: 'latency-p99', enabled: false }] })).toEqual([`plan.checks[1].enabled: must not disable the registered check 'latency-p99' ${CHECK_RULE}`]);
  });

  it('refuses replacing a registered check with vector(0), whether the rest is well formed or not', () => {
    expect(refusal({ checks: [{ name: 'error-rate', query: 'vector(0)', max: 1 }] })).toContain(`plan.checks[0].judge: must not change the registered judge 'sequential' ${CHECK_RULE}`);
    expect(refusal({ checks: [{ name: 'error-rate', query: 'vector(0)' }] })).toContain(`plan.checks[0].query: must not be set on the registered check 'error-rate' ${CHECK_RULE}`);
    const registeredQuery = { checks: [{ name: 'cpu', query: 'max(cpu{ {{ canarySelector }} })', max: 0.8 }] };
    expect(refusal({ checks: [{ name: 'cpu', query: 'vector(0)' }] }, { plan: registeredQuery })).toEqual([
      `plan.checks[4].query: must not change the registered query 'max(cpu{ {{ canarySelector }} })' ${CHECK_RULE}`,
    ]);
    expect(refusal({ checks: [{ name: 'cpu', samplesQuery: 'vector(1e9)', minSamples: 1 }] }, { plan: registeredQuery })).toContain(`plan.checks[4].samplesQuery: must not be set on the registered check 'cpu' ${CHECK_RULE}`);
  });

  it('refuses raising an SLO, naming the registered one (and the stable guard that follows it)', () => {
    expect(refusal({ checks: [{ name: 'error-rate', slo: 0.99 }] })).toEqual([
      `plan.checks[0].slo: must not raise the registered SLO 0.01 ${CHECK_RULE}`,
      `plan.checks[2].slo: must not raise the registered SLO 0.01 ${CHECK_RULE}`,
    ]);
  });

  it.each<[string, unknown, string]>([
    ['a latency bound', { checks: [{ name: 'latency-p99', max: 5 }] }, `plan.checks[1].max: must not raise the registered max 0.5 ${CHECK_RULE}`],
    ['maxRatio', { checks: [{ name: 'error-rate', maxRatio: 50 }] }, `plan.checks[0].maxRatio: must not raise the registered maxRatio 1.5 ${CHECK_RULE}`],
    ['fastAbortFactor', { checks: [{ name: 'error-rate', fastAbortFactor: 500 }] }, `plan.checks[0].fastAbortFactor: must not raise the registered fastAbortFactor 5 ${CHECK_RULE}`],
    ['detectFactor', { checks: [{ name: 'error-rate', detectFactor: 10 }] }, 'plan.checks[0].detectFactor: must not raise the registered detectFactor (a larger one passes on less data) 1.75'],
    ['minSamples', { checks: [{ name: 'error-rate', minSamples: 1 }] }, `plan.checks[0].minSamples: must not lower the registered minSamples 20 ${CHECK_RULE}`],
    ['a stable guard', { checks: [{ name: 'stable-error-rate', sustainIntervals: 100 }] }, `plan.checks[2].sustainIntervals: must not raise the registered sustainIntervals 3 ${CHECK_RULE}`],
    ['a tolerance axis', { checks: [{ name: 'error-rate', maxIncrease: 0.5 }] }, 'plan.checks[0].maxIncrease: must not be added to the registered check'],
    ['requireAboveSlo', { checks: [{ name: 'error-rate', requireAboveSlo: true }] }, 'plan.checks[0].requireAboveSlo: must not be set'],
  ])('refuses loosening %s', (_what, overrides, expected) => {
    expect(refusal(overrides).join('\n')).toContain(expected);
  });

  it('refuses changing what a registered custom count check counts', () => {
    const plan = { checks: [{ name: 'slow-2s', judge: 'sequential', count: 'slow', max: 2, slo: 0.001 }] };
    expect(refusal({ checks: [{ name: 'slow-2s', count: 'errors' }] }, { plan })).toContain(`plan.checks[4].count: must not change the registered count 'slow' ${CHECK_RULE}`);
  });

  it('refuses loosening a threshold check: a higher max, a lower min, a removed bound, a longer window', () => {
    const plan = { checks: [{ name: 'cpu', query: 'max(cpu{ {{ canarySelector }} })', min: 0.1, max: 0.8, window: '1m' }] };
    expect(refusal({ checks: [{ name: 'cpu', max: 0.9, min: 0 }] }, { plan })).toEqual([
      `plan.checks[4].max: must not raise the registered max 0.8 ${CHECK_RULE}`,
      `plan.checks[4].min: must not lower the registered min 0.1 ${CHECK_RULE}`,
    ]);
    expect(refusal({ checks: [{ name: 'cpu', window: '10m' }] }, { plan })).toEqual([`plan.checks[4].window: must not be longer than the registered window 1m ${CHECK_RULE}`]);
  });

  it('refuses raising limits, removing a failure limit and judging less often', () => {
    expect(refusal({ analysis: { consecutiveFailureLimit: 100, errorLimit: 100, noDataLimit: 100, underpoweredLimit: 100, intervalSeconds: 120 }, steps: [{ weight: 5, holdSeconds: 600 }, { weight: 100 }] })).toEqual([
      'plan.analysis.intervalSeconds: must be at most 60 (policy: an execution may judge more often than the registered plan, never less often)',
      `plan.analysis.consecutiveFailureLimit: must be at most 2, the registered value ${LIMIT_RULE}`,
      `plan.analysis.errorLimit: must be at most 4, the registered value ${LIMIT_RULE}`,
      `plan.analysis.noDataLimit: must be at most 5, the registered value ${LIMIT_RULE}`,
      `plan.analysis.underpoweredLimit: must be at most 30, the registered value ${LIMIT_RULE}`,
    ]);
    expect(refusal({ analysis: { failureLimit: 9 } }, { plan: { analysis: { failureLimit: 3 } } })).toEqual([`plan.analysis.failureLimit: must be at most 3, the registered value ${LIMIT_RULE}`]);
  });

  it('refuses lowering α, lengthening the window and weakening the power hold', () => {
    expect(refusal({ analysis: { alpha: 0.0001, window: '30m', powerHold: 'promotion' } }, { plan: { analysis: { powerHold: 'every-step' } } })).toEqual([
      expect.stringMatching(/^plan\.analysis\.alpha: must not be lower than the registered 0\.01 \(policy: an execution may not lower the registered false-rollback rate/),
      expect.stringMatching(/^plan\.analysis\.window: must not be longer than the registered 2m \(policy:/),
      "plan.analysis.powerHold: must stay 'every-step', as registered (policy: an execution may not weaken the registered power hold ('every-step' to 'promotion'))",
    ]);
  });

  it('refuses an added count-based check that would split the α of the registered ones, and says how much α keeps them whole', () => {
    expect(refusal({ checks: [{ name: 'latency-p95' }] })).toEqual([
      expect.stringMatching(/^plan\.checks\[4\]: adding the sequential check 'latency-p95' splits analysis\.alpha further: 'error-rate' would be judged at α 0\.002667 instead of 0\.004; register it, or raise analysis\.alpha to at least 0\.015/),
    ]);
    expect(allowed({ checks: [{ name: 'latency-p95' }], analysis: { alpha: 0.015 } }).checks.map((c) => c.name)).toContain('latency-p95');
  });

  it('refuses removing an approval, and accepts one kept before the same weight', () => {
    const plan = { steps: [{ weight: 5, holdSeconds: 300 }, { weight: 25, holdSeconds: 600, approval: true }, { weight: 100, approval: true }] };
    expect(refusal({ steps: [{ weight: 5, holdSeconds: 300 }, { weight: 50, holdSeconds: 600 }, { weight: 100 }] }, { plan })).toEqual([
      'plan.steps[1].approval: required: the registered plan asks for approval before traffic reaches 25% (registered steps[1]) (policy: an execution may add approvals, never remove one)',
      'plan.steps[2].approval: required: the registered plan asks for approval before traffic reaches 100% (registered steps[2]) (policy: an execution may add approvals, never remove one)',
    ]);
    expect(allowed({ steps: [{ weight: 1, holdSeconds: 300 }, { weight: 10, holdSeconds: 300, approval: true }, { weight: 100, approval: true }] }, { plan }).steps).toHaveLength(3);
  });

  it('accepts tightening: a lower SLO and bound, a shorter interval, lower limits, a new threshold check, a disabled check the registration disabled', () => {
    const plan = allowed({
      steps: [{ weight: 1, holdSeconds: 600 }, { weight: 100 }],
      analysis: { intervalSeconds: 30, consecutiveFailureLimit: 1, failureLimit: 3, errorLimit: 2, alpha: 0.05, window: '1m', powerHold: 'every-step' },
      checks: [{ name: 'error-rate', slo: 0.001 }, { name: 'latency-p99', max: 0.3, minSamples: 100, detectFactor: 1.2 }, { name: 'cpu', query: 'max(cpu{ {{ canarySelector }} })', max: 0.8 }],
    });
    expect(plan.checks.map((c) => [c.name, c.slo, c.max])).toEqual([
      ['error-rate', 0.001, undefined],
      ['latency-p99', 0.01, 0.3],
      ['stable-error-rate', 0.001, undefined],
      ['stable-latency-p99', 0.01, 0.3],
      ['cpu', undefined, 0.8],
    ]);
    expect(allowed({ checks: [{ name: 'stable-latency-p99', enabled: false }] }, { plan: { checks: [{ name: 'stable-latency-p99', enabled: false }] } }).checks).toHaveLength(3);
  });

  it('lists every independent error at once', () => {
    const issues = refusal({ checks: [{ name: 'error-rate', enabled: false }, { name: 'latency-p99', max: 9 }], analysis: { errorLimit: 50 }, steps: [{ weight: 20, holdSeconds: 60 }, { weight: 100 }] });
    expect(issues).toEqual([
      `plan.analysis.errorLimit: must be at most 4, the registered value ${LIMIT_RULE}`,
      `plan.checks[0].enabled: must not disable the registered check 'error-rate' ${CHECK_RULE}`,
      `plan.checks[1].max: must not raise the registered max 0.5 ${CHECK_RULE}`,
      `plan.checks[3].max: must not raise the registered max 0.5 ${CHECK_RULE}`,
    ]);
  });
});

describe('a written policy', () => {
  const policy = {
    requiredChecks: ['error-rate'],
    maxFirstWeight: 5,
    maxStepIncrease: 50,
    minSteps: 3,
    minHoldSeconds: 120,
    maxHoldSeconds: 3600,
    minIntervalSeconds: 10,
    maxIntervalSeconds: 120,
    limits: { consecutiveFailureLimit: 3, errorLimit: 6 },
  };
  const plan = { steps: [{ weight: 5, holdSeconds: 300 }, { weight: 50, holdSeconds: 600 }, { weight: 100 }] };

  it('bounds the steps, holds and interval, naming each rule', () => {
    expect(refusal({ steps: [{ weight: 10, holdSeconds: 60 }, { weight: 100, holdSeconds: 7200 }], analysis: { intervalSeconds: 5 } }, { plan, policy })).toEqual([
      'plan.steps[0].weight: must be at most 5 (policy: maxFirstWeight 5)',
      "plan.steps[1].weight: must be at most 60 (50 points above the previous step's 10); add steps in between (policy: maxStepIncrease 50)",
      'plan.steps: must have at least 3 steps (the last, 100%, included), not 2 (policy: minSteps 3)',
      'plan.steps[0].holdSeconds: must be at least 120 seconds (policy: minHoldSeconds 120)',
      'plan.steps[1].holdSeconds: must be at most 3600 seconds (policy: maxHoldSeconds 3600)',
      'plan.analysis.intervalSeconds: must be at least 10 (policy: minIntervalSeconds 10)',
    ]);
  });

  it('lets an execution go to its limits and interval, not past them', () => {
    expect(allowed({ analysis: { consecutiveFailureLimit: 3, errorLimit: 6, intervalSeconds: 120 }, steps: [{ weight: 5, holdSeconds: 240 }, { weight: 50, holdSeconds: 240 }, { weight: 100 }] }, { plan, policy }).analysis).toMatchObject({
      consecutiveFailureLimit: 3,
      errorLimit: 6,
      intervalSeconds: 120,
    });
    expect(refusal({ analysis: { errorLimit: 7 } }, { plan, policy })).toEqual(['plan.analysis.errorLimit: must be at most 6 (policy: limits.errorLimit 6)']);
  });

  it('protects the required checks only', () => {
    expect(refusal({ checks: [{ name: 'error-rate', enabled: false }] }, { plan, policy })).toEqual([
      "plan.checks[0].enabled: must not disable the registered check 'error-rate' (policy: requiredChecks: a required check may be tightened, never loosened)",
    ]);
    expect(allowed({ checks: [{ name: 'latency-p99', enabled: false }, { name: 'stable-latency-p99', enabled: false }] }, { plan, policy }).checks.map((c) => c.name)).toEqual(['error-rate', 'stable-error-rate']);
  });
});

/** Deps whose every call is recorded: any call besides reading the registration fails the test by its record. */
function recordingDeps(registered: unknown): { deps: Deps; calls: string[] } {
  const calls: string[] = [];
  const recorder = (owner: string, answers: Record<string, unknown> = {}): unknown =>
    new Proxy(
      {},
      {
        get: (_target, prop) => {
          const name = `${owner}.${String(prop)}`;
          return (..._args: unknown[]) => {
            calls.push(name);
            return name in answers ? Promise.resolve(answers[name]) : Promise.reject(new Error(`${name} must not be called`));
          };
        },
      },
    );
  const runLog = recorder('runLog', { 'runLog.getServiceConfig': registered, 'runLog.listServices': ['payments-api'] });
  const deps = new Proxy({}, { get: (_t, prop) => (prop === 'runLog' ? runLog : () => recorder(String(prop))) }) as unknown as Deps;
  return { deps, calls };
}

describe('Start applies the policy before it touches anything', () => {
  it('refuses a switch-off with the fields and rules, having read only the registration', async () => {
    const { deps, calls } = recordingDeps(parseServiceConfig(registration()));
    const input = { service: 'payments-api', image: IMAGE, plan: { checks: [{ name: 'error-rate', slo: 0.5 }], steps: [{ weight: 100 }] } };
    const error: unknown = await startRun(deps, { input, runId: 'r', executionArn: 'arn', startedAt: '2026-01-01T00:00:00Z' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues.map((i) => i.field)).toEqual(['plan.steps[0].weight', 'plan.steps', 'plan.checks[0].slo']);
    expect(calls).toEqual(['runLog.getServiceConfig']);
  });

  it('is the same function the validate command calls', async () => {
    const source: RegistrationSource = { registration: async () => ({ value: registration(), root: 'registration' }), services: async () => ['payments-api'] };
    const ok = await validateExecution({ service: 'payments-api', image: IMAGE, plan: { checks: [{ name: 'error-rate', slo: 0.005 }] } }, source);
    expect(ok.plan.checks[0]).toMatchObject({ name: 'error-rate', slo: 0.005 });
    await expect(validateExecution({ service: 'payments-api', image: IMAGE, plan: { analysis: { errorLimit: 9 } } }, source)).rejects.toThrow(
      `plan.analysis.errorLimit: must be at most 4, the registered value ${LIMIT_RULE}`,
    );
  });
});
