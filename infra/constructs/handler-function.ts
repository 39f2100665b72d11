import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { HandlerEntry } from '../../lambdas/handlers/catalog';
import { HANDLER_ESBUILD, REPO_ROOT, handlerEntry } from '../handler-bundling';
import { logGroup, type OrchestratorSettings } from './settings';

/** HANDLER_ESBUILD as NodejsFunction options: local esbuild, never Docker. */
export const HANDLER_BUNDLING: BundlingOptions = {
  format: OutputFormat.CJS,
  target: HANDLER_ESBUILD.target,
  minify: HANDLER_ESBUILD.minify,
  sourceMap: HANDLER_ESBUILD.sourcemap,
  sourcesContent: HANDLER_ESBUILD.sourcesContent,
  keepNames: HANDLER_ESBUILD.keepNames,
  externalModules: [...HANDLER_ESBUILD.external],
  forceDockerBundling: false,
};

const POWERTOOLS_SERVICE_NAME = 'canary-orchestrator';

/**
 * The Lambda of one catalog entry, as `<id>Function` with its log group `<id>Logs`: Node 22 on arm64, traced, bundled
 * with HANDLER_BUNDLING, given the table name and the retention of records; in the VPC when the orchestrator has one.
 */
export function handlerFunction(settings: OrchestratorSettings, table: dynamodb.ITable, entry: HandlerEntry, role: iam.Role): NodejsFunction {
  // Our own role instead of AWSLambdaBasicExecutionRole: it may write to this function's log group only.
  const logs = logGroup(settings, `${entry.id}Logs`);
  logs.grantWrite(role);
  const network = settings.network;
  const fn = new NodejsFunction(settings.scope, `${entry.id}Function`, {
    entry: handlerEntry(entry.file),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    description: entry.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    timeout: Duration.seconds(entry.timeoutSeconds),
    memorySize: entry.memoryMb,
    tracing: lambda.Tracing.ACTIVE,
    role,
    logGroup: logs,
    environment: {
      TABLE_NAME: table.tableName,
      RETENTION_DAYS: String(settings.retentionDays),
      POWERTOOLS_SERVICE_NAME,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    },
    bundling: HANDLER_BUNDLING,
    ...(network && { vpc: network.vpc, ...(network.vpcSubnets && { vpcSubnets: network.vpcSubnets }), ...(network.securityGroups && { securityGroups: network.securityGroups }) }),
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Pinned to nodejs22.x on purpose: the local workflow, the tests and the bundle target (node22) run the same Node major, ' +
      'so what is tested is what runs (one code path). Move all three together.',
  });
  return fn;
}
