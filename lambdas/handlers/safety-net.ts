import type { EventBridgeEvent, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { describeError } from '../domain/errors';
import { parseOrThrow } from '../domain/validation';
import { safetyNet, type ExecutionStatusChange, type SafetyNetResult } from '../use-cases/safety-net';
import { logger, runtimeDeps } from './runtime';

/** A status change as EventBridge emits it; tests and the local Step Functions stand-in hand it over directly. */
export type SafetyNetEvent = EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusChange>;
/** What the safety-net queue delivers in AWS: each record's body is one SafetyNetEvent as JSON. */
export type SafetyNetQueueEvent = SQSEvent;
export type SafetyNetInput = SafetyNetEvent | SafetyNetQueueEvent;
/** The result for a direct event. */
export type SafetyNetOutput = SafetyNetResult;
/** For the queue: the records to receive again later (the event source mapping reports batch item failures). */
export type SafetyNetQueueOutput = SQSBatchResponse;

const eventSchema = z.looseObject({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.looseObject({
    executionArn: z.string().min(1),
    name: z.string().min(1),
    status: z.string().min(1),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

const queueEventSchema = z.looseObject({
  Records: z.array(z.looseObject({ messageId: z.string().min(1), body: z.string(), eventSource: z.literal('aws:sqs') })).min(1),
});

const isQueueEvent = (event: SafetyNetInput): event is SafetyNetQueueEvent => typeof event === 'object' && event !== null && 'Records' in event;

/** Runs the use case for one status change, with the run id on every log line of it. */
async function handleChange(change: ExecutionStatusChange): Promise<SafetyNetOutput> {
  logger.appendKeys({ runId: change.name });
  try {
    const result = await safetyNet(runtimeDeps(), change);
    logger.info('safety net', { ...result });
    return result;
  } finally {
    logger.removeKeys(['runId']);
  }
}

/** The status change in a queue record's body; throws InputValidationError (or SyntaxError) naming what is wrong. */
function parseBody(record: SQSRecord): ExecutionStatusChange {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch (error) {
    throw new SyntaxError(`body of message ${record.messageId} is not JSON: ${describeError(error).message}`, { cause: error });
  }
  return parseOrThrow(eventSchema, body, 'body', 'status change event').detail;
}

/**
 * One record: handled, or reported as a failure so that SQS delivers it again after the visibility timeout, and
 * after maxReceiveCount receives (a day) moves it to the dead-letter queue.
 *
 * A body that is not a status change is reported as a failure too, not dropped and not deleted: only the
 * safety-net rule may send to the queue, so such a body means the event's shape changed under us or a person
 * replayed a wrong one, and behind it may be a run whose traffic is still split (rule 2: fail safe). Dropping it
 * would lose that run for good. Sending it to the dead-letter queue at once would need an SQS client and
 * sqs:SendMessage in the safety net for a case that should not happen; retrying costs one short invocation per
 * visibility timeout, keeps the event for a fixed handler deployed within the day, and still ends in the
 * dead-letter queue. Each attempt logs it as an error with the message id and receive count.
 */
async function handleRecord(record: SQSRecord): Promise<SQSBatchItemFailure | undefined> {
  const attempt = { messageId: record.messageId, receiveCount: record.attributes?.ApproximateReceiveCount };
  let change: ExecutionStatusChange;
  try {
    change = parseBody(record);
  } catch (error) {
    logger.error('safety net: the queued message is not a status change event; it stays queued and reaches the dead-letter queue after its last receive', {
      ...attempt,
      error: describeError(error).message,
      body: record.body.slice(0, 1000),
    });
    return { itemIdentifier: record.messageId };
  }
  try {
    await handleChange(change);
    return undefined;
  } catch (error) {
    // Traffic may be back on stable with the records unwritten: the next receive writes them.
    logger.error('safety net failed; the status change will be delivered again', { ...attempt, runId: change.name, error: describeError(error).message });
    return { itemIdentifier: record.messageId };
  }
}

/**
 * An execution ended ABORTED, TIMED_OUT or FAILED: make sure its traffic is on stable and its record says so.
 * From the queue: every record, and the ones that failed for SQS to deliver again. A direct event: its result,
 * and the error thrown when it failed.
 */
export async function handler(event: SafetyNetQueueEvent): Promise<SafetyNetQueueOutput>;
export async function handler(event: SafetyNetEvent): Promise<SafetyNetOutput>;
export async function handler(event: SafetyNetInput): Promise<SafetyNetOutput | SafetyNetQueueOutput>;
export async function handler(event: SafetyNetInput): Promise<SafetyNetOutput | SafetyNetQueueOutput> {
  if (!isQueueEvent(event)) return handleChange(parseOrThrow(eventSchema, event, 'event', 'status change event').detail);
  parseOrThrow(queueEventSchema, event, 'event', 'SQS event');
  const batchItemFailures: SQSBatchItemFailure[] = [];
  for (const record of event.Records) {
    const failure = await handleRecord(record);
    if (failure) batchItemFailures.push(failure);
  }
  return { batchItemFailures };
}
