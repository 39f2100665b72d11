import { resolve } from 'node:path';

/**
 * The demo's scenarios: which profile each version runs, and what the run must end with. Each is one
 * rollout of the canary, except `dry-run`: the stable version deployed as canary and judged with
 * `dryRun: true`, then the same with a fault injected into the canary, which must roll back.
 */

export const SCENARIO_NAMES = ['healthy', 'error-spike', 'latency', 'memory-leak', 'mislabelled', 'dry-run'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const DEMO_DIR = __dirname;
export const DEFAULT_PLAN_FILE = resolve(__dirname, 'plans/demo-plan.json');
/** A shorter plan with the same interval and windows (5 s, 10 s), so the same bounds hold: for tests. */
export const QUICK_PLAN_FILE = resolve(__dirname, 'plans/quick-plan.json');
export const profileFile = (name: string) => resolve(__dirname, 'profiles', `${name}.json`);

/** What a scenario's run must end with (checked when the scenario's own profiles are used). */
export interface Expectation {
  /** Outcomes that count as the scenario working. */
  readonly outcomes: readonly string[];
  readonly stageReached?: number;
  readonly triggerCheck?: string;
  /** The reason must say there was no data. */
  readonly noData?: boolean;
  /** Fault onset → 0% on the canary must stay under the rollback bound. */
  readonly withinBound?: boolean;
}

export interface Scenario {
  readonly name: ScenarioName;
  readonly title: string;
  /** What the user will watch, one sentence. */
  readonly story: string;
  readonly stableProfile: string;
  readonly canaryProfile: string;
  readonly expect: Expectation;
  /** Dry run only: the canary profile of the provoked second dry run, and what it must end with. */
  readonly provoke?: { readonly canaryProfile: string; readonly expect: Expectation };
}

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  healthy: {
    name: 'healthy',
    title: 'a healthy release',
    story: 'v2 behaves like v1: every step passes and v2 is promoted to 100%.',
    stableProfile: profileFile('healthy'),
    canaryProfile: profileFile('healthy'),
    expect: { outcomes: ['promoted'] },
  },
  'error-spike': {
    name: 'error-spike',
    title: 'an error spike at the first step',
    story: 'v2 starts answering 25% of its requests with 5xx 8 s after its first request: it is rolled back at step 0 on error-rate.',
    stableProfile: profileFile('healthy'),
    canaryProfile: profileFile('error-spike'),
    expect: { outcomes: ['rolled_back'], stageReached: 0, triggerCheck: 'error-rate', withinBound: true },
  },
  latency: {
    name: 'latency',
    title: 'a latency regression',
    story: 'v2 slows down to p99 1.5 s 8 s after its first request: it is rolled back on latency-p99.',
    stableProfile: profileFile('healthy'),
    canaryProfile: profileFile('latency'),
    expect: { outcomes: ['rolled_back'], triggerCheck: 'latency-p99' },
  },
  'memory-leak': {
    name: 'memory-leak',
    title: 'a memory leak',
    story: 'v2 leaks 600 MB a minute from its first request (10 MB a second): it is rolled back on memory-bytes before it reaches 100%.',
    stableProfile: profileFile('healthy'),
    canaryProfile: profileFile('memory-leak'),
    expect: { outcomes: ['rolled_back'], triggerCheck: 'memory-bytes' },
  },
  mislabelled: {
    name: 'mislabelled',
    title: 'mislabelled canary metrics',
    story: 'v2 is healthy but reports version="v2" instead of "canary": with no canary data it is never promoted.',
    stableProfile: profileFile('healthy'),
    canaryProfile: profileFile('mislabelled'),
    expect: { outcomes: ['rolled_back'], stageReached: 0, noData: true },
  },
  'dry-run': {
    name: 'dry-run',
    title: 'a dry run',
    story: 'v1 is deployed as the canary and judged with dryRun: its share must follow each weight within 2 points and its metrics must be there; then a fault is injected and a second dry run must roll back.',
    stableProfile: profileFile('healthy'),
    canaryProfile: profileFile('healthy'),
    expect: { outcomes: ['dry_run_passed'] },
    provoke: { canaryProfile: profileFile('error-spike'), expect: { outcomes: ['rolled_back'], triggerCheck: 'error-rate', withinBound: true } },
  },
};

/** The scenario of that name, or an error listing the names. */
export function scenarioNamed(name: string): Scenario {
  if ((SCENARIO_NAMES as readonly string[]).includes(name)) return SCENARIOS[name as ScenarioName];
  throw new Error(`unknown scenario '${name}'; one of: ${SCENARIO_NAMES.join(', ')}`);
}
