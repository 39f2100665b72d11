import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../../lambdas/handlers/logger';
import { handler, type SafetyNetEvent } from '../../lambdas/handlers/safety-net';
import { safetyNet, type SafetyNetResult } from '../../lambdas/use-cases/safety-net';

// The other half of the queue the stack wires (canary-orchestrator.test.ts, "the safety net"): the event source mapping
// reports batch item failures, so the handler must name the records to receive again, and only those.

jest.mock('../../lambdas/use-cases/safety-net', () => ({ safetyNet: jest.fn() }));
jest.mock('../../lambdas/handlers/runtime', () => ({ ...jest.requireActual<object>('../../lambdas/handlers/logger'), runtimeDeps: () => ({}) }));

const useCase = jest.mocked(safetyNet);
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:canary:run-1';

const statusChange = (name: string, status = 'ABORTED'): SafetyNetEvent => ({
  version: '0',
  id: `event-${name}`,
  'detail-type': 'Step Functions Execution Status Change',
  source: 'aws.states',
  account: '123456789012',
  time: '2026-12-01T10:00:00Z',
  region: 'eu-west-1',
  resources: [ARN],
  detail: { executionArn: ARN.replace('run-1', name), name, status, error: null, cause: null },
});

const record = (messageId: string, body: string): SQSRecord => ({
  messageId,
  receiptHandle: `handle-${messageId}`,
  body,
  attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1764583200000', SenderId: 'AIDAEXAMPLE', ApproximateFirstReceiveTimestamp: '1764583200001' },
  messageAttributes: {},
  md5OfBody: '0',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:safety-net',
  awsRegion: 'eu-west-1',
});

const queued = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const done = (runId: string): SafetyNetResult => ({ runId, action: 'restored-stable', detail: 'traffic restored to stable' });

beforeEach(() => {
  useCase.mockReset();
});

describe('the safety-net handler, fed by the queue', () => {
  it('handles every record and reports only the one whose safety net failed, to be received again', async () => {
    useCase.mockImplementation(async (_deps, change) => {
      if (change.name === 'run-2') throw new Error('the table did not answer');
      return done(change.name);
    });
    const errors = jest.spyOn(logger, 'error').mockImplementation(() => undefined);

    const response = await handler(queued(record('m1', JSON.stringify(statusChange('run-1'))), record('m2', JSON.stringify(statusChange('run-2')))));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(useCase.mock.calls.map(([, change]) => change)).toEqual([
      expect.objectContaining({ name: 'run-1', status: 'ABORTED', executionArn: ARN }),
      expect.objectContaining({ name: 'run-2', status: 'ABORTED' }),
    ]);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('delivered again'), expect.objectContaining({ messageId: 'm2', runId: 'run-2', error: 'the table did not answer' }));
    errors.mockRestore();
  });

  it('reports nothing when every record was handled', async () => {
    useCase.mockImplementation(async (_deps, change) => done(change.name));

    expect(await handler(queued(record('m1', JSON.stringify(statusChange('run-1')))))).toEqual({ batchItemFailures: [] });
  });

  it('keeps a body that is no status change queued (reported, logged as an error), and never runs the safety net on it', async () => {
    const errors = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const { name: _name, ...withoutName } = statusChange('run-3').detail;

    const response = await handler(queued(record('not-json', '{"detail-type":'), record('no-name', JSON.stringify({ ...statusChange('run-3'), detail: withoutName }))));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'not-json' }, { itemIdentifier: 'no-name' }] });
    expect(useCase).not.toHaveBeenCalled();
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('not a status change'), expect.objectContaining({ messageId: 'not-json', receiveCount: '3', error: expect.stringContaining('not JSON') }));
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('not a status change'), expect.objectContaining({ messageId: 'no-name', error: expect.stringContaining('body.detail.name: required') }));
    errors.mockRestore();
  });
});

describe('the safety-net handler, given the event directly (tests, the local Step Functions stand-in)', () => {
  it('returns the safety net result', async () => {
    useCase.mockImplementation(async (_deps, change) => done(change.name));

    expect(await handler(statusChange('run-4'))).toEqual(done('run-4'));
    expect(useCase).toHaveBeenCalledWith({}, expect.objectContaining({ name: 'run-4', executionArn: ARN.replace('run-1', 'run-4') }));
  });

  it('throws what the safety net threw, so the caller retries', async () => {
    useCase.mockRejectedValue(new Error('the table did not answer'));

    await expect(handler(statusChange('run-5'))).rejects.toThrow('the table did not answer');
  });

  it('refuses a malformed event, naming the field', async () => {
    const { executionArn: _arn, ...withoutArn } = statusChange('run-6').detail;

    await expect(handler({ ...statusChange('run-6'), detail: withoutArn } as unknown as SafetyNetEvent)).rejects.toThrow('event.detail.executionArn: required');
    expect(useCase).not.toHaveBeenCalled();
  });
});
