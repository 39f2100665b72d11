/**
 * The JSDoc of the zod schemas, read from their source with the TypeScript compiler API: the descriptions live in
 * `/** … *\/` comments above the properties of each `z.object({…})` / `z.strictObject({…})` literal, not in
 * runtime `.describe()` calls, so the generator maps each literal's property names to their leading comments.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One object literal passed to z.object / z.strictObject / z.looseObject, its spreads resolved. */
export interface ObjectDocs {
  /** `file:line` of the literal, for messages. */
  readonly where: string;
  /** The literal's own description: the JSDoc of the union member, variable or property it is. */
  readonly doc: string | undefined;
  /** Property name → its description (undefined when it has none), in source order. */
  readonly properties: ReadonlyMap<string, string | undefined>;
}

const OBJECT_FACTORIES = new Set(['object', 'strictObject', 'looseObject']);

/** The text of the last `/** … *\/` comment before a node, one line, or undefined. */
function leadingJsDoc(node: ts.Node, source: ts.SourceFile): string | undefined {
  const text = source.getFullText();
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const docs = ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**'));
  const last = docs[docs.length - 1];
  if (last === undefined) return undefined;
  const body = last
    .slice(3, -2)
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .filter((line) => line.length > 0)
    .join(' ');
  return body.length > 0 ? body : undefined;
}

/** The name of a property as written (identifier or string literal); undefined for computed names. */
function propertyName(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return undefined;
}

/** Top-level `const name = …` declarations of a file, by name. */
function constants(source: ts.SourceFile): Map<string, ts.VariableDeclaration> {
  const out = new Map<string, ts.VariableDeclaration>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (ts.isIdentifier(declaration.name)) out.set(declaration.name.text, declaration);
    }
  }
  return out;
}

/** An expression without `as const` / `satisfies` / parentheses around it. */
function bare(expression: ts.Expression): ts.Expression {
  if (ts.isAsExpression(expression) || ts.isSatisfiesExpression(expression) || ts.isParenthesizedExpression(expression)) return bare(expression.expression);
  return expression;
}

/** The root identifier of a chain like `limit.optional().default(3)`. */
function chainRoot(expression: ts.Expression): ts.Identifier | undefined {
  const e = bare(expression);
  if (ts.isIdentifier(e)) return e;
  if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression)) return chainRoot(e.expression.expression);
  return undefined;
}

/** The description of a declaration: the JSDoc above its `const` statement. */
function declarationDoc(declaration: ts.VariableDeclaration, source: ts.SourceFile): string | undefined {
  const statement = declaration.parent.parent;
  return ts.isVariableStatement(statement) ? leadingJsDoc(statement, source) : undefined;
}

/**
 * The properties of an object literal with their JSDoc; a spread of a local constant (`...meshCommon`) contributes its
 * properties, and a property without a comment whose value is a documented local constant gets that constant's.
 */
export function literalProperties(literal: ts.ObjectLiteralExpression, source: ts.SourceFile, locals = constants(source), seen = new Set<ts.Node>()): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (seen.has(literal)) return out;
  seen.add(literal);
  for (const element of literal.properties) {
    if (ts.isSpreadAssignment(element)) {
      const root = chainRoot(element.expression);
      const initializer = root === undefined ? undefined : locals.get(root.text)?.initializer;
      if (initializer !== undefined && ts.isObjectLiteralExpression(bare(initializer))) {
        for (const [key, doc] of literalProperties(bare(initializer) as ts.ObjectLiteralExpression, source, locals, seen)) out.set(key, doc);
      }
      continue;
    }
    if (!ts.isPropertyAssignment(element) && !ts.isShorthandPropertyAssignment(element)) continue;
    const key = propertyName(element.name);
    if (key === undefined) continue;
    let doc = leadingJsDoc(element, source);
    if (doc === undefined) {
      const root = ts.isShorthandPropertyAssignment(element) ? element.name : chainRoot(element.initializer);
      const declaration = root === undefined ? undefined : locals.get(root.text);
      if (declaration !== undefined) doc = declarationDoc(declaration, source);
    }
    out.set(key, doc);
  }
  return out;
}

/** The JSDoc that describes an expression: its own (a union member), or that of the property or `const` it initializes. */
function ownerDoc(call: ts.Node, source: ts.SourceFile): string | undefined {
  let node: ts.Node = call;
  // Climb the chain the literal heads (`z.strictObject({…}).optional().superRefine(…)`) to what holds it.
  while (
    (ts.isPropertyAccessExpression(node.parent) && node.parent.expression === node) ||
    (ts.isCallExpression(node.parent) && node.parent.expression === node) ||
    ts.isAsExpression(node.parent) ||
    ts.isSatisfiesExpression(node.parent) ||
    ts.isParenthesizedExpression(node.parent)
  ) {
    node = node.parent;
  }
  const holder = node.parent;
  if (ts.isArrayLiteralExpression(holder) || ts.isCallExpression(holder)) return leadingJsDoc(node, source);
  if (ts.isPropertyAssignment(holder)) return leadingJsDoc(holder, source);
  if (ts.isVariableDeclaration(holder)) return declarationDoc(holder, source);
  return undefined;
}

/** Every zod object literal of one file, with its property docs. */
export function objectDocsOfSource(fileName: string, text: string): ObjectDocs[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const locals = constants(source);
  const out: ObjectDocs[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && OBJECT_FACTORIES.has(node.expression.name.text)) {
      const target = node.expression.expression;
      const argument = node.arguments[0];
      if (ts.isIdentifier(target) && target.text === 'z' && argument !== undefined) {
        const root = chainRoot(argument);
        const initializer = ts.isObjectLiteralExpression(argument) ? argument : root === undefined ? undefined : locals.get(root.text)?.initializer;
        if (initializer !== undefined && ts.isObjectLiteralExpression(bare(initializer))) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          out.push({ where: `${fileName}:${line + 1}`, doc: ownerDoc(node, source), properties: literalProperties(bare(initializer) as ts.ObjectLiteralExpression, source, locals) });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The properties (with docs) of a top-level `const NAME = { … }` in a file, e.g. PLAN_BOUNDS. */
export function constantDocs(fileName: string, text: string, name: string): Map<string, string | undefined> {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const initializer = constants(source).get(name)?.initializer;
  if (initializer === undefined || !ts.isObjectLiteralExpression(bare(initializer))) throw new Error(`${fileName}: no object constant ${name}`);
  return literalProperties(bare(initializer) as ts.ObjectLiteralExpression, source);
}

/** The key a runtime object is matched by: its property names, sorted. */
export const shapeKey = (keys: readonly string[]): string => [...keys].sort().join(',');

/**
 * The docs of every zod object literal under a folder, by shape key. Literals of the same shape (one schema spread
 * into two) are merged: a property takes the first description found, files in name order.
 */
export class SchemaDocs {
  private readonly byShape = new Map<string, ObjectDocs>();

  constructor(entries: readonly ObjectDocs[]) {
    for (const entry of entries) {
      const key = shapeKey([...entry.properties.keys()]);
      const known = this.byShape.get(key);
      if (known === undefined) {
        this.byShape.set(key, entry);
        continue;
      }
      const properties = new Map(known.properties);
      for (const [name, doc] of entry.properties) if (properties.get(name) === undefined) properties.set(name, doc);
      this.byShape.set(key, { where: known.where, doc: known.doc ?? entry.doc, properties });
    }
  }

  /** Reads every .ts file under `dir` (recursively), `root` being what `where` is relative to. */
  static fromFolder(dir: string, root: string): SchemaDocs {
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).sort();
    return new SchemaDocs(files.flatMap((f) => objectDocsOfSource(path.relative(root, path.join(dir, f)), readFileSync(path.join(dir, f), 'utf8'))));
  }

  /** The literal with exactly these property names, if the source has one. */
  lookup(keys: readonly string[]): ObjectDocs | undefined {
    return this.byShape.get(shapeKey(keys));
  }
}
