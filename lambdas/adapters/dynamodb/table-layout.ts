/**
 * The single table: service registry, locks, run records, events. One definition, used by the
 * adapter, the CDK construct (infra/) and the local stand-ins, so they cannot drift apart.
 *
 * | item             | pk                | sk               | gsi1 (runs of a service)           | gsi2 (rollbacks by end time)     |
 * |------------------|-------------------|------------------|------------------------------------|----------------------------------|
 * | registration     | REGISTRY          | SERVICE#<name>   |                                    |                                  |
 *   (attributes: service, config = the registration as a JSON string, updatedAt ISO 8601)
 * | lock             | SERVICE#<name>    | LOCK             |                                    |                                  |
 * | run record       | RUN#<runId>       | RUN              | SERVICE#<name> / <startedAt>#<id>  | ROLLBACK / <endedAt>#<id> (sparse: only rolled back or rollback failed) |
 * | event            | RUN#<runId>       | EVENT#<seq 6 digits>[#<lane>] |                           |                                  |
 *   (lane: rollback, finish or safety-net; the steps of the main path write without one — run.ts EVENT_LANES)
 *
 * Top-level scalars are native attributes; nested payloads (plan, trigger, measurements, decision) are JSON
 * strings; a top-level number DynamoDB cannot hold (Number.MAX_VALUE stands for +Inf) is stored as a string.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB deletes run records and events (retention). */
  ttlAttribute: 'expiresAt',
  serviceRunsIndex: { name: 'service-runs', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  rollbacksIndex: { name: 'rollbacks', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
} as const;

/** Days run records and events are kept before TTL removes them. */
export const DEFAULT_RETENTION_DAYS = 400;

/** CreateTable input for dynalite and the local demo; CDK declares the same keys and indexes. */
export function createTableInput(tableName: string) {
  const s = 'S' as const;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: TABLE.partitionKey, AttributeType: s },
      { AttributeName: TABLE.sortKey, AttributeType: s },
      { AttributeName: TABLE.serviceRunsIndex.partitionKey, AttributeType: s },
      { AttributeName: TABLE.serviceRunsIndex.sortKey, AttributeType: s },
      { AttributeName: TABLE.rollbacksIndex.partitionKey, AttributeType: s },
      { AttributeName: TABLE.rollbacksIndex.sortKey, AttributeType: s },
    ],
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [TABLE.serviceRunsIndex, TABLE.rollbacksIndex].map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

/**
 * A service registration as a raw DynamoDB item: written by CDK at deploy time (a custom resource
 * PutItem) and read by Start. The config is stored as one JSON string.
 */
export function registrationItem(service: string, config: unknown, updatedAt: string) {
  return {
    [TABLE.partitionKey]: { S: 'REGISTRY' },
    [TABLE.sortKey]: { S: `SERVICE#${service}` },
    service: { S: service },
    config: { S: JSON.stringify(config) },
    updatedAt: { S: updatedAt },
  };
}
