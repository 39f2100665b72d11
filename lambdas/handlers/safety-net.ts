import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { parseOrThrow } from '../domain/validation';
import { safetyNet, type ExecutionStatusChange, type SafetyNetResult } from '../use-cases/safety-net';
import { logger, runtimeDeps } from './runtime';

export type SafetyNetEvent = EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusChange>;
export type SafetyNetOutput = SafetyNetResult;

const detailSchema = z.looseObject({
  executionArn: z.string().min(1),
  name: z.string().min(1),
  status: z.string().min(1),
  error: z.string().nullish(),
  cause: z.string().nullish(),
});

/** EventBridge: an execution ended ABORTED, TIMED_OUT or FAILED; make sure its traffic is on stable and its record says so. */
export const handler = async (event: SafetyNetEvent): Promise<SafetyNetOutput> => {
  const detail = parseOrThrow(detailSchema, event.detail, 'detail', 'status change event');
  logger.appendKeys({ runId: detail.name });
  const result = await safetyNet(runtimeDeps(), detail);
  logger.info('safety net', { ...result });
  return result;
};
