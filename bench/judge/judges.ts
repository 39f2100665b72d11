import { judgeCheck, intervalVerdict, type Measurement } from '../../lambdas/domain/judge';
import type { CheckSpec } from '../../lambdas/domain/plan';
import {
  initialSequentialState,
  initialStableGuardState,
  pairOf,
  resolveSequentialConfig,
  resolveStableGuardConfig,
  splitAlpha,
  stepSequentialTest,
  stepStableGuard,
  type CountedOutcome,
  type IntervalCounts,
  type SequentialTestConfig,
  type SequentialTestState,
  type StableGuardConfig,
  type StableGuardState,
} from '../../lambdas/domain/statistics';
import { mannWhitneyShift } from './mann-whitney';
import type { Scenario } from './scenario';

/**
 * The judges of the benchmark. Each sees one interval at a time, in order, and says pass / fail / no-data
 * and whether its own rule rolls back now. The shared plan rules (no-data limit, promotion) are in run.ts.
 */

export type BenchVerdict = 'pass' | 'fail' | 'no-data';

export interface JudgeStep {
  readonly verdict: BenchVerdict;
  readonly rollback: boolean;
  /** Ours only: the canary is proven within tolerance on every canary check. */
  readonly provenHealthy?: boolean;
}

export interface JudgeRun {
  /** Judges interval `index` (0-based) of the scenario. */
  step(index: number): JudgeStep;
}

export interface BenchJudge {
  readonly name: string;
  readonly description: string;
  start(scenario: Scenario): JudgeRun;
}

const OUTCOMES: readonly CountedOutcome[] = ['errors', 'slow'];

/** The SLO of an outcome as a proportion: the error rate, or 1 − the latency quantile for slow requests. */
export function sloOf(scenario: Scenario, outcome: CountedOutcome): number {
  return outcome === 'errors' ? scenario.slo.errorRate : 1 - scenario.slo.latencyQuantile;
}

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
        errors: { name: 'error-rate', query: '-', samplesQuery: '-', minSamples: 20, max: scenario.slo.errorRate },
        slow: { name: 'latency', query: '-', samplesQuery: '-', minSamples: 20, max: 1 - scenario.slo.latencyQuantile },
      };
      let consecutive = 0;
      let total = 0;
      return {
        step(index) {
          const recent = scenario.intervals.slice(Math.max(0, index - window + 1), index + 1);
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
    start(scenario) {
      return {
        step(index) {
          const current = scenario.intervals[index];
          if (current.canary.requests === 0) return { verdict: 'no-data', rollback: false };
          const seen = scenario.intervals.slice(0, index + 1);
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

/** The configuration `ours` runs with: per outcome, canary against stable, and the stable guard. */
export interface OursSettings {
  /** False-rollback rate of the whole rollout, split across the four sequential checks. */
  readonly alpha: number;
  /** Share of alpha given to the two stable guards together (the rest goes to the two canary checks). */
  readonly guardShare: number;
  readonly maxRatio: number;
  /** Tolerated increase as a multiple of the SLO; null: no increase axis (the ratio alone is the tolerance). */
  readonly maxIncreaseOfSlo: number | null;
  readonly minSamples: number;
  readonly fastAbortFactor: number;
  readonly guardSustainIntervals: number;
}

export const OURS_DEFAULTS: OursSettings = {
  alpha: 0.01,
  guardShare: 0.2,
  maxRatio: 1.5,
  maxIncreaseOfSlo: null,
  minSamples: 50,
  fastAbortFactor: 5,
  guardSustainIntervals: 3,
};

/** The sequential judge (lambdas/domain/statistics) with the stable guard; a fail rolls back at once. */
export function oursJudge(settings: OursSettings = OURS_DEFAULTS): BenchJudge {
  return {
    name: 'ours',
    description:
      `sequential mSPRT (α ${settings.alpha}/rollout, ratio ≤ ${settings.maxRatio}` +
      `${settings.maxIncreaseOfSlo === null ? '' : ` and increase ≤ ${settings.maxIncreaseOfSlo}×SLO`}, fast abort ${settings.fastAbortFactor}×SLO) + stable guard`,
    start(scenario) {
      const testAlpha = splitAlpha(settings.alpha * (1 - settings.guardShare), OUTCOMES.length);
      const guardAlpha = splitAlpha(settings.alpha * settings.guardShare, OUTCOMES.length);
      const configs = {} as Record<CountedOutcome, { test: SequentialTestConfig; guard: StableGuardConfig }>;
      const states = {} as Record<CountedOutcome, { test: SequentialTestState; guard: StableGuardState }>;
      for (const outcome of OUTCOMES) {
        const slo = sloOf(scenario, outcome);
        const test = resolveSequentialConfig({
          alpha: testAlpha,
          slo,
          maxRatio: settings.maxRatio,
          ...(settings.maxIncreaseOfSlo !== null && { maxIncrease: settings.maxIncreaseOfSlo * slo }),
          minSamples: settings.minSamples,
          fastAbortFactor: settings.fastAbortFactor,
        });
        const guard = resolveStableGuardConfig({ alpha: guardAlpha, slo, sustainIntervals: settings.guardSustainIntervals, horizonIntervals: scenario.intervals.length });
        configs[outcome] = { test, guard };
        states[outcome] = { test: initialSequentialState(test), guard: initialStableGuardState() };
      }
      return {
        step(index) {
          const interval = scenario.intervals[index];
          const verdicts: BenchVerdict[] = [];
          let healthy = true;
          for (const outcome of OUTCOMES) {
            const pair = pairOf(interval, outcome);
            const test = stepSequentialTest(configs[outcome].test, states[outcome].test, pair);
            const guard = stepStableGuard(configs[outcome].guard, states[outcome].guard, pair.stable);
            states[outcome] = { test: test.state, guard: guard.state };
            verdicts.push(toBench(test.verdict), toBench(guard.verdict));
            healthy &&= test.provenHealthy;
          }
          const verdict: BenchVerdict = verdicts.includes('fail') ? 'fail' : verdicts.includes('no-data') ? 'no-data' : 'pass';
          return { verdict, rollback: verdict === 'fail', provenHealthy: healthy };
        },
      };
    },
  };
}

/** Every judge of the benchmark, anchors first. */
export function benchJudges(ours: OursSettings = OURS_DEFAULTS): BenchJudge[] {
  return [
    thresholdJudge('static', 'engine judge, 2-interval window, rolls back on one breach', 2, { consecutive: 1 }),
    thresholdJudge('consecutive-2', 'engine judge (seed 000), 2-interval window, 2 breaches in a row', 2, { consecutive: 2 }),
    thresholdJudge('cumulative-5', 'Flagger-like: 1-interval window, 5 failed checks in all', 1, { total: 5 }),
    mannWhitneyJudge(),
    oursJudge(ours),
  ];
}
