import { ElasticLoadBalancingV2Client, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { FAST_ANALYSIS, FAST_APPROVALS, FAST_PLAN, IMAGE, WorkflowEnv } from '../support/workflow-env';
import { HEALTHY } from '../support/synthetic-traffic';
import { THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';

// The whole workflow: statemachine/canary.asl.json run by aws-local-stepfunctions, each Task calling the handler
// module CDK deploys, against dynalite, a real Prometheus scraping the services' metrics, and the ALB stand-in.

jest.setTimeout(120_000);

// Tests about threshold judging pin it (the default is the statistical judge, tested in judge-workflow.test.ts).
const THRESHOLD_PLAN = { ...FAST_PLAN, checks: THRESHOLD_CHECKS };

let env: WorkflowEnv;

beforeAll(async () => {
  env = await WorkflowEnv.start();
});

afterAll(async () => {
  await env.stop();
});

const modifyCalls = () => env.alb.apiCalls().filter((c) => c.action === 'ModifyListener' || c.action === 'ModifyRule');

describe('the canary workflow', () => {
  it('(a) promotes a healthy release: every step judged, weights end on the new version', async () => {
    const svc = await env.addService('healthy-api', { plan: THRESHOLD_PLAN });

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'promoted', service: 'healthy-api', image: IMAGE } });
    expect(svc.canaryShare()).toBe(100);
    const record = await env.runLog.getRun(result.runId);
    expect(record).toMatchObject({ outcome: 'promoted', stageReached: 2, maxWeight: 100 });
    const events = await env.runLog.listEvents(result.runId);
    expect(events.filter((e) => e.type === 'weight-set').map((e) => e.weight)).toEqual([20, 50]);
    const analyses = events.filter((e) => e.type === 'analysis');
    expect(analyses.length).toBeGreaterThanOrEqual(4);
    // Every analysis records each check's value, sample count and verdict.
    const passing = analyses.filter((e) => e.decision?.reason.verdict === 'pass');
    expect(passing.length).toBeGreaterThanOrEqual(4);
    for (const e of passing) {
      expect(e.measurements!.map((m) => m.check)).toEqual(['error-rate', 'latency-p99', 'success-rate']);
      for (const m of e.measurements!) expect(m).toMatchObject({ verdict: 'pass', value: expect.any(Number), samples: expect.any(Number) });
    }
    expect(await env.runLog.getLock(svc.name)).toBeUndefined();
  });

  it('(b) rolls back an error spike at the first step, saying which check, what value, what threshold and where', async () => {
    const svc = await env.addService('spiky-api', { plan: THRESHOLD_PLAN });
    svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.06 });

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result).toMatchObject({ status: 'FAILED', error: 'CanaryRolledBack' });
    expect(result.cause).toMatch(/^error-rate 0\.0[5-7]\d* outside ≤ 0\.01 for 2 intervals in a row at step 0 \(20%\)$/);
    expect(svc.canaryShare()).toBe(0);
    const record = await env.runLog.getRun(result.runId);
    expect(record).toMatchObject({ outcome: 'rolled_back', stageReached: 0, triggerCheck: 'error-rate', thresholdMax: 0.01 });
    expect(record!.triggerValue).toBeGreaterThan(0.04);
    expect(record!.timeToRollbackSeconds).toBeGreaterThan(0);
    expect(record!.timeToRollbackSeconds).toBeLessThan(10);
    const [rollback] = await env.runLog.listRollbacks(new Date(Date.now() - 30 * 86_400_000).toISOString(), { service: svc.name });
    expect(rollback?.runId).toBe(result.runId);
  });

  it('(c) does not roll back on one breach followed by passes', async () => {
    // The query window (3 s) is shorter than the interval (4 s), so a healed breach leaves the window by the next analysis.
    const svc = await env.addService('blip-api', { plan: { steps: [{ weight: 20, holdSeconds: 8 }, { weight: 100 }], analysis: { ...FAST_ANALYSIS, intervalSeconds: 4, window: '3s' }, checks: THRESHOLD_CHECKS } });
    svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.5 });
    // Heal after the first interval that sees data fails.
    let healed = false;
    const result = await env.run(
      { service: svc.name, image: IMAGE },
      {
        onStateEntered: (state, input) => {
          const decision = (input as { cursor?: { decision?: { reason?: { verdict?: string } } } }).cursor?.decision;
          if (state === 'WaitInterval' && decision?.reason?.verdict === 'fail' && !healed) {
            healed = true;
            svc.traffic.setProfile('canary', HEALTHY);
          }
        },
      },
    );

    expect(healed).toBe(true);
    expect(result.output).toMatchObject({ outcome: 'promoted' });
    const analyses = (await env.runLog.listEvents(result.runId)).filter((e) => e.type === 'analysis');
    expect(analyses.filter((e) => e.decision?.reason.verdict === 'fail').length).toBeGreaterThanOrEqual(1);
  });

  it('(d) never promotes a canary without data (mislabelled metrics), and the record says no data', async () => {
    const svc = await env.addService('quiet-api', { plan: FAST_PLAN });
    svc.traffic.setProfile('canary', { ...HEALTHY, versionLabel: 'v2' });

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result.error).toBe('CanaryRolledBack');
    expect(result.cause).toContain('no data for 5 intervals in a row (noDataLimit 5) at step 0 (20%)');
    expect(svc.canaryShare()).toBe(0);
    const events = await env.runLog.listEvents(result.runId);
    expect(events.some((e) => e.type === 'promoted')).toBe(false);
    expect(events.filter((e) => e.type === 'analysis').every((e) => e.decision?.reason.verdict === 'no-data')).toBe(true);
  });

  it('(e) rolls back after the error limit when Prometheus is down', async () => {
    const svc = await env.addService('blind-api', { plan: FAST_PLAN, metricsUrl: 'http://127.0.0.1:9' });

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result.error).toBe('CanaryRolledBack');
    expect(result.cause).toMatch(/^metrics queries failed 4 intervals in a row \(errorLimit 4\) at step 0 \(20%\): query failed: cannot reach http:\/\/127\.0\.0\.1:9/);
    expect(svc.canaryShare()).toBe(0);
    const analyses = (await env.runLog.listEvents(result.runId)).filter((e) => e.type === 'analysis');
    expect(analyses).toHaveLength(4);
    expect(analyses.every((e) => e.measurements!.every((m) => m.verdict === 'error'))).toBe(true);
  });

  it('(f) rides out ELB throttling: retried with backoff, one shift, no rollback', async () => {
    const svc = await env.addService('throttled-api', { plan: { ...FAST_PLAN, steps: [{ weight: 20, holdSeconds: 2 }, { weight: 100 }] } });
    const before = modifyCalls().length;
    env.alb.faults.throttleNext(2, { action: 'ModifyListener' });

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result.output).toMatchObject({ outcome: 'promoted' });
    const calls = modifyCalls().slice(before);
    // Two throttled attempts, then the shift to 20%, then the promotion: one shift per step.
    expect(calls.map((c) => c.errorCode ?? 'ok')).toEqual(['Throttling', 'Throttling', 'ok', 'ok']);
    const events = await env.runLog.listEvents(result.runId);
    expect(events.filter((e) => e.type === 'weight-set')).toHaveLength(1);
    expect(events.some((e) => e.type.startsWith('rollback'))).toBe(false);
  });

  it('(g) when set-weight keeps failing, takes the rollback path and marks the run', async () => {
    const svc = await env.addService('stuck-api', { plan: FAST_PLAN });
    env.alb.faults.failNext(6, { action: 'ModifyListener', code: 'InternalFailure', status: 500 });

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result.error).toBe('CanaryRolledBack');
    expect(result.cause).toMatch(/^step failed at step 0 \(0%\): TransientError: ModifyListener on listener .* failed: InternalFailure/);
    expect(env.alb.faults.remaining()).toBe(0);
    expect(svc.canaryShare()).toBe(0);
    expect(await env.runLog.getRun(result.runId)).toMatchObject({ outcome: 'rolled_back', reason: expect.stringContaining('TransientError') });
    expect(await env.runLog.getLock(svc.name)).toBeUndefined();
  });

  it('(g) when the rollback itself keeps failing, ends rollback_failed with the exact manual command', async () => {
    const svc = await env.addService('wedged-api', { plan: FAST_PLAN });
    svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.2 });
    // Let the first shift through, then refuse every write: the rollback cannot put stable back.
    const result = await env.run(
      { service: svc.name, image: IMAGE },
      { onStateEntered: (state) => state === 'Rollback' && env.alb.faults.remaining() === 0 && env.alb.faults.failNext(100, { action: 'ModifyListener', code: 'AccessDenied', status: 403 }) },
    );
    env.alb.faults.clear();

    expect(result.error).toBe('CanaryRollbackFailed');
    expect(svc.canaryShare()).toBe(20);
    const record = await env.runLog.getRun(result.runId);
    expect(record).toMatchObject({ outcome: 'rollback_failed', triggerCheck: 'error-rate' });
    expect(record!.manualCommand).toMatch(new RegExp(`^aws elbv2 modify-listener --region eu-west-1 --listener-arn ${svc.listenerArn} --default-actions '\\[`));
    expect(record!.reason).toContain('rollback failed (RouterError');
  });

  it('(h) refuses bad input with an error naming the field, before any traffic moves', async () => {
    const svc = await env.addService('strict-api', { plan: FAST_PLAN });
    const callsBefore = env.alb.apiCalls().length;
    const cases: [unknown, string, string][] = [
      [{}, 'InputValidationError', 'service: required'],
      [{ service: svc.name }, 'InputValidationError', 'image: required'],
      [{ image: IMAGE }, 'InputValidationError', 'service: required'],
      [{ service: svc.name, image: 'payments-api' }, 'InputValidationError', 'image: must name a tag'],
      [{ service: svc.name, image: 'Payments API:v1' }, 'InputValidationError', 'image: must be an image reference'],
      [{ service: svc.name, image: 42 }, 'InputValidationError', 'image: expected string, got number 42'],
      [{ service: 'Strict_API', image: IMAGE }, 'InputValidationError', 'service: must be a registered service name'],
      [{ service: svc.name, image: IMAGE, dryRun: 'true' }, 'InputValidationError', "dryRun: expected boolean, got 'true'"],
      [{ service: svc.name, image: IMAGE, verbose: true }, 'InputValidationError', 'verbose: unknown field'],
      [{ service: svc.name, image: IMAGE, plan: 'fast' }, 'InputValidationError', "plan: expected record, got 'fast'"],
      [{ service: svc.name, image: IMAGE, trigger: { source: 'cron' } }, 'InputValidationError', 'trigger.source: must be one of'],
      [{ service: svc.name, image: IMAGE, plan: { steps: [{ weight: 150, holdSeconds: 2 }, { weight: 100 }] } }, 'InputValidationError', 'plan.steps[0].weight: must be between 0 and 100'],
      [{ service: svc.name, image: IMAGE, plan: { steps: [{ weight: 50, holdSeconds: 2 }, { weight: 20, holdSeconds: 2 }, { weight: 100 }] } }, 'InputValidationError', "plan.steps[1].weight: must not be less than the previous step's weight (50)"],
      [{ service: svc.name, image: IMAGE, plan: { steps: [{ weight: 20, holdSeconds: 2 }, { weight: 60 }] } }, 'InputValidationError', 'plan.steps[1].weight: must be 100'],
      [{ service: svc.name, image: IMAGE, plan: { steps: [{ weight: 20, holdSeconds: 1.5 }, { weight: 100 }] } }, 'InputValidationError', 'plan.steps[0].holdSeconds: must be whole seconds'],
      [{ service: svc.name, image: IMAGE, plan: { steps: [{ weight: 20 }, { weight: 100 }] } }, 'InputValidationError', 'plan.steps[0].holdSeconds: required'],
      [{ service: svc.name, image: IMAGE, plan: { checks: [{ name: 'error-rate', max: 0.01 }, { name: 'error-rate', max: 0.02 }] } }, 'InputValidationError', "duplicate name 'error-rate'"],
      [{ service: svc.name, image: IMAGE, plan: { checks: [{ name: 'cpu', query: 'up' }] } }, 'InputValidationError', "plan.checks[4]: check 'cpu' needs min and/or max"],
      [{ service: svc.name, image: IMAGE, plan: { checks: [{ name: 'cpu', max: 1 }] } }, 'InputValidationError', 'plan.checks[4].query: required unless the name is a built-in check'],
      [{ service: svc.name, image: IMAGE, plan: { analysis: { intervalSeconds: 0 } } }, 'InputValidationError', 'plan.analysis.intervalSeconds: must be whole seconds greater than 0'],
      [{ service: svc.name, image: IMAGE, plan: { analysis: { window: 'two minutes' } } }, 'InputValidationError', 'plan.analysis.window: must be a duration'],
      [{ service: svc.name, image: IMAGE, plan: { rollback: { mode: 'later' } } }, 'InputValidationError', 'plan.rollback.mode: must be one of'],
      [{ service: svc.name, image: IMAGE, plan: { checks: [{ name: 'cpu', query: 'up{ {{ pod }} }', max: 1 }] } }, 'InputValidationError', 'unknown variable {{ pod }}'],
      [{ service: 'no-such-api', image: IMAGE }, 'ServiceNotRegisteredError', "service: 'no-such-api' is not registered"],
    ];

    for (const [input, error, message] of cases) {
      const result = await env.run(input);
      expect({ input, status: result.status, error: result.error }).toEqual({ input, status: 'FAILED', error });
      expect({ input, cause: result.cause }).toEqual({ input, cause: expect.stringContaining(message) });
      expect(result.states).toEqual(['Start', 'Refused']);
    }
    expect(cases.length).toBeGreaterThanOrEqual(20);
    // Nothing read or shifted at the load balancer, no run recorded, no lock left.
    expect(env.alb.apiCalls().length).toBe(callsBefore);
    expect(await env.runLog.listRuns(svc.name)).toEqual([]);
    expect(await env.runLog.getLock(svc.name)).toBeUndefined();
    expect(svc.canaryShare()).toBe(0);
  });
});

describe('service lock and traffic precondition', () => {
  it('refuses a second rollout of the same service while one is running, naming the run in progress', async () => {
    const svc = await env.addService('busy-api', { plan: { steps: [{ weight: 20, holdSeconds: 3 }, { weight: 100 }], analysis: FAST_ANALYSIS, approvals: FAST_APPROVALS } });
    let refused: Promise<Awaited<ReturnType<WorkflowEnv['run']>>> | undefined;
    const first = await env.run(
      { service: svc.name, image: IMAGE },
      { runId: 'first-busy-run', onStateEntered: (state) => void (state === 'Analyze' && !refused && (refused = env.run({ service: svc.name, image: IMAGE }))) },
    );

    expect(first.output).toMatchObject({ outcome: 'promoted' });
    const second = await refused!;
    expect(second).toMatchObject({ status: 'FAILED', error: 'RolloutInProgressError' });
    expect(second.cause).toContain("service: 'busy-api' already has a rollout in progress (run first-busy-run");
    expect(second.states).toEqual(['Start', 'Refused']);
    expect(await env.runLog.getRun(second.runId)).toBeUndefined();
  });

  it('refuses to start while traffic is split, without touching it', async () => {
    const svc = await env.addService('split-api', { plan: FAST_PLAN });
    const elb = new ElasticLoadBalancingV2Client({ endpoint: env.alb.apiEndpoint });
    await elb.send(
      new ModifyListenerCommand({
        ListenerArn: svc.listenerArn,
        DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: svc.stableTargetGroupArn, Weight: 950 }, { TargetGroupArn: svc.canaryTargetGroupArn, Weight: 50 }] } }],
      }),
    );
    const writes = modifyCalls().length;

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result).toMatchObject({ status: 'FAILED', error: 'TrafficNotSettledError' });
    expect(result.cause).toMatch(/^traffic of 'split-api' is not all on stable \(listener arn:\S+: 95% stable, 5% canary\): a previous rollout did not finish cleanly/);
    expect(modifyCalls().length).toBe(writes);
    expect(svc.canaryShare()).toBe(5);
    expect(await env.runLog.getLock(svc.name)).toBeUndefined();
    elb.destroy();
  });

  it('after a promotion with workload none, the next run treats the promoted target as stable (blue/green)', async () => {
    const svc = await env.addService('bluegreen-api', { plan: { steps: [{ weight: 20, holdSeconds: 2 }, { weight: 100 }], analysis: FAST_ANALYSIS, approvals: FAST_APPROVALS } });
    const first = await env.run({ service: svc.name, image: IMAGE });
    expect(first.output).toMatchObject({ outcome: 'promoted' });
    expect(svc.canaryShare()).toBe(100);
    // The promoted version serves from the registered canary target (its pods report version "canary"); the next
    // version goes to the registered stable target (version "stable"), which is this run's canary. Make it bad.
    svc.traffic.setProfile('canary', HEALTHY);
    svc.traffic.setProfile('stable', { ...HEALTHY, errorRate: 0.3 });

    const second = await env.run({ service: svc.name, image: IMAGE.replace('v2.4.1', 'v2.4.2') });

    expect(second.error).toBe('CanaryRolledBack');
    // Rolled back means all traffic on the target that was stable for this run: the registered canary target.
    expect(svc.canaryShare()).toBe(100);
    expect((await env.runLog.listEvents(second.runId)).find((e) => e.type === 'weight-set')?.weight).toBe(20);
  });
});
