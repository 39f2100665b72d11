/**
 * docs/configuration.md, generated from the zod schemas of lambdas/domain (types, bounds, defaults) and the JSDoc
 * above their fields (descriptions), plus the built-in checks, the plan defaults and bounds, and the query
 * templates. Deterministic: the same sources give the same bytes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILTIN_CHECKS, CHECK_JUDGES, THRESHOLD_CHECKS, type BuiltinCheck, type CheckJudge } from '../../lambdas/domain/builtin-checks';
import { executionInputSchema, IMAGE_EXAMPLE } from '../../lambdas/domain/execution-input';
import { DEFAULT_PLAN, PLAN_BOUNDS, planSchema, resolveFullPlan } from '../../lambdas/domain/plan';
import { DEFAULT_CONVENTIONS, TEMPLATE_VARIABLES } from '../../lambdas/domain/query-template';
import { serviceConfigSchema } from '../../lambdas/domain/service-config';
import { Anchors, code, table } from './markdown';
import { objectSections, type Field, type ObjectSection } from './schema-fields';
import { constantDocs, SchemaDocs } from './source-docs';

export const ROOT = path.resolve(__dirname, '../..');
export const CONFIGURATION_DOC = 'docs/configuration.md';
const DOMAIN = 'lambdas/domain';

/** A minimal check of each judge; resolving it shows what the plan fills in for that judge. */
const PROBES: Readonly<Record<CheckJudge, Readonly<Record<string, unknown>>>> = {
  threshold: { query: 'sum(up)', max: 1 },
  sequential: { count: 'errors', slo: 0.01 },
  'stable-guard': { count: 'errors', slo: 0.01 },
  'gauge-trend': { query: 'max(up)', max: 1 },
};
const PROBE_NAME = 'docs-probe';

/** Field → judge → the value the plan fills in when a check of that judge leaves the field out. */
function judgeDefaults(): Map<string, Map<CheckJudge, unknown>> {
  const out = new Map<string, Map<CheckJudge, unknown>>();
  const off = DEFAULT_PLAN.checks.map((c) => ({ name: c.name, enabled: false }));
  for (const judge of CHECK_JUDGES) {
    const probe = { name: PROBE_NAME, judge, ...PROBES[judge] };
    let filled: Record<string, unknown> | undefined;
    try {
      filled = resolveFullPlan(undefined, { checks: [...off, probe] }).checks.find((c) => c.name === PROBE_NAME);
    } catch (error) {
      throw new Error(`scripts/docs/configuration.ts: the probe check of judge '${judge}' no longer validates; update PROBES (${(error as Error).message})`);
    }
    for (const [field, value] of Object.entries(filled ?? {})) {
      if (field in probe || value === undefined) continue;
      if (!out.has(field)) out.set(field, new Map());
      out.get(field)!.set(judge, value);
    }
  }
  return out;
}

/** Fields the plan fills by a rule rather than a value, with the rule. */
const FILLED: Readonly<Record<string, string>> = {
  'plan.checks[].judge': "a built-in's default judge; else `sequential` with `count`, `threshold` without",
};

/** Where a free-form field is described. */
const SEE: Readonly<Record<string, string>> = {
  'service.plan': 'Plan',
  plan: 'Plan',
};

/** Prose for a section, about rules across fields that its table cannot show. */
function notes(): Readonly<Record<string, string>> {
  return {
    service:
      'Registered at deploy time: an entry of the services file (`-c servicesFile=…`, start from `infra/services.example.json`) or ' +
      '`CanaryOrchestrator.addService(…)` in a CDK app ([deploying.md](deploying.md)). A bad registration fails `cdk synth` with the field named ' +
      '(`service.plan.steps[1].weight: must be between 0 and 100`); the registered plan must also satisfy the registration\'s own policy.',
    plan:
      'A plan is merged in layers: the [plan defaults](#plan-defaults), then the service\'s registered plan, then the execution\'s `plan`. ' +
      '`analysis`, `rollback` and `approvals` merge key by key, `steps` is replaced whole, `checks` merge by name (a known name updates that ' +
      'check, a new name is added). The merged plan must satisfy everything below, so a plan writes only what it changes. Every bad field is ' +
      'named: `plan.steps[1].weight: must be between 0 and 100` (in a registration `service.plan.…`).',
    'plan.steps[]':
      `Weights are percent of traffic on the canary, 0.1% resolution, never decreasing; the first is at most ${PLAN_BOUNDS.maxFirstWeight} ` +
      '(every plan\'s cap) and the last is 100, with at least one step below 100%. Every step but the last holds (`holdSeconds`, whole seconds, ' +
      'at least one analysis interval); a hold on the last step bakes at 100% before promoting. `approval` is not allowed on the first step: ' +
      'approve the release by starting it.',
    'plan.checks[]':
      'Names are unique, and at least one check stays enabled. A check takes only the fields of its judge; any other is refused, naming the ' +
      "judges that take it (`plan.checks[0].maxRatio: only for judge 'sequential' (this check is judged 'threshold')`). A built-in name fills " +
      'the rest ([built-in checks](#built-in-checks)); the plan\'s own fields win. Query-based checks (`threshold`, `gauge-trend`) use ' +
      '[query templates](#query-templates) and must return one number (aggregate with `sum()`/`max()`); `threshold` needs `min` and/or `max`, ' +
      '`gauge-trend` a `max`, and `samplesQuery` is required when `minSamples` is above 0. Count-based checks (`sequential`, `stable-guard`) ' +
      'need `count` and `slo` (a built-in fills both); a `slow` count needs `max`, the latency bound in seconds; for an `errors` count `max` ' +
      'is the SLO and must equal `slo` when both are given. Two count-based checks of the same counts are refused: they would spend the ' +
      'false-rollback rate twice. With threshold judging keep `window` ≤ the interval: a window twice the interval counts one bad minute in ' +
      'two analyses, so `consecutiveFailureLimit: 2` no longer shields a single blip. How each judge decides: [judging.md](judging.md).',
    '':
      `All a console user types; only \`service\` and \`image\` are required. \`image\` names a tag or a digest, e.g. \`${IMAGE_EXAMPLE}\`. ` +
      'The console\'s JSON Schema of it is `statemachine/execution-input.schema.json` (written by `npm run schema`). Every bad field is named: ' +
      '`plan.steps[1].weight: must be between 0 and 100`. A dry run is described in [operations.md](operations.md#dry-run).',
  };
}

const json = (value: unknown): string => JSON.stringify(value);
const SHORT = 60;

/** A section's heading text: its path, and the union member it is. */
const headingOf = (s: ObjectSection): string => `${s.path === '' ? 'Top level' : code(s.path)}${s.variant ? ` (${s.variant.key} ${code(s.variant.value)})` : ''}`;
const noteKey = (s: ObjectSection): string => (s.variant ? `${s.path}#${s.variant.value}` : s.path);

/** The value at a dotted path of DEFAULT_PLAN (`plan.analysis.window`), when the path has no array in it. */
function planDefault(fieldPath: string): unknown {
  if (!fieldPath.startsWith('plan.') || fieldPath.includes('[]')) return undefined;
  let value: unknown = DEFAULT_PLAN;
  for (const key of fieldPath.slice('plan.'.length).split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

interface Rendered {
  readonly markdown: string;
  /** Paths of the fields that have no JSDoc. */
  readonly undocumented: readonly string[];
}

/** One table of fields. */
function fieldTable(section: ObjectSection, defaultsByJudge: ReadonlyMap<string, ReadonlyMap<CheckJudge, unknown>>, anchorOf: (title: string) => string): string {
  const rows = section.fields.map((f: Field) => {
    const key = section.path === '' ? f.path : f.path.slice(section.path.length + 1);
    const byJudge = section.path === 'plan.checks[]' ? defaultsByJudge.get(key) : undefined;
    const fromPlan = planDefault(f.path);
    let defaultText = f.default === undefined ? '' : code(json(f.default));
    if (fromPlan !== undefined) defaultText = json(fromPlan).length <= SHORT ? code(json(fromPlan)) : `see [plan defaults](#plan-defaults)`;
    if (byJudge !== undefined) defaultText = [...byJudge].map(([judge, v]) => `${judge}: ${code(json(v))}`).join('; ');
    if (FILLED[f.path] !== undefined) defaultText = FILLED[f.path];
    const required = f.required && fromPlan === undefined && byJudge === undefined && FILLED[f.path] === undefined;
    const see = SEE[f.path] === undefined ? '' : ` See [${SEE[f.path]}](#${anchorOf(SEE[f.path])}).`;
    return [code(f.path), f.type, required ? 'yes' : 'no', defaultText, f.constraints.join('; '), `${f.description ?? ''}${see}`.trim()];
  });
  return table(['field', 'type', 'required', 'default', 'constraints', 'description'], rows);
}

/** The built-in check's own settings, in words. */
function builtinSettings(check: BuiltinCheck): string {
  const parts: string[] = [];
  if (check.counted !== undefined) {
    const c = check.counted;
    parts.push(`counts ${code(c.count)}, SLO ${c.slo}${c.max !== undefined ? `, bound ${c.max} s` : ''}${c.follows !== undefined ? `, follows ${code(c.follows)}` : ''}`);
  }
  const threshold = (['min', 'max', 'minSamples'] as const).filter((k) => check[k] !== undefined).map((k) => `${k} ${check[k]}`);
  if (threshold.length > 0) parts.push(`query-based: ${threshold.join(', ')}`);
  return parts.join('; ');
}

/** The whole document and the fields it found no description for. */
export function renderConfiguration(root = ROOT): Rendered {
  const docs = SchemaDocs.fromFolder(path.join(root, DOMAIN), root);
  const defaultsByJudge = judgeDefaults();
  const groups: { title: string; intro: string; sections: ObjectSection[] }[] = [
    {
      title: 'Service registration',
      intro: 'What a service registers at deploy time: `serviceConfigSchema` in `lambdas/domain/service-config.ts`, validated by `parseServiceConfig`.',
      sections: objectSections(serviceConfigSchema, 'service', docs),
    },
    {
      title: 'Plan',
      intro: 'The rollout plan: `planSchema` in `lambdas/domain/plan.ts` (steps, analysis, checks, rollback, approvals), validated after the merge.',
      sections: objectSections(planSchema, 'plan', docs),
    },
    {
      title: 'Execution input',
      intro: 'What starts a run: `executionInputSchema` in `lambdas/domain/execution-input.ts`, validated by Start. Its fields are named without a root, as its errors name them.',
      sections: objectSections(executionInputSchema, '', docs),
    },
  ];

  const anchors = new Anchors();
  const toc: string[] = [];
  const body: string[] = [];
  const h2 = (title: string) => {
    toc.push(`- [${title}](#${anchors.next(title)})`);
    body.push(`## ${title}`, '');
  };
  const h3 = (title: string) => {
    toc.push(`  - [${title}](#${anchors.next(title)})`);
    body.push(`### ${title}`, '');
  };
  // Anchors of the H2 headings are known up front, for links written before them.
  const h2Titles = [...groups.map((g) => g.title), 'Built-in checks', 'Check defaults by judge', 'Plan bounds', 'Plan defaults', 'Query templates'];
  const anchorOf = (title: string): string => {
    if (!h2Titles.includes(title)) throw new Error(`scripts/docs/configuration.ts: a link to '${title}', which is not a heading`);
    return new Anchors().next(title);
  };

  const noteTexts = notes();
  const usedNotes = new Set<string>();
  const undocumented: string[] = [];
  for (const group of groups) {
    h2(group.title);
    body.push(group.intro, '');
    const rendered = new Set<string>();
    for (const section of group.sections) {
      // A nested object shared by union members (metrics.conventions of each kind) is shown once.
      const identity = `${section.path} ${json(section.fields)}`;
      if (section.variant === undefined && rendered.has(identity)) continue;
      rendered.add(identity);
      h3(headingOf(section));
      const lines: string[] = [];
      if (section.description !== undefined) lines.push(section.description);
      const note = noteTexts[noteKey(section)];
      if (note !== undefined) {
        usedNotes.add(noteKey(section));
        lines.push(note);
      }
      const rules = [section.strict ? 'Unknown fields are refused.' : '', section.crossFieldRules ? 'Some rules span several fields (checked after the fields themselves).' : ''].filter(Boolean).join(' ');
      if (rules) lines.push(rules);
      if (section.source !== undefined) lines.push(`Source: \`${section.source.replace(/:\d+$/, '')}\`.`);
      body.push(lines.join(' '), '', fieldTable(section, defaultsByJudge, anchorOf), '');
      for (const f of section.fields) if (f.description === undefined && !undocumented.includes(f.path)) undocumented.push(f.path);
    }
  }
  const stale = Object.keys(noteTexts).filter((k) => !usedNotes.has(k));
  if (stale.length > 0) throw new Error(`scripts/docs/configuration.ts: notes for sections that no schema has any more: ${stale.join(', ')}`);
  for (const p of [...Object.keys(FILLED), ...Object.keys(SEE)]) {
    const all = groups.flatMap((g) => g.sections.flatMap((s) => s.fields.map((f) => f.path)));
    if (!all.includes(p)) throw new Error(`scripts/docs/configuration.ts: FILLED/SEE name ${p}, which no schema has any more`);
  }

  h2('Built-in checks');
  body.push(
    'Checks a plan may name without writing PromQL (`BUILTIN_CHECKS` in `lambdas/domain/builtin-checks.ts`): `{ "name": "error-rate", "max": 0.02 }`. `judge` picks another of its judges.',
    '',
    table(
      ['name', 'description', 'default judge', 'judges', 'built-in settings'],
      Object.entries(BUILTIN_CHECKS as Readonly<Record<string, BuiltinCheck>>).map(([name, c]) => [code(name), c.description, code(c.judge), c.judges.map(code).join(', '), builtinSettings(c)]),
    ),
    '',
    'The static threshold judging of before (`THRESHOLD_CHECKS`), as plan checks:',
    '',
    '```json',
    json(THRESHOLD_CHECKS),
    '```',
    '',
  );

  h2('Check defaults by judge');
  body.push(
    'What the plan fills in for a check of each judge that leaves the field out (the plan\'s own fields, then a built-in\'s, win):',
    '',
    table(
      ['field', ...CHECK_JUDGES.map(code)],
      [...defaultsByJudge].map(([field, byJudge]) => [code(field), ...CHECK_JUDGES.map((j) => (byJudge.has(j) ? code(json(byJudge.get(j))) : ''))]),
    ),
    '',
  );

  h2('Plan bounds');
  const boundDocs = constantDocs(`${DOMAIN}/plan.ts`, readFileSync(path.join(root, DOMAIN, 'plan.ts'), 'utf8'), 'PLAN_BOUNDS');
  body.push(
    'Bounds every plan keeps, whoever writes it (`PLAN_BOUNDS` in `lambdas/domain/plan.ts`):',
    '',
    table(
      ['bound', 'value', 'meaning'],
      Object.entries(PLAN_BOUNDS).map(([k, v]) => [code(k), String(v), boundDocs.get(k) ?? '']),
    ),
    '',
  );

  h2('Plan defaults');
  body.push('The plan every run starts from (`DEFAULT_PLAN` in `lambdas/domain/plan.ts`); a registration and an execution override parts of it:', '', '```json', planJson(DEFAULT_PLAN), '```', '');

  h2('Query templates');
  body.push(
    'Variables a query-based check may use, written `{{ name }}` (`TEMPLATE_VARIABLES` in `lambdas/domain/query-template.ts`): ' +
      `${TEMPLATE_VARIABLES.map((v) => code(`{{ ${v} }}`)).join(', ')}. ` +
      '`{{ canarySelector }}` is the canary\'s label matchers (`service="payments-api", version="canary"`), `{{ stableSelector }}` the stable\'s.',
    '',
    'Default metric conventions (`DEFAULT_CONVENTIONS`; a registration\'s `metrics.conventions` overrides each):',
    '',
    table(['convention', 'default'], Object.entries(DEFAULT_CONVENTIONS).map(([k, v]) => [code(k), code(String(v))])),
    '',
  );

  const head = [
    '# Configuration reference',
    '',
    'Every field of a service registration, a plan and an execution input: type, whether it is required, default, constraints and meaning.',
    '',
    '> Generated by `npm run docs` (scripts/docs.ts) from the zod schemas in `lambdas/domain` and the JSDoc above their fields. Do not edit by hand: `npm run docs -- --check` fails when this file is stale.',
    '',
    '## Contents',
    '',
    ...toc,
    '',
  ];
  return { markdown: `${[...head, ...body].join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`, undocumented };
}

/** DEFAULT_PLAN as JSON with one line per top-level key, as people write plans. */
function planJson(plan: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(plan).map(([k, v]) => `  ${json(k)}: ${JSON.stringify(v, null, 1).replace(/\n\s*/g, ' ')}`);
  return `{\n${entries.join(',\n')}\n}`;
}
