import * as iam from 'aws-cdk-lib/aws-iam';
import { TABLE } from '../lambdas/adapters/dynamodb/table-layout';
import type { RunLog } from '../lambdas/ports/run-log';

/**
 * Which items of the table each step may touch, derived from the RunLog methods its use case calls.
 *
 * IAM scopes item actions by partition with `dynamodb:LeadingKeys` (DynamoDB developer guide, "Using IAM policy
 * conditions for fine-grained access control",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html): the key is the
 * table's partition key value, and it must be used with `ForAllValues`. `ForAllValues` is also true for a request
 * that carries no key at all, which is why the guide leaves Scan out of such policies; only actions addressed by
 * key are granted here (GetItem, PutItem, UpdateItem, DeleteItem, ConditionCheckItem, Query), never Scan, Batch*
 * or PartiQL. TransactWriteItems has no permission of its own: each Put, Update, Delete and ConditionCheck in it is
 * authorized as PutItem, UpdateItem, DeleteItem and ConditionCheckItem on its own item ("Using IAM with DynamoDB
 * transactions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html), so the
 * condition holds for every item of a transaction. A Query of a secondary index is authorized on the index ARN; the
 * guide does not say which partition key LeadingKeys names there, so index statements carry no LeadingKeys
 * condition and go only to steps that query an index (today none: the CLI reads the indexes with a person's role).
 */

/** The table's partitions (table-layout.ts) as `dynamodb:LeadingKeys` patterns. */
export const PARTITIONS = {
  /** Registrations: written only by the registry-writer custom resource at deploy time. */
  registry: 'REGISTRY',
  /** Service locks: `SERVICE#<name>` / `LOCK`. */
  lock: 'SERVICE#*',
  /** Run records, events and operator controls: `RUN#<runId>` / `RUN`, `EVENT#…`, `CONTROL`. */
  run: 'RUN#*',
} as const;

export type Partition = keyof typeof PARTITIONS;

/** The item-level DynamoDB actions the run log uses; nothing else is ever granted on the table. */
export const ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
] as const;

export type ItemAction = (typeof ITEM_ACTIONS)[number];

/** The actions of ITEM_ACTIONS that change an item. */
export const WRITE_ACTIONS: readonly ItemAction[] = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/** What one RunLog method does to the table: item actions per partition, or a Query of an index. */
export interface MethodAccess {
  readonly items?: Readonly<Partial<Record<Partition, readonly ItemAction[]>>>;
  /** The secondary index the method queries. */
  readonly index?: string;
}

/**
 * Every RunLog method as DynamoDbRunLog (lambdas/adapters/dynamodb/dynamodb-run-log.ts) implements it. Keyed by
 * `keyof RunLog`, so a new port method does not compile until its table access is written down here.
 */
export const RUN_LOG_ACCESS: Readonly<Record<keyof RunLog, MethodAccess>> = {
  getServiceConfig: { items: { registry: ['dynamodb:GetItem'] } },
  listServices: { items: { registry: ['dynamodb:Query'] } },
  putServiceConfig: { items: { registry: ['dynamodb:PutItem'] } },
  // One transaction: Put of the lock and Put of the run record; a collision reads the lock that holds the service.
  startRun: { items: { lock: ['dynamodb:PutItem', 'dynamodb:GetItem'], run: ['dynamodb:PutItem'] } },
  updateRun: { items: { run: ['dynamodb:UpdateItem'] } },
  // Updates the record, then deletes the lock if this run holds it (releaseLock).
  finishRun: { items: { run: ['dynamodb:UpdateItem'], lock: ['dynamodb:DeleteItem'] } },
  appendEvent: { items: { run: ['dynamodb:PutItem'] } },
  getRun: { items: { run: ['dynamodb:GetItem'] } },
  listRuns: { index: TABLE.serviceRunsIndex.name },
  listRollbacks: { index: TABLE.rollbacksIndex.name },
  listEvents: { items: { run: ['dynamodb:Query'] } },
  getLock: { items: { lock: ['dynamodb:GetItem'] } },
  releaseLock: { items: { lock: ['dynamodb:DeleteItem'] } },
  getControl: { items: { run: ['dynamodb:GetItem'] } },
  // Reads CONTROL, then one transaction: ConditionCheck of the run record and Put of CONTROL; reads the record when the check fails.
  requestControl: { items: { run: ['dynamodb:GetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:PutItem'] } },
};

/**
 * The RunLog methods each step's use case calls, by catalog id (test/cdk/table-access.test.ts reads the use cases
 * and fails when a call is missing here). A catalog entry without a line fails synth.
 */
export const STEP_RUN_LOG_CALLS: Readonly<Record<string, readonly (keyof RunLog)[]>> = {
  Start: ['getServiceConfig', 'listServices', 'getLock', 'startRun', 'appendEvent', 'finishRun'],
  Prepare: ['appendEvent'],
  SetWeight: ['appendEvent', 'updateRun'],
  Analyze: ['getControl', 'appendEvent'],
  Promote: ['appendEvent', 'updateRun'],
  // Its records go through records.ts writeRecords, which can finish a run, but Rollback hands it events only.
  Rollback: ['appendEvent'],
  Finish: ['finishRun', 'appendEvent'],
  SafetyNet: ['getRun', 'listEvents', 'getLock', 'appendEvent', 'updateRun', 'finishRun'],
};

/** The IAM condition that limits a statement to items whose partition key matches one of `patterns`. */
export function leadingKeysCondition(patterns: readonly string[]): Record<string, Record<string, string[]>> {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...patterns] } };
}

const pascal = (text: string) => text.replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_match, _sep: string, char: string) => char.toUpperCase());

/** One statement per partition the calls touch (its actions there, its keys only), and one per index they query. */
export function tableStatements(calls: readonly (keyof RunLog)[], tableArn: string): iam.PolicyStatement[] {
  const byPartition = new Map<Partition, Set<ItemAction>>();
  const indexes = new Set<string>();
  for (const call of calls) {
    const access = RUN_LOG_ACCESS[call];
    for (const [partition, actions] of Object.entries(access.items ?? {}) as [Partition, readonly ItemAction[]][]) {
      const known = byPartition.get(partition) ?? new Set<ItemAction>();
      actions.forEach((action) => known.add(action));
      byPartition.set(partition, known);
    }
    if (access.index) indexes.add(access.index);
  }
  const partitions = (Object.keys(PARTITIONS) as Partition[]).filter((partition) => byPartition.has(partition));
  return [
    ...partitions.map(
      (partition) =>
        new iam.PolicyStatement({
          sid: `${pascal(partition)}Items`,
          actions: ITEM_ACTIONS.filter((action) => byPartition.get(partition)?.has(action)),
          resources: [tableArn],
          conditions: leadingKeysCondition([PARTITIONS[partition]]),
        }),
    ),
    ...[...indexes].map((index) => new iam.PolicyStatement({ sid: `Query${pascal(index)}Index`, actions: ['dynamodb:Query'], resources: [`${tableArn}/index/${index}`] })),
  ];
}
