import { constraintError, validationError } from './api-error';

/**
 * An AWS Query request body as a tree. `A.member.1.B=x` becomes `{ A: [{ B: 'x' }] }` and
 * `M.entry.1.key=k&M.entry.1.value=v` becomes `{ M: { k: 'v' } }`; an empty list is sent as `A=`.
 */
export type QueryValue = string | QueryValue[] | QueryObject;
export interface QueryObject {
  [key: string]: QueryValue;
}

interface Branch {
  [key: string]: Branch | string;
}

/** Parses a form-encoded Query body (or URL query string) into a tree. */
export function parseQueryForm(body: string): QueryObject {
  const root: Branch = {};
  for (const [key, value] of new URLSearchParams(body)) {
    let node = root;
    const parts = key.split('.');
    parts.forEach((part, index) => {
      if (index === parts.length - 1) {
        if (typeof node[part] !== 'object') node[part] = value;
        return;
      }
      const next = node[part];
      if (typeof next === 'object') {
        node = next;
      } else {
        const created: Branch = {};
        node[part] = created;
        node = created;
      }
    });
  }
  return normaliseBranch(root);
}

function normaliseBranch(branch: Branch): QueryObject {
  const out: QueryObject = {};
  for (const [key, child] of Object.entries(branch)) out[key] = normaliseValue(child);
  return out;
}

function normaliseValue(node: Branch | string): QueryValue {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  const only = keys.length === 1 ? node[keys[0]] : undefined;
  if (keys[0] === 'member' && typeof only === 'object') {
    return numbered(only).map(normaliseValue);
  }
  if (keys[0] === 'entry' && typeof only === 'object') {
    const map: QueryObject = {};
    for (const entry of numbered(only)) {
      if (typeof entry === 'object' && typeof entry.key === 'string') map[entry.key] = typeof entry.value === 'string' ? entry.value : '';
    }
    return map;
  }
  return normaliseBranch(node);
}

function numbered(branch: Branch): (Branch | string)[] {
  return Object.keys(branch)
    .filter((k) => /^[0-9]+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => branch[k]);
}

/** A nested structure, or undefined when absent or not a structure. */
export function objectAt(tree: QueryObject, key: string): QueryObject | undefined {
  const value = tree[key];
  return typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

/** A string member, or undefined when absent. */
export function stringAt(tree: QueryObject, key: string): string | undefined {
  const value = tree[key];
  return typeof value === 'string' ? value : undefined;
}

/** An integer member; anything else is a ValidationError naming `at`. */
export function integerAt(tree: QueryObject, key: string, at: string): number | undefined {
  const value = stringAt(tree, key);
  if (value === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(value)) throw constraintError(value, at, 'Member must be an integer');
  return Number(value);
}

/** A boolean member ('true' / 'false'); anything else is a ValidationError naming `at`. */
export function booleanAt(tree: QueryObject, key: string, at: string): boolean | undefined {
  const value = stringAt(tree, key);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw constraintError(value, at, 'Member must be a boolean');
  return value === 'true';
}

/** A list member (`A=` is the empty list), or undefined when absent. */
export function listAt(tree: QueryObject, key: string): QueryValue[] | undefined {
  const value = tree[key];
  if (value === undefined) return undefined;
  if (value === '') return [];
  if (!Array.isArray(value)) throw validationError(`${key} must be a list`);
  return value;
}

/** A list of structures, or undefined when absent. */
export function objectListAt(tree: QueryObject, key: string): QueryObject[] | undefined {
  return listAt(tree, key)?.map((item) => {
    if (typeof item !== 'object' || Array.isArray(item)) throw validationError(`${key} must be a list of structures`);
    return item;
  });
}

/** A list of strings, or undefined when absent. */
export function stringListAt(tree: QueryObject, key: string): string[] | undefined {
  return listAt(tree, key)?.map((item) => {
    if (typeof item !== 'string') throw validationError(`${key} must be a list of strings`);
    return item;
  });
}

/** A string-to-string map member, or undefined when absent. */
export function stringMapAt(tree: QueryObject, key: string): Record<string, string> | undefined {
  const map = objectAt(tree, key);
  if (map === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) if (typeof v === 'string') out[k] = v;
  return out;
}
