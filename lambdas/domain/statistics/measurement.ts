import type { Measurement } from '../judge';
import type { GaugeTrendResult } from './gauge-trend';
import { significant } from './numeric';
import type { SequentialNumbers, SequentialTestConfig, SequentialTestResult } from './sequential-test';
import type { StableGuardResult } from './stable-guard';

/**
 * The statistical judges' results as the engine's Measurement (what decide() counts, the run log records
 * and the notification carries), with two additions: `rollbackNow` — the judge has already required its
 * evidence to persist (two intervals, a sustained window) or found a breach large enough to abort, so
 * decide() should roll back on this interval rather than wait for consecutive failures — and the numbers.
 */

export interface StatisticalMeasurement extends Measurement {
  readonly rollbackNow: boolean;
  readonly judge: 'sequential' | 'stable-guard' | 'gauge-trend';
  readonly reason: string;
  readonly statistics: SequentialNumbers | StableGuardResult['numbers'] | GaugeTrendResult['numbers'];
}

/** The canary rate the check tolerates now: maxRatio × the stable's rate, else the SLO. */
function toleratedRate(config: SequentialTestConfig, numbers: SequentialNumbers): number | undefined {
  const stable = numbers.stableRate;
  const candidates: number[] = [];
  if (config.maxRatio !== undefined && stable !== null) candidates.push(config.maxRatio * stable);
  if (config.maxIncrease !== undefined && stable !== null) candidates.push(stable + config.maxIncrease);
  const baseline = candidates.length > 0 ? Math.max(...candidates) : undefined;
  if (config.slo !== undefined && (config.requireAboveSlo || baseline === undefined)) return Math.max(config.slo, baseline ?? 0);
  return baseline;
}

/** A sequential check's result as a measurement: value = the canary's rate so far, samples = its requests. */
export function sequentialMeasurement(check: string, config: SequentialTestConfig, result: SequentialTestResult): StatisticalMeasurement {
  const max = toleratedRate(config, result.numbers);
  return {
    check,
    verdict: result.verdict,
    value: result.numbers.canaryRate,
    samples: result.numbers.canary.requests,
    ...(max !== undefined && { max: significant(max, 6) }),
    detail: result.detail,
    rollbackNow: result.verdict === 'fail',
    judge: 'sequential',
    reason: result.reason,
    statistics: result.numbers,
  };
}

/** A stable guard's result as a measurement: value = the stable's rate over the window, max = its bound. */
export function stableGuardMeasurement(check: string, result: StableGuardResult): StatisticalMeasurement {
  return {
    check,
    verdict: result.verdict,
    value: result.numbers.windowRate,
    samples: result.numbers.windowRequests,
    max: result.numbers.bound,
    detail: result.detail,
    rollbackNow: result.verdict === 'fail',
    judge: 'stable-guard',
    reason: result.reason,
    statistics: result.numbers,
  };
}

/** A gauge's result as a measurement; a projected breach is a fail like any other (the plan's limits apply). */
export function gaugeMeasurement(check: string, result: GaugeTrendResult): StatisticalMeasurement {
  return {
    check,
    verdict: result.verdict,
    value: result.numbers.value,
    samples: result.state.points.length,
    max: result.numbers.max,
    detail: result.detail,
    rollbackNow: false,
    judge: 'gauge-trend',
    reason: result.reason,
    statistics: result.numbers,
  };
}
