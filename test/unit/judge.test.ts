import { decisiveMeasurement, intervalVerdict, judgeCheck, type Measurement, type QueryOutcome } from '../../lambdas/domain/judge';
import type { CheckSpec } from '../../lambdas/domain/plan';

const check = (over: Partial<CheckSpec> = {}): CheckSpec => ({ name: 'error-rate', judge: 'threshold', query: 'q', max: 0.01, minSamples: 20, samplesQuery: 's', ...over });
const value = (v: number): QueryOutcome => ({ kind: 'value', value: v });
const empty: QueryOutcome = { kind: 'empty' };
const failed: QueryOutcome = { kind: 'error', message: 'cannot reach http://prometheus:9090: connect ECONNREFUSED' };

describe('judgeCheck', () => {
  it.each<[string, CheckSpec, QueryOutcome, QueryOutcome | undefined, string, number | null]>([
    ['value under max passes', check(), value(0.004), value(600), 'pass', 0.004],
    ['value equal to max passes', check(), value(0.01), value(600), 'pass', 0.01],
    ['value over max fails', check(), value(0.061), value(600), 'fail', 0.061],
    ['value under min fails', check({ name: 'success-rate', min: 0.99, max: undefined }), value(0.95), value(600), 'fail', 0.95],
    ['value inside min and max passes', check({ min: 0.1, max: 0.5 }), value(0.3), value(600), 'pass', 0.3],
    ['+Inf latency fails a max', check({ name: 'latency-p99', max: 0.5 }), value(Infinity), value(600), 'fail', Number.MAX_VALUE],
    ['-Inf fails a min', check({ min: 0, max: undefined }), value(-Infinity), value(600), 'fail', -Number.MAX_VALUE],
    ['empty result is no data', check(), empty, value(600), 'no-data', null],
    ['NaN is no data', check(), value(NaN), value(0), 'no-data', null],
    ['too few samples is no data, even with a good value', check(), value(0), value(12), 'no-data', 0],
    ['no sample series at all is no data', check(), value(0), empty, 'no-data', 0],
    ['NaN sample count is no data', check(), value(0), value(NaN), 'no-data', 0],
    ['query error is an error', check(), failed, value(600), 'error', null],
    ['sample query error is an error', check(), value(0), failed, 'error', null],
    ['no sample query: the value alone decides', check({ samplesQuery: undefined, minSamples: 0 }), value(0.001), undefined, 'pass', 0.001],
  ])('%s', (_name, spec, result, samples, verdict, observed) => {
    const m = judgeCheck(spec, result, samples);
    expect(m.verdict).toBe(verdict);
    expect(m.value).toBe(observed);
  });

  it('explains a breach with check, value and threshold', () => {
    expect(judgeCheck(check(), value(0.061), value(600)).detail).toBe('error-rate 0.061 outside ≤ 0.01');
  });

  it('explains too few samples with both numbers', () => {
    expect(judgeCheck(check(), value(0), value(12)).detail).toBe('no data: 12 samples, fewer than minSamples 20');
  });

  it('keeps measurements JSON-safe (Step Functions payloads are JSON)', () => {
    const m = judgeCheck(check({ name: 'latency-p99', max: 0.5 }), value(Infinity), value(600));
    expect(JSON.parse(JSON.stringify(m)).value).toBe(Number.MAX_VALUE);
  });
});

describe('intervalVerdict: the worst phase wins', () => {
  const m = (verdict: Measurement['verdict'], name: string = verdict, v = 1, max = 0.5): Measurement => ({ check: name, verdict, value: v, samples: 100, max, detail: '' });
  it.each<[Measurement['verdict'][], Measurement['verdict']]>([
    [['pass', 'pass'], 'pass'],
    [['pass', 'no-data'], 'no-data'],
    [['no-data', 'error'], 'error'],
    [['error', 'fail', 'pass'], 'fail'],
    // Fail closed: an interval in which no check was measured is not a pass.
    [[], 'no-data'],
  ])('%j → %s', (verdicts, expected) => {
    expect(intervalVerdict(verdicts.map((v) => m(v)))).toBe(expected);
  });

  it('an interval whose only passes stood on no data (a stable guard at 100%) is no-data, and says why', () => {
    const notJudged: Measurement = { check: 'stable-error-rate', verdict: 'pass', value: null, samples: 0, detail: 'not judged: at 100% the stable version serves no traffic' };
    expect(intervalVerdict([notJudged])).toBe('no-data');
    expect(decisiveMeasurement([notJudged])?.detail).toMatch(/not judged/);
    expect(intervalVerdict([notJudged, m('pass')])).toBe('pass');
  });

  it('the decisive measurement of a failing interval is the largest relative breach', () => {
    const decisive = decisiveMeasurement([m('fail', 'latency-p99', 0.6, 0.5), m('fail', 'error-rate', 0.05, 0.01), m('pass', 'ok')]);
    expect(decisive?.check).toBe('error-rate');
  });
});
