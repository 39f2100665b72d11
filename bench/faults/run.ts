import { describeError } from '../../lambdas/domain/errors';
import type { FaultEnvironment } from './environment';
import { caseContext, score, type FaultCase, type ScoredCase } from './matrix';

/**
 * Runs the cases in one environment: up to `concurrency` side by side, an exclusive case alone (its fault is
 * global). Each case has a deadline; a case that throws or overruns is a failed result that says so.
 */

export interface RunMatrixOptions {
  /** Cases at once; default 3. */
  readonly concurrency?: number;
  /** Milliseconds one case may take; default 180 s. */
  readonly caseTimeoutMs?: number;
  /** Called as each case ends, in the order they end. */
  readonly onResult?: (scored: ScoredCase) => void;
}

const failed = (fault: FaultCase, problem: string, wallSeconds: number): ScoredCase => ({
  result: { name: fault.name, finalCanaryWeight: Number.NaN, outcome: 'error', recordsLost: 0, secondsToStable: null, ok: false },
  fault: fault.fault,
  expected: fault.expected,
  problems: [problem],
  notes: [],
  lost: [],
  wallSeconds,
});

/** Runs one case to its score; never throws. */
export async function runCase(env: FaultEnvironment, fault: FaultCase, timeoutMs = 180_000): Promise<ScoredCase> {
  const ctx = caseContext(env, fault);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the case did not end within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    const observation = await Promise.race([fault.execute(ctx), deadline]);
    for (const cleanup of ctx.cleanups) await cleanup();
    return await score(env, fault, observation, (Date.now() - started) / 1000);
  } catch (error) {
    return failed(fault, `the case broke: ${describeError(error).message}`, (Date.now() - started) / 1000);
  } finally {
    clearTimeout(timer);
    for (const cleanup of ctx.cleanups) await Promise.resolve().then(cleanup).catch(() => undefined);
  }
}

/** Runs every case and returns the scores in the cases' order. */
export async function runMatrix(env: FaultEnvironment, cases: readonly FaultCase[], options: RunMatrixOptions = {}): Promise<ScoredCase[]> {
  const concurrency = Math.max(1, options.concurrency ?? 3);
  const results = new Map<string, ScoredCase>();
  // Exclusive cases last, so that they do not hold the shared ones back while the others drain.
  const queue = [...cases.filter((c) => !c.exclusive), ...cases.filter((c) => c.exclusive)];
  const running = new Set<Promise<void>>();
  let exclusiveRunning = false;
  const launch = (fault: FaultCase) => {
    exclusiveRunning = fault.exclusive === true;
    const job = runCase(env, fault, options.caseTimeoutMs).then((scored) => {
      results.set(fault.name, scored);
      options.onResult?.(scored);
      if (fault.exclusive) exclusiveRunning = false;
      running.delete(job);
    });
    running.add(job);
  };
  while (queue.length > 0 || running.size > 0) {
    const next = queue[0];
    const canStart = next !== undefined && !exclusiveRunning && running.size < concurrency && (!next.exclusive || running.size === 0);
    if (canStart) {
      queue.shift();
      launch(next);
      continue;
    }
    await Promise.race(running);
  }
  return cases.map((c) => results.get(c.name)!);
}
