import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRunLog } from '../../lambdas/adapters/dynamodb/dynamodb-run-log';
import { DEFAULT_RETENTION_DAYS } from '../../lambdas/adapters/dynamodb/table-layout';
import { RecordStoreError, RolloutInProgressError } from '../../lambdas/domain/errors';
import type { Outcome, RunEvent, RunRecord } from '../../lambdas/domain/run';
import { createTable, startDynalite, type Dynalite } from '../../local/dynamodb/dynalite';

const DAY_MS = 86_400_000;
let db: Dynalite;
let log: DynamoDbRunLog;
/** Names of every command the client sent, e.g. 'QueryCommand'. */
const sent: string[] = [];

beforeAll(async () => {
  db = await startDynalite();
  db.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  log = new DynamoDbRunLog(db.client, { tableName: db.tableName });
});

afterAll(async () => {
  await db.stop();
});

function runRecord(runId: string, service: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId,
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:canary:${runId}`,
    service,
    image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${service}:v2.4.1`,
    dryRun: false,
    trigger: { source: 'console', actor: 'alice' },
    startedAt: '2025-01-10T09:00:00.000Z',
    outcome: 'running',
    stageReached: -1,
    maxWeight: 0,
    ...overrides,
  };
}

async function rawItem(client: DynamoDBClient, tableName: string, pk: string, sk: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }));
  return Item;
}

describe('service registrations', () => {
  it('puts, gets and lists registrations; an unknown service gives undefined', async () => {
    // Prepare
    const payments = {
      name: 'payments-api',
      traffic: { kind: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/1/2' },
      notifications: {},
      plan: { steps: [{ weight: 5, holdSeconds: 300 }, { weight: 100 }], note: '' },
    };
    const checkout = { name: 'checkout', workload: { kind: 'none' } };

    // Act
    await log.putServiceConfig('payments-api', { ...payments, plan: { steps: [] } });
    await log.putServiceConfig('payments-api', payments);
    await log.putServiceConfig('checkout', checkout);

    // Assess
    await expect(log.getServiceConfig('payments-api')).resolves.toEqual(payments);
    await expect(log.getServiceConfig('checkout')).resolves.toEqual(checkout);
    await expect(log.getServiceConfig('unknown-service')).resolves.toBeUndefined();
    await expect(log.listServices()).resolves.toEqual(['checkout', 'payments-api']);
  });
});

describe('startRun and the service lock', () => {
  it('starting the same run twice succeeds and leaves one record and the lock held by that run', async () => {
    // Prepare
    const first = runRecord('run-lock-1', 'lock-svc-a');

    // Act
    await log.startRun(first);
    await log.startRun(first);

    // Assess
    await expect(log.getRun('run-lock-1')).resolves.toEqual(first);
    await expect(log.listRuns('lock-svc-a')).resolves.toEqual([first]);
    await expect(log.getLock('lock-svc-a')).resolves.toEqual({
      service: 'lock-svc-a',
      runId: 'run-lock-1',
      executionArn: first.executionArn,
      since: first.startedAt,
    });
  });

  it('refuses a second run of the same service naming the holder, writes nothing for it, and lets it start after finishRun', async () => {
    // Prepare
    const first = runRecord('run-lock-2', 'lock-svc-b', { startedAt: '2025-01-10T10:00:00.000Z' });
    const second = runRecord('run-lock-3', 'lock-svc-b', { startedAt: '2025-01-10T11:00:00.000Z' });
    await log.startRun(first);

    // Act
    const refused = await log.startRun(second).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(refused).toBeInstanceOf(RolloutInProgressError);
    expect(refused).toMatchObject({ name: 'RolloutInProgressError', service: 'lock-svc-b', holderRunId: 'run-lock-2', since: first.startedAt });
    expect((refused as Error).message).toContain('run run-lock-2');
    await expect(log.getRun('run-lock-3')).resolves.toBeUndefined();

    // Act
    await log.finishRun('run-lock-2', 'lock-svc-b', { outcome: 'promoted', endedAt: '2025-01-10T10:30:00.000Z', stageReached: 2, maxWeight: 100 });
    await log.startRun(second);

    // Assess
    await expect(log.getLock('lock-svc-b')).resolves.toMatchObject({ runId: 'run-lock-3' });
    await expect(log.getRun('run-lock-3')).resolves.toEqual(second);
  });

  it('finishRun is repeatable and never releases a lock another run holds', async () => {
    // Prepare
    const first = runRecord('run-lock-4', 'lock-svc-c');
    const second = runRecord('run-lock-5', 'lock-svc-c', { startedAt: '2025-01-10T12:00:00.000Z' });
    const final = { outcome: 'rolled_back' as const, endedAt: '2025-01-10T11:00:00.000Z', reason: 'error-rate 0.2 outside ≤ 0.01' };
    await log.startRun(first);
    await log.finishRun('run-lock-4', 'lock-svc-c', final);
    await log.startRun(second);

    // Act
    await log.finishRun('run-lock-4', 'lock-svc-c', final);

    // Assess
    await expect(log.getRun('run-lock-4')).resolves.toEqual({ ...first, ...final });
    await expect(log.getLock('lock-svc-c')).resolves.toMatchObject({ runId: 'run-lock-5' });
  });

  it('finishRun and updateRun of a run without a record throw RecordStoreError naming the run', async () => {
    // Act / Assess
    await expect(log.finishRun('run-missing', 'lock-svc-d', { outcome: 'aborted', endedAt: '2025-01-10T11:00:00.000Z' })).rejects.toThrow(RecordStoreError);
    await expect(log.finishRun('run-missing', 'lock-svc-d', { outcome: 'aborted', endedAt: '2025-01-10T11:00:00.000Z' })).rejects.toThrow(/run-missing/);
    await expect(log.updateRun('run-missing', { stageReached: 1 })).rejects.toThrow(/run run-missing has no record/);
    await expect(log.getRun('run-missing')).resolves.toBeUndefined();
  });

  it('releaseLock releases only the holder', async () => {
    // Prepare
    await log.startRun(runRecord('run-lock-6', 'lock-svc-e'));

    // Act
    await log.releaseLock('lock-svc-e', 'someone-else');
    const afterOther = await log.getLock('lock-svc-e');
    await log.releaseLock('lock-svc-e', 'run-lock-6');
    await log.releaseLock('lock-svc-e', 'run-lock-6');

    // Assess
    expect(afterOther?.runId).toBe('run-lock-6');
    await expect(log.getLock('lock-svc-e')).resolves.toBeUndefined();
  });
});

describe('events', () => {
  const analysis = (runId: string, seq: number, value: number | null): RunEvent => ({
    runId,
    seq,
    at: `2025-01-10T09:0${seq % 10}:00.000Z`,
    type: 'analysis',
    stepIndex: 1,
    weight: 25,
    measurements: [
      { check: 'latency-p99', verdict: 'fail', value: Number.MAX_VALUE, samples: 120, max: 0.5, detail: 'latency-p99 +Inf outside ≤ 0.5' },
      { check: 'error-rate', verdict: 'no-data', value, samples: null, max: 0.01, detail: 'no data: the query returned no series' },
      { check: 'success-rate', verdict: 'pass', value: 0.999, samples: 0, min: 0.99, detail: '' },
    ],
    decision: {
      action: 'continue',
      reason: { kind: 'holding', stepIndex: 1, weight: 25, verdict: 'fail', check: 'latency-p99', value: Number.MAX_VALUE, max: 0.5, message: 'latency-p99 +Inf outside ≤ 0.5; 0/10 passing intervals' },
    },
    message: 'analysis 1',
  });

  it('records a seq once: the repeat returns false and keeps the first event', async () => {
    // Prepare
    const event = analysis('run-events-1', 1, null);

    // Act
    const first = await log.appendEvent(event);
    const repeat = await log.appendEvent({ ...event, message: 'a retried step' });

    // Assess
    expect(first).toBe(true);
    expect(repeat).toBe(false);
    await expect(log.listEvents('run-events-1')).resolves.toEqual([event]);
  });

  it('lists events in seq order with measurements and decision intact, Number.MAX_VALUE and null included', async () => {
    // Prepare
    const events: RunEvent[] = [
      analysis('run-events-2', 1, null),
      { runId: 'run-events-2', seq: 2, at: '2025-01-10T09:02:00.000Z', type: 'weight-set', stepIndex: 2, weight: 50 },
      analysis('run-events-2', 3, 0),
      { runId: 'run-events-2', seq: 10, at: '2025-01-10T09:10:00.000Z', type: 'rolled-back', message: '' },
    ];

    // Act
    for (const event of [events[3], events[1], events[0], events[2]]) await log.appendEvent(event);
    const listed = await log.listEvents('run-events-2');

    // Assess
    expect(listed).toEqual(events);
    expect(listed.map((e) => Object.keys(e).sort())).toEqual(events.map((e) => Object.keys(e).sort()));
    expect(listed[0].measurements![0].value).toBe(Number.MAX_VALUE);
    expect(listed[0].measurements![1].value).toBeNull();
    expect(listed[0].decision!.reason.value).toBe(Number.MAX_VALUE);
    await expect(log.listEvents('run-without-events')).resolves.toEqual([]);
  });
});

describe('updateRun', () => {
  it('changes only the named fields and skips undefined ones', async () => {
    // Prepare
    const record = runRecord('run-update-1', 'update-svc', { reason: 'started', manualCommand: 'aws elbv2 modify-listener …' });
    await log.startRun(record);

    // Act
    await log.updateRun('run-update-1', { stageReached: 1, maxWeight: 25, reason: undefined });

    // Assess
    await expect(log.getRun('run-update-1')).resolves.toEqual({ ...record, stageReached: 1, maxWeight: 25 });
  });

  it('keeps trigger values DynamoDB numbers cannot hold, and null, exactly', async () => {
    // Prepare
    const record = runRecord('run-update-2', 'update-svc-2');
    await log.startRun(record);
    const raw = () => rawItem(db.client, db.tableName, 'RUN#run-update-2', 'RUN');

    // Act / Assess
    await log.updateRun('run-update-2', { triggerCheck: 'latency-p99', triggerValue: Number.MAX_VALUE, thresholdMax: 0.5 });
    await expect(log.getRun('run-update-2')).resolves.toMatchObject({ triggerValue: Number.MAX_VALUE, thresholdMax: 0.5 });
    expect((await raw())?.thresholdMax).toEqual({ N: '0.5' });

    await log.updateRun('run-update-2', { triggerValue: null });
    await expect(log.getRun('run-update-2')).resolves.toEqual({ ...record, triggerCheck: 'latency-p99', triggerValue: null, thresholdMax: 0.5 });
    expect((await raw())?.triggerValue).toEqual({ NULL: true });

    await log.updateRun('run-update-2', { triggerValue: 0.07 });
    expect((await raw())?.triggerValue).toEqual({ N: '0.07' });
  });
});

describe('listRuns', () => {
  it('gives the runs of one service only, newest first, from `since`, up to `limit`', async () => {
    // Prepare
    const starts = ['2025-02-01T08:00:00.000Z', '2025-02-02T08:00:00.000Z', '2025-02-03T08:00:00.000Z', '2025-02-04T08:00:00.000Z'];
    const orders = starts.map((startedAt, i) => runRecord(`run-orders-${i}`, 'orders', { startedAt }));
    for (const run of orders) {
      await log.startRun(run);
      await log.finishRun(run.runId, 'orders', { outcome: 'promoted', endedAt: run.startedAt });
    }
    await log.startRun(runRecord('run-billing-0', 'billing', { startedAt: '2025-02-05T08:00:00.000Z' }));

    // Act
    const all = await log.listRuns('orders');
    const recent = await log.listRuns('orders', { since: '2025-02-03T00:00:00.000Z' });
    const newestTwo = await log.listRuns('orders', { limit: 2 });

    // Assess
    expect(all.map((r) => r.runId)).toEqual(['run-orders-3', 'run-orders-2', 'run-orders-1', 'run-orders-0']);
    expect(all.every((r) => r.service === 'orders' && r.outcome === 'promoted')).toBe(true);
    expect(recent.map((r) => r.runId)).toEqual(['run-orders-3', 'run-orders-2']);
    expect(newestTwo.map((r) => r.runId)).toEqual(['run-orders-3', 'run-orders-2']);
    await expect(log.listRuns('no-such-service')).resolves.toEqual([]);
  });
});

describe('the 30-day rollback report', () => {
  it('lists exactly the rollbacks that ended in the last 30 days, newest first, with trigger and time to rollback, without a Scan', async () => {
    // Prepare: a table of its own, so that only the seeded runs are in it.
    const tableName = 'rollback-report';
    await createTable(db.client, tableName);
    const report = new DynamoDbRunLog(db.client, { tableName });
    const now = Date.now();
    const daysAgo = (days: number) => new Date(now - days * DAY_MS).toISOString();
    const seeds: [string, Exclude<Outcome, 'running'>, number][] = [
      ['payments-api', 'rolled_back', 5],
      ['payments-api', 'promoted', 6],
      ['checkout', 'rollback_failed', 9],
      ['search', 'rolled_back', 12],
      ['checkout', 'promoted', 15],
      ['payments-api', 'rolled_back', 29],
      ['search', 'dry_run_passed', 31],
      ['checkout', 'rolled_back', 31],
      ['payments-api', 'rollback_failed', 45],
      ['search', 'rolled_back', 60],
    ];
    const finished: RunRecord[] = [];
    sent.length = 0;
    for (const [i, [service, outcome, age]] of seeds.entries()) {
      const run = runRecord(`run-report-${i}`, service, { startedAt: daysAgo(age + 0.01) });
      const rolledBack = outcome === 'rolled_back' || outcome === 'rollback_failed';
      const final = {
        outcome,
        endedAt: daysAgo(age),
        stageReached: 1,
        maxWeight: 25,
        reason: `run ${i} ended ${outcome}`,
        ...(rolledBack && { triggerCheck: 'error-rate', triggerValue: 0.05 + i / 100, thresholdMax: 0.01, timeToRollbackSeconds: 30 + i }),
      };
      await report.startRun(run);
      await report.finishRun(run.runId, service, final);
      finished.push({ ...run, ...final });
    }
    const since = daysAgo(30);
    const expected = finished
      .filter((r) => (r.outcome === 'rolled_back' || r.outcome === 'rollback_failed') && r.endedAt! >= since)
      .sort((a, b) => b.endedAt!.localeCompare(a.endedAt!));

    // Act
    const rollbacks = await report.listRollbacks(since);
    const pagesBefore = sent.length;
    const checkoutOnly = await report.listRollbacks(daysAgo(50), { service: 'checkout', limit: 1 });
    const filteredPages = sent.length - pagesBefore;

    // Assess
    expect(rollbacks.map((r) => r.runId)).toEqual(['run-report-0', 'run-report-2', 'run-report-3', 'run-report-5']);
    expect(rollbacks).toEqual(expected);
    for (const r of rollbacks) {
      expect(r).toMatchObject({ triggerCheck: 'error-rate', triggerValue: expect.any(Number), timeToRollbackSeconds: expect.any(Number) });
    }
    expect(rollbacks[1]).toMatchObject({ outcome: 'rollback_failed', triggerValue: 0.07, timeToRollbackSeconds: 32 });
    expect(checkoutOnly.map((r) => r.runId)).toEqual(['run-report-2']);
    // Limit counts items before the service filter: the newest rollback (payments-api) fills page one, so it pages on.
    expect(filteredPages).toBeGreaterThan(1);
    expect(sent).toContain('QueryCommand');
    expect(sent).not.toContain('ScanCommand');
    expect(new Set(sent)).toEqual(new Set(['TransactWriteItemsCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'QueryCommand']));
  });
});

describe('raw items', () => {
  it('sets expiresAt on run records and events only, and keeps key attributes out of the records read back', async () => {
    // Prepare
    const now = new Date('2025-03-01T00:00:00.000Z');
    const pinned = new DynamoDbRunLog(db.client, { tableName: db.tableName, retentionDays: 30, now: () => now });
    const defaulted = new DynamoDbRunLog(db.client, { tableName: db.tableName, now: () => now });
    const epoch = now.getTime() / 1000;
    const run = runRecord('run-raw-1', 'raw-svc', { startedAt: '2025-03-01T00:00:00.000Z', dryRun: true });
    const raw = (pk: string, sk: string) => rawItem(db.client, db.tableName, pk, sk);

    // Act
    await pinned.putServiceConfig('raw-svc', { name: 'raw-svc' });
    await pinned.startRun(run);
    await pinned.appendEvent({ runId: 'run-raw-1', seq: 1, at: run.startedAt, type: 'started' });
    await defaulted.appendEvent({ runId: 'run-raw-1', seq: 2, at: run.startedAt, type: 'weight-set', weight: 5 });
    const running = await raw('RUN#run-raw-1', 'RUN');
    const lock = await raw('SERVICE#raw-svc', 'LOCK');
    await pinned.finishRun('run-raw-1', 'raw-svc', { outcome: 'rollback_failed', endedAt: '2025-03-01T00:10:00.000Z', manualCommand: 'aws elbv2 modify-listener …' });

    // Assess
    expect(running).toMatchObject({
      expiresAt: { N: String(epoch + 30 * 86_400) },
      gsi1pk: { S: 'SERVICE#raw-svc' },
      gsi1sk: { S: '2025-03-01T00:00:00.000Z#run-raw-1' },
      dryRun: { BOOL: true },
      stageReached: { N: '-1' },
      trigger: { S: JSON.stringify(run.trigger) },
    });
    expect(running).not.toHaveProperty('gsi2pk');
    expect(lock).toEqual({
      pk: { S: 'SERVICE#raw-svc' },
      sk: { S: 'LOCK' },
      service: { S: 'raw-svc' },
      runId: { S: 'run-raw-1' },
      executionArn: { S: run.executionArn },
      since: { S: run.startedAt },
    });
    expect(await raw('RUN#run-raw-1', 'EVENT#000001')).toMatchObject({ expiresAt: { N: String(epoch + 30 * 86_400) } });
    expect(await raw('RUN#run-raw-1', 'EVENT#000002')).toMatchObject({ expiresAt: { N: String(epoch + DEFAULT_RETENTION_DAYS * 86_400) } });
    const registration = await raw('REGISTRY', 'SERVICE#raw-svc');
    expect(registration).toMatchObject({ config: { S: '{"name":"raw-svc"}' }, updatedAt: { S: now.toISOString() } });
    expect(registration).not.toHaveProperty('expiresAt');
    expect(await raw('RUN#run-raw-1', 'RUN')).toMatchObject({ gsi2pk: { S: 'ROLLBACK' }, gsi2sk: { S: '2025-03-01T00:10:00.000Z#run-raw-1' } });
    const read = await pinned.getRun('run-raw-1');
    expect(read).toEqual({ ...run, outcome: 'rollback_failed', endedAt: '2025-03-01T00:10:00.000Z', manualCommand: 'aws elbv2 modify-listener …' });
    expect(Object.keys(read!).sort()).toEqual(
      ['runId', 'executionArn', 'service', 'image', 'dryRun', 'trigger', 'startedAt', 'outcome', 'stageReached', 'maxWeight', 'endedAt', 'manualCommand'].sort(),
    );
  });

  it('removes the rollback index keys when a later update names a non-rollback outcome', async () => {
    // Prepare
    const run = runRecord('run-raw-2', 'raw-svc-2');
    await log.startRun(run);
    await log.finishRun('run-raw-2', 'raw-svc-2', { outcome: 'rolled_back', endedAt: '2025-03-02T00:00:00.000Z' });

    // Act
    await log.updateRun('run-raw-2', { outcome: 'aborted' });

    // Assess
    const item = await rawItem(db.client, db.tableName, 'RUN#run-raw-2', 'RUN');
    expect(item).not.toHaveProperty('gsi2pk');
    expect(item).not.toHaveProperty('gsi2sk');
    expect(item?.outcome).toEqual({ S: 'aborted' });
  });
});
