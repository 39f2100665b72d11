import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionInput } from '../../domain/execution-input';
import { ThrottlingError, TransientError } from '../../domain/errors';
import type { ExecutionStarter } from '../../use-cases/ecr-trigger';

/** Starts executions of the canary state machine by name. */
export class SfnExecutionStarter implements ExecutionStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  /** StartExecution; an execution of that name already existing means "started before", not an error. */
  async start(name: string, input: ExecutionInput): Promise<{ started: boolean; executionArn: string }> {
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      const out = await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }));
      return { started: true, executionArn: out.executionArn ?? executionArn };
    } catch (error) {
      const code = (error as { name?: string }).name ?? '';
      if (code === 'ExecutionAlreadyExists') return { started: false, executionArn };
      if (code === 'ThrottlingException' || code === 'TooManyRequestsException') throw new ThrottlingError(`StartExecution throttled: ${(error as Error).message}`, { cause: error });
      if (code === 'ServiceUnavailable' || code === 'InternalServerError' || code === 'TimeoutError') throw new TransientError(`StartExecution failed: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  }
}
