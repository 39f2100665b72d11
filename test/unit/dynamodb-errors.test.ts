import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  PutItemCommand,
  ProvisionedThroughputExceededException,
  QueryCommand,
  RequestLimitExceeded,
  ThrottlingException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { translateDynamoDbError } from '../../lambdas/adapters/dynamodb/dynamodb-errors';
import { DynamoDbRunLog } from '../../lambdas/adapters/dynamodb/dynamodb-run-log';
import { RolloutInProgressError, ThrottlingError, TransientError } from '../../lambdas/domain/errors';
import type { RunRecord } from '../../lambdas/domain/run';

const $metadata = { httpStatusCode: 400 };
const dynamo = mockClient(DynamoDBClient);
const log = new DynamoDbRunLog(new DynamoDBClient({}), { tableName: 'runs' });
const event = { runId: 'run-1', seq: 1, at: '2025-01-10T09:00:00.000Z', type: 'started' as const };
const record: RunRecord = {
  runId: 'run-2',
  executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:canary:run-2',
  service: 'payments-api',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1',
  dryRun: false,
  trigger: { source: 'console' },
  startedAt: '2025-01-10T09:00:00.000Z',
  outcome: 'running',
  stageReached: -1,
  maxWeight: 0,
};

beforeEach(() => {
  dynamo.reset();
});

afterAll(() => {
  dynamo.restore();
});

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('DynamoDB error translation', () => {
  it.each([
    ['ProvisionedThroughputExceededException', new ProvisionedThroughputExceededException({ message: 'slow down', $metadata })],
    ['ThrottlingException', new ThrottlingException({ message: 'slow down', $metadata })],
    ['RequestLimitExceeded', new RequestLimitExceeded({ message: 'account limit', $metadata })],
  ])('turns %s into a retryable ThrottlingError carrying the cause', async (name, sdkError) => {
    // Prepare
    dynamo.on(PutItemCommand).rejects(sdkError);

    // Act
    const error = await rejection(log.appendEvent(event));

    // Assess
    expect(error).toBeInstanceOf(ThrottlingError);
    expect(error).toMatchObject({ name: 'ThrottlingError', retryable: true, cause: sdkError });
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain('append event');
  });

  it.each([
    ['InternalServerError', new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } })],
    ['ServiceUnavailable', Object.assign(new Error('unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })],
    ['a socket timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['an unnamed 5xx', Object.assign(new Error('bad gateway'), { name: 'UnknownError', $metadata: { httpStatusCode: 502 } })],
  ])('turns %s into a retryable TransientError carrying the cause', async (_what, sdkError) => {
    // Prepare
    dynamo.on(QueryCommand).rejects(sdkError);

    // Act
    const error = await rejection(log.listEvents('run-1'));

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ name: 'TransientError', retryable: true, cause: sdkError });
  });

  it('rethrows errors it does not know as they are', async () => {
    // Prepare
    const validation = Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException', $metadata });
    dynamo.on(PutItemCommand).rejects(validation);

    // Act
    const error = await rejection(log.appendEvent(event));

    // Assess
    expect(error).toBe(validation);
    expect(translateDynamoDbError('not an error', 'anything')).toBe('not an error');
  });

  it('reads a failed condition on appendEvent as an idempotent repeat, not an error', async () => {
    // Prepare
    dynamo.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));

    // Act
    const appended = await log.appendEvent(event);

    // Assess
    expect(appended).toBe(false);
  });

  it.each([
    ['ThrottlingError', ThrottlingError],
    ['TransactionConflict', TransientError],
  ])('turns a transaction cancelled for %s into the matching retryable error', async (code, expected) => {
    // Prepare
    dynamo.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({ message: `Transaction cancelled [${code}, None]`, $metadata, CancellationReasons: [{ Code: code }, { Code: 'None' }] }),
    );

    // Act
    const error = await rejection(log.startRun(record));

    // Assess
    expect(error).toBeInstanceOf(expected);
  });
});

describe('startRun when the lock is held', () => {
  const holder = {
    pk: { S: 'SERVICE#payments-api' },
    sk: { S: 'LOCK' },
    service: { S: 'payments-api' },
    runId: { S: 'run-holder' },
    executionArn: { S: 'arn:aws:states:eu-west-1:123456789012:execution:canary:run-holder' },
    since: { S: '2025-01-10T08:00:00.000Z' },
  };
  const cancelled = (item?: typeof holder) =>
    new TransactionCanceledException({
      message: 'Transaction cancelled [ConditionalCheckFailed, None]',
      $metadata,
      CancellationReasons: [{ Code: 'ConditionalCheckFailed', ...(item && { Item: item }) }, { Code: 'None' }],
    });

  it('names the holder from the old item the failed condition returns, without another read', async () => {
    // Prepare
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled(holder));

    // Act
    const error = await rejection(log.startRun(record));

    // Assess
    expect(error).toBeInstanceOf(RolloutInProgressError);
    expect(error).toMatchObject({ holderRunId: 'run-holder', since: '2025-01-10T08:00:00.000Z' });
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('reads the lock when the cancellation carries no item', async () => {
    // Prepare
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled()).on(GetItemCommand).resolves({ Item: holder });

    // Act
    const error = await rejection(log.startRun(record));

    // Assess
    expect(error).toBeInstanceOf(RolloutInProgressError);
    expect((error as Error).message).toContain('run run-holder');
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(1);
  });

  it('tries again when the lock was released between the write and the read', async () => {
    // Prepare
    dynamo.on(TransactWriteItemsCommand).rejectsOnce(cancelled()).resolves({}).on(GetItemCommand).resolves({});

    // Act
    await log.startRun(record);

    // Assess
    expect(dynamo.commandCalls(TransactWriteItemsCommand)).toHaveLength(2);
  });
});
