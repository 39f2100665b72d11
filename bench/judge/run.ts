import { familyOf } from './generator';
import { atWeight, generatedWeights, plannedIntervals, type BenchJudge } from './judges';
import { Rng, seedOf } from './rng';
import type { Scenario } from './scenario';

/**
 * The plan semantics every judge runs under (see README.md):
 * - a scenario is one rollout; its intervals are the analyses, in order; the judge sees one at a time. The first
 *   min(15, n) are the plan's (PLANNED_INTERVALS: 5 min at 5%, 10 min at 25%); any after them are its continuation,
 *   seen only by a run still held when the plan's time is up;
 * - rollback: the judge's own rule says so, or 5 intervals in a row without data (the engine's noDataLimit);
 * - promote: the judge's own plan promotes (ours: the engine's decide()), or, from the last planned interval on, at
 *   least 2/3 of the planned intervals have passed (the holds advance only on passing intervals; the remaining third
 *   is the run's slack for holds) and the judge is not holding for power (ours: its data do not yet rule out the
 *   regression size a step must be able to detect). A run that is neither goes on into the continuation, as the
 *   engine would; one still undecided when the intervals run out ends "held": neither promoted nor rolled back;
 * - weights: the scenarios were generated at 5% for the first third of the planned intervals, then 25%. A run is at
 *   5% until it has passed that many intervals (ours: until the engine's decide() advances), then at 25%; while a run
 *   is at 5% on an interval generated at 25%, the canary's counts are thinned to 5% (the rest served by stable), so a
 *   run that holds sees the traffic it would really get. The same for every judge.
 */

export const NO_DATA_LIMIT = 5;
export const PASS_SHARE_TO_PROMOTE = 2 / 3;

export type RunOutcome = 'promote' | 'rollback' | 'held';

export interface ScenarioResult {
  readonly name: string;
  readonly family: string;
  readonly expect: Scenario['expect'];
  readonly faultFromInterval: number | null;
  readonly outcome: RunOutcome;
  /** Ended held while the judge still held for power (a subset of `held`). */
  readonly heldForPower: boolean;
  /** Index of the interval whose analysis rolled back. */
  readonly rollbackAt: number | null;
  /** Index of the interval after which the run was promoted. */
  readonly promotedAt: number | null;
  /** Decided (or ended held) past the plan's intervals, in the continuation. */
  readonly continued: boolean;
  /** Intervals from the fault to the rollback, counting both: 1 = rolled back at the first bad interval. */
  readonly detectionIntervals: number | null;
  /** Rolled back before the first bad interval (a false alarm that happened to hit a bad release). */
  readonly early: boolean;
  readonly noDataHolds: number;
  readonly provenHealthy: boolean;
  /** The canary never served a request: excluded from detection statistics (that is the no-data rule). */
  readonly canaryDark: boolean;
}

/** Runs one scenario through one judge. */
export function runScenario(judge: BenchJudge, scenario: Scenario): ScenarioResult {
  const run = judge.start(scenario);
  const planned = plannedIntervals(scenario);
  const generated = generatedWeights(scenario.intervals.length, planned);
  const passesToPromote = Math.ceil(PASS_SHARE_TO_PROMOTE * planned);
  const firstStep = generated.filter((w) => w === generated[0]).length;
  const rng = new Rng(seedOf(scenario.name));
  let weight = generated[0];
  let passes = 0;
  let noDataStreak = 0;
  let noDataHolds = 0;
  let rollbackAt: number | null = null;
  let promotedAt: number | null = null;
  let provenHealthy = false;
  let underpowered = false;
  for (let i = 0; i < scenario.intervals.length; i++) {
    const step = run.step(i, atWeight(scenario.intervals[i], weight, generated[i], rng));
    if (step.verdict === 'pass') {
      passes++;
      noDataStreak = 0;
    } else if (step.verdict === 'no-data') {
      noDataHolds++;
      noDataStreak++;
    } else noDataStreak = 0;
    provenHealthy = step.provenHealthy ?? false;
    underpowered = step.underpowered ?? false;
    weight = step.weight ?? (passes >= firstStep ? generated[generated.length - 1] : generated[0]);
    if (step.rollback || noDataStreak >= NO_DATA_LIMIT) {
      rollbackAt = i;
      break;
    }
    // The plan's time is up: promote with enough passes unless holding for power; otherwise go on, as the engine does.
    if (step.promote || (i >= planned - 1 && passes >= passesToPromote && !underpowered)) {
      promotedAt = i;
      break;
    }
  }
  const outcome: RunOutcome = rollbackAt !== null ? 'rollback' : promotedAt !== null ? 'promote' : 'held';
  const fault = scenario.faultFromInterval;
  const early = rollbackAt !== null && fault !== null && rollbackAt < fault;
  return {
    name: scenario.name,
    family: familyOf(scenario.name),
    expect: scenario.expect,
    faultFromInterval: fault,
    outcome,
    heldForPower: outcome === 'held' && underpowered,
    rollbackAt,
    promotedAt,
    continued: (rollbackAt ?? promotedAt ?? scenario.intervals.length - 1) >= planned,
    detectionIntervals: rollbackAt !== null && fault !== null && !early ? rollbackAt - fault + 1 : null,
    early,
    noDataHolds,
    provenHealthy: outcome === 'promote' && provenHealthy,
    canaryDark: scenario.intervals.every((i) => i.canary.requests === 0),
  };
}

export interface FamilySummary {
  readonly family: string;
  readonly expect: Scenario['expect'];
  readonly scenarios: number;
  readonly promoted: number;
  readonly rolledBack: number;
  readonly held: number;
  readonly early: number;
  readonly medianDetectionIntervals: number | null;
  readonly p90DetectionIntervals: number | null;
}

export interface JudgeSummary {
  readonly judge: string;
  readonly description: string;
  readonly healthy: number;
  readonly falseRollbacks: number;
  /** Healthy runs that ended held: not promoted, not rolled back. */
  readonly healthyHeld: number;
  readonly provenHealthy: number;
  readonly regressions: number;
  /** Regressions not rolled back by the end (promoted or held). */
  readonly missed: number;
  readonly missedPromoted: number;
  /** Regressions that ended held: not rolled back, not promoted. */
  readonly missedHeld: number;
  /** Runs (healthy or not) that ended held while the judge still held for power. */
  readonly heldForPower: number;
  /** Names of the regressions missed. */
  readonly missedScenarios: readonly string[];
  readonly early: number;
  readonly medianDetectionIntervals: number | null;
  readonly p90DetectionIntervals: number | null;
  readonly noDataHolds: number;
  /** Healthy runs promoted: intervals from the start to the promotion (15 = on time with the default plan). */
  readonly medianPromotionIntervals: number | null;
  readonly p90PromotionIntervals: number | null;
  /** Runs that went on past the plan's intervals (held at the end of the plan). */
  readonly continued: number;
  readonly families: readonly FamilySummary[];
}

/** The median; null for an empty list. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The nearest-rank percentile (q in (0, 1]); null for an empty list. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const detections = (results: readonly ScenarioResult[]) =>
  results.filter((r) => r.expect === 'rollback' && !r.canaryDark && r.detectionIntervals !== null).map((r) => r.detectionIntervals!);

/** Summarises one judge's results. */
export function summarise(judge: BenchJudge, results: readonly ScenarioResult[], familyOrder: readonly string[] = []): JudgeSummary {
  const healthy = results.filter((r) => r.expect === 'promote');
  const regressions = results.filter((r) => r.expect === 'rollback');
  const names = [...new Set([...familyOrder.filter((f) => results.some((r) => r.family === f)), ...results.map((r) => r.family)])];
  const families = names.map((family): FamilySummary => {
    const of = results.filter((r) => r.family === family);
    const found = detections(of);
    return {
      family,
      expect: of[0].expect,
      scenarios: of.length,
      promoted: of.filter((r) => r.outcome === 'promote').length,
      rolledBack: of.filter((r) => r.outcome === 'rollback').length,
      held: of.filter((r) => r.outcome === 'held').length,
      early: of.filter((r) => r.early).length,
      medianDetectionIntervals: median(found),
      p90DetectionIntervals: percentile(found, 0.9),
    };
  });
  const found = detections(results);
  const promotions = healthy.filter((r) => r.promotedAt !== null).map((r) => r.promotedAt! + 1);
  return {
    judge: judge.name,
    description: judge.description,
    healthy: healthy.length,
    falseRollbacks: healthy.filter((r) => r.outcome === 'rollback').length,
    healthyHeld: healthy.filter((r) => r.outcome === 'held').length,
    provenHealthy: healthy.filter((r) => r.provenHealthy).length,
    regressions: regressions.length,
    missed: regressions.filter((r) => r.outcome !== 'rollback').length,
    missedPromoted: regressions.filter((r) => r.outcome === 'promote').length,
    missedHeld: regressions.filter((r) => r.outcome === 'held').length,
    heldForPower: results.filter((r) => r.heldForPower).length,
    missedScenarios: regressions.filter((r) => r.outcome !== 'rollback').map((r) => r.name),
    early: regressions.filter((r) => r.early).length,
    medianDetectionIntervals: median(found),
    p90DetectionIntervals: percentile(found, 0.9),
    noDataHolds: results.reduce((s, r) => s + r.noDataHolds, 0),
    medianPromotionIntervals: median(promotions),
    p90PromotionIntervals: percentile(promotions, 0.9),
    continued: results.filter((r) => r.continued).length,
    families,
  };
}

/** Runs every scenario through every judge, in one process over the same scenarios. */
export function runBenchmark(judges: readonly BenchJudge[], scenarios: readonly Scenario[], familyOrder: readonly string[] = []): JudgeSummary[] {
  return judges.map((judge) => summarise(judge, scenarios.map((s) => runScenario(judge, s)), familyOrder));
}
