import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, STATE_MACHINE_NAME, statusChangeEvent, type LocalRunOptions, type LocalRunResult } from '../workflow/local-workflow';
import { SfnApiError } from './errors';

/**
 * The executions of the one state machine the stand-in serves: started by name (unique, as in AWS), run with the
 * local workflow runner (real waits), stopped through an AbortSignal, listed newest first. When an execution ends
 * ABORTED, FAILED or TIMED_OUT its status change goes to the safety net, as the EventBridge rule delivers it in
 * AWS: after the end, asynchronously, retried a few times.
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** The statuses the safety-net rule matches (infra: SAFETY_NET_STATUSES). */
const DELIVERED_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['ABORTED', 'FAILED', 'TIMED_OUT']);

export type StatusChangeEvent = ReturnType<typeof statusChangeEvent>;

/** One execution as DescribeExecution shows it, plus the state it is in (the stand-in's own). */
export interface ExecutionView {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: Date;
  readonly stopDate?: Date;
  /** The input as given, a JSON string. */
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  /** The state the execution entered last. */
  readonly state?: string;
}

/** One delivery of a status change to the safety net. */
export interface Delivery {
  readonly executionArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly attempts: number;
  readonly delivered: boolean;
  /** What the target returned (the safety net's result), when delivered. */
  readonly result?: unknown;
  /** The last error, when every attempt failed. */
  readonly error?: string;
}

/** Something that happened to an execution, for logs. */
export type ExecutionChange =
  | { readonly kind: 'started'; readonly execution: ExecutionView }
  | { readonly kind: 'ended'; readonly execution: ExecutionView }
  | { readonly kind: 'delivered'; readonly delivery: Delivery };

export interface ExecutionsOptions {
  readonly region: string;
  readonly stateMachineArn: string;
  /** Runs one execution to its end. */
  readonly run: (input: unknown, options: LocalRunOptions) => Promise<LocalRunResult>;
  /** The safety-net target of the status-change rule. */
  readonly deliver: (event: StatusChangeEvent) => Promise<unknown>;
  /** Attempts per delivery; default 3. */
  readonly deliveryAttempts?: number;
  /** Milliseconds before the second attempt, doubling after; default 1000. */
  readonly deliveryRetryMs?: number;
  readonly onChange?: (change: ExecutionChange) => void;
}

export interface StartRequest {
  readonly stateMachineArn?: unknown;
  readonly name?: unknown;
  readonly input?: unknown;
}

export interface ListRequest {
  readonly stateMachineArn?: unknown;
  readonly statusFilter?: unknown;
  readonly maxResults?: unknown;
  readonly nextToken?: unknown;
}

// AWS: 1-80 characters without whitespace, brackets, wildcards, these specials, or control characters.
const NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const MAX_INPUT_BYTES = 256 * 1024;
const DEFAULT_PAGE = 100;

interface Entry {
  view: ExecutionView;
  readonly controller: AbortController;
  /** StopExecution's error and cause, for the status change. */
  stopped?: { readonly error?: string; readonly cause?: string };
  /** Resolves once the execution ended and its status change, if any, was delivered. */
  settled: Promise<ExecutionView>;
}

const text = (value: unknown, field: string): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SfnApiError('SerializationException', `${field} must be a string`);
  return value;
};

/** The executions of one state machine. */
export class Executions {
  private readonly entries = new Map<string, Entry>();
  private readonly deliveryLog: Delivery[] = [];
  private readonly executionPrefix: string;

  constructor(private readonly options: ExecutionsOptions) {
    this.executionPrefix = `arn:aws:states:${options.region}:${LOCAL_ACCOUNT}:execution:${STATE_MACHINE_NAME}:`;
  }

  /** StartExecution: a new execution; the same name and input while it runs answers the same execution, as AWS does. */
  start(request: StartRequest): { executionArn: string; startDate: Date } {
    this.checkStateMachine(request.stateMachineArn);
    const name = text(request.name, 'name') ?? randomUUID();
    if (name.length < 1 || name.length > 80 || NAME_FORBIDDEN.test(name)) {
      throw new SfnApiError('InvalidName', `Invalid Name: '${name}' (1-80 characters, no whitespace, brackets, wildcards or special characters)`);
    }
    const input = text(request.input, 'input') ?? '{}';
    if (Buffer.byteLength(input) > MAX_INPUT_BYTES) throw new SfnApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: larger than ${MAX_INPUT_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch (error) {
      throw new SfnApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${error instanceof Error ? error.message : String(error)}'`);
    }
    const executionArn = `${this.executionPrefix}${name}`;
    const existing = this.entries.get(executionArn);
    if (existing) {
      if (existing.view.status === 'RUNNING' && existing.view.input === input) return { executionArn, startDate: existing.view.startDate };
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const view: ExecutionView = { executionArn, stateMachineArn: this.options.stateMachineArn, name, status: 'RUNNING', startDate: new Date(), input };
    const controller = new AbortController();
    this.options.onChange?.({ kind: 'started', execution: view });
    const entry: Entry = { view, controller, settled: Promise.resolve(view) };
    this.entries.set(executionArn, entry);
    entry.settled = this.execute(entry, parsed);
    return { executionArn, startDate: view.startDate };
  }

  /** DescribeExecution. */
  describe(executionArn: unknown): ExecutionView {
    return this.entry(executionArn).view;
  }

  /** StopExecution: aborts a running execution (it ends ABORTED); stopping an ended one changes nothing. */
  stop(request: { executionArn?: unknown; error?: unknown; cause?: unknown }): { stopDate: Date } {
    const entry = this.entry(request.executionArn);
    if (entry.view.status === 'RUNNING' && !entry.controller.signal.aborted) {
      const error = text(request.error, 'error');
      const cause = text(request.cause, 'cause');
      entry.stopped = { ...(error !== undefined && { error }), ...(cause !== undefined && { cause }) };
      entry.controller.abort();
    }
    return { stopDate: entry.view.stopDate ?? new Date() };
  }

  /** ListExecutions: newest first, optionally of one status, in pages. */
  list(request: ListRequest): { executions: ExecutionView[]; nextToken?: string } {
    this.checkStateMachine(request.stateMachineArn);
    const filter = text(request.statusFilter, 'statusFilter');
    if (filter !== undefined && !EXECUTION_STATUSES.includes(filter as ExecutionStatus)) {
      throw new SfnApiError('ValidationException', `1 validation error detected: Value '${filter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${EXECUTION_STATUSES.join(', ')}]`);
    }
    const max = request.maxResults === undefined || request.maxResults === null || request.maxResults === 0 ? DEFAULT_PAGE : request.maxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1000) {
      throw new SfnApiError('ValidationException', `1 validation error detected: Value '${JSON.stringify(max)}' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and 1000`);
    }
    const token = text(request.nextToken, 'nextToken');
    const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(offset) || offset < 0) throw new SfnApiError('InvalidToken', `Invalid Token: '${token}'`);
    const all = [...this.entries.values()]
      .map((e) => e.view)
      .filter((v) => filter === undefined || v.status === filter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const page = all.slice(offset, offset + max);
    const next = offset + max < all.length ? Buffer.from(`offset:${offset + max}`, 'utf8').toString('base64url') : undefined;
    return { executions: page, ...(next !== undefined && { nextToken: next }) };
  }

  /** Every execution, oldest first. */
  all(): ExecutionView[] {
    return [...this.entries.values()].map((e) => e.view);
  }

  /** Every delivery to the safety net so far, oldest first. */
  deliveries(): readonly Delivery[] {
    return [...this.deliveryLog];
  }

  /** Resolves once the execution has ended and its status change was delivered (when it had one). */
  settled(executionArn: string): Promise<ExecutionView> {
    return this.entry(executionArn).settled;
  }

  /** Stops every running execution, as StopExecution would, and waits until each has settled. */
  async stopAll(cause: string): Promise<void> {
    for (const entry of this.entries.values()) {
      if (entry.view.status === 'RUNNING') this.stop({ executionArn: entry.view.executionArn, error: 'LocalEnvironmentStopped', cause });
    }
    await Promise.allSettled([...this.entries.values()].map((e) => e.settled));
  }

  private entry(executionArn: unknown): Entry {
    const arn = text(executionArn, 'executionArn');
    if (arn === undefined || arn === '') throw new SfnApiError('ValidationException', "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null");
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) throw new SfnApiError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const entry = this.entries.get(arn);
    if (!entry) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return entry;
  }

  private checkStateMachine(value: unknown): void {
    const arn = text(value, 'stateMachineArn');
    if (arn === undefined || arn === '') throw new SfnApiError('ValidationException', "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null");
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/.test(arn)) throw new SfnApiError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    if (arn !== this.options.stateMachineArn) throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  }

  /** Runs the execution, records how it ended, then delivers the status change. */
  private async execute(entry: Entry, input: unknown): Promise<ExecutionView> {
    let result: LocalRunResult;
    try {
      result = await this.options.run(input, {
        runId: entry.view.name,
        signal: entry.controller.signal,
        onStateEntered: (state) => {
          entry.view = { ...entry.view, state };
        },
      });
    } catch (error) {
      // The runner itself broke (not the workflow): Step Functions reports such an execution FAILED.
      const cause = error instanceof Error ? error.message : String(error);
      result = { runId: entry.view.name, executionArn: entry.view.executionArn, status: 'FAILED', error: 'States.Runtime', cause, states: [], stateTransitions: 0, wallSeconds: 0 };
    }
    const stopped = result.status === 'ABORTED' ? entry.stopped : undefined;
    const error = stopped?.error ?? result.error;
    const cause = stopped?.cause ?? result.cause;
    entry.view = {
      ...entry.view,
      status: result.status,
      stopDate: new Date(),
      ...(result.output !== undefined && { output: JSON.stringify(result.output) }),
      ...(error !== undefined && { error }),
      ...(cause !== undefined && { cause }),
    };
    this.options.onChange?.({ kind: 'ended', execution: entry.view });
    if (DELIVERED_STATUSES.has(result.status)) await this.deliver(entry.view, statusChangeEvent({ ...result, ...(error !== undefined && { error }), ...(cause !== undefined && { cause }) }, input));
    return entry.view;
  }

  /** Delivers one status change with retries, as EventBridge retries a failed target. */
  private async deliver(view: ExecutionView, event: StatusChangeEvent): Promise<void> {
    const attempts = this.options.deliveryAttempts ?? 3;
    let wait = this.options.deliveryRetryMs ?? 1000;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const result = await this.options.deliver(event);
        this.record({ executionArn: view.executionArn, name: view.name, status: view.status, attempts: attempt, delivered: true, result });
        return;
      } catch (error) {
        last = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, wait));
        wait *= 2;
      }
    }
    this.record({ executionArn: view.executionArn, name: view.name, status: view.status, attempts, delivered: false, error: last });
  }

  private record(delivery: Delivery): void {
    this.deliveryLog.push(delivery);
    this.options.onChange?.({ kind: 'delivered', delivery });
  }
}
