import { bench, parseArgs } from '../../bench/judge/main';
import { familyOf, FAMILY_ORDER, generateScenarios } from '../../bench/judge/generator';
import { atWeight, benchJudges, benchPlan, oursJudge, type BenchJudge, type BenchVerdict } from '../../bench/judge/judges';
import { Rng } from '../../bench/judge/rng';
import { mannWhitneyShift } from '../../bench/judge/mann-whitney';
import { comparisonTable, severityOf } from '../../bench/judge/report';
import { median, percentile, runBenchmark, runScenario } from '../../bench/judge/run';
import { parseScenarioFile, type Scenario } from '../../bench/judge/scenario';

const generated = generateScenarios();

/** A few scenarios of every family: enough to exercise every judge in well under a second. */
function sample(perFamily: number): Scenario[] {
  return FAMILY_ORDER.flatMap((family) => generated.scenarios.filter((s) => familyOf(s.name) === family).slice(0, perFamily));
}

describe('the --json line', () => {
  it('is the last line of stdout, with exactly the issue’s fields for every judge', () => {
    // Prepare
    const file = JSON.stringify({ scenarios: sample(2) });
    // Act
    const lines = bench({ json: true, seed: 6, scenarios: 'scenarios.json' }, () => file);
    // Assess
    const last = JSON.parse(lines[lines.length - 1]) as { judges: Record<string, Record<string, number | null>> };
    expect(Object.keys(last)).toEqual(['judges']);
    expect(Object.keys(last.judges)).toEqual(['static', 'consecutive-2', 'cumulative-5', 'mann-whitney', 'ours']);
    for (const summary of Object.values(last.judges)) {
      expect(Object.keys(summary)).toEqual(['healthy', 'falseRollbacks', 'regressions', 'missed', 'medianDetectionIntervals', 'p90DetectionIntervals', 'noDataHolds']);
      expect(summary.healthy! + summary.regressions!).toBe(2 * FAMILY_ORDER.length);
      for (const value of Object.values(summary)) expect(value === null || Number.isFinite(value)).toBe(true);
    }
    expect(lines[0]).toMatch(/^judge benchmark: 32 scenarios \(scenarios.json\), 5 judges, \d+ ms$/);
    expect(lines).toContain('== all judges');
  });

  it('is absent without --json: the output ends with the targets', () => {
    const lines = bench({ json: false, seed: 6, scenarios: 'f' }, () => JSON.stringify({ scenarios: sample(1) }));
    expect(lines[lines.length - 1]).toMatch(/^target (met|NOT met): /);
  });

  it('refuses a bad scenario file with the field named', () => {
    const bad = { scenarios: [{ ...generated.scenarios[0], expect: 'later' }] };
    expect(() => bench({ json: true, seed: 6, scenarios: 'f' }, () => JSON.stringify(bad))).toThrow(/^Invalid scenario file: scenarios\[0\]\.expect: must be one of/);
  });
});

describe('parseArgs', () => {
  it('reads the flags', () => {
    expect(parseArgs([])).toEqual({ json: false, seed: 6 });
    expect(parseArgs(['--scenarios', 'x.json', '--json', '--seed', '9'])).toEqual({ json: true, seed: 9, scenarios: 'x.json' });
  });

  it('reads --continuation for generated scenarios only', () => {
    expect(parseArgs(['--continuation', '0'])).toEqual({ json: false, seed: 6, continuation: 0 });
    expect(() => parseArgs(['--continuation', '-1'])).toThrow(/^--continuation must be a whole number ≥ 0/);
    expect(() => parseArgs(['--continuation', '5', '--scenarios', 'x.json'])).toThrow(/^--continuation applies to generated scenarios/);
  });

  it('refuses what it does not know', () => {
    expect(() => parseArgs(['--jsn'])).toThrow(/^unknown argument '--jsn'; usage: npm run bench:judge -- \[--scenarios FILE\] \[--json\]/);
    expect(() => parseArgs(['--scenarios'])).toThrow(/^--scenarios needs a value/);
    expect(() => parseArgs(['--seed', 'x'])).toThrow(/^--seed must be a whole number/);
  });
});

describe('the generator', () => {
  it('is seeded: the same seed gives the same scenarios, another seed others', () => {
    expect(JSON.stringify(generateScenarios(6))).toBe(JSON.stringify(generated));
    expect(generateScenarios(7).scenarios[0]).not.toEqual(generated.scenarios[0]);
  });

  it('makes at least 500 valid scenarios covering every family of the issue', () => {
    expect(generated.scenarios.length).toBeGreaterThanOrEqual(500);
    expect(() => parseScenarioFile(JSON.parse(JSON.stringify(generated)))).not.toThrow();
    const families = new Set(generated.scenarios.map((s) => familyOf(s.name)));
    for (const family of ['healthy-high', 'healthy-low', 'blip-shared', 'blip-stable', 'blip-canary', 'err-1.5x', 'err-2x', 'err-5x', 'err-10x', 'lat-2x', 'gradual', 'retry-storm', 'no-canary-data']) {
      expect(families).toContain(family);
    }
    expect(generated.scenarios.filter((s) => s.name.startsWith('healthy-low/')).every((s) => s.intervals[0].canary.requests < 200)).toBe(true);
  });

  it('adds the continuation after the plan’s 15 intervals, leaving those 15 as they are', () => {
    const cut = generateScenarios(6, 0);
    expect(generated.scenarios.every((s) => s.intervals.length === 45)).toBe(true);
    expect(cut.scenarios.every((s) => s.intervals.length === 15)).toBe(true);
    generated.scenarios.forEach((s, i) => {
      expect(s.intervals.slice(0, 15)).toEqual(cut.scenarios[i].intervals);
      expect([s.name, s.faultFromInterval]).toEqual([cut.scenarios[i].name, cut.scenarios[i].faultFromInterval]);
    });
    // The fault goes on: a 5× error regression stays far above its SLO in the continuation.
    const bad = generated.scenarios.find((s) => s.name.startsWith('err-5x/high/'))!;
    for (const interval of bad.intervals.slice(15)) expect(interval.canary.errors / interval.canary.requests).toBeGreaterThan(3 * bad.slo.errorRate);
    // A routing mistake too: the canary stays dark.
    const dark = generated.scenarios.find((s) => s.name.startsWith('no-canary-data/'))!;
    expect(dark.intervals.every((i) => i.canary.requests === 0)).toBe(true);
    expect(() => generateScenarios(6, -1)).toThrow(/continuation must be a whole number ≥ 0/);
  });

  it('labels severities from the family names', () => {
    expect(severityOf('err-1.5x')).toBe(1.5);
    expect(severityOf('lat-10x')).toBe(10);
    expect(severityOf('gradual')).toBeNull();
  });
});

describe('the plan semantics', () => {
  /** A judge that says what it is told, interval by interval. */
  const scripted = (verdicts: BenchVerdict[], rollbackOn: BenchVerdict | null = 'fail'): BenchJudge => ({
    name: 'scripted',
    description: '',
    start: () => ({ step: (i) => ({ verdict: verdicts[i], rollback: verdicts[i] === rollbackOn }) }),
  });
  const scenario = (fault: number | null, n = 6): Scenario => ({
    ...generated.scenarios[0],
    expect: fault === null ? 'promote' : 'rollback',
    faultFromInterval: fault,
    intervals: generated.scenarios[0].intervals.slice(0, n),
  });

  it('counts detection from faultFromInterval, both ends included', () => {
    expect(runScenario(scripted(['pass', 'pass', 'pass', 'fail', 'pass', 'pass']), scenario(2)).detectionIntervals).toBe(2);
    expect(runScenario(scripted(['pass', 'pass', 'fail', 'pass', 'pass', 'pass']), scenario(2)).detectionIntervals).toBe(1);
  });

  it('a rollback before the fault is early, not a detection', () => {
    const result = runScenario(scripted(['fail', 'pass', 'pass', 'pass', 'pass', 'pass']), scenario(2));
    expect(result).toMatchObject({ outcome: 'rollback', early: true, detectionIntervals: null });
  });

  it('five intervals in a row without data roll back; fewer hold', () => {
    expect(runScenario(scripted(['no-data', 'no-data', 'no-data', 'no-data', 'no-data', 'pass'], null), scenario(null))).toMatchObject({ outcome: 'rollback', rollbackAt: 4, noDataHolds: 5 });
    expect(runScenario(scripted(['no-data', 'no-data', 'pass', 'pass', 'pass', 'pass'], null), scenario(null))).toMatchObject({ outcome: 'promote', noDataHolds: 2 });
  });

  it('a run short of passes when the plan’s time is up goes on into the continuation, and is promoted there once it has them', () => {
    const long = { ...generated.scenarios[0], expect: 'promote' as const, faultFromInterval: null };
    const verdicts: BenchVerdict[] = [...Array.from({ length: 6 }, (): BenchVerdict => 'fail'), ...Array.from({ length: 39 }, (): BenchVerdict => 'pass')];
    // 9 passes by interval 14, the 10th (2/3 of 15) at interval 15.
    expect(runScenario(scripted(verdicts, null), long)).toMatchObject({ outcome: 'promote', promotedAt: 15, continued: true });
  });

  it('promotes only with 2/3 of the intervals passed; otherwise the run ends held', () => {
    expect(runScenario(scripted(['fail', 'fail', 'fail', 'pass', 'pass', 'pass'], null), scenario(null)).outcome).toBe('held');
  });

  it('a scenario whose canary never serves a request ends without promotion, for every judge', () => {
    const dark = generated.scenarios.filter((s) => familyOf(s.name) === 'no-canary-data');
    for (const judge of benchJudges()) for (const s of dark.slice(0, 3)) expect(runScenario(judge, s).outcome).toBe('rollback');
  });
});

describe('holds, weights and the power hold, the same for every judge', () => {
  const healthy = generated.scenarios.find((s) => s.name.startsWith('healthy-high/'))!;

  it('a judge whose own plan promotes ends promoted there', () => {
    const promoting: BenchJudge = { name: 'p', description: '', start: () => ({ step: (i) => ({ verdict: 'pass', rollback: false, promote: i === 3 }) }) };
    expect(runScenario(promoting, healthy)).toMatchObject({ outcome: 'promote', rollbackAt: null });
  });

  it('a run that ends holding for power is held, not promoted, however many intervals passed', () => {
    const holding: BenchJudge = { name: 'h', description: '', start: () => ({ step: () => ({ verdict: 'pass', rollback: false, underpowered: true }) }) };
    expect(runScenario(holding, healthy)).toMatchObject({ outcome: 'held', heldForPower: true });
  });

  it('a run holding at 5% sees the canary thinned to 5% where the scenario was generated at 25%', () => {
    const seen: number[] = [];
    const stuck: BenchJudge = { name: 's', description: '', start: () => ({ step: (_i, interval) => (seen.push(interval.canary.requests), { verdict: 'fail', rollback: false }) }) };
    const stuckResult = runScenario(stuck, healthy);
    const generatedRequests = healthy.intervals.map((i) => i.canary.requests);
    // Never passing, it goes on past the plan's 15 intervals into the continuation, and ends held.
    expect(stuckResult).toMatchObject({ outcome: 'held', continued: true });
    expect(seen).toHaveLength(healthy.intervals.length);
    // Never passing, it stays at 5%: the first third as generated, the rest thinned to a fifth.
    expect(seen.slice(0, 5)).toEqual(generatedRequests.slice(0, 5));
    seen.slice(5).forEach((requests, i) => expect(requests).toBeLessThan(0.3 * generatedRequests[5 + i]));
    const moving: BenchJudge = { name: 'm', description: '', start: () => ({ step: (_i, interval) => (seen.push(interval.canary.requests), { verdict: 'pass', rollback: false }) }) };
    seen.length = 0;
    // Passing every interval, it is promoted when the plan's time is up: the continuation is never seen.
    expect(runScenario(moving, healthy)).toMatchObject({ outcome: 'promote', promotedAt: 14, continued: false });
    expect(seen).toEqual(generatedRequests.slice(0, 15));
  });

  it('thinning keeps the rates and moves the requests to stable', () => {
    const interval = { canary: { requests: 50_000, errors: 500, slow: 1000 }, stable: { requests: 150_000, errors: 300, slow: 600 } };
    const thinned = atWeight(interval, 5, 25, new Rng(1));
    expect(thinned.canary.requests).toBeGreaterThan(9_500);
    expect(thinned.canary.requests).toBeLessThan(10_500);
    expect(thinned.canary.errors / thinned.canary.requests).toBeCloseTo(0.01, 2);
    expect(thinned.stable.requests).toBe(200_000 - thinned.canary.requests);
    expect(thinned.stable.errors / thinned.stable.requests).toBeCloseTo(0.002, 3);
    expect(atWeight(interval, 25, 25, new Rng(1))).toBe(interval);
  });

  it('ours is the engine on the default plan: the scenario’s SLOs, its steps, its weights from decide()', () => {
    const plan = benchPlan(healthy);
    expect(plan.steps).toEqual([{ weight: 5, holdSeconds: 300 }, { weight: 25, holdSeconds: 600 }, { weight: 100 }]);
    expect(plan.checks.map((c) => [c.name, c.judge])).toEqual([
      ['error-rate', 'sequential'],
      ['latency-p99', 'sequential'],
      ['stable-error-rate', 'stable-guard'],
      ['stable-latency-p99', 'stable-guard'],
    ]);
    expect(plan.checks[0].slo).toBe(healthy.slo.errorRate);
    const run = oursJudge().start(healthy);
    const weights = healthy.intervals.map((interval, i) => run.step(i, interval).weight);
    expect(weights.slice(0, 4)).toEqual([5, 5, 5, 5]);
    expect(weights[4]).toBe(25);
  });

  it('the comparison table shows for every judge the healthy runs held and the regressions held', () => {
    const summaries = runBenchmark(benchJudges(), sample(1), FAMILY_ORDER);
    const [header, ...rows] = comparisonTable(summaries).split('\n');
    expect(header).toMatch(/false rollbacks +healthy held +missed +of which held +missed ≥2× +promoted ≥2×/);
    expect(rows).toHaveLength(5);
  });
});

describe('helpers', () => {
  it('median and nearest-rank p90', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(percentile([5], 0.9)).toBe(5);
  });

  it('the Mann–Whitney shift: Hodges–Lehmann estimate, and no interval on too few points', () => {
    const tiny = mannWhitneyShift([0.05, 0.06], [0.01, 0.02], 0.98)!;
    expect(tiny.estimate).toBeCloseTo(0.04, 12);
    expect(tiny.lower).toBe(-Infinity);
    const separated = mannWhitneyShift([10, 11, 12, 13, 14, 15], [0, 1, 2, 3, 4, 5], 0.98)!;
    expect(separated.estimate).toBe(10);
    expect(separated.lower).toBeGreaterThan(0);
    expect(separated.upper).toBeGreaterThan(separated.estimate);
    expect(mannWhitneyShift([], [1], 0.98)).toBeNull();
  });
});
