import { z } from 'zod';
import { parseOrThrow, refuseReservedKeys } from './validation';

/**
 * The execution input: all a console user types. Only `service` and `image` are required.
 *   { "service": "payments-api", "image": "…/payments-api:v2.4.1", "dryRun": false, "plan": { … } }
 */

// registry[:port]/path[:tag][@sha256:digest], lowercase path as Docker requires.
const IMAGE =
  /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export const IMAGE_EXAMPLE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1';

export const imageSchema = z
  .string()
  .max(512, { message: 'must be at most 512 characters' })
  .regex(IMAGE, { message: `must be an image reference like ${IMAGE_EXAMPLE}` })
  .refine((image) => /:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(image.split('/').pop() ?? '') || image.includes('@sha256:'), {
    message: 'must name a tag (:v2.4.1) or a digest (@sha256:…); an untagged image is ambiguous',
  });

export const serviceNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be a registered service name (lowercase letters, digits, -)' });

export const triggerSchema = z.strictObject({
  /** What started the run. */
  source: z.enum(['console', 'cli', 'ecr', 'codepipeline', 'api']),
  /** Who started it: an IAM principal, a pipeline, a user name. */
  actor: z.string().max(256).optional(),
  /** The tag an ECR push carried, kept for display when the image is pinned by digest. */
  tag: z.string().max(128).optional(),
  /** A reference back to the caller, e.g. a CodePipeline execution id. */
  reference: z.string().max(256).optional(),
});

export const executionInputSchema = z.strictObject({
  service: serviceNameSchema,
  image: imageSchema,
  /** Deploy the current version as canary to prove routing and metrics; never promotes. */
  dryRun: z.boolean().default(false),
  /** Overrides of the registered plan, merged field by field (checks by name); the registration's policy says how far. */
  plan: z.record(z.string(), z.unknown()).optional(),
  trigger: triggerSchema.default({ source: 'console' }),
});

export type ExecutionInput = z.output<typeof executionInputSchema>;
export type Trigger = z.output<typeof triggerSchema>;

/** Validates an execution input, naming every bad field. */
export function parseExecutionInput(value: unknown): ExecutionInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return parseOrThrow(executionInputSchema, value, 'input');
  }
  // Before the schema: zod drops `__proto__` from the plan record without a word.
  refuseReservedKeys(value, '');
  return parseOrThrow(executionInputSchema, value, '');
}
