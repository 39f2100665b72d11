import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDbRunLog } from '../lambdas/adapters/dynamodb/dynamodb-run-log';
import { UsageError } from './errors';
import { findLocalEnvFile, isRunning, readLocalEnv, type LocalEnv } from './local-env-file';

/**
 * Where the CLI works: AWS, or the local environment of `npm run local`. Both go through the same SDK clients and
 * the same run-log adapter the Lambdas use; local only points the clients at the endpoints in the env file
 * (as AWS_ENDPOINT_URL_* would) with dummy credentials. One code path, different endpoints.
 *
 * Local when `--local` is given, or when no AWS target is named (`--aws`, `--table`, `--state-machine`) and a
 * running local environment's file is found; AWS otherwise.
 */

export interface TargetOptions {
  readonly local?: boolean;
  readonly aws?: boolean;
  readonly table?: string;
  readonly stateMachine?: string;
}

export interface Target {
  readonly kind: 'aws' | 'local';
  /** The local environment, when local. */
  readonly local?: LocalEnv;
  /** The file it came from, when local. */
  readonly localFile?: string;
  /** Where, for messages: `the local environment (…/env.json)`, `table canary-runs`. */
  readonly where: string;
  /** The run log on the table; UsageError when no table is known. */
  runLog(): DynamoDbRunLog;
  /** Step Functions and the state machine; UsageError when no state machine is known. */
  stepFunctions(): { client: SFNClient; stateMachineArn: string };
  /** STS, to tell who is calling. */
  sts(): STSClient;
  /** Closes the clients' connections. */
  destroy(): void;
}

export interface TargetEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

type ClientConfig = { region?: string; endpoint?: string; credentials?: typeof LOCAL_CREDENTIALS };

/** Chooses local or AWS from the options, the environment and the local env file. */
export async function resolveTarget(options: TargetOptions, where: TargetEnvironment): Promise<Target> {
  if (options.local === true && options.aws === true) throw new UsageError('--local and --aws: give one of them, not both');
  if (options.local === true && (options.table !== undefined || options.stateMachine !== undefined)) {
    throw new UsageError(`${options.table !== undefined ? '--table' : '--state-machine'}: not with --local (the local environment names its own)`);
  }
  if (options.table !== undefined && !TABLE_NAME.test(options.table)) throw new UsageError(`--table: '${options.table}' is not a DynamoDB table name (3-255 characters of letters, digits, _ . -)`);
  if (options.stateMachine !== undefined && !STATE_MACHINE_ARN.test(options.stateMachine)) {
    throw new UsageError(`--state-machine: '${options.stateMachine}' is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`);
  }

  const namedAws = options.aws === true || options.table !== undefined || options.stateMachine !== undefined;
  if (!namedAws) {
    const file = findLocalEnvFile(where.cwd, where.env);
    if (file !== undefined) {
      const local = await readLocalEnv(file);
      if (isRunning(local.pid)) return localTarget(local, file);
      if (options.local === true) throw new UsageError(`--local: the local environment of ${file} is not running (its process ${local.pid} has exited); start it with \`npm run local\``);
    } else if (options.local === true) {
      throw new UsageError('--local: no local environment found (.local/env.json, or the file CANARY_LOCAL_ENV names); start one with `npm run local`');
    }
  }
  return awsTarget(options, where.env);
}

function localTarget(local: LocalEnv, file: string): Target {
  const config = (endpoint: string): ClientConfig => ({ region: local.region, endpoint, credentials: LOCAL_CREDENTIALS });
  const configs = { dynamodb: config(local.endpoints.dynamodb), sfn: config(local.endpoints.sfn), sts: { region: local.region, credentials: LOCAL_CREDENTIALS } };
  return makeTarget('local', configs, local.tableName, local.stateMachineArn, { local, localFile: file, where: `the local environment (${file})` });
}

function awsTarget(options: TargetOptions, env: Readonly<Record<string, string | undefined>>): Target {
  const table = options.table ?? nonEmpty(env.CANARY_TABLE);
  const stateMachineArn = options.stateMachine ?? nonEmpty(env.CANARY_STATE_MACHINE_ARN);
  if (options.table === undefined && table !== undefined && !TABLE_NAME.test(table)) throw new UsageError(`CANARY_TABLE: '${table}' is not a DynamoDB table name`);
  if (options.stateMachine === undefined && stateMachineArn !== undefined && !STATE_MACHINE_ARN.test(stateMachineArn)) {
    throw new UsageError(`CANARY_STATE_MACHINE_ARN: '${stateMachineArn}' is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`);
  }
  // The SDK finds the region in AWS_REGION, AWS_DEFAULT_REGION or the profile; the state machine's ARN names one too.
  const arnRegion = stateMachineArn === undefined ? undefined : STATE_MACHINE_ARN.exec(stateMachineArn)?.[1];
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? arnRegion;
  const config: ClientConfig = region === undefined ? {} : { region };
  return makeTarget('aws', { dynamodb: config, sfn: config, sts: config }, table, stateMachineArn, { where: table === undefined ? 'AWS' : `table ${table}` });
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

function makeTarget(
  kind: Target['kind'],
  configs: { dynamodb: ClientConfig; sfn: ClientConfig; sts: ClientConfig },
  tableName: string | undefined,
  stateMachineArn: string | undefined,
  extra: { local?: LocalEnv; localFile?: string; where: string },
): Target {
  let dynamodb: DynamoDBClient | undefined;
  let sfn: SFNClient | undefined;
  let sts: STSClient | undefined;
  let runLog: DynamoDbRunLog | undefined;
  return {
    kind,
    ...extra,
    runLog() {
      if (tableName === undefined) {
        throw new UsageError('no table: give --table NAME or set CANARY_TABLE (the stack output TableName); or start a local environment with `npm run local`');
      }
      dynamodb ??= new DynamoDBClient(configs.dynamodb);
      return (runLog ??= new DynamoDbRunLog(dynamodb, { tableName }));
    },
    stepFunctions() {
      if (stateMachineArn === undefined) {
        throw new UsageError('no state machine: give --state-machine ARN or set CANARY_STATE_MACHINE_ARN (the stack output StateMachineArn); or start a local environment with `npm run local`');
      }
      return { client: (sfn ??= new SFNClient(configs.sfn)), stateMachineArn };
    },
    sts: () => (sts ??= new STSClient(configs.sts)),
    destroy() {
      dynamodb?.destroy();
      sfn?.destroy();
      sts?.destroy();
    },
  };
}
