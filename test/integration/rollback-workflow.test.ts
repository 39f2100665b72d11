import { THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';
import { HEALTHY } from '../support/synthetic-traffic';
import { FAST_ANALYSIS, FAST_APPROVALS, IMAGE, WorkflowEnv } from '../support/workflow-env';

// The rollback paths through the whole workflow: statemachine/canary.asl.json run by aws-local-stepfunctions with the
// handler modules CDK deploys, against dynalite, a real Prometheus and the ALB stand-in.

jest.setTimeout(120_000);

let env: WorkflowEnv;

beforeAll(async () => {
  env = await WorkflowEnv.start();
});

afterAll(async () => {
  await env.stop();
});

describe('gradual rollback', () => {
  it('steps the canary down the plan weights with a hold at each, through RollbackHold, then all on stable', async () => {
    const plan = {
      steps: [{ weight: 10, holdSeconds: 2 }, { weight: 30, holdSeconds: 2 }, { weight: 60, holdSeconds: 6 }, { weight: 100 }],
      analysis: FAST_ANALYSIS,
      approvals: FAST_APPROVALS,
      checks: THRESHOLD_CHECKS,
      rollback: { mode: 'gradual', stepHoldSeconds: 1 },
    };
    const svc = await env.addService('gradual-api', { plan });
    // The canary breaks once it takes 60%: the rollback starts there.
    const shares: number[] = [];
    const result = await env.run(
      { service: svc.name, image: IMAGE },
      {
        onStateEntered: (state, input) => {
          const cursor = (input as { cursor?: { stepIndex?: number; weight?: number } }).cursor;
          if (state === 'WaitInterval' && cursor?.weight === 60) svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.3 });
          if (state === 'RollbackHold' || state === 'Finish') shares.push(svc.canaryShare());
        },
      },
    );

    expect(result).toMatchObject({ status: 'FAILED', error: 'CanaryRolledBack' });
    expect(result.cause).toMatch(/at step 2 \(60%\)$/);
    // Down the plan's weights below 60%, each held, then 0.
    expect(shares).toEqual([30, 10, 0]);
    expect(result.states.filter((s) => s === 'RollbackHold')).toHaveLength(2);
    expect(svc.canaryShare()).toBe(0);
    const events = await env.runLog.listEvents(result.runId);
    expect(events.filter((e) => e.type === 'rollback-step').map((e) => e.weight)).toEqual([30, 10]);
    expect(events.filter((e) => e.lane === 'rollback').map((e) => e.type)).toEqual(['rollback-started', 'rollback-step', 'rollback-step', 'rolled-back']);
    const record = await env.runLog.getRun(result.runId);
    expect(record).toMatchObject({ outcome: 'rolled_back', stageReached: 2, triggerCheck: 'error-rate' });
    // Time to rollback runs until the last step down put everything back on stable.
    expect(record!.timeToRollbackSeconds).toBeGreaterThanOrEqual(2);
  });
});
