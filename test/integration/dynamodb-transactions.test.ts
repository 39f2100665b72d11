import { GetItemCommand, PutItemCommand, TransactWriteItemsCommand, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { startDynalite, type Dynalite } from '../../local/dynamodb/dynalite';

// dynalite lacks TransactWriteItems; test/support/dynalite.ts adds it. These pin the DynamoDB behaviour the adapter relies on.
let db: Dynalite;

beforeAll(async () => {
  db = await startDynalite({ tableName: 'transactions' });
});

afterAll(async () => {
  await db.stop();
});

const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'X' } });
const get = async (pk: string) => (await db.client.send(new GetItemCommand({ TableName: db.tableName, Key: key(pk), ConsistentRead: true }))).Item;

describe('TransactWriteItems on the local stand-in', () => {
  it('applies every write when every condition holds', async () => {
    // Prepare
    await db.client.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key('ok-b'), n: { N: '1' } } }));

    // Act
    await db.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: db.tableName, Item: { ...key('ok-a'), v: { S: 'a' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Update: { TableName: db.tableName, Key: key('ok-b'), UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': { N: '1' } } } },
        ],
      }),
    );

    // Assess
    expect(await get('ok-a')).toEqual({ ...key('ok-a'), v: { S: 'a' } });
    expect(await get('ok-b')).toEqual({ ...key('ok-b'), n: { N: '2' } });
  });

  it('writes nothing when one condition fails, and gives a reason per item with the old item for ALL_OLD', async () => {
    // Prepare
    const held = { ...key('held'), runId: { S: 'run-1' } };
    await db.client.send(new PutItemCommand({ TableName: db.tableName, Item: held }));

    // Act
    const error = await db.client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: db.tableName, Item: { ...key('fresh'), v: { S: 'new' } } } },
            {
              Put: {
                TableName: db.tableName,
                Item: { ...key('held'), runId: { S: 'run-2' } },
                ConditionExpression: 'attribute_not_exists(pk) OR runId = :runId',
                ExpressionAttributeValues: { ':runId': { S: 'run-2' } },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    // Assess
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: held },
    ]);
    expect(await get('fresh')).toBeUndefined();
    expect(await get('held')).toEqual(held);
  });

  it('refuses two operations on one item, as DynamoDB does', async () => {
    // Act / Assess
    await expect(
      db.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: db.tableName, Item: key('twice') } },
            { Delete: { TableName: db.tableName, Key: key('twice') } },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('multiple operations on one item') });
    expect(await get('twice')).toBeUndefined();
  });
});
