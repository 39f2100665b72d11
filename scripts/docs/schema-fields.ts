/**
 * The fields of a zod schema, walked through its JSON Schema (z.toJSONSchema: types, required, defaults, bounds,
 * enums, patterns) beside the zod schema itself (the messages of its refinements, which JSON Schema cannot hold),
 * each described by the JSDoc of the literal it was written in (source-docs.ts).
 */
import { z } from 'zod';
import { code } from './markdown';
import type { SchemaDocs } from './source-docs';

/** The part of JSON Schema z.toJSONSchema writes that the reference reads. */
export interface JsonNode {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonNode>>;
  readonly required?: readonly string[];
  readonly items?: JsonNode;
  readonly oneOf?: readonly JsonNode[];
  readonly anyOf?: readonly JsonNode[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
  readonly additionalProperties?: boolean | JsonNode;
}

/** One field of the reference. */
export interface Field {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  /** The schema's own default (`.default(…)`), as JSON. */
  readonly default: unknown;
  readonly constraints: readonly string[];
  readonly description: string | undefined;
}

/** One object of the schema: a table of its fields. */
export interface ObjectSection {
  /** The path of the object (`service.traffic`, `plan.steps[]`). */
  readonly path: string;
  /** The discriminator value when the object is one member of a union: `kind` `alb`. */
  readonly variant: { readonly key: string; readonly value: string } | undefined;
  readonly description: string | undefined;
  readonly fields: readonly Field[];
  /** Unknown fields are refused (z.strictObject). */
  readonly strict: boolean;
  /** The object has rules across its fields (a refinement without its own message, e.g. superRefine). */
  readonly crossFieldRules: boolean;
  /** `file:line` of the literal whose JSDoc describes the fields, when one was found. */
  readonly source: string | undefined;
}

type Zod = z.core.$ZodType;

/** The messages of the refinements and pattern checks of a schema and of the wrappers around it, and the schema inside. */
function unwrap(schema: Zod): { inner: Zod; rules: string[]; silentRefinements: number } {
  const rules: string[] = [];
  let silentRefinements = 0;
  let current = schema;
  for (;;) {
    for (const check of current._zod.def.checks ?? []) {
      const def = check._zod.def;
      if (def.check !== 'custom' && def.check !== 'string_format') continue;
      const message = messageOf(def.error);
      if (message === undefined) {
        if (def.check === 'custom') silentRefinements += 1;
      } else if (!rules.includes(message)) rules.push(message);
    }
    const def = (current as z.core.$ZodTypes)._zod.def;
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        current = def.innerType;
        continue;
      case 'pipe':
        current = def.in;
        continue;
      default:
        return { inner: current, rules, silentRefinements };
    }
  }
}

/** The message a check's error map gives for a plain issue: the `{ message }` written beside the check. */
function messageOf(errorMap: unknown): string | undefined {
  if (typeof errorMap !== 'function') return undefined;
  // The map zod builds from `{ message }` ignores its argument; give it an issue of the shape it is typed for.
  const out: unknown = Reflect.apply(errorMap, undefined, [{ code: 'custom', input: undefined, path: [] }]);
  if (typeof out === 'string') return out;
  if (typeof out === 'object' && out !== null && 'message' in out && typeof out.message === 'string') return out.message;
  return undefined;
}

/** The zod schema of each property of an object schema, and of each member of a union. */
function children(schema: Zod): { shape: Readonly<Record<string, Zod>> | undefined; element: Zod | undefined; options: readonly Zod[] | undefined } {
  const def = (schema as z.core.$ZodTypes)._zod.def;
  if (def.type === 'object') return { shape: def.shape, element: undefined, options: undefined };
  if (def.type === 'array') return { shape: undefined, element: def.element, options: undefined };
  if (def.type === 'union') return { shape: undefined, element: undefined, options: def.options };
  return { shape: undefined, element: undefined, options: undefined };
}

const json = (value: unknown): string => JSON.stringify(value);
const SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

/** The members of a union, and the property whose constant tells them apart. */
function unionOf(node: JsonNode): { members: readonly JsonNode[]; key: string | undefined } | undefined {
  const members = node.oneOf ?? node.anyOf;
  if (members === undefined) return undefined;
  const first = members[0]?.properties ?? {};
  const key = Object.keys(first).find((k) => members.every((m) => m.properties?.[k]?.const !== undefined));
  return { members, key };
}

/** The type of a node, in words. */
export function typeOf(node: JsonNode): string {
  if (node.const !== undefined) return json(node.const);
  const union = unionOf(node);
  if (union !== undefined) {
    if (union.key === undefined) return union.members.map(typeOf).join(' or ');
    return `object, by ${union.key}: ${union.members.map((m) => json(m.properties?.[union.key!]?.const)).join(', ')}`;
  }
  const type = Array.isArray(node.type) ? node.type.join(' or ') : (node.type as string | undefined);
  if (type === 'array') return node.items === undefined ? 'array' : node.items.properties !== undefined ? 'array of objects' : `array of ${typeOf(node.items)}`;
  if (type === 'object' && node.properties === undefined) return 'object (any fields)';
  return type ?? 'any';
}

/** The bounds, enums and patterns of a node, in words. */
export function constraintsOf(node: JsonNode): string[] {
  const out: string[] = [];
  const range = (lo: string | undefined, hi: string | undefined, unit: string) => {
    const units = (n: string) => (unit === '' ? '' : ` ${unit}${n === '1' ? '' : 's'}`);
    if (lo !== undefined && hi !== undefined) out.push(`${lo} to ${hi}${units(hi)}`);
    else if (lo !== undefined) out.push(`at least ${lo}${units(lo)}`);
    else if (hi !== undefined) out.push(`at most ${hi}${units(hi)}`);
  };
  const bound = (n: number | undefined) => (n === undefined || Math.abs(n) >= SAFE_INTEGER ? undefined : String(n));
  if (node.exclusiveMinimum !== undefined) out.push(`greater than ${node.exclusiveMinimum}`);
  if (node.exclusiveMaximum !== undefined) out.push(`less than ${node.exclusiveMaximum}`);
  range(bound(node.minimum), bound(node.maximum), '');
  range(bound(node.minLength), bound(node.maxLength), 'character');
  range(bound(node.minItems), bound(node.maxItems), 'item');
  if (node.enum !== undefined) out.push(`one of ${node.enum.map((v) => code(json(v))).join(', ')}`);
  if (node.pattern !== undefined) out.push(`pattern ${code(node.pattern)}`);
  return out;
}

/** Walks a schema into one section per object, depth first in schema order; `root` '' names fields without a prefix. */
export function objectSections(schema: Zod, root: string, docs: SchemaDocs): ObjectSection[] {
  const node = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', reused: 'inline' }) as unknown as JsonNode;
  const sections: ObjectSection[] = [];
  walkObject(node, schema, root, undefined, undefined, docs, sections);
  return sections;
}

function walkObject(
  node: JsonNode,
  schema: Zod,
  path: string,
  variant: ObjectSection['variant'],
  ownerDescription: string | undefined,
  docs: SchemaDocs,
  sections: ObjectSection[],
): void {
  const { inner, silentRefinements } = unwrap(schema);
  const shape = children(inner).shape ?? {};
  const properties = node.properties ?? {};
  const keys = Object.keys(properties);
  const source = docs.lookup(keys);
  const required = new Set(node.required ?? []);
  const fields: Field[] = [];
  const nested: (() => void)[] = [];
  for (const key of keys) {
    const child = properties[key];
    const childSchema = shape[key];
    if (childSchema === undefined) throw new Error(`${path}.${key}: in the JSON Schema but not in the zod shape`);
    const { inner: childInner, rules } = unwrap(childSchema);
    const fieldPath = path === '' ? key : `${path}.${key}`;
    const description = source?.properties.get(key);
    fields.push({ path: fieldPath, type: typeOf(child), required: required.has(key), default: child.default, constraints: [...constraintsOf(child), ...rules], description });
    const union = unionOf(child);
    const items = child.items;
    if (child.properties !== undefined) nested.push(() => walkObject(child, childInner, fieldPath, undefined, description, docs, sections));
    else if (items?.properties !== undefined) {
      const element = children(childInner).element;
      if (element === undefined) throw new Error(`${fieldPath}: an array in the JSON Schema but not in zod`);
      nested.push(() => walkObject(items, element, `${fieldPath}[]`, undefined, description, docs, sections));
    } else if (union !== undefined) {
      const options = children(childInner).options ?? [];
      union.members.forEach((member, i) => {
        const option = options[i];
        if (member.properties === undefined || option === undefined) return;
        const value = union.key === undefined ? undefined : { key: union.key, value: String(member.properties[union.key]?.const) };
        nested.push(() => walkObject(member, option, fieldPath, value, undefined, docs, sections));
      });
    }
  }
  sections.push({
    path,
    variant,
    description: source?.doc ?? ownerDescription,
    fields,
    strict: node.additionalProperties === false,
    crossFieldRules: silentRefinements > 0,
    source: source?.where,
  });
  for (const walk of nested) walk();
}
