import type { z } from 'zod';
import { InputValidationError, type FieldIssue } from './errors';

/** Renders a zod path the way a user writes it: `plan.steps[1].weight`. */
export function renderPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

function describeReceived(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'number' && Number.isNaN(input)) return 'NaN';
  if (typeof input === 'string') return input.length > 40 ? `a string` : `'${input}'`;
  if (typeof input === 'number' || typeof input === 'boolean' || typeof input === 'bigint') return `${typeof input} ${input}`;
  return typeof input === 'object' ? 'an object' : typeof input;
}

/** One zod issue as messages a person can act on; unknown keys yield one issue each. */
function toFieldIssues(root: string, issue: z.core.$ZodIssue): FieldIssue[] {
  const field = renderPath(root, issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ field: renderPath(root, [...issue.path, key]), message: 'unknown field' }));
    case 'invalid_type': {
      if (!issue.message.startsWith('Invalid input')) return [{ field, message: issue.message }];
      if (input === undefined) return [{ field, message: `required (${issue.expected})` }];
      const expected = issue.expected === 'int' ? 'a whole number' : issue.expected;
      return [{ field, message: `expected ${expected}, got ${describeReceived(input)}` }];
    }
    case 'invalid_value':
      return [{ field, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeReceived(input)}` }];
    case 'invalid_union': {
      // A discriminated union with an unknown tag reports the expected tags in its message.
      return [{ field, message: issue.message === 'Invalid input' ? `does not match any accepted shape (got ${describeReceived(input)})` : issue.message }];
    }
    default:
      return [{ field, message: issue.message }];
  }
}

/** Parses `value` with `schema`, or throws one InputValidationError that lists every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root: string, subject = 'input'): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new InputValidationError(result.error.issues.flatMap((issue) => toFieldIssues(root, issue)), subject);
}
