import * as crypto from 'node:crypto';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { TABLE, registrationItem } from '../../lambdas/adapters/dynamodb/table-layout';
import type { ServiceConfig } from '../../lambdas/domain/service-config';
import { PARTITIONS, leadingKeysCondition } from '../table-access';
import { logGroup, type OrchestratorSettings } from './settings';

/** Properties of ServiceRegistry. */
export interface ServiceRegistryProps {
  /** The table whose REGISTRY partition holds the registrations. */
  readonly table: dynamodb.ITable;
}

/** Role and log group of CDK's AwsCustomResource provider, shared by every registration. */
interface WriterIdentity {
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * The registry at deploy time: one custom resource `Service-<name>` per service that puts its validated config into
 * the REGISTRY partition on create and update and deletes it when the service leaves the stack. The provider runs as
 * `RegistryWriterRole`, which may write registry items only; nothing is deployed before the first service.
 */
export class ServiceRegistry {
  private writer?: WriterIdentity;

  /** Keeps the table to write to; creates nothing yet. */
  constructor(
    private readonly settings: OrchestratorSettings,
    private readonly props: ServiceRegistryProps,
  ) {}

  /** PutItem of the registration on create and update, DeleteItem when the service leaves the stack. */
  addService(config: ServiceConfig): AwsCustomResource {
    const { tableName, tableArn } = this.props.table;
    const json = JSON.stringify(config);
    // A digest of the config, not a clock: an unchanged registration renders unchanged and does not churn.
    const updatedAt = `config-sha256:${crypto.createHash('sha256').update(json).digest('hex').slice(0, 16)}`;
    const item = registrationItem(config.name, config, updatedAt);
    const key = { [TABLE.partitionKey]: item[TABLE.partitionKey], [TABLE.sortKey]: item[TABLE.sortKey] };
    const put = {
      service: 'DynamoDB',
      action: 'PutItem',
      parameters: { TableName: tableName, Item: item },
      physicalResourceId: PhysicalResourceId.of(`canary-registry/${config.name}`),
    };
    return new AwsCustomResource(this.settings.scope, `Service-${config.name}`, {
      resourceType: 'Custom::CanaryServiceRegistration',
      onCreate: put,
      onUpdate: put,
      onDelete: { service: 'DynamoDB', action: 'DeleteItem', parameters: { TableName: tableName, Key: key } },
      policy: AwsCustomResourcePolicy.fromStatements([
        // The registry partition only: the one writer of registrations may touch no lock, run or event.
        new iam.PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [tableArn], conditions: leadingKeysCondition([PARTITIONS.registry]) }),
      ]),
      ...this.writerIdentity(),
      installLatestAwsSdk: false,
    });
  }

  /** Role and log group of CDK's AwsCustomResource provider: it writes its own logs, and each registration adds PutItem/DeleteItem. */
  private writerIdentity(): WriterIdentity {
    if (this.writer) return this.writer;
    const role = new iam.Role(this.settings.scope, 'RegistryWriterRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'canary-orchestrator: writes service registrations to the table at deploy time',
    });
    const writerLogs = logGroup(this.settings, 'RegistryWriterLogs');
    writerLogs.grantWrite(role);
    this.writer = { role, logGroup: writerLogs };
    return this.writer;
  }
}
