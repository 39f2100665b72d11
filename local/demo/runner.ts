import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolvePlan, type Plan } from '../../lambdas/domain/plan';
import type { RunEvent, RunRecord } from '../../lambdas/domain/run';
import { runLocalWorkflow, type LocalRunResult } from '../workflow/local-workflow';
import { DEMO_REPOSITORY, SCRAPE_INTERVAL_SECONDS, type DemoEnvironment, type DemoStage } from './environment';
import { LiveView, RunWatcher, memoryTerminal, stamp, type Terminal } from './live-view';
import { describePhase, faultPhase, loadProfile, type Profile } from './profile';
import { buildJson, describeChecks, describePlan, rollbackBoundSeconds, rollbackReportLines, summaryLines, type DemoJson } from './report';
import { DEFAULT_PLAN_FILE, scenarioNamed, type Expectation, type ScenarioName } from './scenarios';

/**
 * Runs a scenario end to end: a stage (services, stand-in listener, Prometheus, load), one workflow run (two
 * for the dry run), the live view while it runs, and at the end each run's summary and the rollback report.
 */

export interface ScenarioOptions {
  readonly scenario: ScenarioName;
  /** A plan file; default plans/demo-plan.json. */
  readonly planFile?: string;
  readonly canaryProfileFile?: string;
  readonly stableProfileFile?: string;
  /** The registered service name; default `demo-api`. */
  readonly service?: string;
  /** Requests per second; default 100. */
  readonly rps?: number;
  readonly terminal: Terminal;
  /** Aborts the run in progress (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** One workflow run and what it measured. */
export interface RunOutcome {
  readonly label: string;
  readonly input: Record<string, unknown>;
  readonly local: LocalRunResult;
  readonly record: RunRecord | undefined;
  readonly events: readonly RunEvent[];
  readonly json: DemoJson;
  /** The canary's profile during this run. */
  readonly canaryProfile: Profile;
  /** Epoch ms of the fault phase's start (fromSecond after the canary's first request); null without one. */
  readonly faultOnsetAt: number | null;
  /** Epoch ms at which the stand-in put 0% on the canary again; null when it did not. */
  readonly canaryZeroAt: number | null;
  /** Requests the stand-in routed to the canary during the run. */
  readonly canaryRequests: number;
  /** Every analysis found no canary data at all (the mislabelled-metrics trap). */
  readonly zeroCanaryData: boolean;
  /** What the canary's target really reports, when it had no data. */
  readonly diagnosis: string | undefined;
  /** The listener's weights when the run had ended. */
  readonly finalWeights: ReturnType<DemoStage['weights']>;
  /** Ways the run did not do what its scenario expects (empty when it did, or for custom profiles). */
  readonly problems: readonly string[];
}

export interface ScenarioOutcome {
  readonly scenario: ScenarioName;
  /** Profiles other than the scenario's were given: no expectation is checked. */
  readonly custom: boolean;
  readonly plan: Plan;
  readonly boundSeconds: number;
  readonly runs: readonly RunOutcome[];
  /** The run whose JSON is the last line: the rollout, or the dry run itself. */
  readonly primary: RunOutcome;
  readonly rollbacks: readonly RunRecord[];
  readonly problems: readonly string[];
  /** Seconds to start the stage (services, listener, Prometheus, load). */
  readonly stageSeconds: number;
  /** Seconds from start to end, stage included. */
  readonly wallSeconds: number;
}

/** Reads and validates a plan file the way the engine will resolve it. */
export async function loadPlan(file: string): Promise<{ registered: Record<string, unknown>; plan: Plan }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read plan ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`plan ${file} must be a JSON object`);
  try {
    return { registered: json as Record<string, unknown>, plan: resolvePlan(json) };
  } catch (error) {
    throw new Error(`plan ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const THIRTY_DAYS_MS = 30 * 86_400_000;

/** The demo was interrupted (Ctrl-C): nothing more is started. */
export class DemoInterruptedError extends Error {
  override readonly name = 'DemoInterruptedError';
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new DemoInterruptedError('interrupted');
}

/** Runs a scenario without printing; what it would have printed comes back as `transcript` (tests, benchmarks). */
export async function runScenarioQuietly(env: DemoEnvironment, options: Omit<ScenarioOptions, 'terminal'>): Promise<ScenarioOutcome & { transcript: string }> {
  const terminal = memoryTerminal();
  const outcome = await runScenario(env, { ...options, terminal });
  return { ...outcome, transcript: terminal.text() };
}

/** Runs one scenario on the environment, printing as it goes; stops its stage before it returns. */
export async function runScenario(env: DemoEnvironment, options: ScenarioOptions): Promise<ScenarioOutcome> {
  const began = Date.now();
  const scenario = scenarioNamed(options.scenario);
  const view = new LiveView(options.terminal);
  const { registered, plan } = await loadPlan(options.planFile ?? DEFAULT_PLAN_FILE);
  const custom = options.canaryProfileFile !== undefined || options.stableProfileFile !== undefined;
  const stableProfile = await loadProfile(options.stableProfileFile ?? scenario.stableProfile);
  const canaryProfile = await loadProfile(options.canaryProfileFile ?? scenario.canaryProfile);
  const service = options.service ?? 'demo-api';
  const boundSeconds = rollbackBoundSeconds(plan, SCRAPE_INTERVAL_SECONDS);

  view.line(`Scenario ${scenario.name}: ${scenario.title}.${custom ? ' (with your profiles)' : ''}`);
  view.line(`  ${scenario.story}`);
  view.line(`  plan: ${describePlan(plan)}`);
  view.line(`  checks: ${describeChecks(plan)}`);
  view.line();
  const stage = await env.startStage({
    service,
    stableProfile,
    canaryProfile,
    plan: registered,
    ...(options.rps !== undefined && { rps: options.rps }),
    log: (line) => view.line(`  ${line}`),
  });
  try {
    throwIfAborted(options.signal);
    view.line(`  ready in ${stage.startSeconds.toFixed(1)} s`);
    view.line();
    const runs: RunOutcome[] = [];
    const stableImage = `${DEMO_REPOSITORY}:v1`;
    if (scenario.provoke === undefined) {
      runs.push(await runOnce({ env, stage, view, plan, boundSeconds, label: 'Rollout', input: { service, image: `${DEMO_REPOSITORY}:v2` }, canaryProfile, expect: custom ? undefined : scenario.expect, signal: options.signal }));
    } else {
      const dry = await runOnce({ env, stage, view, plan, boundSeconds, label: 'Dry run', input: { service, image: stableImage, dryRun: true }, canaryProfile, expect: custom ? undefined : scenario.expect, signal: options.signal });
      runs.push(dry);
      throwIfAborted(options.signal);
      if (dry.record?.outcome === 'dry_run_passed') {
        const faulty = await loadProfile(scenario.provoke.canaryProfile);
        await stage.canary.setProfile(faulty);
        const onset = faultPhase(faulty);
        view.line(`Provoking: a fault is injected into the canary${onset ? ` (${describePhase(onset)}, from ${onset.fromSecond} s after it gets traffic again)` : ''}; a second dry run must roll back.`);
        view.line();
        runs.push(await runOnce({ env, stage, view, plan, boundSeconds, label: 'Provoked dry run', input: { service, image: stableImage, dryRun: true }, canaryProfile: faulty, expect: custom ? undefined : scenario.provoke.expect, signal: options.signal }));
      }
    }

    const rollbacks = await env.runLog.listRollbacks(new Date(Date.now() - THIRTY_DAYS_MS).toISOString());
    for (const run of runs) {
      view.line();
      for (const line of summaryLines({ label: run.label, json: run.json, record: run.record, local: run.local, plan, boundSeconds, finalWeights: run.finalWeights })) view.line(line);
      if (run.zeroCanaryData) for (const line of trapLines(run)) view.line(line);
      for (const problem of run.problems) view.line(`  NOT AS EXPECTED: ${problem}`);
    }
    const primary = runs[0];
    const problems = runs.flatMap((r) => r.problems.map((p) => `${r.label}: ${p}`));
    if (scenario.provoke !== undefined && primary.record?.outcome !== 'dry_run_passed') {
      // With any profiles: a dry run that does not pass is a failure to report, never a result.
      const why = primary.zeroCanaryData ? 'it found zero canary data (the mislabelled-metrics trap, see above)' : (primary.record?.reason ?? primary.local.cause ?? 'no outcome');
      if (custom) problems.push(`Dry run: did not pass: ${why}`);
      view.line();
      view.line(`DRY RUN FAILED: ${why}; the provoked run was not started.`);
    }
    view.line();
    for (const line of rollbackReportLines(rollbacks)) view.line(line);
    return { scenario: scenario.name, custom, plan, boundSeconds, runs, primary, rollbacks, problems, stageSeconds: stage.startSeconds, wallSeconds: (Date.now() - began) / 1000 };
  } finally {
    await stage.stop();
  }
}

interface RunOnceArgs {
  readonly env: DemoEnvironment;
  readonly stage: DemoStage;
  readonly view: LiveView;
  readonly plan: Plan;
  readonly boundSeconds: number;
  readonly label: string;
  readonly input: Record<string, unknown>;
  readonly canaryProfile: Profile;
  readonly expect: Expectation | undefined;
  readonly signal: AbortSignal | undefined;
}

/** One execution of the workflow with the live view, and what it measured. */
async function runOnce(args: RunOnceArgs): Promise<RunOutcome> {
  const { env, stage, view } = args;
  const runId = `${stage.service}-${randomBytes(4).toString('hex')}`;
  const startedAt = Date.now();
  const routedBefore = stage.routed().canary;
  view.line(`${args.label} ${runId}: ${args.input.dryRun === true ? 'dry run of' : 'rollout of'} ${String(args.input.image)} to ${stage.service}`);
  const watcher = new RunWatcher({ view, stage, runLog: env.runLog, runId, plan: args.plan, canaryProfile: args.canaryProfile, startedAt });
  watcher.start();
  let local: LocalRunResult;
  try {
    local = await runLocalWorkflow(
      { ...args.input, trigger: { source: 'cli', actor: 'npm run demo' } },
      { runId, onStateEntered: watcher.onStateEntered, ...(args.signal && { signal: args.signal }) },
    );
  } finally {
    await watcher.stop();
  }
  view.line(`${stamp(startedAt)} execution ${local.status}${local.error ? ` (${local.error})` : ''} after ${local.stateTransitions} state transitions`);

  const [record, events, canaryState] = await Promise.all([env.runLog.getRun(runId), env.runLog.listEvents(runId), stage.canary.state()]);
  const fault = faultPhase(args.canaryProfile);
  const onset = fault !== undefined && canaryState.firstRequestAt !== null ? canaryState.firstRequestAt + fault.fromSecond * 1000 : null;
  const faultOnsetAt = onset !== null && onset <= Date.now() ? onset : null;
  const zero = env.weightEvents.find((e) => {
    if (e.listenerArn !== stage.listenerArn || e.at < startedAt) return false;
    const weightOf = (view: typeof e.current) => view?.targetGroups.find((t) => t.targetGroupArn === stage.canaryTargetGroupArn)?.weight ?? 0;
    return weightOf(e.current) === 0 && weightOf(e.previous) > 0;
  });
  const canaryZeroAt = zero?.at ?? null;
  const faultOnsetToRollbackSeconds = faultOnsetAt !== null && canaryZeroAt !== null && canaryZeroAt >= faultOnsetAt ? (canaryZeroAt - faultOnsetAt) / 1000 : null;
  const weights = stage.weights();
  const json = buildJson({ local, record, finalCanaryWeight: weights.canary, faultOnsetToRollbackSeconds });

  const analyses = events.filter((e) => e.type === 'analysis');
  const zeroCanaryData =
    analyses.length > 0 && analyses.every((e) => (e.measurements ?? []).every((m) => m.verdict === 'no-data' && (m.samples === null || m.samples === 0) && m.value === null));
  const canaryRequests = stage.routed().canary - routedBefore;
  const diagnosis = zeroCanaryData ? await diagnose(stage, canaryRequests) : undefined;
  const problems = args.expect === undefined ? [] : unmet(args.expect, json, record, args.boundSeconds);
  return {
    label: args.label,
    input: args.input,
    local,
    record,
    events,
    json,
    canaryProfile: args.canaryProfile,
    faultOnsetAt,
    canaryZeroAt,
    canaryRequests,
    zeroCanaryData,
    diagnosis,
    finalWeights: weights,
    problems,
  };
}

/** How a run missed its scenario's expectation, one sentence each. */
export function unmet(expect: Expectation, json: DemoJson, record: RunRecord | undefined, boundSeconds: number): string[] {
  const problems: string[] = [];
  if (!expect.outcomes.includes(record?.outcome ?? json.outcome)) problems.push(`expected ${expect.outcomes.join(' or ')}, got ${record?.outcome ?? json.outcome}`);
  if (expect.stageReached !== undefined && json.stageReached !== expect.stageReached) problems.push(`expected to end at step ${expect.stageReached}, reached ${json.stageReached}`);
  if (expect.triggerCheck !== undefined && json.triggerCheck !== expect.triggerCheck) problems.push(`expected the trigger ${expect.triggerCheck}, got ${json.triggerCheck ?? 'none'}`);
  if (expect.noData === true && !/no data/.test(record?.reason ?? '')) problems.push(`expected the reason to say no data, got: ${record?.reason ?? 'no reason'}`);
  if (expect.withinBound === true) {
    if (json.faultOnsetToRollbackSeconds === null) problems.push('fault onset → rollback was not measured (no rollback after the fault began)');
    else if (json.faultOnsetToRollbackSeconds > boundSeconds) problems.push(`fault onset → rollback took ${json.faultOnsetToRollbackSeconds} s, over the bound of ${boundSeconds} s`);
  }
  return problems;
}

interface PromVector {
  readonly data?: { readonly result?: readonly { readonly metric: Record<string, string>; readonly value: [number, string] }[] };
}

/** What the canary's target reports to Prometheus, to name the label that hides it. */
async function diagnose(stage: DemoStage, canaryRequests: number): Promise<string> {
  const query = `sum by (service, version) (http_requests_total{instance="${stage.canary.target}"})`;
  try {
    const response = await fetch(`${stage.prometheus.url}/api/v1/query?${new URLSearchParams({ query }).toString()}`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as PromVector;
    const series = (body.data?.result ?? []).map((r) => `{service="${r.metric.service ?? ''}", version="${r.metric.version ?? ''}"} ${r.value[1]} requests`);
    const seen = series.length === 0 ? 'no http_requests_total series at all' : series.join(', ');
    return `The load balancer sent ${canaryRequests} requests to the canary target ${stage.canary.target}; Prometheus has them as ${seen}, while the checks select {service="${stage.service}", version="canary"}.`;
  } catch (error) {
    return `The load balancer sent ${canaryRequests} requests to the canary target ${stage.canary.target}, but Prometheus could not be asked what it reports (${error instanceof Error ? error.message : String(error)}).`;
  }
}

/** The loud explanation of a run that found zero canary data. */
function trapLines(run: RunOutcome): string[] {
  return [
    '',
    '  !!! ZERO CANARY DATA: every analysis found no canary metrics at all. This is the mislabelled-metrics trap:',
    '  !!! the canary serves traffic, but its metrics do not carry the labels the checks select, so nothing can be judged.',
    `  !!! ${run.diagnosis ?? ''}`,
    '  !!! Fix the canary\'s labels (or the registration\'s metrics.versions) before trusting any rollout of this service.',
  ];
}
