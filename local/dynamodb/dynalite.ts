import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../lambdas/adapters/dynamodb/table-layout';

/**
 * DynamoDB on this machine: dynalite (a real DynamoDB API over in-memory LevelDB) behind a small front that adds
 * the one operation dynalite lacks, TransactWriteItems (architect/dynalite#151). The adapter code is the code
 * that runs in AWS; only the endpoint differs.
 *
 * The front serialises every request, so a transaction is applied with nothing interleaved: it snapshots the
 * items, applies each write with its own condition through dynalite, and on any failed condition restores the
 * snapshots and answers TransactionCanceledException with one CancellationReason per item, as DynamoDB does
 * (including the old item when ReturnValuesOnConditionCheckFailure is ALL_OLD). ClientRequestToken is ignored.
 */

type DynaliteOptions = { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number; path?: string };
// dynalite ships no types; its factory returns a plain http.Server.
const dynalite = createRequire(__filename)('dynalite') as (options?: DynaliteOptions) => Server;

export const DEFAULT_TABLE_NAME = 'canary-orchestrator';

export interface Dynalite {
  /** http://127.0.0.1:<port>; for handlers, AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  /** A client for the endpoint with dummy credentials. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Destroys the client and closes both servers. */
  stop(): Promise<void>;
}

export interface StartDynaliteOptions {
  readonly tableName?: string;
  /** Create the table (default); false gives an empty server. */
  readonly createTable?: boolean;
}

/** Starts dynalite on an ephemeral port of 127.0.0.1 and creates the orchestrator's table in it. */
export async function startDynalite(options: StartDynaliteOptions = {}): Promise<Dynalite> {
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const inner = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const innerPort = await listen(inner);
  const serially = serialQueue();
  const front = createServer((req, res) => {
    void (async () => {
      const reply = await respond(innerPort, serially, req).catch((error: unknown) => jsonReply(500, errorBody('InternalServerError', String(error))));
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    })();
  });
  const endpoint = `http://127.0.0.1:${await listen(front)}`;
  const client = new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const stop = async () => {
    client.destroy();
    await close(front);
    await close(inner);
  };
  try {
    if (options.createTable !== false) await createTable(client, tableName);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, client, tableName, stop };
}

/** Creates the orchestrator's table (keys and indexes of table-layout.ts) and waits until it is ACTIVE; an existing one is kept. */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (error) {
    if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.5 }, { TableName: tableName });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

interface Reply {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: string;
}

const JSON_TYPE = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'DynamoDB_20120810.';

const jsonReply = (status: number, body: unknown): Reply => ({ status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) });
const errorBody = (type: string, message: string, extra: object = {}) => ({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message, ...extra });

type Serial = <T>(work: () => Promise<T>) => Promise<T>;

/** One request at a time: dynalite is in-process anyway, and a transaction must see no interleaved write. */
function serialQueue(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>) => {
    const result = tail.then(work);
    tail = result.catch(() => undefined);
    return result;
  };
}

async function respond(innerPort: number, serially: Serial, req: IncomingMessage): Promise<Reply> {
  const body = await readBody(req);
  const target = String(req.headers['x-amz-target'] ?? '');
  return serially(() =>
    target === `${TARGET_PREFIX}TransactWriteItems`
      ? transactWriteItems(innerPort, req.headers, body)
      : forward(innerPort, req.method ?? 'POST', req.url ?? '/', req.headers, body),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Passes one request to dynalite, without keep-alive so that dynalite closes promptly. */
function forward(innerPort: number, method: string, path: string, headers: IncomingHttpHeaders, body: string): Promise<Reply> {
  const outgoing: OutgoingHttpHeaders = { ...headers, host: `127.0.0.1:${innerPort}`, 'content-length': Buffer.byteLength(body), connection: 'close' };
  delete outgoing['transfer-encoding'];
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: innerPort, method, path, headers: outgoing, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const replyHeaders: OutgoingHttpHeaders = { ...res.headers };
        for (const hop of ['connection', 'keep-alive', 'transfer-encoding', 'content-length']) delete replyHeaders[hop];
        resolve({ status: res.statusCode ?? 500, headers: replyHeaders, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

type WireItem = Record<string, unknown>;

interface WireOperation {
  readonly TableName: string;
  readonly Item?: WireItem;
  readonly Key?: WireItem;
  readonly UpdateExpression?: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: WireItem;
  readonly ReturnValuesOnConditionCheckFailure?: 'ALL_OLD' | 'NONE';
}

type OperationKind = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
const OPERATION_KINDS: readonly OperationKind[] = ['Put', 'Update', 'Delete', 'ConditionCheck'];

interface CallResult {
  readonly ok: boolean;
  readonly reply: Reply;
  readonly type?: string;
  readonly data: Record<string, unknown>;
}

/** TransactWriteItems over dynalite's single-item writes: all or nothing, with DynamoDB's cancellation reasons. */
async function transactWriteItems(innerPort: number, headers: IncomingHttpHeaders, body: string): Promise<Reply> {
  const call = async (operation: string, payload: object): Promise<CallResult> => {
    const reply = await forward(innerPort, 'POST', '/', { ...headers, 'x-amz-target': `${TARGET_PREFIX}${operation}`, 'content-type': JSON_TYPE }, JSON.stringify(payload));
    const data = (reply.body === '' ? {} : JSON.parse(reply.body)) as Record<string, unknown>;
    const type = typeof data.__type === 'string' ? data.__type.split('#').pop() : undefined;
    return { ok: reply.status === 200, reply, data, ...(type !== undefined && { type }) };
  };
  const invalid = (message: string) => jsonReply(400, errorBody('ValidationException', message));

  const { TransactItems } = JSON.parse(body) as { TransactItems?: unknown };
  if (!Array.isArray(TransactItems) || TransactItems.length < 1 || TransactItems.length > 100) {
    return invalid('TransactItems must have between 1 and 100 items');
  }
  const operations: { kind: OperationKind; op: WireOperation; key: WireItem }[] = [];
  const keySchemas = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const entry of TransactItems as Record<string, WireOperation | undefined>[]) {
    const kinds = OPERATION_KINDS.filter((k) => entry[k] !== undefined);
    if (kinds.length !== 1) return invalid('each TransactItem must name exactly one of Put, Update, Delete, ConditionCheck');
    const kind = kinds[0];
    const op = entry[kind]!;
    if (!keySchemas.has(op.TableName)) {
      const described = await call('DescribeTable', { TableName: op.TableName });
      if (!described.ok) return described.reply;
      const schema = (described.data.Table as { KeySchema: { AttributeName: string }[] }).KeySchema;
      keySchemas.set(op.TableName, schema.map((k) => k.AttributeName));
    }
    const source = kind === 'Put' ? op.Item : op.Key;
    if (source === undefined) return invalid(`${kind} needs ${kind === 'Put' ? 'Item' : 'Key'}`);
    const key = Object.fromEntries(keySchemas.get(op.TableName)!.map((name) => [name, source[name]]));
    const identity = JSON.stringify([op.TableName, key]);
    if (seen.has(identity)) return invalid('Transaction request cannot include multiple operations on one item');
    seen.add(identity);
    operations.push({ kind, op, key });
  }

  const snapshots: (WireItem | undefined)[] = [];
  for (const { op, key } of operations) {
    const read = await call('GetItem', { TableName: op.TableName, Key: key, ConsistentRead: true });
    if (!read.ok) return read.reply;
    snapshots.push(read.data.Item as WireItem | undefined);
  }

  const condition = (op: WireOperation) => ({
    ...(op.ConditionExpression !== undefined && { ConditionExpression: op.ConditionExpression }),
    ...(op.ExpressionAttributeNames !== undefined && { ExpressionAttributeNames: op.ExpressionAttributeNames }),
    ...(op.ExpressionAttributeValues !== undefined && { ExpressionAttributeValues: op.ExpressionAttributeValues }),
  });
  const restore = async (applied: number[]) => {
    for (const i of applied.reverse()) {
      const { op, key } = operations[i];
      const snapshot = snapshots[i];
      await (snapshot === undefined ? call('DeleteItem', { TableName: op.TableName, Key: key }) : call('PutItem', { TableName: op.TableName, Item: snapshot }));
    }
  };

  const applied: number[] = [];
  const reasons: Record<string, unknown>[] = [];
  for (const [i, { kind, op, key }] of operations.entries()) {
    const snapshot = snapshots[i];
    const table = { TableName: op.TableName };
    const result =
      kind === 'Put'
        ? await call('PutItem', { ...table, Item: op.Item, ...condition(op) })
        : kind === 'Update'
          ? await call('UpdateItem', { ...table, Key: key, UpdateExpression: op.UpdateExpression, ...condition(op) })
          : kind === 'Delete'
            ? await call('DeleteItem', { ...table, Key: key, ...condition(op) })
            : // A condition check writes nothing: rewrite the item as it is, or delete the absent item, under the condition.
              snapshot !== undefined
              ? await call('PutItem', { ...table, Item: snapshot, ...condition(op) })
              : await call('DeleteItem', { ...table, Key: key, ...condition(op) });
    if (result.ok) {
      applied.push(i);
      reasons.push({ Code: 'None' });
    } else if (result.type === 'ConditionalCheckFailedException') {
      const old = op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && snapshot !== undefined ? { Item: snapshot } : {};
      reasons.push({ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', ...old });
    } else {
      // DynamoDB validates the whole request before writing anything: undo and give the error as it came.
      await restore(applied);
      return result.reply;
    }
  }
  if (applied.length === operations.length) return jsonReply(200, {});
  await restore(applied);
  const codes = reasons.map((r) => String(r.Code)).join(', ');
  return jsonReply(
    400,
    errorBody('TransactionCanceledException', `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`, {
      CancellationReasons: reasons,
    }),
  );
}
