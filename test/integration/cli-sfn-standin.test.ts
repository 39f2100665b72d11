import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidArn,
  InvalidExecutionInput,
  InvalidName,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { startSfnStandIn, type SfnStandIn } from '../../local/sfn-standin';
import { FAST_PLAN, IMAGE, WorkflowEnv } from '../support/workflow-env';

// The Step Functions stand-in the CLI starts runs with, through the real @aws-sdk/client-sfn: executions of the real
// workflow (real waits), unique names, stop, list, and the safety net delivered after an execution is stopped.

jest.setTimeout(90_000);

let env: WorkflowEnv;
let standIn: SfnStandIn;
let sfn: SFNClient;

beforeAll(async () => {
  env = await WorkflowEnv.start();
  standIn = await startSfnStandIn({ deliveryRetryMs: 100 });
  sfn = new SFNClient({ endpoint: standIn.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterAll(async () => {
  sfn.destroy();
  await standIn.stop();
  await env.stop();
});

const inputOf = (service: string) => JSON.stringify({ service, image: IMAGE });

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Step Functions stand-in', () => {
  it('StartExecution runs the workflow; DescribeExecution shows it RUNNING, then SUCCEEDED with its output', async () => {
    // Prepare
    const svc = await env.addService('sfn-ok-api', { plan: FAST_PLAN });

    // Act
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: standIn.stateMachineArn, name: 'sfn-ok-1', input: inputOf(svc.name) }));
    const running = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    await standIn.settled(started.executionArn!);
    const done = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));

    // Assess
    expect(started.executionArn).toBe('arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:sfn-ok-1');
    expect(started.startDate).toBeInstanceOf(Date);
    expect(running).toMatchObject({ status: 'RUNNING', name: 'sfn-ok-1', stateMachineArn: standIn.stateMachineArn, input: inputOf(svc.name) });
    expect({ status: done.status, error: done.error, cause: done.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
    expect(JSON.parse(done.output!)).toMatchObject({ outcome: 'promoted', runId: 'sfn-ok-1', service: svc.name });
    expect(svc.canaryShare()).toBe(100);
    // A run that ends through the workflow sends no status change the safety net acts on.
    expect(standIn.deliveries().filter((d) => d.name === 'sfn-ok-1')).toEqual([]);
  });

  it('names are unique: the same name and input while running is the same execution; anything else is ExecutionAlreadyExists', async () => {
    // Prepare
    const svc = await env.addService('sfn-dup-api', { plan: FAST_PLAN });
    const request = { stateMachineArn: standIn.stateMachineArn, name: 'sfn-dup-1', input: inputOf(svc.name) };

    // Act
    const first = await sfn.send(new StartExecutionCommand(request));
    const again = await sfn.send(new StartExecutionCommand(request));
    const otherInput = sfn.send(new StartExecutionCommand({ ...request, input: inputOf('other-api') }));
    await expect(otherInput).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    await standIn.settled(first.executionArn!);
    const afterEnd = sfn.send(new StartExecutionCommand(request));

    // Assess
    expect(again).toMatchObject({ executionArn: first.executionArn, startDate: first.startDate });
    await expect(otherInput).rejects.toThrow(`Execution Already Exists: '${first.executionArn}'`);
    await expect(afterEnd).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    expect(standIn.executions().filter((e) => e.name === 'sfn-dup-1')).toHaveLength(1);
  });

  it('StopExecution aborts mid-step; the safety net gets the status change and puts all traffic back on stable', async () => {
    // Prepare
    const svc = await env.addService('sfn-stop-api', { plan: FAST_PLAN });
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: standIn.stateMachineArn, name: 'sfn-stop-1', input: inputOf(svc.name) }));
    await waitFor('the first shift to 20%', () => svc.canaryShare() === 20);

    // Act
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn, error: 'OperatorStop', cause: 'stopped by hand' }));
    await standIn.settled(executionArn!);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));

    // Assess
    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(described).toMatchObject({ status: 'ABORTED', error: 'OperatorStop', cause: 'stopped by hand' });
    expect(standIn.deliveries().filter((d) => d.name === 'sfn-stop-1')).toEqual([
      {
        executionArn,
        name: 'sfn-stop-1',
        status: 'ABORTED',
        attempts: 1,
        delivered: true,
        result: { runId: 'sfn-stop-1', action: 'restored-stable', detail: 'execution ABORTED (OperatorStop: stopped by hand): traffic restored to stable (canary was at 20%)' },
      },
    ]);
    expect(svc.canaryShare()).toBe(0);
    expect(await env.runLog.getRun('sfn-stop-1')).toMatchObject({ outcome: 'aborted', reason: 'execution ABORTED (OperatorStop: stopped by hand): traffic restored to stable (canary was at 20%)' });
    expect(await env.runLog.getLock(svc.name)).toBeUndefined();
  });

  it('ListExecutions: newest first, by status, in pages', async () => {
    // Act
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: standIn.stateMachineArn }));
    const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn: standIn.stateMachineArn, statusFilter: 'ABORTED' }));
    const first = await sfn.send(new ListExecutionsCommand({ stateMachineArn: standIn.stateMachineArn, maxResults: 2 }));
    const rest = await sfn.send(new ListExecutionsCommand({ stateMachineArn: standIn.stateMachineArn, maxResults: 2, nextToken: first.nextToken }));

    // Assess
    expect(all.executions?.map((e) => `${e.name} ${e.status}`)).toEqual(['sfn-stop-1 ABORTED', 'sfn-dup-1 ABORTED', 'sfn-ok-1 SUCCEEDED']);
    expect(all.nextToken).toBeUndefined();
    expect(aborted.executions?.map((e) => e.name)).toEqual(['sfn-stop-1', 'sfn-dup-1']);
    expect(first.executions?.map((e) => e.name)).toEqual(['sfn-stop-1', 'sfn-dup-1']);
    expect(first.nextToken).toEqual(expect.any(String));
    expect(rest.executions?.map((e) => e.name)).toEqual(['sfn-ok-1']);
    expect(rest.nextToken).toBeUndefined();
  });

  it('answers bad requests with the errors AWS names', async () => {
    const machine = standIn.stateMachineArn;
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `${machine.replace(':stateMachine:', ':execution:')}:nope` }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' }))).rejects.toBeInstanceOf(InvalidArn);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: machine, name: 'has space', input: '{}' }))).rejects.toBeInstanceOf(InvalidName);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: machine, input: '{not json' }))).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: `${machine}-other`, input: '{}' }))).rejects.toBeInstanceOf(StateMachineDoesNotExist);
  });
});
