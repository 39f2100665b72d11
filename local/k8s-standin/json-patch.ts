/**
 * RFC 6902 JSON Patch over RFC 6901 JSON Pointers, as the Kubernetes API server applies it: every
 * operation on a copy, and the copy kept only when all of them applied, so a failed `test` changes nothing.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The patch document itself is malformed (HTTP 400). */
export class PatchFormatError extends Error {}

/** The patch is well formed but does not apply to this document (HTTP 422); nothing was changed. */
export class PatchApplyError extends Error {}

type Op =
  | { op: 'add' | 'replace' | 'test'; path: string; value: Json }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; path: string; from: string };

/** Applies `patch` to a copy of `doc` and returns the copy; `doc` is never changed. */
export function applyJsonPatch(doc: Json, patch: unknown): Json {
  const ops = parsePatch(patch);
  let result = clone(doc);
  for (const op of ops) result = applyOne(result, op);
  return result;
}

/** Deep equality of JSON values (key order ignored), as `test` compares. */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i] ?? null));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k] ?? null, b[k] ?? null));
}

export function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

function parsePatch(patch: unknown): Op[] {
  if (!Array.isArray(patch)) throw new PatchFormatError('a JSON Patch must be an array of operations');
  return patch.map((raw: unknown, i): Op => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PatchFormatError(`operation ${i} is not an object`);
    const o = raw as Record<string, unknown>;
    const path = o.path;
    if (typeof path !== 'string') throw new PatchFormatError(`operation ${i}: path must be a string`);
    switch (o.op) {
      case 'add':
      case 'replace':
      case 'test':
        if (!('value' in o)) throw new PatchFormatError(`operation ${i} (${o.op}): value is missing`);
        return { op: o.op, path, value: o.value as Json };
      case 'remove':
        return { op: 'remove', path };
      case 'move':
      case 'copy':
        if (typeof o.from !== 'string') throw new PatchFormatError(`operation ${i} (${o.op}): from must be a string`);
        return { op: o.op, path, from: o.from };
      default:
        throw new PatchFormatError(`operation ${i}: unknown op ${JSON.stringify(o.op)}`);
    }
  });
}

function applyOne(doc: Json, op: Op): Json {
  switch (op.op) {
    case 'add':
      return add(doc, op.path, clone(op.value));
    case 'remove':
      return remove(doc, op.path).doc;
    case 'replace':
      get(doc, op.path);
      return add(remove(doc, op.path).doc, op.path, clone(op.value));
    case 'move': {
      if (op.path.startsWith(`${op.from}/`)) throw new PatchApplyError(`move from ${op.from} into its own child ${op.path}`);
      const taken = remove(doc, op.from);
      return add(taken.doc, op.path, taken.value);
    }
    case 'copy':
      return add(doc, op.path, clone(get(doc, op.from)));
    case 'test': {
      const found = get(doc, op.path);
      if (!jsonEqual(found, op.value)) {
        throw new PatchApplyError(`testing value ${op.path} failed: test failed (found ${JSON.stringify(found)}, expected ${JSON.stringify(op.value)})`);
      }
      return doc;
    }
  }
}

/** The tokens of a pointer: `/a~1b/0` → ['a/b', '0']. */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchFormatError(`JSON Pointer '${pointer}' must start with /`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, pointer: string, allowEnd: boolean): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchApplyError(`${pointer}: '${token}' is not an array index`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) throw new PatchApplyError(`${pointer}: index ${index} is out of bounds (length ${length})`);
  return index;
}

function get(doc: Json, pointer: string): Json {
  let at: Json = doc;
  for (const token of tokens(pointer)) {
    if (Array.isArray(at)) at = at[arrayIndex(token, at.length, pointer, false)] ?? null;
    else if (at !== null && typeof at === 'object' && Object.hasOwn(at, token)) at = at[token] ?? null;
    else throw new PatchApplyError(`doc is missing path: ${pointer}`);
  }
  return at;
}

/** The container of the pointer's last token, and that token. */
function parentOf(doc: Json, pointer: string): { parent: Json; last: string } {
  const all = tokens(pointer);
  const last = all.pop();
  if (last === undefined) return { parent: null, last: '' };
  const parentPointer = all.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  const parent = get(doc, parentPointer);
  if (parent === null || typeof parent !== 'object') throw new PatchApplyError(`doc is missing path: ${pointer} (its parent is not an object or array)`);
  return { parent, last };
}

function add(doc: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, pointer, true), 0, value);
  else (parent as JsonObject)[last] = value;
  return doc;
}

function remove(doc: Json, pointer: string): { doc: Json; value: Json } {
  if (pointer === '') throw new PatchApplyError('cannot remove the whole document');
  const value = get(doc, pointer);
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, pointer, false), 1);
  else delete (parent as JsonObject)[last];
  return { doc, value };
}
