import type { Measurement } from '../judge';
import type { GaugeTrendResult } from './gauge-trend';
import { formatEvidence, significant } from './numeric';
import type { SequentialNumbers, SequentialTestConfig, SequentialTestResult } from './sequential-test';
import { rateOf } from './counts';
import type { StableGuardResult } from './stable-guard';

/**
 * The statistical judges' results as the engine's Measurement (what decide() counts, the run log records
 * and the notification carries), with two additions: `rollbackNow` — the judge has already required its
 * evidence to persist (two intervals, a sustained window) or found a breach large enough to abort, so
 * decide() should roll back on this interval rather than wait for consecutive failures — and the numbers.
 */

export type StatisticalMeasurement =
  | (StatisticalBase & { readonly judge: 'sequential'; readonly statistics: SequentialNumbers; readonly powered: boolean })
  | (StatisticalBase & { readonly judge: 'stable-guard'; readonly statistics: StableGuardResult['numbers'] })
  | (StatisticalBase & { readonly judge: 'gauge-trend'; readonly statistics: GaugeTrendResult['numbers'] });

/** A sequential check's measurement. */
export type SequentialMeasurement = Extract<StatisticalMeasurement, { readonly judge: 'sequential' }>;

interface StatisticalBase extends Measurement {
  /** Roll back at this interval: the judge's own evidence already covers persistence (or the breach is that large). */
  readonly rollbackNow: boolean;
  /** Why this verdict, as the judge names it (`breach`, `fast-abort`, `sustained-breach`, `no-evidence-of-breach`, ...). */
  readonly reason: string;
}

/** Whether a measurement came from a statistical judge (it then carries its evidence). */
export function isStatisticalMeasurement(m: Measurement): m is StatisticalMeasurement {
  const judge = (m as { judge?: unknown }).judge;
  return judge === 'sequential' || judge === 'stable-guard' || judge === 'gauge-trend';
}

/**
 * The canary rate the check tolerates now, for records and notifications: maxRatio × the stable's rate and/or the
 * stable's rate + maxIncrease (the larger), else the SLO (also while the stable has shown no bad requests yet, when
 * a ratio of nothing says nothing).
 */
function toleratedRate(config: SequentialTestConfig, numbers: SequentialNumbers): number | undefined {
  const stable = numbers.stableRate;
  const candidates: number[] = [];
  if (config.maxRatio !== undefined && stable !== null && stable > 0) candidates.push(config.maxRatio * stable);
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
    powered: result.powered,
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

const percent = (v: number | null) => (v === null ? 'n/a' : `${significant(v * 100, 3)}%`);
const whole = (v: number) => Math.round(v).toLocaleString('en-US');

/** Which statistical rule rolled back: a canary proven worse than tolerated, a fast abort, or the stable guard. */
export type StatisticalRollbackKind = 'sequential-breach' | 'fast-abort' | 'stable-guard';

/** The rule behind a measurement's rollbackNow. */
export function statisticalRollbackKind(m: StatisticalMeasurement): StatisticalRollbackKind {
  if (m.judge === 'stable-guard') return 'stable-guard';
  return m.reason === 'fast-abort' ? 'fast-abort' : 'sequential-breach';
}

/**
 * One sentence for a statistical rollback, naming the metric, its value, the threshold and the evidence (e-values,
 * against 1/α of the rule):
 *   `error-rate: canary 4.1% vs stable 0.9% over 1,240 requests (ratio 4.6 > 1.5, evidence 312 ≥ 278)`
 *   `fast abort: error-rate: canary 31% of 240 requests this interval, proven above 5 × the SLO 1% (evidence 10^9.1 ≥ 2,500)`
 *   `stable guard: stable-error-rate: stable 3.2% over the last 3 intervals (9,800 requests), above its bound 1% in each (evidence 10^7.4 ≥ 7,998)`
 */
export function describeStatisticalRollback(m: StatisticalMeasurement): string {
  if (m.judge === 'stable-guard') {
    const n = m.statistics;
    return (
      `stable guard: ${m.check}: stable ${percent(n.windowRate)} over the last ${n.intervalsAbove} intervals (${whole(n.windowRequests)} requests), ` +
      `above its bound ${percent(n.bound)} in each (evidence ${formatEvidence(n.log10Evidence)} ≥ ${formatEvidence(n.log10Threshold)})`
    );
  }
  if (m.judge === 'gauge-trend') return `${m.check}: ${m.detail}`;
  const n = m.statistics;
  if (m.reason === 'fast-abort' && n.fastAbort) {
    return (
      `fast abort: ${m.check}: canary ${percent(rateOf(n.intervalCanary))} of ${whole(n.intervalCanary.requests)} requests this interval, ` +
      `proven above ${n.fastAbort.factor} × the SLO ${percent(n.slo)} (evidence ${formatEvidence(n.fastAbort.log10Evidence)} ≥ ${formatEvidence(n.fastAbort.log10Threshold)})`
    );
  }
  const axes = n.axes
    .map((a) => {
      const evidence = `evidence ${formatEvidence(a.log10Evidence)} ≥ ${formatEvidence(a.log10Threshold)}`;
      const ratio = n.ratio !== null ? String(significant(n.ratio, 2)) : n.stableRate === 0 && (n.canaryRate ?? 0) > 0 ? '∞' : 'n/a';
      if (a.axis === 'ratio') return `ratio ${ratio} > ${a.bound}, ${evidence}`;
      if (a.axis === 'increase') return `above stable's bound + the tolerated increase, ${percent(a.bound)}, ${evidence}`;
      return `above the SLO ${percent(a.bound)}, ${evidence}`;
    })
    .join('; ');
  return `${m.check}: canary ${percent(n.canaryRate)} vs stable ${percent(n.stableRate)} over ${whole(n.canary.requests)} requests (${axes})`;
}

/** Why a sequential check does not yet let its step pass: `error-rate: a canary at 1.75% is not yet ruled out (upper bound 2.61%) after 412 canary requests`. */
export function describeUnderpowered(m: StatisticalMeasurement): string {
  if (m.judge !== 'sequential') return `${m.check}: ${m.detail}`;
  const n = m.statistics;
  return `${m.check}: a canary at ${percent(n.detectRate)} is not yet ruled out (upper bound ${percent(n.canaryUpper)}) after ${whole(n.canary.requests)} canary requests`;
}
