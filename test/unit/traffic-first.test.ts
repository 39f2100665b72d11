import { initialCursor } from '../../lambdas/domain/decision';
import { TransientError } from '../../lambdas/domain/errors';
import { resolvePlan } from '../../lambdas/domain/plan';
import type { Outcome, RunContext, RunEvent, RunRecord } from '../../lambdas/domain/run';
import type { WorkloadConfig } from '../../lambdas/domain/service-config';
import type { ExecutionReader, ExecutionSnapshot } from '../../lambdas/ports/execution-reader';
import type { Notification } from '../../lambdas/ports/notifier';
import type { RunLog, RunUpdate, ServiceLock } from '../../lambdas/ports/run-log';
import type { TrafficRouter } from '../../lambdas/ports/traffic-router';
import type { Workload, WorkloadStatus } from '../../lambdas/ports/workload';
import type { Deps } from '../../lambdas/use-cases/deps';
import { finish, RECORD_ATTEMPTS } from '../../lambdas/use-cases/finish';
import { rollback } from '../../lambdas/use-cases/rollback';
import { safetyNet } from '../../lambdas/use-cases/safety-net';

// Traffic first, records after: Rollback, Finish and the safety net move traffic before they write anything, succeed
// with the table down, and write what they could not later. The parts are in-memory fakes that keep one journal of
// every call, so the order of traffic moves and table writes is what the tests assert.

type Journal = string[];

const down = () => new TransientError('DynamoDB InternalServerError during append event: the table is down');

class MemoryRunLog implements RunLog {
  down = false;
  readonly events = new Map<string, RunEvent>();
  readonly runs = new Map<string, RunRecord>();
  readonly locks = new Map<string, ServiceLock>();
  constructor(private readonly journal: Journal) {}
  private touch(what: string): void {
    this.journal.push(`table:${what}${this.down ? ':down' : ''}`);
    if (this.down) throw down();
  }
  async getServiceConfig(): Promise<unknown> {
    return undefined;
  }
  async listServices(): Promise<string[]> {
    return [];
  }
  async putServiceConfig(): Promise<void> {}
  async startRun(record: RunRecord): Promise<void> {
    this.touch('startRun');
    this.runs.set(record.runId, record);
    this.locks.set(record.service, { service: record.service, runId: record.runId, executionArn: record.executionArn, since: record.startedAt });
  }
  async updateRun(runId: string, update: RunUpdate): Promise<void> {
    this.touch('updateRun');
    this.runs.set(runId, { ...this.runs.get(runId)!, ...update });
  }
  async finishRun(runId: string, service: string, update: RunUpdate & { outcome: Exclude<Outcome, 'running'>; endedAt: string }): Promise<void> {
    this.touch('finishRun');
    this.runs.set(runId, { ...this.runs.get(runId)!, ...update });
    if (this.locks.get(service)?.runId === runId) this.locks.delete(service);
  }
  async appendEvent(event: RunEvent): Promise<boolean> {
    this.touch(`appendEvent:${event.type}`);
    const key = `${event.runId}/${String(event.seq).padStart(6, '0')}${event.lane ? `#${event.lane}` : ''}`;
    if (this.events.has(key)) return false;
    this.events.set(key, event);
    return true;
  }
  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.touch('getRun');
    return this.runs.get(runId);
  }
  async listRuns(): Promise<RunRecord[]> {
    return [];
  }
  async listRollbacks(): Promise<RunRecord[]> {
    return [];
  }
  async listEvents(runId: string): Promise<RunEvent[]> {
    this.touch('listEvents');
    return [...this.events.entries()].filter(([k]) => k.startsWith(`${runId}/`)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, e]) => e);
  }
  async getLock(service: string): Promise<ServiceLock | undefined> {
    this.touch('getLock');
    return this.locks.get(service);
  }
  async releaseLock(): Promise<void> {}
  async getControl(): Promise<undefined> {
    return undefined;
  }
  async requestControl(): Promise<never> {
    throw new Error('not used');
  }
  typesOf(runId: string): string[] {
    return [...this.events.entries()].filter(([k]) => k.startsWith(`${runId}/`)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, e]) => e.type);
  }
}

class MemoryRouter implements TrafficRouter {
  canary = 25;
  constructor(private readonly journal: Journal) {}
  async getWeights() {
    this.journal.push('traffic:get');
    return { canary: this.canary, stable: 100 - this.canary };
  }
  async setWeights(canary: number) {
    this.journal.push(`traffic:set:${canary}`);
    this.canary = canary;
    return { canary, stable: 100 - canary };
  }
  manualRestoreCommand() {
    return 'aws elbv2 modify-listener …';
  }
  async healthOf() {
    return { ready: true, healthy: 2, total: 2, detail: 'stable: 2 of 2 targets healthy' };
  }
}

/** A stable ECS service whose size an autoscaler lowered; `available` follows a raise after `lagCalls` looks. */
class ShrunkStable implements Partial<Workload> {
  desired = 2;
  available = 2;
  looks = 0;
  failCapacity = false;
  constructor(
    private readonly journal: Journal,
    private readonly lagCalls: number,
  ) {}
  private status(needed: number): WorkloadStatus {
    return { ready: this.desired >= needed && this.available >= needed, detail: `service stable: ${this.available} of ${this.desired} tasks available (${needed} needed)`, desired: this.desired, updated: this.desired, available: this.available, image: 'img:v1' };
  }
  async restoreStableCapacity(desired: number) {
    this.journal.push(`workload:restore:${desired}`);
    if (this.failCapacity) throw new Error('AccessDeniedException: ecs:DescribeServices');
    this.desired = Math.max(this.desired, desired);
    return this.status(desired);
  }
  async stableCapacity(desired: number) {
    this.journal.push('workload:capacity');
    if (++this.looks >= this.lagCalls) this.available = this.desired;
    return this.status(desired);
  }
  async scaleDownCanary() {
    this.journal.push('workload:scale-down');
    return this.status(0);
  }
  describe(role: 'stable' | 'canary') {
    return `ECS service ${role}`;
  }
}

const plan = resolvePlan({ steps: [{ weight: 25, holdSeconds: 60 }, { weight: 100 }], analysis: { intervalSeconds: 60 } });
const ALB = {
  kind: 'alb' as const,
  listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
  stableTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/s/73e2d6bc24d8a067',
  canaryTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/c/73e2d6bc24d8a068',
  swapped: false,
};

function runContext(runId: string, extra: Partial<RunContext> = {}): RunContext {
  return {
    runId,
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:${runId}`,
    service: 'payments-api',
    image: 'repo/payments-api:v2',
    dryRun: false,
    startedAt: '2026-12-04T10:00:00.000Z',
    trigger: { source: 'console' },
    plan,
    traffic: ALB,
    metrics: { kind: 'prometheus', url: 'http://prometheus:9090', resolved: { conventions: {} as never, serviceLabelValue: 'payments-api', stableVersion: 'stable', canaryVersion: 'canary' } },
    workload: { kind: 'none' },
    notifications: {},
    ...extra,
  };
}

function setup(options: { workload?: ShrunkStable; snapshot?: ExecutionSnapshot | 'down' } = {}) {
  const journal: Journal = [];
  const runLog = new MemoryRunLog(journal);
  const router = new MemoryRouter(journal);
  const notifications: Notification[] = [];
  let clock = Date.parse('2026-12-04T10:05:00.000Z');
  const executions: ExecutionReader = {
    snapshot: async () => {
      if (options.snapshot === 'down') throw new TransientError('GetExecutionHistory failed');
      return options.snapshot;
    },
  };
  const deps: Deps = {
    runLog,
    executions,
    routerFor: () => router,
    workloadFor: (w: WorkloadConfig) => (w.kind === 'none' ? undefined : (options.workload as unknown as Workload)),
    metricsFor: () => Promise.reject(new Error('not used')),
    notifierFor: () => ({ notify: async (n: Notification) => void notifications.push(n) }),
    now: () => new Date(clock),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  return { deps, journal, runLog, router, notifications, tick: (seconds: number) => (clock += seconds * 1000) };
}

const breach = { action: 'rollback' as const, reason: { kind: 'consecutive-failures' as const, stepIndex: 0, weight: 25, verdict: 'fail' as const, check: 'error-rate', value: 0.06, max: 0.01, message: 'error-rate 0.06 outside ≤ 0.01 for 2 intervals in a row at step 0 (25%)' } };

describe('Rollback: traffic first, records after', () => {
  it('with the table down, all traffic goes back to stable and the events ride on as pending, nothing thrown', async () => {
    const { deps, journal, runLog } = setup();
    runLog.down = true;
    const run = runContext('run-down');
    const cursor = { ...initialCursor(plan), weight: 25, seq: 7, decision: breach };

    const progress = await rollback(deps, { run, cursor });

    expect(progress).toMatchObject({ complete: true, weight: 0, phase: 'done' });
    expect(progress.pending?.map((p) => (p.kind === 'event' ? p.event.type : p.kind))).toEqual(['rollback-started', 'rolled-back']);
    // The traffic moved before the table was asked for anything.
    expect(journal[0]).toBe('traffic:set:0');
    expect(journal.slice(1).every((entry) => entry.startsWith('table:'))).toBe(true);
  });

  it('writes rollback-started after the traffic moved when the table answers, with the reason', async () => {
    const { deps, journal, runLog } = setup();
    const run = runContext('run-up');
    const cursor = { ...initialCursor(plan), weight: 25, seq: 7, decision: breach };

    const progress = await rollback(deps, { run, cursor });

    expect(progress.pending).toBeUndefined();
    expect(journal).toEqual(['traffic:set:0', 'table:appendEvent:rollback-started', 'table:appendEvent:rolled-back']);
    const started = [...runLog.events.values()].find((e) => e.type === 'rollback-started');
    expect(started).toMatchObject({ seq: 7, lane: 'rollback', decision: { reason: { check: 'error-rate' } } });
  });

  it('a step that recorded at seq N and then failed does not swallow the rollback-started event at N', async () => {
    const { deps, runLog } = setup();
    const run = runContext('run-collide');
    // SetWeight recorded its weight-set at seq 3, then failed (say its updateRun timed out): the cursor still says 3.
    await runLog.appendEvent({ runId: run.runId, seq: 3, at: '2026-12-04T10:04:00.000Z', type: 'weight-set', stepIndex: 0, weight: 25 });
    const cursor = { ...initialCursor(plan), weight: 25, seq: 3 };

    await rollback(deps, { run, cursor, error: { Error: 'TransientError', Cause: 'updateRun timed out' } });

    expect(runLog.typesOf(run.runId)).toEqual(['weight-set', 'rollback-started', 'rolled-back']);
    const started = [...runLog.events.values()].find((e) => e.type === 'rollback-started');
    expect(started?.decision?.reason.message).toMatch(/step failed at step 0 \(25%\): TransientError: updateRun timed out/);
  });

  it('a retried Rollback records each event once', async () => {
    const { deps, runLog } = setup();
    const run = runContext('run-retry');
    const cursor = { ...initialCursor(plan), weight: 25, seq: 4, decision: breach };
    await rollback(deps, { run, cursor });
    await rollback(deps, { run, cursor });
    expect(runLog.typesOf(run.runId)).toEqual(['rollback-started', 'rolled-back']);
  });
});

describe('Rollback: stable can take the traffic before it comes back', () => {
  const ecs: WorkloadConfig = { kind: 'ecs', cluster: 'prod', stableService: 'stable', canaryService: 'canary', readyTimeoutSeconds: 900, pollSeconds: 15 };

  it('raises a shrunk stable to its size before the rollout and waits for it before moving traffic', async () => {
    const stable = new ShrunkStable([], 2);
    const { deps, journal, router, tick } = setup({ workload: stable });
    const run = runContext('run-capacity', { workload: ecs, stableDesired: 6 });
    const cursor = { ...initialCursor(plan), weight: 25, seq: 2, decision: breach };

    const first = await rollback(deps, { run, cursor });
    expect(first).toMatchObject({ phase: 'stable-capacity', complete: false });
    expect(first.waitSeconds).toBeLessThanOrEqual(10);
    expect(router.canary).toBe(25);
    expect(stable.desired).toBe(6);
    tick(first.waitSeconds);
    const second = await rollback(deps, { run, cursor, rollback: first });

    expect(second).toMatchObject({ complete: true, weight: 0 });
    expect(second.warning).toBeUndefined();
    expect(journal.indexOf('workload:restore:6')).toBeLessThan(journal.indexOf('traffic:set:0'));
  });

  it('moves traffic anyway once the wait is over, and the record says stable was short', async () => {
    const stable = new ShrunkStable([], 1_000);
    const { deps, runLog, tick } = setup({ workload: stable });
    const run = runContext('run-capacity-slow', { workload: ecs, stableDesired: 6 });
    const cursor = { ...initialCursor(plan), weight: 25, seq: 2, decision: breach };
    let progress = await rollback(deps, { run, cursor });
    for (let i = 0; i < 30 && progress.phase === 'stable-capacity'; i++) {
      tick(progress.waitSeconds);
      progress = await rollback(deps, { run, cursor, rollback: progress });
    }
    expect(progress).toMatchObject({ complete: true, weight: 0 });
    expect(progress.warning).toMatch(/stable was not back at its size when traffic moved to it \(service stable: 2 of 6 tasks available/);
    expect([...runLog.events.values()].find((e) => e.type === 'rolled-back')?.message).toMatch(/note: stable was not back at its size/);
  });

  it('moves traffic at once when the capacity check itself fails, and says so', async () => {
    const stable = new ShrunkStable([], 1);
    stable.failCapacity = true;
    const { deps } = setup({ workload: stable });
    const run = runContext('run-capacity-broken', { workload: ecs, stableDesired: 6 });
    const progress = await rollback(deps, { run, cursor: { ...initialCursor(plan), weight: 25, seq: 2, decision: breach } });
    expect(progress).toMatchObject({ complete: true, weight: 0 });
    expect(progress.warning).toMatch(/stable's capacity could not be checked before traffic moved back: AccessDeniedException/);
  });
});

describe('Finish: notified at once, recorded when the table answers', () => {
  it('keeps the records in its result while the table is down, notifies once, then writes them all', async () => {
    const { deps, runLog, notifications } = setup();
    const run = runContext('run-finish');
    runLog.runs.set(run.runId, { runId: run.runId, executionArn: run.executionArn, service: run.service, image: run.image, dryRun: false, trigger: run.trigger, startedAt: run.startedAt, outcome: 'running', stageReached: 0, maxWeight: 25 });
    runLog.locks.set(run.service, { service: run.service, runId: run.runId, executionArn: run.executionArn, since: run.startedAt });
    const cursor = { ...initialCursor(plan), weight: 25, seq: 5, decision: breach };
    runLog.down = true;
    const rolledBack = await rollback(deps, { run, cursor });

    const first = await finish(deps, { run, cursor, rollback: rolledBack });
    expect(first).toMatchObject({ outcome: 'rolled_back', recordAttempts: 1, retrySeconds: 30 });
    expect(first.pending?.length).toBe(4);
    expect(notifications.map((n) => n.kind)).toEqual(['rolled-back']);

    const second = await finish(deps, { run, cursor, rollback: rolledBack, result: first });
    expect(second).toMatchObject({ recordAttempts: 2, retrySeconds: 60 });

    runLog.down = false;
    const third = await finish(deps, { run, cursor, rollback: rolledBack, result: second });
    expect(third.pending).toBeUndefined();
    expect(third).toMatchObject({ outcome: 'rolled_back', reason: breach.reason.message });
    expect(runLog.runs.get(run.runId)).toMatchObject({ outcome: 'rolled_back', triggerCheck: 'error-rate', endedAt: first.endedAt });
    expect(runLog.locks.has(run.service)).toBe(false);
    expect(runLog.typesOf(run.runId)).toEqual(['rollback-started', 'rolled-back', 'finished']);
    expect(notifications).toHaveLength(1);
  });

  it('after every attempt, hands the records to the safety net as the execution cause', async () => {
    const { deps, runLog } = setup();
    const run = runContext('run-finish-give-up');
    const cursor = { ...initialCursor(plan), weight: 25, seq: 5, decision: breach };
    runLog.down = true;
    const rolledBack = await rollback(deps, { run, cursor });
    let result = await finish(deps, { run, cursor, rollback: rolledBack });
    while (result.pendingCause === undefined) result = await finish(deps, { run, cursor, rollback: rolledBack, result });
    expect(result.recordAttempts).toBe(RECORD_ATTEMPTS);
    const cause = JSON.parse(result.pendingCause) as { runId: string; pending: unknown[] };
    expect(cause).toMatchObject({ runId: run.runId });
    expect(cause.pending).toHaveLength(4);
  });
});

describe('the safety net: from the execution itself when the table is down', () => {
  const change = (runId: string, status = 'ABORTED') => ({ executionArn: `arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:${runId}`, name: runId, status });

  it('restores stable from the execution history with the table down, then records when a later delivery finds the table', async () => {
    const run = runContext('run-net');
    const cursor = { ...initialCursor(plan), weight: 25, seq: 9 };
    const { deps, journal, runLog, router } = setup({ snapshot: { input: { service: run.service, image: run.image }, state: { run, cursor }, stateName: 'WaitInterval' } });
    runLog.runs.set(run.runId, { runId: run.runId, executionArn: run.executionArn, service: run.service, image: run.image, dryRun: false, trigger: run.trigger, startedAt: run.startedAt, outcome: 'running', stageReached: 0, maxWeight: 25 });
    runLog.down = true;

    await expect(safetyNet(deps, change(run.runId))).rejects.toMatchObject({ name: 'RecordsPendingError', message: expect.stringContaining('traffic restored to stable (canary was at 25%)') });
    expect(router.canary).toBe(0);
    expect(journal.indexOf('traffic:set:0')).toBeGreaterThan(-1);
    expect(journal.slice(journal.indexOf('traffic:set:0')).some((e) => e === 'table:appendEvent:safety-net:down')).toBe(true);

    runLog.down = false;
    const again = await safetyNet(deps, change(run.runId));
    expect(again).toMatchObject({ action: 'restored-stable', detail: expect.stringContaining('traffic is back on stable (the run had the canary at 25%)') });
    expect(runLog.runs.get(run.runId)?.outcome).toBe('aborted');
    expect(runLog.typesOf(run.runId)).toEqual(['safety-net']);
    // A third, late delivery finds the run ended and moves nothing.
    expect(await safetyNet(deps, change(run.runId))).toMatchObject({ action: 'none', detail: 'the run had already ended aborted' });
  });

  it('writes the records the workflow could not (a CanaryRecordsPending execution) without touching traffic', async () => {
    const { deps: upDeps, runLog: scratch } = setup();
    const run = runContext('run-pending');
    const cursor = { ...initialCursor(plan), weight: 25, seq: 5, decision: breach };
    scratch.down = true;
    const rolledBack = await rollback(upDeps, { run, cursor });
    let result = await finish(upDeps, { run, cursor, rollback: rolledBack });
    while (result.pendingCause === undefined) result = await finish(upDeps, { run, cursor, rollback: rolledBack, result });

    const { deps, runLog, router, journal } = setup({ snapshot: { input: {}, state: { run, cursor, rollback: rolledBack, result }, stateName: 'RecordsPending' } });
    router.canary = 0;
    runLog.runs.set(run.runId, { runId: run.runId, executionArn: run.executionArn, service: run.service, image: run.image, dryRun: false, trigger: run.trigger, startedAt: run.startedAt, outcome: 'running', stageReached: 0, maxWeight: 25 });
    const net = await safetyNet(deps, { ...change(run.runId, 'FAILED'), error: 'CanaryRecordsPending', cause: result.pendingCause });

    expect(net.action).toBe('recorded-rollback');
    expect(journal.filter((e) => e.startsWith('traffic:set'))).toEqual([]);
    expect(runLog.runs.get(run.runId)).toMatchObject({ outcome: 'rolled_back', triggerCheck: 'error-rate' });
    expect(runLog.typesOf(run.runId)).toEqual(['rollback-started', 'rolled-back', 'finished']);
  });

  it('a late delivery leaves alone the traffic of a later run that holds the lock', async () => {
    const run = runContext('run-old');
    const { deps, runLog, router } = setup({ snapshot: { input: {}, state: { run, cursor: { ...initialCursor(plan), weight: 25, seq: 3 } } } });
    runLog.runs.set(run.runId, { runId: run.runId, executionArn: run.executionArn, service: run.service, image: run.image, dryRun: false, trigger: run.trigger, startedAt: run.startedAt, outcome: 'running', stageReached: 0, maxWeight: 25 });
    runLog.locks.set(run.service, { service: run.service, runId: 'run-new', executionArn: 'arn', since: '2026-12-04T11:00:00.000Z' });
    router.canary = 5;

    const net = await safetyNet(deps, change(run.runId));

    expect(net.action).toBe('none');
    expect(router.canary).toBe(5);
    expect(runLog.runs.get(run.runId)?.reason).toMatch(/run run-new of payments-api holds the lock now/);
  });

  it('with both the history and the table unreachable, it throws to be delivered again, moving nothing', async () => {
    const { deps, runLog, router } = setup({ snapshot: 'down' });
    runLog.down = true;
    await expect(safetyNet(deps, change('run-blind'))).rejects.toMatchObject({ name: 'TransientError' });
    expect(router.canary).toBe(25);
  });
});
