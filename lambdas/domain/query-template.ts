/**
 * PromQL templates. A check's query names the canary or stable series through variables
 * (`{{ canarySelector }}`, `{{ window }}`, ...) so one plan serves every service and both roles.
 *
 * The selectors quote their label values (promQuote). The raw values `{{ service }}`, `{{ canary }}` and
 * `{{ stable }}` are pasted as they are, for queries that write their own matchers (`app="{{ service }}"`): so the
 * registration only accepts label values that need no quoting (LABEL_VALUE), and templateValues refuses any other.
 * A value cannot end the string it is pasted into, nor the selector around it.
 */

export const TEMPLATE_VARIABLES = [
  'service',
  'canary',
  'stable',
  'window',
  'interval',
  'serviceLabel',
  'versionLabel',
  'statusLabel',
  'canarySelector',
  'stableSelector',
  'requestsMetric',
  'durationMetric',
] as const;

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Record<TemplateVariable, string>;

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The variable names a template uses, in order of first use. */
export function templateVariables(template: string): string[] {
  const seen = new Set<string>();
  for (const match of template.matchAll(VARIABLE)) seen.add(match[1]);
  return [...seen];
}

/** Variables a template uses that are not known; empty when the template is valid. */
export function unknownTemplateVariables(template: string): string[] {
  const known = new Set<string>(TEMPLATE_VARIABLES);
  return templateVariables(template).filter((name) => !known.has(name));
}

/** Substitutes every variable; throws on an unknown one (plans are validated first, so that is a bug). */
export function renderQuery(template: string, values: TemplateValues): string {
  return template.replace(VARIABLE, (_whole, name: string) => {
    if (!(name in values)) throw new Error(`unknown template variable {{ ${name} }}`);
    return values[name as TemplateVariable];
  });
}

/** Label names and metric names a service's metrics follow; every field has the field's default. */
export interface MetricConventions {
  readonly serviceLabel: string;
  readonly versionLabel: string;
  readonly statusLabel: string;
  readonly requestsMetric: string;
  readonly durationMetric: string;
}

export const DEFAULT_CONVENTIONS: MetricConventions = {
  serviceLabel: 'service',
  versionLabel: 'version',
  statusLabel: 'status',
  requestsMetric: 'http_requests_total',
  durationMetric: 'http_request_duration_seconds',
};

/** Quotes a label value for a PromQL matcher (a Go string literal: backslash, quote and line breaks escaped). */
export function promQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/** A label value that may be pasted raw into PromQL: no quote, backslash, brace, comma, space or line break. */
export const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;
export const LABEL_VALUE_RULE =
  'must be 1-128 characters: letters, digits and . _ : @ / + - (it is pasted into PromQL as {{ service }}, {{ canary }} or {{ stable }}, so it may hold no quote, backslash, brace, comma or space)';

/** The values a query is rendered with for one run. */
export function templateValues(args: {
  conventions: MetricConventions;
  serviceLabelValue: string;
  canaryVersion: string;
  stableVersion: string;
  window: string;
  intervalSeconds: number;
}): TemplateValues {
  const { conventions: c } = args;
  // The registration refuses such values (service-config.ts); one arriving here would break out of a query.
  for (const [name, value] of [['service', args.serviceLabelValue], ['canary', args.canaryVersion], ['stable', args.stableVersion]] as const) {
    if (!LABEL_VALUE.test(value)) throw new Error(`label value of {{ ${name} }} ${JSON.stringify(value)} ${LABEL_VALUE_RULE}`);
  }
  const selector = (version: string) =>
    `${c.serviceLabel}=${promQuote(args.serviceLabelValue)}, ${c.versionLabel}=${promQuote(version)}`;
  return {
    service: args.serviceLabelValue,
    canary: args.canaryVersion,
    stable: args.stableVersion,
    window: args.window,
    interval: `${args.intervalSeconds}s`,
    serviceLabel: c.serviceLabel,
    versionLabel: c.versionLabel,
    statusLabel: c.statusLabel,
    canarySelector: selector(args.canaryVersion),
    stableSelector: selector(args.stableVersion),
    requestsMetric: c.requestsMetric,
    durationMetric: c.durationMetric,
  };
}
