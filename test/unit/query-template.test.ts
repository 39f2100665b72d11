import { BUILTIN_CHECKS, type BuiltinCheck } from '../../lambdas/domain/builtin-checks';
import { DEFAULT_CONVENTIONS, LABEL_VALUE, promQuote, renderQuery, templateValues, unknownTemplateVariables } from '../../lambdas/domain/query-template';

const values = templateValues({
  conventions: { ...DEFAULT_CONVENTIONS, versionLabel: 'track' },
  serviceLabelValue: 'payments-api',
  canaryVersion: 'canary',
  stableVersion: 'stable',
  window: '2m',
  intervalSeconds: 60,
});

describe('query templates', () => {
  it('renders the built-in error rate for the canary with the configured label names', () => {
    expect(renderQuery(BUILTIN_CHECKS['error-rate'].query, values)).toBe(
      '(sum(rate(http_requests_total{ service="payments-api", track="canary", status=~"5.." }[2m])) or vector(0)) / sum(rate(http_requests_total{ service="payments-api", track="canary" }[2m]))',
    );
  });

  it('renders the p99 from the duration histogram', () => {
    expect(renderQuery(BUILTIN_CHECKS['latency-p99'].query, values)).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{ service="payments-api", track="canary" }[2m])))',
    );
  });

  it('quotes label values as PromQL string literals', () => {
    expect(promQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(promQuote('line\nbreak')).toBe('"line\\nbreak"');
  });

  it.each(['blue"} or vector(1) #', 'a\\', 'x}', 'two words', 'a,b="c"', 'new\nline', ''])('refuses to paste label value %j raw into a query', (value) => {
    const args = { conventions: DEFAULT_CONVENTIONS, serviceLabelValue: 'payments-api', canaryVersion: 'canary', stableVersion: 'stable', window: '1m', intervalSeconds: 5 };
    expect(LABEL_VALUE.test(value)).toBe(false);
    expect(() => templateValues({ ...args, serviceLabelValue: value })).toThrow('label value of {{ service }}');
    expect(() => templateValues({ ...args, canaryVersion: value })).toThrow('label value of {{ canary }}');
    expect(() => templateValues({ ...args, stableVersion: value })).toThrow('label value of {{ stable }}');
  });

  it('pastes the label values a registration accepts as they are, inside the quotes the query writes', () => {
    const v = templateValues({ conventions: DEFAULT_CONVENTIONS, serviceLabelValue: 'team/payments-api', canaryVersion: 'v2.4.1+build.7', stableVersion: 'v2.4.0', window: '1m', intervalSeconds: 5 });
    expect(renderQuery('up{app="{{ service }}", track=~"{{ canary }}|{{ stable }}"}', v)).toBe('up{app="team/payments-api", track=~"v2.4.1+build.7|v2.4.0"}');
  });

  it('finds unknown variables and tolerates spacing', () => {
    expect(unknownTemplateVariables('x{ {{canarySelector}} }[{{  window }}] {{ pod }}')).toEqual(['pod']);
  });

  it('every built-in check uses known variables only', () => {
    for (const check of Object.values(BUILTIN_CHECKS) as BuiltinCheck[]) {
      expect(unknownTemplateVariables(check.query ?? '')).toEqual([]);
      expect(unknownTemplateVariables(check.samplesQuery ?? '')).toEqual([]);
    }
  });
});
