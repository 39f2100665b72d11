import { randomBytes } from 'node:crypto';
import { handler as ecrTrigger } from '../../lambdas/handlers/ecr-trigger';
import { handler as safetyNetHandler } from '../../lambdas/handlers/safety-net';
import { executionNameFor } from '../../lambdas/use-cases/ecr-trigger';
import type { DynamoDbFault, DynamoDbFaultHandle, DynamoDbFaultRule } from '../../local/faults/dynamodb-fault-proxy';
import type { PrometheusFaultMode } from '../../local/faults/prometheus-fault-proxy';
import type { LocalRunOptions, TaskFaultKind, TaskFaults } from '../../local/workflow/local-workflow';
import type { RunHandle, RunHooks, Service } from './environment';
import { BAD_CANARY, FAST_ANALYSIS, FAST_PLAN, IMAGE, type CaseContext, type CaseObservation, type ExpectedOutcome, type FaultCase } from './matrix';

/**
 * The fault matrix: one list, run by `npm run bench:faults` and by test/integration/fault-matrix.test.ts. Every
 * case injects its fault at the worst moment it can (mid-step: after the canary took traffic; or during the
 * rollback itself) and states, in one comment, what the orchestrator is meant to do. Services have workload
 * `none` (an outside system deploys the canary), so the workflow skips Prepare: a Prepare fault needs an ECS or
 * EKS workload, which this environment does not run (its Retry/Catch are the same as SetWeight's).
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Marks the moment of injection once. */
function marker(): { mark: () => void; readonly at: number | undefined } {
  let at: number | undefined;
  return {
    mark: () => {
      at ??= Date.now();
    },
    get at() {
      return at;
    },
  };
}

/** Calls `fn` when `state` is entered for the `nth` time. */
function onEntry(state: string, nth: number, fn: () => void): (entered: string) => void {
  let count = 0;
  return (entered) => {
    if (entered === state && ++count === nth) fn();
  };
}

interface OneRunOptions {
  readonly canary?: 'healthy' | 'bad';
  readonly plan?: Record<string, unknown>;
  readonly metricsUrl?: string;
  readonly outcomes: readonly ExpectedOutcome[];
  readonly safetyNet?: boolean;
  /** The run's hooks, given the service and the injection marker. */
  readonly hooks?: (svc: Service, mark: () => void, executionArn: string) => RunHooks;
  readonly notes?: (svc: Service, run: RunHandle) => string[];
}

/** One service, one execution through the Step Functions stand-in, settled (status change delivered). */
async function oneRun(ctx: CaseContext, options: OneRunOptions): Promise<CaseObservation> {
  const svc = await ctx.service(undefined, { ...(options.plan && { plan: options.plan }), ...(options.metricsUrl && { metricsUrl: options.metricsUrl }) });
  if (options.canary === 'bad') svc.traffic.setProfile('canary', BAD_CANARY);
  const injected = marker();
  const runId = ctx.runId(svc.name);
  const hooks = options.hooks?.(svc, injected.mark, ctx.env.executionArn(runId)) ?? {};
  const handle = await ctx.env.start(runId, { service: svc.name, image: IMAGE }, hooks);
  await handle.settled();
  return {
    runs: [{ label: 'run', run: handle, service: svc, outcomes: options.outcomes, ...(options.safetyNet !== undefined && { safetyNet: options.safetyNet }) }],
    ...(injected.at !== undefined && { injectedAt: injected.at }),
    notes: options.notes?.(svc, handle) ?? [],
  };
}

// ---- Task faults ---------------------------------------------------------------------------------------------

interface TaskFaultSpec {
  readonly state: string;
  readonly kind: TaskFaultKind;
  /** The entry of the state that faults (2 = the second SetWeight: the canary already takes traffic). */
  readonly entry: number;
  /** Every attempt of that entry, or only the first. */
  readonly every?: boolean;
  /** 'after': the handler's calls were made and only the answer is lost (default); 'before': nothing ran. */
  readonly at?: 'before' | 'after';
}

function taskFaults(spec: TaskFaultSpec, mark: () => void): TaskFaults {
  let entries = 0;
  return {
    [spec.state]: (attempt) => {
      if (attempt === 1) entries++;
      if (entries !== spec.entry || (!spec.every && attempt !== 1)) return undefined;
      mark();
      return { kind: spec.kind, at: spec.at ?? 'after' };
    },
  };
}

function taskCase(name: string, spec: TaskFaultSpec, canary: 'healthy' | 'bad', outcomes: readonly ExpectedOutcome[], expected: string, safetyNet?: boolean): FaultCase {
  const how = spec.kind === 'crash' ? 'crashes (process exit / out of memory)' : 'times out';
  const which = spec.every ? 'on every attempt' : 'on its first attempt';
  const when = spec.at === 'before' ? 'before doing anything' : 'after doing its work, before answering';
  return {
    name,
    fault: `the ${spec.state} Lambda ${how} ${which}${spec.entry > 1 ? ` (entry ${spec.entry}, mid-rollout)` : ''}, ${when}`,
    expected,
    execute: (ctx) =>
      oneRun(ctx, {
        canary,
        outcomes,
        ...(safetyNet !== undefined && { safetyNet }),
        hooks: (_svc, mark) => ({ taskFaults: taskFaults(spec, mark) }),
      }),
  };
}

const TASK_CASES: FaultCase[] = [];
for (const kind of ['crash', 'timeout'] as const) {
  // A crashed or timed-out Lambda reaches Step Functions as Lambda.Unknown, which the first retrier of every Task
  // matches (statemachine/canary.asl.json): each step is idempotent, so the retry finds its own work done and the healthy
  // run goes on to promote. A single crash never rolls a healthy canary back.
  // Start dies after taking the lock and writing the record: the retry finds its own lock and record and goes on.
  TASK_CASES.push(taskCase(`start-${kind}`, { state: 'Start', kind, entry: 1 }, 'healthy', ['promoted'], 'retries Start, which finds its own lock and record; the run goes on and promotes', true));
  // SetWeight dies after moving the canary from 20% to 50%: the retry finds 50% applied and records the step once.
  TASK_CASES.push(taskCase(`setweight-${kind}`, { state: 'SetWeight', kind, entry: 2 }, 'healthy', ['promoted'], 'retries SetWeight, which finds its weight applied; the run goes on and promotes'));
  // Analyze dies after recording its analysis (second interval, canary at 20%): the retry judges again, records once.
  TASK_CASES.push(taskCase(`analyze-${kind}`, { state: 'Analyze', kind, entry: 2 }, 'healthy', ['promoted'], 'retries Analyze, which records the interval once; the run goes on and promotes'));
  // Promote dies after flipping all traffic to the new version but before answering: the retry finds it done.
  TASK_CASES.push(taskCase(`promote-${kind}`, { state: 'Promote', kind, entry: 1 }, 'healthy', ['promoted'], 'retries Promote, which finds the flip done; promoted'));
  // Rollback of a bad canary dies once after moving traffic: States.ALL retries it; the repeat finds the weights
  // applied and the events recorded (same seq), so the run ends rolled_back with each event once.
  TASK_CASES.push(taskCase(`rollback-${kind}-first`, { state: 'Rollback', kind, entry: 1 }, 'bad', ['rolled_back'], 'retries the rollback, which is idempotent; ends rolled_back'));
  // Every Rollback attempt dies before doing anything: the run ends rollback_failed with the manual command, and
  // the safety net (FAILED status change) then restores stable and records that it did.
  TASK_CASES.push(
    taskCase(`rollback-${kind}-every`, { state: 'Rollback', kind, entry: 1, every: true, at: 'before' }, 'bad', ['rollback_failed'], 'ends rollback_failed with the manual command; the safety net restores stable', true),
  );
}
// Finish dies after writing the outcome: States.ALL retries it and the repeat writes nothing twice (promoted run).
TASK_CASES.push(taskCase('finish-crash', { state: 'Finish', kind: 'crash', entry: 1 }, 'healthy', ['promoted'], 'retries Finish, which is repeatable; the promotion stands'));
// Finish of a rolled-back run times out after writing: retried, the record says rolled_back once.
TASK_CASES.push(taskCase('finish-timeout', { state: 'Finish', kind: 'timeout', entry: 1 }, 'bad', ['rolled_back'], 'retries Finish; the rollback is recorded once'));

// ---- Prometheus ----------------------------------------------------------------------------------------------

function prometheusCase(name: string, mode: PrometheusFaultMode, fault: string, plan?: Record<string, unknown>): FaultCase {
  return {
    name,
    fault,
    expected: 'fails closed: the analyses record errors, and past the error limit the run rolls back',
    // Metrics that cannot be read are never a pass: each Analyze records an error measurement, and past the
    // plan's errorLimit the run rolls back to stable with the query failure as the reason.
    async execute(ctx) {
      const proxy = await ctx.env.prometheusProxy();
      ctx.cleanups.push(() => proxy.set({ kind: 'pass' }));
      return oneRun(ctx, {
        metricsUrl: proxy.url,
        ...(plan && { plan }),
        outcomes: ['rolled_back'],
        // Mid-step: after the first analysis passed, with the canary at 20%.
        hooks: (_svc, mark) => ({ onStateEntered: onEntry('Decide', 1, () => void proxy.set(mode).then(mark)) }),
      });
    },
  };
}

// The adapter's query timeout is DEFAULT_QUERY_TIMEOUT_MS (10 s, lambdas/adapters/prometheus/prometheus-metrics-source.ts).
const SLOW_MS = 11_000;

const PROMETHEUS_CASES: FaultCase[] = [
  prometheusCase('prometheus-down', { kind: 'down' }, 'Prometheus stops answering mid-step (connections refused)'),
  prometheusCase('prometheus-slow', { kind: 'slow', delayMs: SLOW_MS }, `Prometheus answers after ${SLOW_MS / 1000} s, past the 10 s query timeout`, { ...FAST_PLAN, analysis: { ...FAST_ANALYSIS, errorLimit: 2 } }),
  prometheusCase('prometheus-garbage', { kind: 'garbage' }, 'Prometheus answers HTTP 200 with HTML, or JSON of the wrong shape'),
];

// ---- ELB API -------------------------------------------------------------------------------------------------

function elbSetWeightCase(name: string, fault: string, inject: (ctx: CaseContext) => void): FaultCase {
  return {
    name,
    fault,
    expected: 'SetWeight gives up after its retries and the run rolls back; the rollback retries through the rest of the outage',
    exclusive: true,
    // The ELB API fails from the second SetWeight (canary at 20%) until the Rollback's second attempt: longer
    // than SetWeight's retries, into the rollback. SetWeight is caught, Rollback retries until the API answers
    // and the run ends rolled_back at 0%.
    execute: (ctx) => {
      ctx.cleanups.push(() => ctx.env.alb.faults.clear());
      return oneRun(ctx, {
        outcomes: ['rolled_back'],
        hooks: (_svc, mark) => ({
          onStateEntered: onEntry('SetWeight', 2, () => {
            inject(ctx);
            mark();
          }),
          taskFaults: {
            Rollback: (attempt) => {
              if (attempt === 2) ctx.env.alb.faults.clear();
              return undefined;
            },
          },
        }),
      });
    },
  };
}

const ELB_CASES: FaultCase[] = [
  elbSetWeightCase('elb-throttling', 'the ELB API throttles every call (400 Throttling "Rate exceeded") from mid-step into the rollback', (ctx) => ctx.env.alb.faults.throttleNext(1_000_000)),
  elbSetWeightCase('elb-5xx', 'the ELB API answers 500 InternalFailure to every call from mid-step into the rollback', (ctx) =>
    ctx.env.alb.faults.failNext(1_000_000, { code: 'InternalFailure', status: 500 }),
  ),
  {
    name: 'elb-throttling-rollback-exhausted',
    fault: 'the ELB API throttles every call for 4 s from the moment the rollback starts (past all its retries)',
    expected: 'ends rollback_failed with the manual command; the safety net retries until the API answers and restores stable',
    exclusive: true,
    // The rollback of a bad canary cannot move traffic before its retries run out: Finish records rollback_failed
    // with the manual command, and the safety net's delivery (retried, as EventBridge does) restores stable once
    // the API answers again.
    execute: (ctx) => {
      ctx.cleanups.push(() => ctx.env.alb.faults.clear());
      return oneRun(ctx, {
        canary: 'bad',
        outcomes: ['rollback_failed'],
        safetyNet: true,
        hooks: (_svc, mark) => ({
          onStateEntered: onEntry('Rollback', 1, () => {
            ctx.env.alb.faults.throttleNext(1_000_000);
            mark();
            setTimeout(() => ctx.env.alb.faults.clear(), 4000);
          }),
        }),
      });
    },
  },
];

// ---- DynamoDB ------------------------------------------------------------------------------------------------

/** Every request of the case's service and its runs (run ids start with the service name). */
const scoped = (svc: Service, fault: DynamoDbFault, more: Partial<DynamoDbFaultRule> = {}): DynamoDbFaultRule => ({ bodyContains: svc.name, fault, ...more });

function dynamoBriefCase(name: string, fault: string, rules: (svc: Service) => DynamoDbFaultRule[], state: string, entry: number): FaultCase {
  return {
    name,
    fault,
    expected: 'the typed error is retried by the ASL; the run goes on and promotes, every record written once',
    // A short burst the Retry of ThrottlingError/TransientError rides out (or, for a conflict, an answer the
    // adapter reads correctly): nothing rolls back, nothing is recorded twice, the healthy canary is promoted.
    async execute(ctx) {
      const handles: DynamoDbFaultHandle[] = [];
      const observation = await oneRun(ctx, {
        outcomes: ['promoted'],
        hooks: (svc, mark) => ({
          onStateEntered: onEntry(state, entry, () => {
            for (const rule of rules(svc)) handles.push(ctx.env.dynamo.add(rule));
            ctx.cleanups.push(() => handles.forEach((h) => h.remove()));
            mark();
          }),
        }),
      });
      // A rule that matched nothing would make the case pass without a fault: say so.
      const unserved = handles.filter((h) => h.served === 0).length;
      return { ...observation, problems: unserved > 0 || handles.length === 0 ? [`${unserved || 'every'} fault rule(s) never met a request`] : [] };
    },
  };
}

function dynamoOutageCase(name: string, fault: string, kind: DynamoDbFault, canary: 'healthy' | 'bad', state: string, entry: number, seconds: number): FaultCase {
  return {
    name,
    fault,
    expected: 'moves traffic back to stable first; records it could not write are written once the table answers (Finish, then the safety net)',
    // Traffic first, records after: the rollback puts all traffic on stable while the table is unreachable, and
    // the rollback-started (with its reason), rolled-back and finished events and the rolled_back outcome exist
    // once the table is back, written by Finish's retries or the safety net's.
    execute: (ctx) =>
      oneRun(ctx, {
        canary,
        outcomes: ['rolled_back'],
        hooks: (svc, mark) => ({
          onStateEntered: onEntry(state, entry, () => {
            const handle = ctx.env.dynamo.add(scoped(svc, kind));
            ctx.cleanups.push(() => handle.remove());
            mark();
            setTimeout(() => handle.remove(), seconds * 1000);
          }),
        }),
        notes: () => [`table back after ${seconds} s`],
      }),
  };
}

const DYNAMODB_CASES: FaultCase[] = [
  dynamoBriefCase('dynamodb-throttled-brief', 'DynamoDB answers ProvisionedThroughputExceededException to the next 2 requests, mid-step', (svc) => [scoped(svc, 'provisioned-throughput', { count: 2 })], 'SetWeight', 2),
  dynamoBriefCase(
    'dynamodb-5xx-brief',
    'DynamoDB answers 500 InternalServerError, then 503 ServiceUnavailable, mid-step',
    (svc) => [scoped(svc, 'internal-server-error', { count: 1 }), scoped(svc, 'service-unavailable', { count: 1 })],
    'Analyze',
    2,
  ),
  dynamoBriefCase('dynamodb-write-applied-answer-lost', 'an event PutItem is applied but answered 500; the retry meets ConditionalCheckFailed', (svc) => [scoped(svc, 'applied-then-internal-error', { operations: ['PutItem'], count: 1 })], 'SetWeight', 2),
  dynamoBriefCase(
    'dynamodb-lock-conflict',
    "the lock's TransactWriteItems is cancelled [ConditionalCheckFailed, None] once, with no holder left to read",
    (svc) => [scoped(svc, { kind: 'transaction-canceled', reasons: ['ConditionalCheckFailed', 'None'] }, { operations: ['TransactWriteItems'], count: 1 })],
    'Start',
    1,
  ),
  dynamoBriefCase(
    'dynamodb-transaction-conflict',
    "the lock's TransactWriteItems is cancelled [TransactionConflict, None] twice",
    (svc) => [scoped(svc, { kind: 'transaction-canceled', reasons: ['TransactionConflict', 'None'] }, { operations: ['TransactWriteItems'], count: 2 })],
    'Start',
    1,
  ),
  dynamoOutageCase('dynamodb-throttled-long', 'DynamoDB throttles every request (ThrottlingException) for 12 s from mid-step, past every retry', 'throttling', 'healthy', 'SetWeight', 2, 12),
  dynamoOutageCase('dynamodb-down-mid-step', 'DynamoDB is unreachable (connections reset) from mid-step until 15 s later, after the rollback', 'down', 'healthy', 'SetWeight', 2, 15),
  dynamoOutageCase('dynamodb-down-rollback', 'DynamoDB is unreachable for 12 s from the moment the rollback of a bad canary starts', 'down', 'bad', 'Rollback', 1, 12),
];

// ---- The execution ends abnormally ---------------------------------------------------------------------------

const EXECUTION_CASES: FaultCase[] = [
  {
    name: 'execution-aborted',
    fault: 'the execution is stopped (StopExecution) mid-step, the canary at 50%',
    expected: 'the safety net (ABORTED) restores stable, records it aborted and frees the lock',
    // ABORTED mid-step: no Task runs any more; the safety net puts all traffic on stable and records aborted.
    execute: (ctx) =>
      oneRun(ctx, {
        outcomes: ['aborted'],
        safetyNet: true,
        hooks: (_svc, mark, executionArn) => ({ onStateEntered: onEntry('WaitInterval', 3, () => void ctx.env.stopExecution(executionArn).then(mark)) }),
      }),
  },
  {
    name: 'execution-aborted-in-rollback',
    fault: 'the execution is stopped while the rollback of a bad canary runs',
    expected: 'the safety net finishes what the rollback started: stable at 100%, the record says aborted or rolled_back',
    // Stopped during Rollback: whatever the Task did, the safety net ends with all traffic on stable and the record
    // either rolled_back (the rollback had completed) or aborted (it restored stable itself).
    execute: (ctx) =>
      oneRun(ctx, {
        canary: 'bad',
        outcomes: ['aborted', 'rolled_back'],
        safetyNet: false,
        hooks: (_svc, mark, executionArn) => ({ onStateEntered: onEntry('Rollback', 1, () => void ctx.env.stopExecution(executionArn).then(mark)) }),
      }),
  },
  {
    name: 'execution-timed-out',
    fault: 'the execution times out (TIMED_OUT) mid-step, the canary at 50%',
    expected: 'the safety net (TIMED_OUT) restores stable and records it aborted',
    // The local runner has no execution timeout (the ASL sets no TimeoutSeconds and aws-local-stepfunctions reports
    // only SUCCEEDED/FAILED/ABORTED), so the case stops the execution and delivers the status change as TIMED_OUT
    // with States.Timeout, which is what EventBridge sends for an execution that ran out of time.
    execute: (ctx) =>
      oneRun(ctx, {
        outcomes: ['aborted'],
        safetyNet: true,
        hooks: (_svc, mark, executionArn) => ({
          onStateEntered: onEntry('WaitInterval', 3, () => void ctx.env.stopExecution(executionArn).then(mark)),
          deliver: (event, safetyNet) =>
            safetyNet({ ...event, detail: { ...event.detail, status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds' } }),
        }),
      }),
  },
  {
    name: 'execution-failed-unknown',
    fault: 'the execution fails by an unknown error (States.Runtime) mid-step, the canary at 50%',
    expected: 'the safety net (FAILED) restores stable and records it aborted',
    // FAILED by something no Catch handled: the stand-in reports States.Runtime; the safety net restores stable.
    execute: (ctx) =>
      oneRun(ctx, {
        outcomes: ['aborted'],
        safetyNet: true,
        hooks: (_svc, mark) => {
          const controller = new AbortController();
          return {
            onStateEntered: onEntry('WaitInterval', 3, () => {
              mark();
              controller.abort();
            }),
            run: async (input, options: LocalRunOptions, plain) => {
              options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
              await sleep(0);
              await plain(input, { ...options, signal: controller.signal });
              throw new Error('the state machine hit an internal error: States.Runtime (injected by the fault matrix)');
            },
          };
        },
      }),
  },
];

// ---- The safety net's delivery -------------------------------------------------------------------------------

const SAFETY_NET_CASES: FaultCase[] = [
  {
    name: 'safety-net-twice',
    fault: 'the ABORTED status change is delivered twice (EventBridge is at-least-once)',
    expected: 'the second delivery finds the run ended and does nothing; one safety-net event',
    // At-least-once delivery: the repeat changes nothing, so the run has exactly one safety-net event.
    async execute(ctx) {
      const observation = await oneRun(ctx, {
        outcomes: ['aborted'],
        safetyNet: true,
        hooks: (_svc, mark, executionArn) => ({
          onStateEntered: onEntry('WaitInterval', 3, () => void ctx.env.stopExecution(executionArn).then(mark)),
          deliver: async (event, safetyNet) => {
            const first = await safetyNet(event);
            await safetyNet(event);
            return first;
          },
        }),
      });
      const runId = observation.runs[0].run.runId;
      const events = (await ctx.env.runLog.listEvents(runId)).filter((e) => e.type === 'safety-net');
      return { ...observation, problems: events.length > 1 ? [`${events.length} safety-net events for one run`] : [] };
    },
  },
  {
    name: 'safety-net-late',
    fault: "a run's ABORTED status change arrives again late, while a new rollout of the same service is mid-step",
    expected: 'the late delivery finds its run ended and leaves the new run alone; the new run promotes',
    // A late (duplicate) delivery must not touch a later run's traffic: it finds its own run ended and does nothing,
    // and the new rollout of the same service goes on to promote.
    async execute(ctx) {
      const svc = await ctx.service();
      const aId = ctx.runId(svc.name);
      const a = await ctx.env.start(aId, { service: svc.name, image: IMAGE }, { onStateEntered: onEntry('WaitInterval', 3, () => void ctx.env.stopExecution(ctx.env.executionArn(aId))) });
      await a.settled();
      const problems: string[] = [];
      let lateAt: number | undefined;
      const late = async () => {
        const event = ctx.env.statusChanges(a.runId).at(-1);
        if (!event) return problems.push('the first run had no status change to deliver again');
        const before = svc.canaryShare();
        lateAt = Date.now();
        await safetyNetHandler(event).catch((error: unknown) => problems.push(`the late delivery threw: ${error instanceof Error ? error.message : String(error)}`));
        if (svc.canaryShare() !== before) problems.push(`the late delivery moved the new run's canary from ${before}% to ${svc.canaryShare()}%`);
        return undefined;
      };
      let pending: Promise<unknown> = Promise.resolve();
      const b = await ctx.env.start(ctx.runId(svc.name), { service: svc.name, image: IMAGE }, { onStateEntered: onEntry('WaitInterval', 2, () => {
            pending = late();
          }) });
      await b.settled();
      await pending;
      if (svc.timeline.some((p) => lateAt !== undefined && p.at >= lateAt && p.canary === 0)) problems.push('the new run was rolled back after the late delivery');
      return {
        runs: [
          { label: 'new run', run: b, service: svc, outcomes: ['promoted'] },
          { label: 'aborted run', run: a, service: svc, outcomes: ['aborted'], safetyNet: true, ownsTraffic: false },
        ],
        problems,
      };
    },
  },
];

const CLIENTS = 30;

// ---- Concurrency, triggers, clients --------------------------------------------------------------------------

const CONCURRENCY_CASES: FaultCase[] = [
  {
    name: 'two-services-at-once',
    fault: 'two rollouts of two services at once: one healthy, one with a bad canary',
    expected: 'each ends on its own: the healthy one promoted, the bad one rolled back; no cross-talk',
    // Two services, two locks, two listeners: the bad one rolls back, the good one promotes, neither touches the other.
    async execute(ctx) {
      const [good, bad] = await Promise.all([ctx.service('a'), ctx.service('b')]);
      bad.traffic.setProfile('canary', BAD_CANARY);
      const [x, y] = await Promise.all([ctx.env.start(ctx.runId(good.name), { service: good.name, image: IMAGE }), ctx.env.start(ctx.runId(bad.name), { service: bad.name, image: IMAGE })]);
      await Promise.all([x.settled(), y.settled()]);
      const problems = good.timeline.some((p, i) => i > 0 && p.canary < good.timeline[i - 1].canary) ? ['the healthy service saw its canary weight go down'] : [];
      return {
        runs: [
          { label: 'bad service', run: y, service: bad, outcomes: ['rolled_back'] },
          { label: 'healthy service', run: x, service: good, outcomes: ['promoted'] },
        ],
        problems,
      };
    },
  },
  {
    name: 'same-service-twice',
    fault: 'a second rollout of the same service starts while the first is mid-step',
    expected: 'the second is refused with RolloutInProgressError naming the first; nothing shifts; the first promotes',
    // The service lock: the second execution is refused at Start (no record, no shift), its error names the run in
    // progress, and the first completes untouched.
    async execute(ctx) {
      const svc = await ctx.service();
      let second: RunHandle | undefined;
      let starting: Promise<unknown> = Promise.resolve();
      const first = await ctx.env.start(
        ctx.runId(svc.name),
        { service: svc.name, image: IMAGE },
        {
          onStateEntered: onEntry('WaitInterval', 1, () => {
            starting = ctx.env.start(ctx.runId(svc.name), { service: svc.name, image: `${IMAGE}-other` }).then((h) => (second = h));
          }),
        },
      );
      await first.settled();
      await starting;
      const problems: string[] = [];
      if (!second) return { runs: [{ label: 'first', run: first, service: svc, outcomes: ['promoted'] }], problems: ['the second rollout was never started'] };
      const view = await second.settled();
      if (view.error !== 'RolloutInProgressError') problems.push(`the second rollout ended ${view.status} ${view.error ?? ''}, not refused with RolloutInProgressError`);
      else if (!(view.cause ?? '').includes(first.runId)) problems.push(`the refusal does not name the run in progress (${first.runId}): ${view.cause}`);
      if (svc.timeline.some((p, i) => i > 0 && p.canary < svc.timeline[i - 1].canary)) problems.push("the first run's canary weight went down");
      return {
        runs: [
          { label: 'first', run: first, service: svc, outcomes: ['promoted'] },
          { label: 'second', run: second, service: svc, outcomes: ['none'], ownsTraffic: false },
        ],
        problems,
      };
    },
  },
  {
    name: 'ecr-same-digest-twice',
    fault: 'the same ECR digest is pushed twice while its rollout runs, and once more after it ended',
    expected: 'one execution and one run per digest; the later pushes start nothing',
    // ECR events may repeat: the execution is named after service and digest, so the same digest starts one run.
    async execute(ctx) {
      const svc = await ctx.service();
      const digest = `sha256:${randomBytes(32).toString('hex')}`;
      const runId = executionNameFor(svc.name, digest);
      const push = () =>
        ecrTrigger({ service: svc.name, account: '123456789012', region: process.env.AWS_REGION ?? 'eu-west-1', detail: { 'repository-name': 'payments-api', 'image-digest': digest, 'image-tag': 'v2.4.1', 'action-type': 'PUSH', result: 'SUCCESS' } });
      let again: Promise<unknown> = Promise.resolve();
      const { entered } = ctx.env.prepare(runId, { onStateEntered: onEntry('WaitInterval', 1, () => {
        again = push();
      }) });
      const started = await push();
      const run: RunHandle = { runId, executionArn: started.executionArn, entered, settled: () => ctx.env.sfnStandIn.settled(started.executionArn) };
      await run.settled();
      await again;
      const third = await push();
      const problems: string[] = [];
      const executions = ctx.env.sfnStandIn.executions().filter((e) => e.name.startsWith(svc.name));
      if (executions.length !== 1) problems.push(`${executions.length} executions for one digest`);
      if (third.started) problems.push('a push after the run ended started it again');
      const runs = await ctx.env.runLog.listRuns(svc.name);
      if (runs.length !== 1) problems.push(`${runs.length} run records for one digest`);
      return { runs: [{ label: 'run', run, service: svc, outcomes: ['promoted'] }], problems };
    },
  },
  {
    name: 'sticky-clients',
    fault: 'clients keep the ALB stickiness cookie (target group stickiness on) while a bad canary rolls back',
    expected: 'after the rollback no request reaches the canary, cookie or not',
    // Stickiness wins over weight on an ALB, so a rollback that only sets the canary's weight to 0 keeps sticky
    // clients on it; the router must take the canary group out of the action, and then 0 requests reach it.
    async execute(ctx) {
      const svc = await ctx.service(undefined, { stickySeconds: 3600 });
      svc.traffic.setProfile('canary', BAD_CANARY);
      await Promise.all([ctx.env.alb.waitForHealthy(svc.stableTargetGroupArn), ctx.env.alb.waitForHealthy(svc.canaryTargetGroupArn)]);
      const canaryCount = () => ctx.env.alb.routedCounts()[svc.canaryTargetGroupName] ?? 0;
      let running = true;
      const client = async () => {
        let cookie = '';
        while (running) {
          try {
            const res = await fetch(`${svc.listenerUrl}/`, { headers: cookie ? { cookie } : {} });
            const set = res.headers.getSetCookie().map((c) => c.split(';')[0]);
            if (set.length > 0) cookie = set.join('; ');
            await res.arrayBuffer();
          } catch {
            // the listener may be busy; the next request tries again
          }
          await sleep(20);
        }
      };
      // The clients arrive once the canary takes 20%: about one in five gets the canary's cookie and keeps it.
      const clients: Promise<void>[] = [];
      let atZero: number | undefined;
      const unsubscribe = ctx.env.alb.onWeightsChanged((event) => {
        if (event.listenerArn !== svc.listenerArn) return;
        const share = svc.canaryShare();
        if (share > 0 && clients.length === 0) for (let i = 0; i < CLIENTS; i++) clients.push(client());
        if (share === 0 && clients.length > 0) atZero ??= canaryCount();
      });
      ctx.cleanups.push(unsubscribe, () => (running = false));
      const run = await ctx.env.start(ctx.runId(svc.name), { service: svc.name, image: IMAGE });
      await run.settled();
      await sleep(2000);
      running = false;
      await Promise.all(clients);
      unsubscribe();
      const after = atZero === undefined ? undefined : canaryCount() - atZero;
      const problems = after === undefined ? ['the canary weight never went back to 0'] : after > 0 ? [`${after} requests reached the canary after the rollback`] : [];
      if (atZero === 0) problems.push('no sticky client reached the canary before the rollback, so the case proves nothing');
      return { runs: [{ label: 'run', run, service: svc, outcomes: ['rolled_back'] }], problems, notes: [`canary served ${atZero ?? canaryCount()} requests before the rollback`] };
    },
  },
];

/** Every case, in the order the matrix reports them. */
export const FAULT_CASES: readonly FaultCase[] = [...TASK_CASES, ...PROMETHEUS_CASES, ...ELB_CASES, ...DYNAMODB_CASES, ...EXECUTION_CASES, ...SAFETY_NET_CASES, ...CONCURRENCY_CASES];

/** The cases whose names match any of `patterns` (exact, or a glob with `*`); all when none is given. */
export function selectCases(patterns: readonly string[]): FaultCase[] {
  if (patterns.length === 0) return [...FAULT_CASES];
  const tests = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  const chosen = FAULT_CASES.filter((c) => tests.some((t) => t.test(c.name)));
  if (chosen.length === 0) throw new Error(`--case ${patterns.join(', ')} matches no case; --list shows them`);
  return chosen;
}
