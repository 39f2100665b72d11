import { decide, initialCursor, type Cursor } from '../../lambdas/domain/decision';
import { judgeCheck, intervalVerdict, type Measurement } from '../../lambdas/domain/judge';
import { resolvePlan, type CheckSpec, type Plan } from '../../lambdas/domain/plan';
import { isStatisticalMeasurement, judgeChecks, measuredOf, type CountedOutcome, type IntervalCounts } from '../../lambdas/domain/statistics';
import { mannWhitneyShift } from './mann-whitney';
import { Rng } from './rng';
import { PLANNED_INTERVALS } from './generator';
import type { Scenario } from './scenario';

/**
 * The judges of the benchmark. Each sees one interval at a time, in order, and says pass / fail / no-data
 * and whether its own rule rolls back now. The shared plan rules (no-data limit, promotion) are in run.ts.
 */

export type BenchVerdict = 'pass' | 'fail' | 'no-data';

export interface JudgeStep {
  readonly verdict: BenchVerdict;
  readonly rollback: boolean;
  /** The judge's own plan promotes now (the engine's decide()); the run ends promoted. */
  readonly promote?: boolean;
  /** Ours only: the canary is proven within tolerance on every canary check. */
  readonly provenHealthy?: boolean;
  /** Ours only: the data do not yet rule out the regression size a step must be able to detect (the power hold). */
  readonly underpowered?: boolean;
  /** The canary weight the judge's own plan runs the next interval at (ours: the engine's steps); unset: the bench's holds. */
  readonly weight?: number;
}

export interface JudgeRun {
  /** Judges interval `index` (0-based): the scenario's counts at the canary weight the run is at (see run.ts). */
  step(index: number, interval: IntervalCounts): JudgeStep;
}

export interface BenchJudge {
  readonly name: string;
  readonly description: string;
  start(scenario: Scenario): JudgeRun;
}

const OUTCOMES: readonly CountedOutcome[] = ['errors', 'slow'];

const toBench = (v: Measurement['verdict']): BenchVerdict => (v === 'error' ? 'no-data' : v);

/**
 * Threshold judging on the canary, with the engine's own judge (lambdas/domain/judge.ts): the error rate and
 * the slow share over the last `window` intervals against the SLO, fewer than 20 requests is no data.
 * `limit` decides the rollback: consecutive fails, or fails in all.
 */
function thresholdJudge(name: string, description: string, window: number, limit: { consecutive?: number; total?: number }): BenchJudge {
  return {
    name,
    description,
    start(scenario) {
      const checks: Record<CountedOutcome, CheckSpec> = {
        errors: { name: 'error-rate', judge: 'threshold', query: '-', samplesQuery: '-', minSamples: 20, max: scenario.slo.errorRate },
        slow: { name: 'latency', judge: 'threshold', query: '-', samplesQuery: '-', minSamples: 20, max: 1 - scenario.slo.latencyQuantile },
      };
      let consecutive = 0;
      let total = 0;
      const seen: IntervalCounts[] = [];
      return {
        step(_index, interval) {
          seen.push(interval);
          const recent = seen.slice(-window);
          const requests = recent.reduce((s, i) => s + i.canary.requests, 0);
          const measurements = OUTCOMES.map((outcome) => {
            const bad = recent.reduce((s, i) => s + i.canary[outcome], 0);
            return judgeCheck(checks[outcome], { kind: 'value', value: bad / requests }, { kind: 'value', value: requests });
          });
          const verdict = toBench(intervalVerdict(measurements));
          // As decide(): a pass ends a failure streak, no data does not.
          if (verdict === 'fail') {
            consecutive++;
            total++;
          } else if (verdict === 'pass') consecutive = 0;
          const rollback = (limit.consecutive !== undefined && consecutive >= limit.consecutive) || (limit.total !== undefined && total >= limit.total);
          return { verdict, rollback };
        },
      };
    },
  };
}

const ratio = (i: IntervalCounts, version: 'canary' | 'stable', outcome: CountedOutcome) =>
  i[version].requests > 0 ? i[version][outcome] / i[version].requests : null;

/**
 * Kayenta-like: every interval, Mann–Whitney on the per-interval ratio series since the start, canary
 * (experiment) against stable (control), 98% confidence; a metric is High when the interval's lower bound
 * is above 25% of the Hodges–Lehmann shift and the canary's mean is at least the stable's. Two metrics:
 * one High scores 50, below the marginal 75: the run fails and rolls back.
 */
function mannWhitneyJudge(): BenchJudge {
  return {
    name: 'mann-whitney',
    description: 'Kayenta-like: Mann–Whitney on per-interval ratio series, 98% confidence, ±25% tolerance',
    start() {
      const seen: IntervalCounts[] = [];
      return {
        step(_index, current) {
          seen.push(current);
          if (current.canary.requests === 0) return { verdict: 'no-data', rollback: false };
          const high = OUTCOMES.some((outcome) => {
            const x = seen.map((i) => ratio(i, 'canary', outcome)).filter((v): v is number => v !== null);
            const y = seen.map((i) => ratio(i, 'stable', outcome)).filter((v): v is number => v !== null);
            const shift = mannWhitneyShift(x, y, 0.98);
            if (shift === null) return false;
            const meanX = x.reduce((s, v) => s + v, 0) / x.length;
            const meanY = y.reduce((s, v) => s + v, 0) / y.length;
            const deviation = meanY === 0 ? 1 : meanX / meanY;
            return shift.lower > 0.25 * Math.abs(shift.estimate) && deviation >= 1;
          });
          return high ? { verdict: 'fail', rollback: true } : { verdict: 'pass', rollback: false };
        },
      };
    },
  };
}

/** How many of a scenario's intervals are the plan's: the default plan's 15, or all of a shorter scenario. */
export function plannedIntervals(scenario: Scenario): number {
  return Math.min(PLANNED_INTERVALS, scenario.intervals.length);
}

/** The canary weights the scenarios were generated at: the first third of the planned intervals at 5%, the rest at 25%. */
export function generatedWeights(intervals: number, planned = intervals): number[] {
  const first = Math.max(1, Math.ceil(planned / 3));
  return Array.from({ length: intervals }, (_, i) => (i < first ? 5 : 25));
}

const round9 = (v: number) => Math.round(v * 1e9) / 1e9;

/** Where the engine's power hold applies (plan.analysis.powerHold). */
export type PowerHold = Plan['analysis']['powerHold'];

/**
 * The plan `ours` runs a scenario with: the engine's default plan (its checks, limits and α), with the scenario's
 * SLOs, and steps laid over the scenario the way the generator laid its weights (5% for the first third, then 25%).
 */
export function benchPlan(scenario: Scenario, powerHold: PowerHold = 'promotion'): Plan {
  const n = plannedIntervals(scenario);
  const first = Math.max(1, Math.ceil(n / 3));
  return resolvePlan({
    steps: [{ weight: 5, holdSeconds: first * 60 }, { weight: 25, holdSeconds: Math.max(1, n - first) * 60 }, { weight: 100 }],
    analysis: { powerHold },
    checks: [
      { name: 'error-rate', max: scenario.slo.errorRate },
      { name: 'latency-p99', max: scenario.slo.latencyThresholdSeconds, slo: round9(1 - scenario.slo.latencyQuantile) },
    ],
  });
}

/**
 * The interval as it would have been with the canary at `weight` rather than the `generated` weight: each canary
 * request is kept with probability weight/generated (its bad requests alike), and the others are served by the
 * stable version at the stable's rates of that interval. Only ever thins (a judge never runs ahead of the generator).
 */
export function atWeight(interval: IntervalCounts, weight: number, generated: number, rng: Rng): IntervalCounts {
  if (weight >= generated || interval.canary.requests === 0) return interval;
  const { canary, stable } = interval;
  const requests = rng.binomial(canary.requests, weight / generated);
  const keep = requests / canary.requests;
  const moved = canary.requests - requests;
  const stableShare = (bad: number) => (stable.requests > 0 ? bad / stable.requests : 0);
  return {
    canary: { requests, errors: Math.min(requests, rng.binomial(canary.errors, keep)), slow: Math.min(requests, rng.binomial(canary.slow, keep)) },
    stable: {
      requests: stable.requests + moved,
      errors: stable.errors + rng.binomial(moved, stableShare(stable.errors)),
      slow: stable.slow + rng.binomial(moved, stableShare(stable.slow)),
    },
  };
}

const NOW = Date.parse('2026-01-01T00:00:00Z');

/**
 * Ours: exactly the engine. Each interval goes through `judgeChecks` (the analyze step's judging: the sequential
 * tests, the stable guards, with their state carried between intervals as in the cursor) and `decide` (the
 * engine's decision: immediate rollbacks, limits, holds, the power hold), on `benchPlan`. The run follows decide's
 * steps: while it holds at 5% past the generator's first third, run.ts thins the canary's counts to 5% (`atWeight`).
 */
export function oursJudge(powerHold: PowerHold = 'promotion'): BenchJudge {
  return {
    name: 'ours',
    description: 'the engine: default plan (sequential error-rate and latency vs stable, stable guards, power hold), judgeChecks + decide',
    start(scenario) {
      const plan = benchPlan(scenario, powerHold);
      let cursor: Cursor = { ...initialCursor(plan), weight: plan.steps[0].weight };
      return {
        step(index, interval) {
          const counts = measuredOf(interval, scenario.slo.latencyThresholdSeconds);
          const judged = judgeChecks(plan, plan.checks, cursor.statistics, { counts: { kind: 'counts', counts }, queries: {} }, cursor.weight);
          const { cursor: next, decision } = decide(plan, { ...cursor, statistics: judged.statistics }, judged.measurements, {
            now: new Date(NOW + index * plan.analysis.intervalSeconds * 1000).toISOString(),
          });
          // As SetWeight does after an advance: the new step's weight.
          cursor = decision.action === 'advance' ? { ...next, weight: plan.steps[next.stepIndex].weight } : next;
          const statistical = judged.measurements.filter(isStatisticalMeasurement);
          const sequential = statistical.filter((m) => m.judge === 'sequential');
          return {
            verdict: toBench(intervalVerdict(judged.measurements)),
            rollback: decision.action === 'rollback',
            promote: decision.action === 'promote',
            provenHealthy: sequential.length > 0 && sequential.every((m) => m.reason === 'proven-healthy'),
            underpowered: sequential.some((m) => !m.powered),
            weight: cursor.weight,
          };
        },
      };
    },
  };
}

/** Every judge of the benchmark, anchors first. */
export function benchJudges(powerHold: PowerHold = 'promotion'): BenchJudge[] {
  return [
    thresholdJudge('static', 'engine judge, 2-interval window, rolls back on one breach', 2, { consecutive: 1 }),
    thresholdJudge('consecutive-2', 'engine judge (seed 000), 2-interval window, 2 breaches in a row', 2, { consecutive: 2 }),
    thresholdJudge('cumulative-5', 'Flagger-like: 1-interval window, 5 failed checks in all', 1, { total: 5 }),
    mannWhitneyJudge(),
    oursJudge(powerHold),
  ];
}
