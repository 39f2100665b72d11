import { z } from 'zod';
import { parseOrThrow } from '../domain/validation';
import type { Cursor } from '../domain/decision';
import type { RunContext } from '../domain/run';
import type { RollbackProgress } from '../use-cases/rollback';
import type { FinishResult } from '../use-cases/finish';

/**
 * The shapes Step Functions hands each Task. The run context was validated by Start; here the handlers
 * check that the state is one this workflow produced, so a hand-edited or foreign input fails clearly.
 */

const count = z.number().int().min(0);

const decisionSchema = z.looseObject({
  action: z.enum(['continue', 'advance', 'promote', 'rollback']),
  reason: z.looseObject({ kind: z.string(), message: z.string(), stepIndex: count, weight: z.number() }),
});

export const cursorSchema = z.looseObject({
  stepIndex: count,
  weight: z.number().min(0).max(100),
  passedIntervals: count,
  consecutiveFailures: count,
  totalFailures: count,
  consecutiveErrors: count,
  consecutiveNoData: count,
  analyses: count,
  stepAnalyses: count,
  seq: count,
  waitSeconds: z.number().int().min(1),
  troubleSince: z.string().optional(),
  decision: decisionSchema.optional(),
  // The statistical judge's state (lambdas/domain/statistics): by check name, and the last cumulative request counts.
  underpoweredIntervals: count.optional(),
  statistics: z.record(z.string(), z.looseObject({ intervals: count })).optional(),
  counts: z
    .looseObject({
      since: count,
      until: count,
      canary: z.looseObject({ requests: count, errors: count, slow: z.record(z.string(), count.nullable()) }),
      stable: z.looseObject({ requests: count, errors: count, slow: z.record(z.string(), count.nullable()) }),
    })
    .optional(),
});

export const runSchema = z.looseObject({
  runId: z.string().min(1),
  executionArn: z.string().min(1),
  service: z.string().min(1),
  image: z.string().min(1),
  dryRun: z.boolean(),
  startedAt: z.string(),
  plan: z.looseObject({ steps: z.array(z.looseObject({ weight: z.number() })).min(1), analysis: z.looseObject({}), checks: z.array(z.looseObject({})), rollback: z.looseObject({}) }),
  traffic: z.looseObject({ kind: z.string() }),
  metrics: z.looseObject({ kind: z.string(), resolved: z.looseObject({}) }),
  workload: z.looseObject({ kind: z.string() }),
  notifications: z.looseObject({}),
});

const errorInfo = z.looseObject({ Error: z.string(), Cause: z.string() });

const rollbackSchema = z.looseObject({
  startedAt: z.string(),
  reason: decisionSchema.shape.reason,
  weight: z.number(),
  complete: z.boolean(),
  waitSeconds: z.number(),
  seq: count,
});

const stepStateSchema = z.looseObject({ run: runSchema, cursor: cursorSchema });
const rollbackStateSchema = stepStateSchema.extend({ error: errorInfo.optional(), rollback: rollbackSchema.optional() });
const finishResultSchema = z.looseObject({ runId: z.string(), outcome: z.string(), reason: z.string(), endedAt: z.string(), recordAttempts: count.optional() });
const finishStateSchema = rollbackStateSchema.extend({ rollbackError: errorInfo.optional(), result: finishResultSchema.optional() });

// The schemas check structure; the types are the domain's (Start built every field of them).
type Step = { run: RunContext; cursor: Cursor };
type ErrorInfo = { Error: string; Cause: string };

export const parseStepState = (event: unknown): Step => parseOrThrow(stepStateSchema, event, 'state', 'workflow state') as unknown as Step;

export const parseRollbackState = (event: unknown) =>
  parseOrThrow(rollbackStateSchema, event, 'state', 'workflow state') as unknown as Step & { error?: ErrorInfo; rollback?: RollbackProgress };

export const parseFinishState = (event: unknown) =>
  parseOrThrow(finishStateSchema, event, 'state', 'workflow state') as unknown as Step & { error?: ErrorInfo; rollback?: RollbackProgress; rollbackError?: ErrorInfo; result?: FinishResult };

const startEventSchema = z.strictObject({
  input: z.unknown(),
  runId: z.string().min(1),
  executionArn: z.string().min(1),
  startedAt: z.string().min(1),
});

export const parseStartEvent = (event: unknown) => parseOrThrow(startEventSchema, event, 'event', 'Start event');
