import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { SfnExecutionStarter } from '../adapters/sfn/sfn-execution-starter';
import { ConfigurationError } from '../domain/errors';
import { parseOrThrow } from '../domain/validation';
import { triggerFromEcr, type EcrTriggerResult } from '../use-cases/ecr-trigger';
import { logger } from './logger';

/**
 * What the per-service EventBridge rule delivers: the service it was registered for, and the ECR event's
 * account, region and detail ("ECR Image Action", PUSH, SUCCESS).
 */
export interface EcrTriggerEvent {
  readonly service: string;
  readonly account: string;
  readonly region: string;
  readonly detail: { readonly 'repository-name': string; readonly 'image-digest': string; readonly 'image-tag'?: string; readonly 'action-type'?: string; readonly result?: string };
}
export type EcrTriggerOutput = EcrTriggerResult;

const eventSchema = z.looseObject({
  service: z.string().min(1),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().min(1),
  detail: z.looseObject({
    'repository-name': z.string().min(1),
    'image-digest': z.string().regex(/^sha256:[a-f0-9]{64}$/),
    'image-tag': z.string().optional(),
  }),
});

let starter: SfnExecutionStarter | undefined;

/** Starts the rollout of a pushed image, once per digest. */
export const handler = async (event: EcrTriggerEvent): Promise<EcrTriggerOutput> => {
  const e = parseOrThrow(eventSchema, event, 'event', 'ECR trigger event');
  const stateMachineArn = process.env.STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new ConfigurationError('environment variable STATE_MACHINE_ARN is not set');
  starter ??= new SfnExecutionStarter(new SFNClient({}), stateMachineArn);
  const result = await triggerFromEcr(starter, {
    service: e.service,
    account: e.account,
    region: e.region,
    repository: e.detail['repository-name'],
    digest: e.detail['image-digest'],
    ...(e.detail['image-tag'] && { tag: e.detail['image-tag'] }),
  });
  logger.info(result.started ? 'rollout started from an ECR push' : 'ECR push already started a rollout; nothing to do', { ...result });
  return result;
};
