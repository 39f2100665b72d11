import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../../cli/program';
import { CanaryError, ConfigurationError, InputValidationError, ServiceNotRegisteredError } from '../../lambdas/domain/errors';
import { validateExecution, type RegistrationSource } from '../../lambdas/domain/execution-validation';
import { DEFAULT_PLAN } from '../../lambdas/domain/plan';
import { memoryTerminal } from '../../local/demo/live-view';
import { PAYMENTS_REGISTRATION } from '../support/registrations';

// Bad execution inputs, each refused by the one validation Start runs (validateExecution), naming its exact field;
// none may crash (a stack overflow, a TypeError) or pass. A few valid inputs still pass, and a handful go through
// `canary validate` itself.

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1';
const SERVICES_FILE = resolve(__dirname, '../../infra/services.example.json');
const EXAMPLE = (JSON.parse(readFileSync(SERVICES_FILE, 'utf8')) as { services: { name: string }[] }).services;

const PAYMENTS = PAYMENTS_REGISTRATION;
/** A registration stored with a label value that would break out of a selector (written around the CDK app). */
const INJECTED = { ...PAYMENTS, name: 'injected-api', metrics: { ...PAYMENTS.metrics, serviceLabelValue: 'x"} or vector(1) or up{a="' } };

const REGISTRY = new Map<string, unknown>([
  ['payments-api', PAYMENTS],
  ['checkout-web', EXAMPLE.find((s) => s.name === 'checkout-web')],
  ['injected-api', INJECTED],
]);
const source: RegistrationSource = {
  registration: async (service) => (REGISTRY.has(service) ? { value: REGISTRY.get(service), root: `registration of '${service}'` } : undefined),
  services: async () => [...REGISTRY.keys()],
};

/** The fields a refusal names; a crash or a pass fails the test. */
async function refusedFields(input: unknown): Promise<string[]> {
  try {
    await validateExecution(input, source);
  } catch (error) {
    if (error instanceof InputValidationError) {
      for (const issue of error.issues) expect(issue.message.length).toBeGreaterThan(0);
      return error.issues.map((i) => i.field);
    }
    if (error instanceof ServiceNotRegisteredError) return ['service'];
    if (error instanceof ConfigurationError && error.cause instanceof InputValidationError) return error.cause.issues.map((i) => i.field);
    if (error instanceof CanaryError) return [`${error.name}: ${error.message}`];
    throw error;
  }
  throw new Error('accepted');
}

const base = { service: 'payments-api', image: IMAGE };
const withPlan = (plan: unknown) => ({ ...base, plan });
const nested = (levels: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};
const nestedArray = (levels: number): unknown => {
  let value: unknown = [];
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};
const MEGABYTE = 'x'.repeat(1024 * 1024);
const everyDefaultCheck = (fields: Record<string, unknown>) => DEFAULT_PLAN.checks.map((c) => ({ name: c.name, ...fields }));

type Case = readonly [name: string, input: unknown, field: string];

const wrongTypes = (field: string, at: (value: unknown) => unknown, values: readonly unknown[]): Case[] =>
  values.map((value) => [`${field} = ${typeof value === 'string' && value.length > 30 ? 'a long string' : JSON.stringify(value) ?? String(value)}`, at(value), field]);

const NUMBERS_THAT_ARE_NOT = ['5', true, null, [], {}, NaN, Infinity, -Infinity];
const LIMIT_FIELDS = ['consecutiveFailureLimit', 'failureLimit', 'errorLimit', 'noDataLimit', 'underpoweredLimit'] as const;

const cases: Case[] = [
  // The input itself.
  ['input is an array', [], 'input'],
  ['input is a string', 'payments-api', 'input'],
  ['input is null', null, 'input'],
  ['input is a number', 42, 'input'],
  ['service missing', { image: IMAGE }, 'service'],
  ['image missing', { service: 'payments-api' }, 'image'],
  ['an extra field', { ...base, imgae: IMAGE }, 'imgae'],
  ['a 1 MB field name', { ...base, [MEGABYTE]: 1 }, `${'x'.repeat(64)}…(1048576 characters)`],
  // Service names: wrong types, lookalikes, unknown.
  ...wrongTypes('service', (service) => ({ ...base, service }), [42, null, true, [], {}, '', MEGABYTE]),
  ['service in capitals', { ...base, service: 'Payments-API' }, 'service'],
  ['service with a Cyrillic а', { ...base, service: 'pаyments-api' }, 'service'],
  ['service with a Ukrainian і', { ...base, service: 'payments-apі' }, 'service'],
  ['service with a Unicode hyphen', { ...base, service: 'payments‐api' }, 'service'],
  ['service with a non-breaking hyphen', { ...base, service: 'payments\u2011api' }, 'service'],
  ['service in fullwidth letters', { ...base, service: 'ｐａｙｍｅｎｔｓ-api' }, 'service'],
  ['service with a zero-width space', { ...base, service: 'payments-api\u200b' }, 'service'],
  ['service with a trailing space', { ...base, service: 'payments-api ' }, 'service'],
  ['service with a newline', { ...base, service: 'payments-api\n' }, 'service'],
  ['service registered under another name', { ...base, service: 'payments-apl' }, 'service'],
  // Image.
  ...wrongTypes('image', (image) => ({ ...base, image }), [42, null, [], {}, '', MEGABYTE]),
  ['image untagged', { ...base, image: 'payments-api' }, 'image'],
  ['image with a space', { ...base, image: 'payments api:v1' }, 'image'],
  ['image with a bad digest', { ...base, image: 'payments-api@sha256:xyz' }, 'image'],
  // dryRun and trigger.
  ...wrongTypes('dryRun', (dryRun) => ({ ...base, dryRun }), ['yes', 1, null, [], {}]),
  ...wrongTypes('trigger', (trigger) => ({ ...base, trigger }), ['cli', [], 42, null]),
  ['trigger source unknown', { ...base, trigger: { source: 'cron' } }, 'trigger.source'],
  ['trigger actor of 1 MB', { ...base, trigger: { source: 'cli', actor: MEGABYTE } }, 'trigger.actor'],
  ['trigger extra field', { ...base, trigger: { source: 'cli', via: 'x' } }, 'trigger.via'],
  // The plan: its shape.
  ...wrongTypes('plan', (plan) => ({ ...base, plan }), ['fast', [], 42, null, true]),
  ['plan extra field', withPlan({ step: [] }), 'plan.step'],
  ...wrongTypes('plan.steps', (steps) => withPlan({ steps }), ['fast', {}, 42, null]),
  ['plan.steps empty', withPlan({ steps: [] }), 'plan.steps'],
  ['plan.steps of 51', withPlan({ steps: [...Array.from({ length: 50 }, () => ({ weight: 1, holdSeconds: 60 })), { weight: 100 }] }), 'plan.steps'],
  ['a step that is an array', withPlan({ steps: [[5, 300], { weight: 100 }] }), 'plan.steps[0]'],
  ['a step that is a number', withPlan({ steps: [5, { weight: 100 }] }), 'plan.steps[0]'],
  ['a step without weight', withPlan({ steps: [{ holdSeconds: 300 }, { weight: 100 }] }), 'plan.steps[0].weight'],
  ...wrongTypes('plan.steps[0].weight', (weight) => withPlan({ steps: [{ weight, holdSeconds: 300 }, { weight: 100 }] }), [...NUMBERS_THAT_ARE_NOT, -0, 0, -5, 150, 2.55, 1e308]),
  ...wrongTypes('plan.steps[0].holdSeconds', (holdSeconds) => withPlan({ steps: [{ weight: 5, holdSeconds }, { weight: 100 }] }), [...NUMBERS_THAT_ARE_NOT, -0, 0, -1, 1.5, 1e12, 86_401]),
  ...wrongTypes('plan.steps[1].approval', (approval) => withPlan({ steps: [{ weight: 5, holdSeconds: 300 }, { weight: 100, approval }] }), ['yes', 1, null]),
  ['a step extra field', withPlan({ steps: [{ weight: 5, hold: 300 }, { weight: 100 }] }), 'plan.steps[0].hold'],
  ['weights going down', withPlan({ steps: [{ weight: 20, holdSeconds: 300 }, { weight: 10, holdSeconds: 300 }, { weight: 100 }] }), 'plan.steps[1].weight'],
  ['last step below 100', withPlan({ steps: [{ weight: 5, holdSeconds: 300 }, { weight: 50 }] }), 'plan.steps[1].weight'],
  ['a hold shorter than the interval', withPlan({ steps: [{ weight: 5, holdSeconds: 30 }, { weight: 100 }] }), 'plan.steps[0].holdSeconds'],
  ['an approval on the first step', withPlan({ steps: [{ weight: 5, holdSeconds: 300, approval: true }, { weight: 100 }] }), 'plan.steps[0].approval'],
  // The canary cannot be switched off by its steps.
  ['a single step of 100%', withPlan({ steps: [{ weight: 100 }] }), 'plan.steps'],
  ['a first step of 100%, held', withPlan({ steps: [{ weight: 100, holdSeconds: 300 }] }), 'plan.steps[0].weight'],
  ['a first step of 50%', withPlan({ steps: [{ weight: 50, holdSeconds: 300 }, { weight: 100 }] }), 'plan.steps[0].weight'],
  ['a first step of 25.1%', withPlan({ steps: [{ weight: 25.1, holdSeconds: 300 }, { weight: 100 }] }), 'plan.steps[0].weight'],
  // Analysis.
  ...wrongTypes('plan.analysis', (analysis) => withPlan({ analysis }), [[], 'fast', 42]),
  ['analysis extra field', withPlan({ analysis: { interval: 60 } }), 'plan.analysis.interval'],
  ...wrongTypes('plan.analysis.intervalSeconds', (intervalSeconds) => withPlan({ analysis: { intervalSeconds } }), [...NUMBERS_THAT_ARE_NOT, 0, -1, 1.5, 3601, 1e12]),
  ...LIMIT_FIELDS.flatMap((limit) => wrongTypes(`plan.analysis.${limit}`, (value) => withPlan({ analysis: { [limit]: value } }), ['2', null, NaN, Infinity, 0, -1, 1.5, 1e9])),
  ...wrongTypes('plan.analysis.window', (window) => withPlan({ analysis: { window } }), [120, '2 minutes', '0s', '25h', '1d', '', MEGABYTE]),
  ...wrongTypes('plan.analysis.alpha', (alpha) => withPlan({ analysis: { alpha } }), ['0.01', NaN, 0, -0, -0.1, 0.7, Infinity]),
  ...wrongTypes('plan.analysis.powerHold', (powerHold) => withPlan({ analysis: { powerHold } }), ['never', 1, null]),
  // Checks: shape and fields.
  ...wrongTypes('plan.checks', (checks) => withPlan({ checks }), [{}, 'error-rate', 42, null]),
  ['a check that is a number', withPlan({ checks: [42] }), 'plan.checks[4]'],
  ['a check that is an array', withPlan({ checks: [['error-rate']] }), 'plan.checks[4]'],
  ['a check that is null', withPlan({ checks: [null] }), 'plan.checks[4]'],
  ['a check without a name', withPlan({ checks: [{ query: 'up', max: 1 }] }), 'plan.checks[4].name'],
  ['21 checks', withPlan({ checks: Array.from({ length: 17 }, (_, i) => ({ name: `c${i}`, query: 'up', max: 1 })) }), 'plan.checks'],
  ...wrongTypes('plan.checks[4].name', (name) => withPlan({ checks: [{ name, query: 'up', max: 1 }] }), [42, '', 'CPU', 'cpu load', 'x'.repeat(64), 'constructor', 'prototype']),
  ...wrongTypes('plan.checks[4].judge', (judge) => withPlan({ checks: [{ name: 'cpu', judge, query: 'up', max: 1 }] }), ['bayesian', 1, null]),
  ...wrongTypes('plan.checks[0].judge', (judge) => withPlan({ checks: [{ name: 'error-rate', judge }] }), [null, 'gauge-trend']),
  ...wrongTypes('plan.checks[0].slo', (slo) => withPlan({ checks: [{ name: 'error-rate', slo }] }), [null]),
  ...wrongTypes('plan.checks[1].max', (max) => withPlan({ checks: [{ name: 'latency-p99', max }] }), [null, 0, -1]),
  ...wrongTypes('plan.checks[4].enabled', (enabled) => withPlan({ checks: [{ name: 'cpu', enabled, query: 'up', max: 1 }] }), ['no', 0]),
  ...wrongTypes('plan.checks[4].query', (query) => withPlan({ checks: [{ name: 'cpu', query, max: 1 }] }), [42, '', '   ', [], null, MEGABYTE, `up${'+0'.repeat(2_100)}`]),
  ...wrongTypes('plan.checks[4].max', (max) => withPlan({ checks: [{ name: 'cpu', query: 'up', max }] }), ['1', NaN, Infinity, null]),
  ...wrongTypes('plan.checks[4].min', (min) => withPlan({ checks: [{ name: 'cpu', query: 'up', min, max: 1 }] }), ['0', NaN, 2]),
  ...wrongTypes('plan.checks[4].minSamples', (minSamples) => withPlan({ checks: [{ name: 'cpu', query: 'up', max: 1, samplesQuery: 'count(up)', minSamples }] }), [-1, 1.5, '5']),
  ['a custom check needing a samples query', withPlan({ checks: [{ name: 'cpu', query: 'up', max: 1, minSamples: 5 }] }), 'plan.checks[4].samplesQuery'],
  ['a custom check without a query', withPlan({ checks: [{ name: 'cpu', max: 1 }] }), 'plan.checks[4].query'],
  ['a check extra field', withPlan({ checks: [{ name: 'error-rate', treshold: 0.01 }] }), 'plan.checks[0].treshold'],
  ...wrongTypes('plan.checks[0].slo', (slo) => withPlan({ checks: [{ name: 'error-rate', slo }] }), [0, 1, 1.5, -0.1, '0.01', NaN]),
  ['error-rate with max 1', withPlan({ checks: [{ name: 'error-rate', max: 1 }] }), 'plan.checks[0].max'],
  ['error-rate with max and slo that differ', withPlan({ checks: [{ name: 'error-rate', max: 0.001, slo: 0.002 }] }), 'plan.checks[0].max'],
  ...wrongTypes('plan.checks[0].maxRatio', (maxRatio) => withPlan({ checks: [{ name: 'error-rate', maxRatio }] }), [0.5, '2']),
  ...wrongTypes('plan.checks[0].fastAbortFactor', (fastAbortFactor) => withPlan({ checks: [{ name: 'error-rate', fastAbortFactor }] }), [1, 0.5]),
  ...wrongTypes('plan.checks[1].detectFactor', (detectFactor) => withPlan({ checks: [{ name: 'latency-p99', detectFactor }] }), [0.5, -1]),
  ['a guard field on a sequential check', withPlan({ checks: [{ name: 'error-rate', sustainIntervals: 2 }] }), 'plan.checks[0].sustainIntervals'],
  ['a count that is unknown', withPlan({ checks: [{ name: 'bytes', judge: 'sequential', count: 'bytes', slo: 0.1 }] }), 'plan.checks[4].count'],
  ['a gauge without its limit', withPlan({ checks: [{ name: 'memory-bytes' }] }), 'plan.checks[4].max'],
  ['a gauge of 2 points', withPlan({ checks: [{ name: 'memory-bytes', max: 1e9, windowIntervals: 2 }] }), 'plan.checks[4].windowIntervals'],
  ['duplicate check names', withPlan({ checks: [{ name: 'cpu', query: 'up', max: 1 }, { name: 'cpu', query: 'up', max: 2 }] }), 'plan.checks[5].name'],
  // Template variables: unknown, and Object properties a naive lookup would find.
  ...['pod', 'toString', 'constructor', '__proto__', 'hasOwnProperty'].map((v): Case => [`query variable {{ ${v} }}`, withPlan({ checks: [{ name: 'cpu', query: `up{ {{ ${v} }} }`, max: 1 }] }), 'plan.checks[4].query']),
  ['samples query variable {{ valueOf }}', withPlan({ checks: [{ name: 'cpu', query: 'up', max: 1, minSamples: 1, samplesQuery: 'count({{ valueOf }})' }] }), 'plan.checks[4].samplesQuery'],
  // Rollback and approvals.
  ...wrongTypes('plan.rollback', (rollback) => withPlan({ rollback }), [[], 'gradual']),
  ...wrongTypes('plan.rollback.mode', (mode) => withPlan({ rollback: { mode } }), ['slow', 1]),
  ...wrongTypes('plan.rollback.stepHoldSeconds', (stepHoldSeconds) => withPlan({ rollback: { mode: 'gradual', stepHoldSeconds } }), [0, -1, 1.5, 1e12, 3601, '10']),
  ...wrongTypes('plan.approvals.timeoutSeconds', (timeoutSeconds) => withPlan({ approvals: { timeoutSeconds } }), [0, 1e12, 86_401, '3600']),
  ['approvals extra field', withPlan({ approvals: { timeout: 60 } }), 'plan.approvals.timeout'],
  // Switching the canary off through the policy.
  ['every check disabled', withPlan({ checks: everyDefaultCheck({ enabled: false }) }), 'plan.checks'],
  ...DEFAULT_PLAN.checks.map((c, i): Case => [`${c.name} disabled`, withPlan({ checks: [{ name: c.name, enabled: false }] }), `plan.checks[${i}].enabled`]),
  ['error-rate replaced by vector(0)', withPlan({ checks: [{ name: 'error-rate', query: 'vector(0)', max: 1 }] }), 'plan.checks[0].judge'],
  ['error-rate given the query vector(0) alone', withPlan({ checks: [{ name: 'error-rate', query: 'vector(0)' }] }), 'plan.checks[0].query'],
  ['latency-p99 judged on a threshold of 1 hour', withPlan({ checks: [{ name: 'latency-p99', judge: 'threshold', max: 3600 }] }), 'plan.checks[1].judge'],
  ['slo 0.99', withPlan({ checks: [{ name: 'error-rate', slo: 0.99 }] }), 'plan.checks[0].slo'],
  ['latency bound of 60 s', withPlan({ checks: [{ name: 'latency-p99', max: 60 }] }), 'plan.checks[1].max'],
  ['maxRatio 1e9', withPlan({ checks: [{ name: 'error-rate', maxRatio: 1e9 }] }), 'plan.checks[0].maxRatio'],
  ['fastAbortFactor 1e9', withPlan({ checks: [{ name: 'error-rate', fastAbortFactor: 1e9 }] }), 'plan.checks[0].fastAbortFactor'],
  ['detectFactor 100', withPlan({ checks: [{ name: 'error-rate', detectFactor: 100 }] }), 'plan.checks[0].detectFactor'],
  ['minSamples 0', withPlan({ checks: [{ name: 'error-rate', minSamples: 0 }] }), 'plan.checks[0].minSamples'],
  ['requireAboveSlo', withPlan({ checks: [{ name: 'error-rate', requireAboveSlo: true }] }), 'plan.checks[0].requireAboveSlo'],
  ['a stable guard of 999 intervals', withPlan({ checks: [{ name: 'stable-error-rate', sustainIntervals: 999 }] }), 'plan.checks[2].sustainIntervals'],
  ['consecutiveFailureLimit raised', withPlan({ analysis: { consecutiveFailureLimit: 50 } }), 'plan.analysis.consecutiveFailureLimit'],
  ['errorLimit raised', withPlan({ analysis: { errorLimit: 50 } }), 'plan.analysis.errorLimit'],
  ['noDataLimit raised', withPlan({ analysis: { noDataLimit: 50 } }), 'plan.analysis.noDataLimit'],
  ['underpoweredLimit raised', withPlan({ analysis: { underpoweredLimit: 50 } }), 'plan.analysis.underpoweredLimit'],
  ['intervalSeconds raised', withPlan({ analysis: { intervalSeconds: 300 }, steps: [{ weight: 5, holdSeconds: 600 }, { weight: 100 }] }), 'plan.analysis.intervalSeconds'],
  ['alpha lowered to nothing', withPlan({ analysis: { alpha: 1e-12 } }), 'plan.analysis.alpha'],
  ['window lengthened', withPlan({ analysis: { window: '1h' } }), 'plan.analysis.window'],
  ['α diluted by an added sequential check', withPlan({ checks: [{ name: 'latency-p50' }] }), 'plan.checks[4]'],
  // The history budget.
  ['two day-long holds at a minute interval', withPlan({ steps: [{ weight: 5, holdSeconds: 86_400 }, { weight: 10, holdSeconds: 86_400 }, { weight: 100 }] }), 'plan'],
  ['a day-long hold at a second interval', withPlan({ analysis: { intervalSeconds: 1 }, steps: [{ weight: 5, holdSeconds: 86_400 }, { weight: 100 }] }), 'plan'],
  ['a day-long approval at a second interval', withPlan({ analysis: { intervalSeconds: 1 }, steps: [{ weight: 5, holdSeconds: 60 }, { weight: 100, approval: true }], approvals: { timeoutSeconds: 86_400 } }), 'plan'],
  // A written policy (checkout-web in infra/services.example.json).
  ['checkout-web: first weight above its cap', { ...base, service: 'checkout-web', plan: { steps: [{ weight: 10, holdSeconds: 300 }, { weight: 50, holdSeconds: 300 }, { weight: 100 }] } }, 'plan.steps[0].weight'],
  ['checkout-web: a step too large', { ...base, service: 'checkout-web', plan: { steps: [{ weight: 2, holdSeconds: 300 }, { weight: 40, holdSeconds: 300 }, { weight: 100 }] } }, 'plan.steps[2].weight'],
  ['checkout-web: too few steps', { ...base, service: 'checkout-web', plan: { steps: [{ weight: 2, holdSeconds: 300 }, { weight: 100 }] } }, 'plan.steps'],
  ['checkout-web: a hold too short', { ...base, service: 'checkout-web', plan: { steps: [{ weight: 2, holdSeconds: 60 }, { weight: 50, holdSeconds: 300 }, { weight: 100 }] } }, 'plan.steps[0].holdSeconds'],
  ['checkout-web: a hold too long', { ...base, service: 'checkout-web', plan: { steps: [{ weight: 2, holdSeconds: 7200 }, { weight: 50, holdSeconds: 300 }, { weight: 100 }] } }, 'plan.steps[0].holdSeconds'],
  ['checkout-web: a required check disabled', { ...base, service: 'checkout-web', plan: { checks: [{ name: 'stable-error-rate', enabled: false }] } }, 'plan.checks[2].enabled'],
  ['checkout-web: a limit above the policy', { ...base, service: 'checkout-web', plan: { analysis: { errorLimit: 5 } } }, 'plan.analysis.errorLimit'],
  ['checkout-web: an interval below the policy', { ...base, service: 'checkout-web', plan: { analysis: { intervalSeconds: 5 }, steps: [{ weight: 2, holdSeconds: 300 }, { weight: 50, holdSeconds: 300 }, { weight: 100 }] } }, 'plan.analysis.intervalSeconds'],
  // A registration whose label value would break out of the selector: Start refuses it as a configuration error.
  ['a registration with an injecting label value', { ...base, service: 'injected-api' }, "registration of 'injected-api'.metrics.serviceLabelValue"],
  // Reserved keys anywhere.
  ['__proto__ at the top', JSON.parse(`{"service":"payments-api","image":"${IMAGE}","__proto__":{"dryRun":true}}`), '__proto__'],
  ['__proto__ in the plan', JSON.parse(`{"service":"payments-api","image":"${IMAGE}","plan":{"__proto__":{"checks":[]}}}`), 'plan.__proto__'],
  ['__proto__ in a check', JSON.parse(`{"service":"payments-api","image":"${IMAGE}","plan":{"checks":[{"name":"error-rate","__proto__":{"enabled":false}}]}}`), 'plan.checks[0].__proto__'],
  ['__proto__ in the analysis', JSON.parse(`{"service":"payments-api","image":"${IMAGE}","plan":{"analysis":{"__proto__":{"errorLimit":1000}}}}`), 'plan.analysis.__proto__'],
  ['constructor in a step', withPlan({ steps: [{ weight: 5, holdSeconds: 300, constructor: 1 }, { weight: 100 }] }), 'plan.steps[0].constructor'],
  ['prototype in the trigger', { ...base, trigger: { source: 'cli', prototype: {} } }, 'trigger.prototype'],
  ['constructor in the plan', withPlan({ constructor: { prototype: 1 } }), 'plan.constructor'],
  ['__proto__ deep in an array', JSON.parse(`{"service":"payments-api","image":"${IMAGE}","plan":{"x":[[{"y":{"__proto__":1}}]]}}`), 'plan.x[0][0].y.__proto__'],
  // Deeply nested values: refused for their field, without a stack overflow.
  ['10,000 levels at the top', { ...base, deep: nested(10_000) }, 'deep'],
  ['10,000 levels as the plan', withPlan(nested(10_000)), 'plan.a'],
  ['10,000 levels as the analysis', withPlan({ analysis: nested(10_000) }), 'plan.analysis.a'],
  ['10,000 levels as a query', withPlan({ checks: [{ name: 'cpu', query: nested(10_000), max: 1 }] }), 'plan.checks[4].query'],
  ['10,000 levels in a check', withPlan({ checks: [{ name: 'cpu', query: 'up', max: 1, labels: nested(10_000) }] }), 'plan.checks[4].labels'],
  ['10,000 nested arrays as the steps', withPlan({ steps: nestedArray(10_000) }), 'plan.steps[0]'],
  ['10,000 nested arrays as the trigger', { ...base, trigger: nestedArray(10_000) }, 'trigger'],
  ['__proto__ under 10,000 levels', { ...base, deep: nested(10_000, JSON.parse('{"__proto__":1}')) }, `deep${'.a'.repeat(19)}…(9977 more levels)….a.a.a.a.__proto__`],
];

describe('bad execution inputs, refused by field', () => {
  it('has at least 150 of them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
  });

  it.each(cases.map(([name, input, field]) => [`${name} → ${field.length > 80 ? `${field.slice(0, 80)}…` : field}`, input, field] as const))('%s', async (_name, input, field) => {
    expect(await refusedFields(input)).toContain(field);
  });
});

describe('valid inputs still pass', () => {
  it.each<[string, unknown]>([
    ['the minimum', base],
    ['a dry run from the CLI', { ...base, dryRun: true, trigger: { source: 'cli', actor: 'alice' } }],
    ['a tightened plan', withPlan({ steps: [{ weight: 1, holdSeconds: 600 }, { weight: 10, holdSeconds: 600 }, { weight: 100 }], checks: [{ name: 'error-rate', slo: 0.005 }, { name: 'cpu', query: 'max(cpu{ {{ canarySelector }} })', max: 0.9 }] })],
    ['a shorter interval and lower limits', withPlan({ analysis: { intervalSeconds: 30, errorLimit: 2, failureLimit: 5 } })],
    ['checkout-web within its policy', { ...base, service: 'checkout-web', plan: { steps: [{ weight: 2, holdSeconds: 300 }, { weight: 50, holdSeconds: 600 }, { weight: 100 }], checks: [{ name: 'stable-latency-p99', enabled: false }] } }],
  ])('%s', async (_name, input) => {
    await expect(validateExecution(input, source)).resolves.toMatchObject({ input: { service: expect.any(String) as unknown } });
  });
});

describe('canary validate refuses them the same way', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'canary-validate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `canary validate --input <file> --services infra/services.example.json`, in this process. */
  async function validateFile(name: string, text: string): Promise<{ code: number; lines: string[] }> {
    writeFileSync(join(dir, name), text);
    const stdout = memoryTerminal(false, 200);
    let stderr = '';
    const code = await runCli(['validate', '--input', name, '--services', SERVICES_FILE], { stdout, stderr: { write: (t) => void (stderr += t) }, env: {}, cwd: dir });
    expect(stderr).toBe('');
    return { code, lines: stdout.text().trim().split('\n') };
  }

  it('says ok to a valid input', async () => {
    expect(await validateFile('ok.json', JSON.stringify(base))).toEqual({ code: 0, lines: ['ok'] });
  });

  it.each<[string, string, string]>([
    ['every check disabled', JSON.stringify(withPlan({ checks: everyDefaultCheck({ enabled: false }) })), 'plan.checks: must have at least one enabled check'],
    ['a raised SLO', JSON.stringify(withPlan({ checks: [{ name: 'error-rate', slo: 0.5 }] })), 'plan.checks[0].slo: must not raise the registered SLO 0.01 (policy: an execution may tighten a registered check, never loosen it)'],
    ['__proto__ in a check', `{"service":"payments-api","image":"${IMAGE}","plan":{"checks":[{"name":"error-rate","__proto__":{"enabled":false}}]}}`, "plan.checks[0].__proto__: '__proto__' is not allowed as a field name"],
    ['10,000 levels of JSON', `{"service":"payments-api","image":"${IMAGE}","plan":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`, 'plan.a: unknown field'],
    ['a 1 MB service name', JSON.stringify({ ...base, service: MEGABYTE }), 'service: must be a registered service name'],
    ['a lookalike service name', JSON.stringify({ ...base, service: 'pаyments-api' }), 'service: must be a registered service name'],
  ])('%s', async (_name, text, line) => {
    const { code, lines } = await validateFile('bad.json', text);
    expect(code).toBe(1);
    expect(lines.filter((l) => l.startsWith(line))).toHaveLength(1);
  });
});
