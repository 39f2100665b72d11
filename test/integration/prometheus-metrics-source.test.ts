import { PrometheusMetricsSource } from '../../lambdas/adapters/prometheus/prometheus-metrics-source';
import { BUILTIN_CHECKS } from '../../lambdas/domain/builtin-checks';
import { MetricsQueryError } from '../../lambdas/domain/errors';
import { DEFAULT_CONVENTIONS, renderQuery, templateValues } from '../../lambdas/domain/query-template';
import type { QueryResult } from '../../lambdas/ports/metrics-source';
import { startPrometheus, type RunningPrometheus } from '../../local/prometheus/prometheus-server';
import { startTestExporter, type TestExporter } from '../support/test-exporter';

// A real Prometheus (Debian package) scraping a test exporter every second.

const canary = { service: 'payments', version: 'canary' };
const requests = 'http_requests_total';
const buckets = 'http_request_duration_seconds_bucket';

let exporter: TestExporter;
let prometheus: RunningPrometheus;
let source: PrometheusMetricsSource;
let traffic: NodeJS.Timeout | undefined;

beforeAll(async () => {
  exporter = await startTestExporter();
  exporter.set('canary_latency_seconds', canary, 0.061);
  prometheus = await startPrometheus({ targets: [exporter.target] });
  await prometheus.waitForTargetsUp();
  source = new PrometheusMetricsSource({ baseUrl: prometheus.url, timeoutMs: 5000 });
});

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  await prometheus?.stop();
  await exporter?.stop();
});

/** Polls until the query gives what `accept` wants (a scrape may not have happened yet); returns the last answer. */
async function eventually(promql: string, accept: (r: QueryResult) => boolean, timeoutMs = 10_000): Promise<QueryResult> {
  const deadline = Date.now() + timeoutMs;
  let result = await source.query(promql);
  while (!accept(result) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    result = await source.query(promql);
  }
  return result;
}

const isValue = (r: QueryResult) => r.kind === 'value';

async function queryError(promql: string, from: PrometheusMetricsSource = source): Promise<MetricsQueryError> {
  const error: unknown = await from.query(promql).then(
    (result) => result,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MetricsQueryError);
  return error as MetricsQueryError;
}

describe('PrometheusMetricsSource against a real Prometheus', () => {
  test('a gauge set on the exporter comes back as its value', async () => {
    const result = await eventually('canary_latency_seconds{service="payments", version="canary"}', isValue);

    expect(result).toEqual({ kind: 'value', value: 0.061 });
  });

  test('the built-in error-rate, sample count and p99 checks compute from live counters over a 5s window', async () => {
    // 9 good and 1 failing canary request every 200 ms; every request lands in the first latency bucket.
    for (const status of ['200', '500']) exporter.set(requests, { ...canary, status }, 0);
    for (const le of ['0.1', '0.25', '0.5', '+Inf']) exporter.set(buckets, { ...canary, le }, 0);
    traffic = setInterval(() => {
      exporter.inc(requests, { ...canary, status: '200' }, 9);
      exporter.inc(requests, { ...canary, status: '500' }, 1);
      for (const le of ['0.1', '0.25', '0.5', '+Inf']) exporter.inc(buckets, { ...canary, le }, 10);
    }, 200);
    const values = templateValues({
      conventions: DEFAULT_CONVENTIONS,
      serviceLabelValue: 'payments',
      canaryVersion: 'canary',
      stableVersion: 'stable',
      window: '5s',
      intervalSeconds: 5,
    });
    const errorRate = renderQuery(BUILTIN_CHECKS['error-rate'].query, values);
    const samples = renderQuery(BUILTIN_CHECKS['error-rate'].samplesQuery, values);
    const p99 = renderQuery(BUILTIN_CHECKS['latency-p99'].query, values);

    const rate = await eventually(errorRate, (r) => r.kind === 'value' && !Number.isNaN(r.value));
    const count = await eventually(samples, (r) => r.kind === 'value' && r.value > 0);
    const latency = await eventually(p99, (r) => r.kind === 'value' && !Number.isNaN(r.value));

    expect(rate.kind).toBe('value');
    expect(rate.kind === 'value' && rate.value).toBeCloseTo(0.1, 6);
    expect(count.kind === 'value' && count.value).toBeGreaterThan(0);
    // All requests are in the first bucket (≤ 0.1 s): p99 interpolates to 0.099.
    expect(latency.kind === 'value' && latency.value).toBeCloseTo(0.099, 6);
  });

  test('a query that matches nothing is empty, not zero', async () => {
    await expect(source.query('http_requests_total{service="nobody"}')).resolves.toEqual({ kind: 'empty' });
  });

  test('0/0 and a NaN gauge come back as NaN', async () => {
    exporter.set('queue_depth', { queue: 'a' }, 0);
    exporter.set('queue_capacity', { queue: 'a' }, 0);
    exporter.set('broken_ratio', {}, NaN);

    const ratio = await eventually('queue_depth{queue="a"} / queue_capacity{queue="a"}', isValue);
    const gauge = await eventually('broken_ratio', isValue);

    expect(ratio.kind === 'value' && Number.isNaN(ratio.value)).toBe(true);
    expect(gauge.kind === 'value' && Number.isNaN(gauge.value)).toBe(true);
  });

  test('+Inf and -Inf come back as Infinity and -Infinity, from a vector and from a scalar', async () => {
    exporter.set('latency_ceiling', { side: 'up' }, Infinity);
    exporter.set('latency_ceiling', { side: 'down' }, -Infinity);

    await expect(eventually('latency_ceiling{side="up"}', isValue)).resolves.toEqual({ kind: 'value', value: Infinity });
    await expect(eventually('latency_ceiling{side="down"}', isValue)).resolves.toEqual({ kind: 'value', value: -Infinity });
    await expect(source.query('1/0')).resolves.toEqual({ kind: 'value', value: Infinity });
  });

  test('scalar results: a number literal expression and scalar(...)', async () => {
    await expect(source.query('1+1')).resolves.toEqual({ kind: 'value', value: 2 });
    const scalar = await eventually('scalar(sum(canary_latency_seconds))', (r) => r.kind === 'value' && !Number.isNaN(r.value));
    expect(scalar).toEqual({ kind: 'value', value: 0.061 });
  });

  test('a query yielding several series fails and says how many and to aggregate', async () => {
    exporter.set('pod_memory_bytes', { pod: 'a' }, 1);
    exporter.set('pod_memory_bytes', { pod: 'b' }, 2);
    exporter.set('pod_memory_bytes', { pod: 'c' }, 3);
    await prometheus.waitForSeries('count(pod_memory_bytes) == 3');

    const error = await queryError('pod_memory_bytes');

    expect(error.message).toMatch(/3 series/);
    expect(error.message).toMatch(/sum\(\.\.\.\) or max\(\.\.\.\)/);
    expect(error.message).toContain('pod="a"');
    // Aggregated as the message suggests, it works.
    await expect(source.query('max(pod_memory_bytes)')).resolves.toEqual({ kind: 'value', value: 3 });
  });

  test("a syntactically bad query fails with Prometheus' own parse error", async () => {
    const error = await queryError('sum(rate(http_requests_total[5m])');

    expect(error.name).toBe('MetricsQueryError');
    expect(error.message).toMatch(/^Prometheus rejected the query \(HTTP 400\): .*parse error/);
    expect(error.message).toMatch(/unclosed left parenthesis/);
  });

  test('a range vector is refused with how to fix it', async () => {
    const error = await queryError('canary_latency_seconds[5s]');

    expect(error.message).toMatch(/range vector.*rate\(/);
  });

  test('a stopped Prometheus is "cannot reach <url>" within the timeout', async () => {
    const other = await startPrometheus({ targets: [exporter.target] });
    const client = new PrometheusMetricsSource({ baseUrl: other.url, timeoutMs: 2000 });
    await expect(client.query('1')).resolves.toEqual({ kind: 'value', value: 1 });
    await other.stop();

    const started = Date.now();
    const error = await queryError('1', client);

    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toBe(`cannot reach ${other.url}/api/v1/query: connection refused (ECONNREFUSED)`);
  });
});
