import type { z } from 'zod';
import { InputValidationError, type FieldIssue } from './errors';

/** Longest key a field name shows whole; a longer one (a 1 MB key) is cut, so that an error stays readable. */
const MAX_KEY_SHOWN = 64;

/** Deepest path a field name shows whole; a deeper one shows its start and its end. */
const MAX_PARTS_SHOWN = 40;

/** Renders a zod path the way a user writes it: `plan.steps[1].weight`. */
export function renderPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  const append = (part: PropertyKey) => {
    const key = String(part);
    const shown = key.length > MAX_KEY_SHOWN ? `${key.slice(0, MAX_KEY_SHOWN)}…(${key.length} characters)` : key;
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? shown : `.${shown}`;
  };
  if (path.length <= MAX_PARTS_SHOWN) path.forEach(append);
  else {
    path.slice(0, MAX_PARTS_SHOWN / 2).forEach(append);
    out += `…(${path.length - MAX_PARTS_SHOWN / 2 - 5} more levels)…`;
    path.slice(path.length - 5).forEach(append);
  }
  return out === '' ? '(root)' : out;
}

/** Keys that name JavaScript's object machinery: zod drops `__proto__` from records silently, and a merge could follow them. */
export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/**
 * Every reserved key anywhere in `value`, as issues naming the field. Walks with an explicit stack (a 10,000-level
 * object must not overflow the call stack) and visits each object once (a TypeScript registration may share them).
 */
export function reservedKeyIssues(value: unknown, root: string): FieldIssue[] {
  type Visit = { readonly value: unknown; readonly key?: PropertyKey; readonly parent?: Visit };
  const pathOf = (visit: Visit | undefined, last: PropertyKey): PropertyKey[] => {
    const path = [last];
    for (let v = visit; v?.key !== undefined; v = v.parent) path.push(v.key);
    return path.reverse();
  };
  const issues: FieldIssue[] = [];
  const seen = new Set<object>();
  const stack: Visit[] = [{ value }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const node = visit.value;
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    const keys: PropertyKey[] = Array.isArray(node) ? [...node.keys()] : Object.keys(node);
    for (const key of keys) {
      if (typeof key === 'string' && RESERVED_KEYS.includes(key)) {
        issues.push({ field: renderPath(root, pathOf(visit, key)), message: `'${key}' is not allowed as a field name` });
        continue;
      }
      stack.push({ value: (node as Record<PropertyKey, unknown>)[key], key, parent: visit });
    }
  }
  return issues.sort((a, b) => a.field.localeCompare(b.field));
}

/** Throws one InputValidationError when `value` holds a reserved key anywhere. */
export function refuseReservedKeys(value: unknown, root: string, subject = 'input'): void {
  const issues = reservedKeyIssues(value, root);
  if (issues.length > 0) throw new InputValidationError(issues, subject);
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
