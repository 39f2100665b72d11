import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { main, parseArgs } from '../../scripts/docs';
import { CONFIGURATION_DOC, renderConfiguration, ROOT } from '../../scripts/docs/configuration';
import { objectSections } from '../../scripts/docs/schema-fields';
import { objectDocsOfSource, SchemaDocs } from '../../scripts/docs/source-docs';

// docs/configuration.md is generated from the zod schemas and their JSDoc (npm run docs); these tests run the
// generator in-process and hold the committed file to it.

const generated = renderConfiguration();

/** The table row of one field in the generated document, split into its cells. */
function row(markdown: string, field: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith(`| \`${field}\` |`));
  if (line === undefined) throw new Error(`no row for ${field} in ${CONFIGURATION_DOC}`);
  return line
    .slice(2, -2)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

describe('docs/configuration.md', () => {
  it('is what `npm run docs` generates from the schemas today', () => {
    // Prepare
    const committed = readFileSync(path.join(ROOT, CONFIGURATION_DOC), 'utf8');
    // Assess
    if (committed !== generated.markdown) {
      const [a, b] = [committed.split('\n'), generated.markdown.split('\n')];
      const at = a.findIndex((line, i) => line !== b[i]);
      throw new Error(`${CONFIGURATION_DOC} is stale: run \`npm run docs\` and commit it (first difference at line ${at + 1}: committed ${JSON.stringify(a[at])}, generated ${JSON.stringify(b[at])})`);
    }
  });

  it('is the same bytes on every run', () => {
    expect(renderConfiguration().markdown).toBe(generated.markdown);
  });

  it('gives each field its type, requirement, default, bounds and JSDoc description', () => {
    expect(row(generated.markdown, 'plan.analysis.intervalSeconds')).toEqual(['`plan.analysis.intervalSeconds`', 'integer', 'no', '`60`', '1 to 3600', 'Seconds between two analyses, 1 to 3600.']);
    expect(row(generated.markdown, 'plan.rollback.mode')).toEqual([
      '`plan.rollback.mode`',
      'string',
      'no',
      '`"immediate"`',
      'one of `"immediate"`, `"gradual"`',
      '`immediate`: all traffic back to stable at once. `gradual`: down the schedule with short holds.',
    ]);
    expect(row(generated.markdown, 'service.workload.readyTimeoutSeconds').slice(1, 5)).toEqual(['integer', 'no', '`900`', '30 to 7200']);
    expect(row(generated.markdown, 'service')).toEqual(expect.arrayContaining(['string', 'yes']));
  });

  it('lists the messages of refinements JSON Schema cannot hold', () => {
    expect(row(generated.markdown, 'plan.steps[].weight')[4]).toContain('must be a multiple of 0.1');
    expect(row(generated.markdown, 'image')[4]).toContain('must name a tag (:v2.4.1) or a digest (@sha256:…)');
  });

  it('shows the defaults the plan fills in for each judge, read from the plan itself', () => {
    expect(row(generated.markdown, 'plan.checks[].maxRatio')[3]).toBe('sequential: `1.5`');
    expect(row(generated.markdown, 'plan.checks[].sustainIntervals')[3]).toBe('stable-guard: `3`');
  });

  it('holds every built-in check and the default plan', () => {
    for (const name of ['error-rate', 'latency-p99', 'stable-error-rate', 'memory-bytes']) expect(generated.markdown).toContain(`| \`${name}\` |`);
    expect(generated.markdown).toContain('"analysis": { "intervalSeconds": 60, "consecutiveFailureLimit": 2');
  });

  it('names the fields without a description, each of which has an empty description cell', () => {
    expect(generated.undocumented.length).toBeGreaterThan(0);
    const withRow = generated.undocumented.filter((f) => generated.markdown.includes(`| \`${f}\` |`));
    for (const field of withRow) expect(row(generated.markdown, field)[5]).toMatch(/^(See \[Plan\]\(#plan\)\.)?$/);
  });
});

describe('field docs from the source', () => {
  const source = `
    import { z } from 'zod';
    const common = {
      /** The cluster it runs in. */
      cluster: z.string(),
    };
    /** Two limits. */
    const limit = z.number();
    export const shapes = z.discriminatedUnion('kind', [
      /** A box. */
      z.strictObject({
        kind: z.literal('box'),
        /** How many, at most five. */
        count: z.number().int().min(1).max(5).default(2),
        ...common,
        limit,
        mode: z.enum(['a', 'b']).optional(),
        weight: z.number().refine((w) => w % 2 === 0, { message: 'must be even' }),
      }),
    ]);
    export const wrapper = z.strictObject({ shape: shapes });
  `;
  const schema = z.strictObject({
    shape: z.discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('box'),
        count: z.number().int().min(1).max(5).default(2),
        cluster: z.string(),
        limit: z.number(),
        mode: z.enum(['a', 'b']).optional(),
        weight: z.number().refine((w) => w % 2 === 0, { message: 'must be even' }),
      }),
    ]),
  });
  const sections = objectSections(schema, 'x', new SchemaDocs(objectDocsOfSource('shapes.ts', source)));
  const box = sections.find((s) => s.variant?.value === 'box');
  const field = (name: string) => box?.fields.find((f) => f.path === `x.shape.${name}`);

  it('maps each property to its leading JSDoc, through spreads and documented constants', () => {
    expect(field('count')?.description).toBe('How many, at most five.');
    expect(field('cluster')?.description).toBe('The cluster it runs in.');
    expect(field('limit')?.description).toBe('Two limits.');
    expect(field('mode')?.description).toBeUndefined();
  });

  it('describes a union member by the JSDoc above it and names its discriminator', () => {
    expect(box).toMatchObject({ path: 'x.shape', variant: { key: 'kind', value: 'box' }, description: 'A box.', strict: true, source: 'shapes.ts:11' });
  });

  it('takes type, requirement, default and bounds from the schema', () => {
    expect(field('count')).toMatchObject({ type: 'integer', required: false, default: 2, constraints: ['1 to 5'] });
    expect(field('mode')).toMatchObject({ type: 'string', required: false, constraints: ['one of `"a"`, `"b"`'] });
    expect(field('weight')).toMatchObject({ type: 'number', required: true, constraints: ['must be even'] });
  });
});

describe('npm run docs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'docs-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (argv: string[]) => {
    const lines = { out: [] as string[], err: [] as string[] };
    const code = main(argv, (l) => lines.out.push(l), (l) => lines.err.push(l));
    return { code, ...lines };
  };

  it('--check exits 1 naming the file when it differs, and writes nothing', () => {
    // Prepare
    const file = path.join(dir, 'configuration.md');
    writeFileSync(file, generated.markdown.replace('Seconds between two analyses', 'Minutes between two analyses'));
    // Act
    const result = run(['--check', '--file', file]);
    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${path.relative(process.cwd(), file)} is stale: run \`npm run docs\` and commit the result`);
    expect(readFileSync(file, 'utf8')).toContain('Minutes between two analyses');
  });

  it('writes the file, after which --check passes', () => {
    const file = path.join(dir, 'written.md');
    expect(run(['--file', file]).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(generated.markdown);
    expect(run(['--check', '--file', file])).toMatchObject({ code: 0, out: [`${path.relative(process.cwd(), file)} is up to date`] });
  });

  it('warns about the fields without a description without failing', () => {
    const file = path.join(dir, 'fresh.md');
    writeFileSync(file, generated.markdown);
    const result = run(['--check', '--file', file]);
    expect(result.code).toBe(0);
    expect(result.err[0]).toBe(`warning: ${generated.undocumented.length} fields without a description (add a /** … */ comment above them):`);
    expect(result.err.slice(1)).toEqual(generated.undocumented.map((f) => `  ${f}`));
  });

  it('refuses an unknown argument with the usage line', () => {
    expect(() => parseArgs(['--chek'])).toThrow("unknown argument '--chek'; usage: npm run docs -- [--check] [--file PATH]");
    expect(run(['--file'])).toMatchObject({ code: 2, err: ['--file needs a path; usage: npm run docs -- [--check] [--file PATH]'] });
  });
});
