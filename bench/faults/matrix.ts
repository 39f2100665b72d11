import { randomBytes } from 'node:crypto';
import type { RunEvent, RunRecord } from '../../lambdas/domain/run';
import { THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';
import type { FaultEnvironment, RunHandle, Service } from './environment';

/**
 * The fault matrix's vocabulary: a case injects one fault into real runs and says what it expects; the scorer
 * reads traffic and records afterwards and turns that into one result line.
 */

/** One second per analysis, 2 s holds: a default-shaped plan that runs in seconds (FAST_PLAN of the workflow tests). */
export const FAST_ANALYSIS = { intervalSeconds: 1, window: '5s', consecutiveFailureLimit: 2, errorLimit: 4, noDataLimit: 5 };
/** Threshold checks: a bad canary is caught at the first step within a few intervals, deterministically. */
export const FAST_PLAN = {
  steps: [{ weight: 20, holdSeconds: 2 }, { weight: 50, holdSeconds: 2 }, { weight: 100 }],
  analysis: FAST_ANALYSIS,
  checks: THRESHOLD_CHECKS,
  // A minute for a person's gate at 1 s intervals: the default hour would outgrow the history budget.
  approvals: { timeoutSeconds: 60 },
};
export const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1';
/** A canary answering one request in five with a 5xx: error-rate breaches at the first step. */
export const BAD_CANARY = { errorRate: 0.2, latencySeconds: { p50: 0.02, p99: 0.12 } };

export type ExpectedOutcome = 'promoted' | 'rolled_back' | 'rollback_failed' | 'aborted' | 'none';

/** What must hold for one run at the end of a case. */
export interface RunExpectation {
  readonly label: string;
  readonly run: RunHandle;
  readonly service: Service;
  /** Outcomes the record may end with ('none': no record, the run was refused before writing). */
  readonly outcomes: readonly ExpectedOutcome[];
  /** The safety net restored or recorded this run: a `safety-net` event must exist (when the outcome is aborted or rollback_failed). */
  readonly safetyNet?: boolean;
  /** Whether the service's final traffic is this run's to judge (false when a later run of the same service owns it). */
  readonly ownsTraffic?: boolean;
}

export interface CaseObservation {
  /** The runs to score; the first one's service gives finalCanaryWeight and secondsToStable. */
  readonly runs: readonly RunExpectation[];
  /** Epoch ms the fault was injected (default: when the first run entered Rollback). */
  readonly injectedAt?: number;
  /** What the case saw that breaks its expectation beyond traffic and records (cross-talk, a second run started…). */
  readonly problems?: readonly string[];
  /** Shown in the line. */
  readonly notes?: readonly string[];
}

export interface CaseContext {
  readonly env: FaultEnvironment;
  /** A service name unique to this case (and run ids starting with it). */
  name(suffix?: string): string;
  runId(service: string): string;
  /** Registers a service with FAST_PLAN (or the given plan). */
  service(suffix?: string, options?: { plan?: Record<string, unknown>; metricsUrl?: string; stickySeconds?: number }): Promise<Service>;
  /** Removes the case's faults; every case calls it in `finally` and the runner once more. */
  readonly cleanups: (() => unknown)[];
}

export interface FaultCase {
  readonly name: string;
  /** The fault, in words: the "fault" column. */
  readonly fault: string;
  /** What the orchestrator is meant to do: the "what the orchestrator does" column. */
  readonly expected: string;
  /** Runs alone: its fault cannot be scoped to its own service (the ALB stand-in's fault injector is global). */
  readonly exclusive?: boolean;
  execute(ctx: CaseContext): Promise<CaseObservation>;
}

export interface CaseResult {
  readonly name: string;
  readonly finalCanaryWeight: number;
  readonly outcome: string;
  readonly recordsLost: number;
  readonly secondsToStable: number | null;
  readonly ok: boolean;
}

/** A result with what the line and the table show besides the JSON fields. */
export interface ScoredCase {
  readonly result: CaseResult;
  readonly fault: string;
  readonly expected: string;
  readonly problems: readonly string[];
  readonly notes: readonly string[];
  readonly lost: readonly string[];
  readonly wallSeconds: number;
}

/** Which records a run should have, by outcome, and which of them are missing. */
export function missingRecords(expectation: RunExpectation, record: RunRecord | undefined, events: readonly RunEvent[]): string[] {
  const { label, outcomes, run } = expectation;
  const lost: string[] = [];
  if (outcomes.length === 1 && outcomes[0] === 'none') {
    return record === undefined ? [] : [`${label}: a run record exists (outcome ${record.outcome}) for a run that was to be refused before writing`];
  }
  if (record === undefined) return [`${label}: the run record`];
  const outcome = record.outcome as ExpectedOutcome;
  if (!outcomes.includes(outcome)) lost.push(`${label}: the run record with outcome ${outcomes.join(' or ')} (it says ${record.outcome})`);
  const has = (type: string) => events.some((e) => e.type === type);
  if (outcome === 'rolled_back') {
    const started = events.find((e) => e.type === 'rollback-started');
    if (!started) lost.push(`${label}: the rollback-started event`);
    else if (!started.decision?.reason.message) lost.push(`${label}: the reason on the rollback-started event`);
    if (!has('rolled-back')) lost.push(`${label}: the rolled-back event`);
  }
  if (outcome === 'rolled_back' || outcome === 'promoted') {
    if (!has('finished')) lost.push(`${label}: the finished event`);
  }
  if (outcome === 'rollback_failed') {
    if (!record.manualCommand) lost.push(`${label}: the manual command on the run record`);
    if (!has('rollback-failed')) lost.push(`${label}: the rollback-failed event`);
  }
  if ((outcome === 'aborted' || outcome === 'rollback_failed') && expectation.safetyNet !== false && !has('safety-net')) lost.push(`${label}: the safety-net event`);
  // Decide is entered once per Analyze that succeeded: each must have left its analysis event.
  const analyses = run.entered.filter((e) => e.state === 'Decide').length;
  const recorded = events.filter((e) => e.type === 'analysis').length;
  if (recorded < analyses) lost.push(`${label}: ${analyses - recorded} of ${analyses} analysis events`);
  return lost;
}

const round = (seconds: number) => Math.round(seconds * 10) / 10;

/** Seconds from `from` to the canary's last move to 0; null when it never split, or does not end at 0. */
export function secondsToStable(service: Service, from: number | undefined): number | null {
  const { timeline } = service;
  if (!timeline.some((p) => p.canary > 0)) return null;
  if (service.canaryShare() !== 0) return null;
  const last = [...timeline].reverse().find((p, i, all) => p.canary === 0 && (all[i + 1]?.canary ?? 0) > 0);
  if (!last || from === undefined) return null;
  return round(Math.max(0, (last.at - from) / 1000));
}

/** Scores one case's observation against traffic and the table. */
export async function score(env: FaultEnvironment, fault: FaultCase, observation: CaseObservation, wallSeconds: number): Promise<ScoredCase> {
  const problems = [...(observation.problems ?? [])];
  const lost: string[] = [];
  const outcomes: string[] = [];
  for (const expectation of observation.runs) {
    const [record, events] = await Promise.all([env.runLog.getRun(expectation.run.runId), env.runLog.listEvents(expectation.run.runId)]);
    outcomes.push(record?.outcome ?? (expectation.outcomes.includes('none') ? 'refused' : 'none'));
    lost.push(...missingRecords(expectation, record, events));
    const promoted = expectation.outcomes.includes('promoted') && record?.outcome === 'promoted';
    const share = expectation.service.canaryShare();
    const wanted = promoted ? 100 : 0;
    if (expectation.ownsTraffic !== false && share !== wanted) problems.push(`${expectation.label}: traffic ends ${share}% on the canary, not ${wanted}%${promoted ? ' (promoted)' : ''}`);
    const lock = await env.runLog.getLock(expectation.service.name);
    if (lock !== undefined) problems.push(`${expectation.label}: the lock of ${expectation.service.name} is still held by run ${lock.runId}`);
  }
  const primary = observation.runs[0];
  const from = observation.injectedAt ?? primary.run.entered.find((e) => e.state === 'Rollback')?.at;
  const unique = [...new Set(outcomes)];
  const result: CaseResult = {
    name: fault.name,
    finalCanaryWeight: primary.service.canaryShare(),
    outcome: unique.join('+'),
    recordsLost: lost.length,
    secondsToStable: secondsToStable(primary.service, from),
    ok: lost.length === 0 && problems.length === 0,
  };
  return { result, fault: fault.fault, expected: fault.expected, problems, notes: observation.notes ?? [], lost, wallSeconds: round(wallSeconds) };
}

/** A case context whose names are unique to this process and case. */
export function caseContext(env: FaultEnvironment, fault: FaultCase): CaseContext {
  const tag = randomBytes(2).toString('hex');
  const base = `${fault.name}`.replace(/[^a-z0-9-]/g, '-').slice(0, 20).replace(/-+$/, '');
  const name = (suffix?: string) => `${base}-${tag}${suffix ? `-${suffix}` : ''}`;
  const cleanups: (() => unknown)[] = [];
  return {
    env,
    name,
    runId: (service) => `${service}-${randomBytes(4).toString('hex')}`,
    service: (suffix, options = {}) =>
      env.addService(name(suffix), {
        plan: options.plan ?? FAST_PLAN,
        ...(options.metricsUrl !== undefined && { metricsUrl: options.metricsUrl }),
        ...(options.stickySeconds !== undefined && { stickySeconds: options.stickySeconds }),
      }),
    cleanups,
  };
}
