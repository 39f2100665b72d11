import { InvalidArgumentError } from 'commander';
import { imageSchema, serviceNameSchema } from '../lambdas/domain/execution-input';

/**
 * Parsers of the CLI's arguments and options, for commander: a bad value gives commander's
 * "option '--since <when>' argument 'x' is invalid." followed by what is expected.
 */

// Execution names (the run id): Step Functions takes 1-80 characters; the run log keys need no more than these.
const RUN_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** A run id: the execution name. */
export function runIdArgument(value: string): string {
  if (!RUN_ID.test(value)) throw new InvalidArgumentError('A run id is 1-80 letters, digits, - and _ (the execution name; `canary history` lists them).');
  return value;
}

/** `--name`: the execution name, which becomes the run id. */
export function executionNameArgument(value: string): string {
  if (!RUN_ID.test(value)) throw new InvalidArgumentError('Must be 1-80 letters, digits, - and _ (it becomes the run id).');
  return value;
}

/** `--service`: a registered service name. */
export function serviceArgument(value: string): string {
  if (!serviceNameSchema.safeParse(value).success) throw new InvalidArgumentError('Must be a registered service name: lowercase letters, digits and -, at most 63.');
  return value;
}

/** `--image`: an image reference with a tag or digest. */
export function imageArgument(value: string): string {
  const parsed = imageSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`It ${parsed.error.issues[0]?.message ?? 'is not an image reference'}.`);
  return value;
}

/** `--step`: a step index, a whole number from 1 (step 0 has no gate). */
export function stepArgument(value: string): number {
  const step = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(step) || step < 1) throw new InvalidArgumentError('A step index is a whole number from 1 (step 0 is approved by starting the run).');
  return step;
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** `--since`: `30d`, `12h`, `2w`, `90m` before `now`, or an ISO date (UTC when it names no zone); the ISO instant. */
export function parseSince(value: string, now: Date = new Date()): string {
  const relative = /^([1-9]\d{0,5})([mhdw])$/.exec(value);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]).toISOString();
  if (ISO_DATE.test(value)) {
    const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/.test(value) || value.length === 10 ? value : `${value}Z`;
    const at = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : zoned.replace(' ', 'T'));
    if (!Number.isNaN(at)) {
      if (at > now.getTime()) throw new InvalidArgumentError('It is in the future.');
      return new Date(at).toISOString();
    }
  }
  throw new InvalidArgumentError('Give a duration like 30d, 12h, 2w or 90m, or an ISO date like 2025-05-01 or 2025-05-01T12:00:00Z.');
}
