import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { TABLE } from '../../lambdas/adapters/dynamodb/table-layout';
import type { OrchestratorSettings } from './settings';

/**
 * The one table of table-layout.ts: registry, locks, run records and events, with the two indexes the CLI reads
 * (runs of a service, rollbacks by time), TTL on the retention attribute and point-in-time recovery.
 */
export class RunTable {
  /** The table; retained, and deletion-protected, unless the removal policy says otherwise. */
  readonly table: dynamodb.Table;

  /** Adds the table to the orchestrator as `Table`. */
  constructor(settings: OrchestratorSettings) {
    this.table = new dynamodb.Table(settings.scope, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy: settings.removalPolicy,
      deletionProtection: settings.removalPolicy === RemovalPolicy.RETAIN,
    });
    for (const index of [TABLE.serviceRunsIndex, TABLE.rollbacksIndex]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}
