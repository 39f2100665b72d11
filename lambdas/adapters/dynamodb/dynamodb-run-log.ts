import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { RecordStoreError, RolloutInProgressError, RunNotRunningError } from '../../domain/errors';
import type { ControlCommand, OperatorAction, RunControl } from '../../domain/control';
import { EVENT_LANES, type EventLane, type Outcome, type RunEvent, type RunRecord } from '../../domain/run';
import type { RunLog, RunUpdate, ServiceLock } from '../../ports/run-log';
import { cancellationReasons, isConditionalCheckFailed, withDynamoDbErrors } from './dynamodb-errors';
import { DEFAULT_RETENTION_DAYS, TABLE, registrationItem } from './table-layout';

type Item = Record<string, AttributeValue>;

export interface DynamoDbRunLogOptions {
  readonly tableName: string;
  /** Days run records and events are kept before TTL removes them; DEFAULT_RETENTION_DAYS when omitted. */
  readonly retentionDays?: number;
  /** The clock for `expiresAt` and `updatedAt`; tests pin it. */
  readonly now?: () => Date;
}

const REGISTRY_PK = 'REGISTRY';
const SERVICE_PREFIX = 'SERVICE#';
const RUN_PREFIX = 'RUN#';
const RUN_SK = 'RUN';
const LOCK_SK = 'LOCK';
const EVENT_PREFIX = 'EVENT#';
const CONTROL_SK = 'CONTROL';
// A control request re-reads and retries when another request changed the controls in between.
const CONTROL_ATTEMPTS = 3;
const ROLLBACK_PK = 'ROLLBACK';
const MAX_SEQ = 999_999;
const ROLLBACK_OUTCOMES: readonly Outcome[] = ['rolled_back', 'rollback_failed'];
// Start retries when the lock it collided with was released before it could be read.
const START_ATTEMPTS = 3;

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL, serviceRunsIndex: GSI1, rollbacksIndex: GSI2 } = TABLE;

/**
 * How each field is stored. Top-level scalars are native attributes so that items read well in the console;
 * nested payloads are JSON strings, because DynamoDB numbers cannot hold Number.MAX_VALUE and maps handle
 * undefined badly. Record<keyof …> makes a new domain field a compile error here until it is mapped.
 */
type FieldKind = 'string' | 'number' | 'nullableNumber' | 'boolean' | 'json';

const RUN_FIELDS: Readonly<Record<keyof RunRecord, FieldKind>> = {
  runId: 'string',
  executionArn: 'string',
  service: 'string',
  image: 'string',
  dryRun: 'boolean',
  trigger: 'json',
  startedAt: 'string',
  outcome: 'string',
  stageReached: 'number',
  maxWeight: 'number',
  endedAt: 'string',
  reason: 'string',
  triggerCheck: 'string',
  triggerValue: 'nullableNumber',
  thresholdMin: 'number',
  thresholdMax: 'number',
  timeToRollbackSeconds: 'number',
  manualCommand: 'string',
  plan: 'json',
  traffic: 'json',
  notifications: 'json',
  workload: 'json',
};

const EVENT_FIELDS: Readonly<Record<keyof RunEvent, FieldKind>> = {
  runId: 'string',
  seq: 'number',
  lane: 'string',
  at: 'string',
  type: 'string',
  stepIndex: 'number',
  weight: 'number',
  measurements: 'json',
  decision: 'json',
  message: 'string',
};

/**
 * A number as DynamoDB can hold it: magnitudes from 1e-130 to below 1e126. Values outside (Number.MAX_VALUE,
 * which the judge uses for +Inf, ±Infinity, NaN, denormals) are kept as their JavaScript string instead.
 */
function numberAttribute(value: number): AttributeValue {
  const magnitude = Math.abs(value);
  const fits = Number.isFinite(value) && (value === 0 || (magnitude >= 1e-130 && magnitude < 1e126));
  return fits ? { N: String(value) } : { S: String(value) };
}

function toAttribute(kind: FieldKind, value: unknown, field: string): AttributeValue {
  switch (kind) {
    case 'string':
      return { S: String(value) };
    case 'boolean':
      return { BOOL: value === true };
    case 'nullableNumber':
      if (value === null) return { NULL: true };
      return numberAttribute(Number(value));
    case 'number':
      return numberAttribute(Number(value));
    case 'json': {
      const json = JSON.stringify(value) as string | undefined;
      if (json === undefined) throw new RecordStoreError(`${field} cannot be stored: it has no JSON form`);
      return { S: json };
    }
  }
}

function fromAttribute(kind: FieldKind, attribute: AttributeValue): unknown {
  if (attribute.NULL === true) return null;
  switch (kind) {
    case 'string':
      return attribute.S;
    case 'boolean':
      return attribute.BOOL;
    case 'number':
    case 'nullableNumber':
      return Number(attribute.N ?? attribute.S);
    case 'json':
      return attribute.S === undefined ? undefined : (JSON.parse(attribute.S) as unknown);
  }
}

/** The attributes of the mapped fields that are defined; undefined means absent, never stored. */
function fieldAttributes(fields: Readonly<Record<string, FieldKind>>, value: object): Item {
  const item: Item = {};
  for (const [field, current] of Object.entries(value)) {
    const kind = fields[field];
    if (kind === undefined || current === undefined) continue;
    item[field] = toAttribute(kind, current, field);
  }
  return item;
}

/** Only the mapped fields: key and index attributes never leak into the domain shapes. */
function fromItem(fields: Readonly<Record<string, FieldKind>>, item: Item): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const [field, kind] of Object.entries(fields)) {
    const attribute = item[field];
    if (attribute !== undefined) value[field] = fromAttribute(kind, attribute);
  }
  return value;
}

const s = (value: string): AttributeValue => ({ S: value });
const runKey = (runId: string): Item => ({ [PK]: s(`${RUN_PREFIX}${runId}`), [SK]: s(RUN_SK) });
const controlKey = (runId: string): Item => ({ [PK]: s(`${RUN_PREFIX}${runId}`), [SK]: s(CONTROL_SK) });
const lockKey = (service: string): Item => ({ [PK]: s(`${SERVICE_PREFIX}${service}`), [SK]: s(LOCK_SK) });
const registrationKey = (service: string): Item => ({ [PK]: s(REGISTRY_PK), [SK]: s(`${SERVICE_PREFIX}${service}`) });
const rollbackSortKey = (endedAt: string, runId: string) => `${endedAt}#${runId}`;
const isRollbackOutcome = (outcome: Outcome) => ROLLBACK_OUTCOMES.includes(outcome);

/** `EVENT#000012` for the main path, `EVENT#000012#rollback` for a lane: a lane's key sorts right after the main one's. */
function eventSortKey(seq: number, lane?: EventLane): string {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) {
    throw new RecordStoreError(`event seq ${seq} cannot be stored: it must be a whole number from 0 to ${MAX_SEQ}`);
  }
  if (lane !== undefined && !EVENT_LANES.includes(lane)) throw new RecordStoreError(`event lane '${String(lane)}' is not one of ${EVENT_LANES.join(', ')}`);
  return `${EVENT_PREFIX}${String(seq).padStart(6, '0')}${lane === undefined ? '' : `#${lane}`}`;
}

function toLock(item: Item): ServiceLock {
  return { service: item.service?.S ?? '', runId: item.runId?.S ?? '', executionArn: item.executionArn?.S ?? '', since: item.since?.S ?? '' };
}

/** DynamoDB implementation of the run log: one table, laid out as table-layout.ts documents; no Scan. */
export class DynamoDbRunLog implements RunLog {
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbRunLogOptions,
  ) {
    const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!(retentionDays > 0)) throw new RangeError(`retentionDays must be positive, got ${retentionDays}`);
    this.tableName = options.tableName;
    this.retentionSeconds = Math.round(retentionDays * 86_400);
    this.now = options.now ?? (() => new Date());
  }

  /** The registration written at deploy time, parsed from its JSON; undefined when the service is unknown. */
  async getServiceConfig(service: string): Promise<unknown> {
    const { Item } = await withDynamoDbErrors('get service registration', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: registrationKey(service), ConsistentRead: true })),
    );
    const config = Item?.config?.S;
    return config === undefined ? undefined : (JSON.parse(config) as unknown);
  }

  /** Names of all registered services, in name order: a Query of the registry partition. */
  async listServices(): Promise<string[]> {
    const items = await this.queryAll('list services', {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': s(REGISTRY_PK), ':prefix': s(SERVICE_PREFIX) },
      ProjectionExpression: '#sk',
      ConsistentRead: true,
    });
    return items.map((item) => (item[SK]?.S ?? '').slice(SERVICE_PREFIX.length));
  }

  /** Writes a registration as a JSON string, replacing any earlier one; never expires. */
  async putServiceConfig(service: string, config: unknown): Promise<void> {
    if (JSON.stringify(config) === undefined) throw new RecordStoreError(`registration of ${service} cannot be stored: it has no JSON form`);
    const Item: Item = registrationItem(service, config, this.now().toISOString());
    await withDynamoDbErrors('put service registration', () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item })));
  }

  /** Takes the service lock and writes the run record in one transaction; a repeat by the same run succeeds. */
  async startRun(record: RunRecord): Promise<void> {
    const sameRunOrNew = {
      ConditionExpression: 'attribute_not_exists(#pk) OR #runId = :runId',
      ExpressionAttributeNames: { '#pk': PK, '#runId': 'runId' },
      ExpressionAttributeValues: { ':runId': s(record.runId) },
    };
    const lock: Item = {
      ...lockKey(record.service),
      service: s(record.service),
      runId: s(record.runId),
      executionArn: s(record.executionArn),
      since: s(record.startedAt),
    };
    const TransactItems = [
      { Put: { TableName: this.tableName, Item: lock, ...sameRunOrNew, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } },
      { Put: { TableName: this.tableName, Item: this.runItem(record), ...sameRunOrNew } },
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        await withDynamoDbErrors('start run', () => this.client.send(new TransactWriteItemsCommand({ TransactItems })));
        return;
      } catch (error) {
        const [lockReason, recordReason] = cancellationReasons(error) ?? [];
        if (lockReason?.Code === 'ConditionalCheckFailed') {
          // ALL_OLD returns the holder with the failed condition; read the lock only when the reason carries no item.
          const holder = lockReason.Item !== undefined ? toLock(lockReason.Item as Item) : await this.getLock(record.service);
          if (holder !== undefined && holder.runId !== record.runId) {
            throw new RolloutInProgressError(record.service, holder.runId, holder.since);
          }
          if (attempt < START_ATTEMPTS) continue;
        }
        if (recordReason?.Code === 'ConditionalCheckFailed') {
          throw new RecordStoreError(`run ${record.runId}: a record with that key exists for another run`, { cause: error });
        }
        throw error;
      }
    }
  }

  /** Updates only the given fields of an existing run record; RecordStoreError when the run has no record. */
  async updateRun(runId: string, update: RunUpdate): Promise<void> {
    await this.updateRunItem('update run', runId, update);
  }

  /** Writes the final outcome (and the rollback index keys when rolled back), then releases this run's lock; repeatable. */
  async finishRun(runId: string, service: string, update: RunUpdate & { outcome: Exclude<Outcome, 'running'>; endedAt: string }): Promise<void> {
    await this.updateRunItem('finish run', runId, update);
    await this.releaseLock(service, runId);
  }

  /** Appends an event; false when that (seq, lane) was already recorded (an idempotent repeat). */
  async appendEvent(event: RunEvent): Promise<boolean> {
    const Item: Item = {
      ...fieldAttributes(EVENT_FIELDS, event),
      [PK]: s(`${RUN_PREFIX}${event.runId}`),
      [SK]: s(eventSortKey(event.seq, event.lane)),
      [TTL]: { N: String(this.expiresAt()) },
    };
    try {
      await withDynamoDbErrors('append event', () =>
        this.client.send(
          new PutItemCommand({ TableName: this.tableName, Item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** The run record, read consistently; undefined when there is none. */
  async getRun(runId: string): Promise<RunRecord | undefined> {
    const { Item } = await withDynamoDbErrors('get run', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: runKey(runId), ConsistentRead: true })),
    );
    return Item === undefined ? undefined : (fromItem(RUN_FIELDS, Item) as unknown as RunRecord);
  }

  /** Runs of one service, newest first, started at or after `since`: a Query of the service-runs index. */
  async listRuns(service: string, options: { since?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const since = options.since;
    const items = await this.queryAll(
      'list runs',
      {
        IndexName: GSI1.name,
        KeyConditionExpression: since !== undefined ? '#pk = :pk AND #sk >= :since' : '#pk = :pk',
        ExpressionAttributeNames: { '#pk': GSI1.partitionKey, ...(since !== undefined && { '#sk': GSI1.sortKey }) },
        ExpressionAttributeValues: { ':pk': s(`${SERVICE_PREFIX}${service}`), ...(since !== undefined && { ':since': s(since) }) },
        ScanIndexForward: false,
      },
      options.limit,
    );
    return items.map((item) => fromItem(RUN_FIELDS, item) as unknown as RunRecord);
  }

  /** Rolled-back (or rollback-failed) runs that ended at or after `since`, newest first: a Query of the sparse rollbacks index. */
  async listRollbacks(since: string, options: { service?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const service = options.service;
    const items = await this.queryAll(
      'list rollbacks',
      {
        IndexName: GSI2.name,
        KeyConditionExpression: '#pk = :pk AND #sk >= :since',
        ExpressionAttributeNames: { '#pk': GSI2.partitionKey, '#sk': GSI2.sortKey, ...(service !== undefined && { '#service': 'service' }) },
        ExpressionAttributeValues: { ':pk': s(ROLLBACK_PK), ':since': s(since), ...(service !== undefined && { ':service': s(service) }) },
        ...(service !== undefined && { FilterExpression: '#service = :service' }),
        ScanIndexForward: false,
      },
      options.limit,
    );
    return items.map((item) => fromItem(RUN_FIELDS, item) as unknown as RunRecord);
  }

  /** Events of one run in (seq, lane) order. */
  async listEvents(runId: string): Promise<RunEvent[]> {
    const items = await this.queryAll('list events', {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': s(`${RUN_PREFIX}${runId}`), ':prefix': s(EVENT_PREFIX) },
      ConsistentRead: true,
      ScanIndexForward: true,
    });
    return items.map((item) => fromItem(EVENT_FIELDS, item) as unknown as RunEvent);
  }

  /** The lock of a service, read consistently; undefined when free. */
  async getLock(service: string): Promise<ServiceLock | undefined> {
    const { Item } = await withDynamoDbErrors('get lock', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: lockKey(service), ConsistentRead: true })),
    );
    return Item === undefined ? undefined : toLock(Item);
  }

  /** Deletes the lock only if `runId` holds it; someone else's lock or none at all is a no-op. */
  async releaseLock(service: string, runId: string): Promise<void> {
    try {
      await withDynamoDbErrors('release lock', () =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: lockKey(service),
            ConditionExpression: '#runId = :runId',
            ExpressionAttributeNames: { '#runId': 'runId' },
            ExpressionAttributeValues: { ':runId': s(runId) },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** The run's operator controls, read consistently so the interval right after a request sees it. */
  async getControl(runId: string): Promise<RunControl | undefined> {
    const { Item } = await withDynamoDbErrors('get run control', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: controlKey(runId), ConsistentRead: true })),
    );
    return Item?.control?.S === undefined ? undefined : (JSON.parse(Item.control.S) as RunControl);
  }

  /** Merges one control into the run's controls, only while the run is running (one transaction with a check on the record). */
  async requestControl(runId: string, command: ControlCommand, action: OperatorAction, options: { step?: number } = {}): Promise<RunControl> {
    if (command === 'approve' && options.step === undefined) throw new RecordStoreError('approve needs the step it approves');
    for (let attempt = 1; ; attempt++) {
      const { Item } = await withDynamoDbErrors('get run control', () =>
        this.client.send(new GetItemCommand({ TableName: this.tableName, Key: controlKey(runId), ConsistentRead: true })),
      );
      const current = Item?.control?.S === undefined ? {} : (JSON.parse(Item.control.S) as RunControl);
      const version = Number(Item?.version?.N ?? 0);
      const next: RunControl =
        command === 'approve' ? { ...current, approvals: { ...current.approvals, [String(options.step)]: action } } : { ...current, [command]: action };
      try {
        await withDynamoDbErrors('request run control', () =>
          this.client.send(
            new TransactWriteItemsCommand({
              TransactItems: [
                {
                  ConditionCheck: {
                    TableName: this.tableName,
                    Key: runKey(runId),
                    ConditionExpression: '#outcome = :running',
                    ExpressionAttributeNames: { '#outcome': 'outcome' },
                    ExpressionAttributeValues: { ':running': s('running') },
                  },
                },
                {
                  Put: {
                    TableName: this.tableName,
                    Item: { ...controlKey(runId), control: s(JSON.stringify(next)), version: { N: String(version + 1) }, [TTL]: { N: String(this.expiresAt()) } },
                    ConditionExpression: version === 0 ? 'attribute_not_exists(#pk)' : '#version = :version',
                    ExpressionAttributeNames: version === 0 ? { '#pk': PK } : { '#version': 'version' },
                    ...(version !== 0 && { ExpressionAttributeValues: { ':version': { N: String(version) } } }),
                  },
                },
              ],
            }),
          ),
        );
        return next;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons?.[0]?.Code === 'ConditionalCheckFailed') {
          const run = await this.getRun(runId);
          throw new RunNotRunningError(run ? `run ${runId} has already ended (${run.outcome})` : `there is no run ${runId}`);
        }
        if (reasons?.[1]?.Code === 'ConditionalCheckFailed' && attempt < CONTROL_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  private expiresAt(): number {
    return Math.floor(this.now().getTime() / 1000) + this.retentionSeconds;
  }

  private runItem(record: RunRecord): Item {
    const rollbackKeys: Item =
      isRollbackOutcome(record.outcome) && record.endedAt !== undefined
        ? { [GSI2.partitionKey]: s(ROLLBACK_PK), [GSI2.sortKey]: s(rollbackSortKey(record.endedAt, record.runId)) }
        : {};
    return {
      ...fieldAttributes(RUN_FIELDS, record),
      ...runKey(record.runId),
      [GSI1.partitionKey]: s(`${SERVICE_PREFIX}${record.service}`),
      [GSI1.sortKey]: s(`${record.startedAt}#${record.runId}`),
      ...rollbackKeys,
      [TTL]: { N: String(this.expiresAt()) },
    };
  }

  /**
   * SET of the given fields only, on a record that must exist. When the update names the outcome, the sparse
   * rollbacks index follows it: keys set for a rollback outcome with its endedAt, removed for any other outcome.
   */
  private async updateRunItem(action: string, runId: string, update: RunUpdate): Promise<void> {
    const set: Item = fieldAttributes(RUN_FIELDS, update);
    const remove: string[] = [];
    for (const immutable of ['runId', 'service', 'executionArn', 'startedAt', 'image', 'trigger', 'dryRun']) delete set[immutable];
    if (update.outcome !== undefined) {
      if (!isRollbackOutcome(update.outcome)) remove.push(GSI2.partitionKey, GSI2.sortKey);
      else if (update.endedAt !== undefined) {
        set[GSI2.partitionKey] = s(ROLLBACK_PK);
        set[GSI2.sortKey] = s(rollbackSortKey(update.endedAt, runId));
      }
    }
    const setFields = Object.keys(set);
    if (setFields.length === 0 && remove.length === 0) return;

    const names: Record<string, string> = { '#pk': PK };
    const values: Item = {};
    const clauses: string[] = [];
    setFields.forEach((field, i) => {
      names[`#f${i}`] = field;
      values[`:v${i}`] = set[field]!;
      clauses.push(`#f${i} = :v${i}`);
    });
    const removals = remove.map((field, i) => {
      names[`#r${i}`] = field;
      return `#r${i}`;
    });
    const expression = [clauses.length > 0 ? `SET ${clauses.join(', ')}` : '', removals.length > 0 ? `REMOVE ${removals.join(', ')}` : '']
      .filter(Boolean)
      .join(' ');
    try {
      await withDynamoDbErrors(action, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: runKey(runId),
            UpdateExpression: expression,
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: names,
            ...(clauses.length > 0 && { ExpressionAttributeValues: values }),
          }),
        ),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new RecordStoreError(`run ${runId} has no record to ${action.replace(/ run$/, '')}; startRun writes it`, { cause: error });
      throw error;
    }
  }

  /** Every page of a Query, up to `limit` items. */
  private async queryAll(action: string, input: Omit<QueryCommandInput, 'TableName'>, limit?: number): Promise<Item[]> {
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`limit must be a whole number ≥ 0, got ${limit}`);
    const items: Item[] = [];
    let startKey: Item | undefined;
    while (limit === undefined || items.length < limit) {
      const page = await withDynamoDbErrors(action, () =>
        this.client.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
            ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
            // With a FilterExpression, Limit counts items read before filtering: later pages fill the rest.
            ...(limit !== undefined && { Limit: limit - items.length }),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return limit === undefined ? items : items.slice(0, limit);
  }
}
