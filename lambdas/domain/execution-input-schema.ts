import { z } from 'zod';
import { executionInputSchema, IMAGE_EXAMPLE } from './execution-input';

/**
 * The execution input as JSON Schema (draft 2020-12), for people typing it in the console and for editors.
 * Generated from the schema Start validates with; defaults are optional on input.
 */
export function executionInputJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(executionInputSchema, { io: 'input' }) as Record<string, unknown>;
  return {
    $id: 'https://github.com/canary-orchestrator/canary-orchestrator/statemachine/execution-input.schema.json',
    title: 'canary-orchestrator execution input',
    description: 'Start a canary rollout of one image to one registered service. Only service and image are required.',
    ...schema,
    examples: [
      { service: 'payments-api', image: IMAGE_EXAMPLE },
      { service: 'payments-api', image: IMAGE_EXAMPLE, dryRun: true },
      { service: 'payments-api', image: IMAGE_EXAMPLE, plan: { steps: [{ weight: 10, holdSeconds: 600 }, { weight: 100 }], checks: [{ name: 'error-rate', max: 0.005 }] } },
    ],
  };
}
