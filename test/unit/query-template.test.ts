import { BUILTIN_CHECKS, type BuiltinCheck } from '../../lambdas/domain/builtin-checks';
import { DEFAULT_CONVENTIONS, renderQuery, templateValues, unknownTemplateVariables } from '../../lambdas/domain/query-template';

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

  it('escapes label values', () => {
    const odd = templateValues({ ...{ conventions: DEFAULT_CONVENTIONS, serviceLabelValue: 'a"b\\c', canaryVersion: 'c', stableVersion: 's', window: '1m', intervalSeconds: 5 } });
    expect(odd.canarySelector).toBe('service="a\\"b\\\\c", version="c"');
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
