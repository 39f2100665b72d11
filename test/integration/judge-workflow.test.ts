import { FAST_ANALYSIS, FAST_APPROVALS, IMAGE, WorkflowEnv } from '../support/workflow-env';
import { HEALTHY } from '../support/synthetic-traffic';
import type { RunEvent } from '../../lambdas/domain/run';
import type { SequentialMeasurement, StatisticalMeasurement } from '../../lambdas/domain/statistics';

// The statistical judge (the default plan's checks: sequential error-rate and latency-p99 against stable, and the
// stable guards) on the whole workflow: statemachine/canary.asl.json with the handler modules, dynalite, a real
// Prometheus scraping the synthetic services, the ALB stand-in. Plans here set timings only, never checks.

jest.setTimeout(120_000);

let env: WorkflowEnv;

beforeAll(async () => {
  env = await WorkflowEnv.start();
});

afterAll(async () => {
  await env.stop();
});

const analysesOf = async (runId: string): Promise<RunEvent[]> => (await env.runLog.listEvents(runId)).filter((e) => e.type === 'analysis');
const statistical = (e: RunEvent) => (e.measurements ?? []) as StatisticalMeasurement[];
const sequential = (e: RunEvent) => statistical(e).filter((m): m is SequentialMeasurement => m.judge === 'sequential');

describe('the statistical judge on the whole workflow', () => {
  it('promotes a low-traffic healthy canary once its data could have caught a 1.75× regression, holding until then', async () => {
    // Prepare: 100 requests/s in all, 20 of them on the canary per 1 s interval: too few to judge in the 2 s hold.
    const svc = await env.addService('quiet-judge-api', { rps: 100, plan: { steps: [{ weight: 20, holdSeconds: 2 }, { weight: 100 }], analysis: FAST_ANALYSIS, approvals: FAST_APPROVALS } });

    // Act
    const result = await env.run({ service: svc.name, image: IMAGE });

    // Assess
    expect(result.output).toMatchObject({ outcome: 'promoted' });
    expect(svc.canaryShare()).toBe(100);
    const analyses = await analysesOf(result.runId);
    expect(analyses[0].measurements!.map((m) => m.check)).toEqual(['error-rate', 'latency-p99', 'stable-error-rate', 'stable-latency-p99']);
    // Past its 2-interval hold the step waited for power, saying why.
    const held = analyses.filter((e) => e.decision?.reason.kind === 'underpowered');
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(held[0].message).toMatch(/^all checks passed, but the data cannot yet detect the regression to guard against: .*a canary at 1.75% is not yet ruled out \(upper bound [\d.]+%\) after [\d,]+ canary requests.*; holding \(1\/30\) at step 0 \(20%\)$/);
    // The promoting analysis: every sequential check powered, with the numbers behind it.
    const last = analyses.at(-1)!;
    expect(last.decision?.action).toBe('promote');
    for (const m of sequential(last)) {
      expect(m).toMatchObject({ verdict: 'pass', powered: true, value: expect.any(Number), samples: expect.any(Number) });
      expect(m.statistics.canaryUpper).toBeLessThanOrEqual(m.statistics.detectRate!);
      expect(m.statistics.axes[0]).toMatchObject({ axis: 'ratio', bound: 1.5, log10Evidence: expect.any(Number), log10Threshold: expect.any(Number) });
    }
    expect(statistical(last).find((m) => m.check === 'error-rate')!.samples).toBeGreaterThanOrEqual(200);
  });

  it('rolls back a 5× error regression at the first step, naming the metric, the numbers and the evidence', async () => {
    // Prepare: the canary answers 5% of its requests with 5xx (the SLO is 1%); 200 of its requests per 1 s interval.
    const svc = await env.addService('bad-judge-api', { rps: 1000, plan: { steps: [{ weight: 20, holdSeconds: 4 }, { weight: 50, holdSeconds: 2 }, { weight: 100 }], analysis: FAST_ANALYSIS, approvals: FAST_APPROVALS } });
    svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.05 });

    // Act
    const result = await env.run({ service: svc.name, image: IMAGE });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'CanaryRolledBack' });
    expect(result.cause).toMatch(
      /^(fast abort: )?error-rate: canary [\d.]+% (vs stable [\d.]+% over [\d,]+ requests \(ratio ([\d.]+|∞) > 1\.5, evidence [\d,.^]+ ≥ [\d,.^]+\)|of [\d,]+ requests this interval, proven above 5 × the SLO 1% \(evidence [\d,.^]+ ≥ [\d,.^]+\)) at step 0 \(20%\)$/,
    );
    expect(svc.canaryShare()).toBe(0);
    const record = await env.runLog.getRun(result.runId);
    expect(record).toMatchObject({ outcome: 'rolled_back', stageReached: 0, triggerCheck: 'error-rate' });
    expect(record!.triggerValue).toBeGreaterThan(0.03);
    const analyses = await analysesOf(result.runId);
    const rollback = analyses.at(-1)!;
    expect(rollback.decision?.reason.kind).toMatch(/^(sequential-breach|fast-abort)$/);
    const errorRate = sequential(rollback).find((m) => m.check === 'error-rate')!;
    expect(errorRate).toMatchObject({ judge: 'sequential', verdict: 'fail', rollbackNow: true });
    expect(errorRate.statistics.axes[0].log10Evidence).toBeGreaterThanOrEqual(errorRate.statistics.axes[0].log10Threshold);
    expect(analyses.every((e) => e.stepIndex === 0)).toBe(true);
  });

  it('rolls back a retry storm that shows only on stable, while the canary looks healthy', async () => {
    // Prepare: the stable answers 5% with 5xx from the start (the canary's failures make clients retry there).
    const svc = await env.addService('storm-judge-api', { plan: { steps: [{ weight: 20, holdSeconds: 8 }, { weight: 100 }], analysis: FAST_ANALYSIS, approvals: FAST_APPROVALS } });
    svc.traffic.setProfile('stable', { ...HEALTHY, errorRate: 0.05 });

    // Act
    const result = await env.run({ service: svc.name, image: IMAGE });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'CanaryRolledBack' });
    expect(result.cause).toMatch(
      /^stable guard: stable-error-rate: stable [\d.]+% over the last 3 intervals \([\d,]+ requests\), above its bound 1% in each \(evidence [\d,.^]+ ≥ [\d,.^]+\) at step 0 \(20%\)$/,
    );
    expect(svc.canaryShare()).toBe(0);
    expect(await env.runLog.getRun(result.runId)).toMatchObject({ outcome: 'rolled_back', triggerCheck: 'stable-error-rate', thresholdMax: 0.01 });
    const last = (await analysesOf(result.runId)).at(-1)!;
    expect(last.decision?.reason.kind).toBe('stable-guard');
    // The canary itself passed: this was the stable guard's catch.
    expect(statistical(last).find((m) => m.check === 'error-rate')?.verdict).toBe('pass');
  });
});
