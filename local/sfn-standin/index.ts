import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler as safetyNetHandler } from '../../lambdas/handlers/safety-net';
import { LOCAL_ACCOUNT, STATE_MACHINE_NAME, runLocalWorkflow, type LocalRunOptions, type LocalRunResult } from '../workflow/local-workflow';
import { SfnApiError } from './errors';
import { executionHistory } from '../workflow/execution-history';
import { Executions, type Delivery, type ExecutionChange, type ExecutionView, type StatusChangeEvent } from './executions';

export { SfnApiError } from './errors';
export type { Delivery, ExecutionChange, ExecutionStatus, ExecutionView, StatusChangeEvent } from './executions';

/**
 * The Step Functions stand-in: the AWS JSON 1.0 calls the `canary` CLI and the safety net make (StartExecution,
 * DescribeExecution, StopExecution, ListExecutions, GetExecutionHistory of any local run) on loopback, for the real SDK through `endpoint` or `AWS_ENDPOINT_URL_SFN`.
 * It serves the one canary state machine; each execution runs statemachine/canary.asl.json with the deployed
 * handlers (local/workflow/local-workflow.ts) and real waits. An execution that ends ABORTED, FAILED or TIMED_OUT
 * has its status change delivered to the safety-net handler, as the EventBridge rule does in AWS. Signatures are
 * not checked.
 */

export interface SfnStandInOptions {
  /** Port on 127.0.0.1; default 0 (a free port). */
  readonly port?: number;
  /** Runs one execution; default the local workflow runner. */
  readonly run?: (input: unknown, options: LocalRunOptions) => Promise<LocalRunResult>;
  /** The status-change rule's target; default the safety-net handler. */
  readonly deliver?: (event: StatusChangeEvent) => Promise<unknown>;
  /** Attempts per delivery (default 3) and the wait before the second (default 1000 ms, doubling). */
  readonly deliveryAttempts?: number;
  readonly deliveryRetryMs?: number;
  /** Every start, end and delivery, for logs. */
  readonly onChange?: (change: ExecutionChange) => void;
}

export interface SfnStandIn {
  /** http://127.0.0.1:<port>; for the SDK's `endpoint` or AWS_ENDPOINT_URL_SFN. */
  readonly endpoint: string;
  /** The region in the ARNs: the local workflow runner's (AWS_REGION, default eu-west-1). */
  readonly region: string;
  readonly stateMachineArn: string;
  /** Environment that points the SDK at this stand-in. */
  readonly env: Readonly<Record<string, string>>;
  /** Every execution, oldest first. */
  executions(): ExecutionView[];
  /** Every status change delivered to the safety net, oldest first. */
  deliveries(): readonly Delivery[];
  /** Resolves once the execution ended and its status change (if any) was delivered. */
  settled(executionArn: string): Promise<ExecutionView>;
  /** Stops running executions (their status changes are delivered), then the server. */
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'AWSStepFunctions.';
const JSON_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_HISTORY_PAGE = 100;

type Operation = (executions: Executions, body: Record<string, unknown>) => Record<string, unknown>;

// Timestamps travel as epoch seconds in the JSON protocols.
const seconds = (date: Date | undefined) => (date === undefined ? undefined : date.getTime() / 1000);

function summary(view: ExecutionView): Record<string, unknown> {
  return {
    executionArn: view.executionArn,
    stateMachineArn: view.stateMachineArn,
    name: view.name,
    status: view.status,
    startDate: seconds(view.startDate),
    ...(view.stopDate !== undefined && { stopDate: seconds(view.stopDate) }),
  };
}

const OPERATIONS: Readonly<Record<string, Operation>> = {
  StartExecution(executions, body) {
    const { executionArn, startDate } = executions.start(body);
    return { executionArn, startDate: seconds(startDate) };
  },
  DescribeExecution(executions, body) {
    const view = executions.describe(body.executionArn);
    return {
      ...summary(view),
      input: view.input,
      inputDetails: { included: true },
      ...(view.output !== undefined && { output: view.output, outputDetails: { included: true } }),
      ...(view.error !== undefined && { error: view.error }),
      ...(view.cause !== undefined && { cause: view.cause }),
    };
  },
  StopExecution(executions, body) {
    return { stopDate: seconds(executions.stop(body).stopDate) };
  },
  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html: oldest first unless
  // reverseOrder, maxResults 1..1000 (0 or absent: 100), inputs included unless includeExecutionData is false.
  GetExecutionHistory(_executions, body) {
    const arn = typeof body.executionArn === 'string' ? body.executionArn : '';
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) throw new SfnApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    const history = executionHistory(arn);
    if (!history) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    const max = body.maxResults === undefined || body.maxResults === 0 ? DEFAULT_HISTORY_PAGE : body.maxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1000) {
      throw new SfnApiError('ValidationException', `1 validation error detected: Value '${JSON.stringify(max)}' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and 1000`);
    }
    const token = typeof body.nextToken === 'string' ? body.nextToken : undefined;
    const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(offset) || offset < 0) throw new SfnApiError('InvalidToken', `Invalid Token: '${token}'`);
    const ordered = body.reverseOrder === true ? [...history].reverse() : [...history];
    const withData = body.includeExecutionData !== false;
    const events = ordered.slice(offset, offset + max).map((e) => ({
      id: e.id,
      ...(e.id > 1 && { previousEventId: e.id - 1 }),
      timestamp: seconds(e.timestamp),
      type: e.type,
      ...(e.executionStartedEventDetails && { executionStartedEventDetails: withData ? e.executionStartedEventDetails : {} }),
      ...(e.stateEnteredEventDetails && { stateEnteredEventDetails: withData ? e.stateEnteredEventDetails : { name: e.stateEnteredEventDetails.name } }),
    }));
    const next = offset + max < ordered.length ? Buffer.from(`offset:${offset + max}`, 'utf8').toString('base64url') : undefined;
    return { events, ...(next !== undefined && { nextToken: next }) };
  },
  ListExecutions(executions, body) {
    const page = executions.list(body);
    return { executions: page.executions.map(summary), ...(page.nextToken !== undefined && { nextToken: page.nextToken }) };
  },
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new SfnApiError('ValidationException', 'request body too large', 413)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}

async function respond(executions: Executions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? OPERATIONS[target.slice(TARGET_PREFIX.length)] : undefined;
    if (req.method !== 'POST' || operation === undefined) throw new SfnApiError('UnknownOperationException', `the Step Functions stand-in does not serve ${target || 'this request'}`);
    let parsed: unknown;
    try {
      parsed = body === '' ? {} : JSON.parse(body);
    } catch {
      throw new SfnApiError('SerializationException', 'the request body is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SfnApiError('SerializationException', 'the request body must be a JSON object');
    answer(res, 200, operation(executions, parsed as Record<string, unknown>));
  } catch (error) {
    if (error instanceof SfnApiError) answer(res, error.status, error.body());
    else answer(res, 500, { __type: 'com.amazonaws.sfn#InternalServerError', message: error instanceof Error ? error.message : String(error) });
  }
}

/** Starts the stand-in on 127.0.0.1. */
export async function startSfnStandIn(options: SfnStandInOptions = {}): Promise<SfnStandIn> {
  const region = process.env.AWS_REGION ?? 'eu-west-1';
  const stateMachineArn = `arn:aws:states:${region}:${LOCAL_ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
  const executions = new Executions({
    region,
    stateMachineArn,
    run: options.run ?? runLocalWorkflow,
    deliver: options.deliver ?? ((event) => safetyNetHandler(event)),
    ...(options.deliveryAttempts !== undefined && { deliveryAttempts: options.deliveryAttempts }),
    ...(options.deliveryRetryMs !== undefined && { deliveryRetryMs: options.deliveryRetryMs }),
    ...(options.onChange !== undefined && { onChange: options.onChange }),
  });
  const server = createServer((req, res) => void respond(executions, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    region,
    stateMachineArn,
    env: { AWS_ENDPOINT_URL_SFN: endpoint },
    executions: () => executions.all(),
    deliveries: () => executions.deliveries(),
    settled: (executionArn) => executions.settled(executionArn),
    stop: () =>
      (stopping ??= (async () => {
        await executions.stopAll('the local environment was stopped');
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}
