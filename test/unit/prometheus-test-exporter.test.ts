import { startTestExporter, type TestExporter } from '../support/test-exporter';

// The exporter's exposition text is what Prometheus parses; the integration suites prove it scrapes.

let exporter: TestExporter;

beforeEach(async () => {
  exporter = await startTestExporter();
});

afterEach(async () => {
  await exporter.stop();
});

describe('test exporter', () => {
  test('serves /metrics with # TYPE lines, grouped families, special values and escaped labels', async () => {
    exporter.set('http_requests_total', { service: 'x', version: 'canary', status: '500' }, 3);
    exporter.inc('http_requests_total', { service: 'x', version: 'canary', status: '500' }, 2);
    exporter.set('http_request_duration_seconds_bucket', { le: '+Inf' }, 7);
    exporter.set('http_request_duration_seconds_count', {}, 7);
    exporter.set('queue_ratio', { name: 'say "hi"\\n' }, NaN);
    exporter.set('ceiling', {}, Infinity);
    exporter.set('floor', {}, -Infinity);

    const response = await fetch(exporter.url);
    const text = await response.text();

    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        '# TYPE http_requests_total counter',
        'http_requests_total{service="x",status="500",version="canary"} 5',
        '# TYPE http_request_duration_seconds histogram',
        'http_request_duration_seconds_bucket{le="+Inf"} 7',
        'http_request_duration_seconds_count 7',
        '# TYPE queue_ratio gauge',
        'queue_ratio{name="say \\"hi\\"\\\\n"} NaN',
        'ceiling +Inf',
        'floor -Inf',
      ]),
    );
    expect(exporter.target).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(exporter.scrapes).toBe(1);
  });

  test('remove and clear stop exposing series; bad names are refused', async () => {
    exporter.set('a', { k: '1' }, 1);
    exporter.set('a', { k: '2' }, 2);
    exporter.remove('a', { k: '1' });
    expect(await (await fetch(exporter.url)).text()).toBe('# TYPE a gauge\na{k="2"} 2\n');

    exporter.clear();
    expect(await (await fetch(exporter.url)).text()).toBe('');
    expect(() => exporter.set('bad-name', {}, 1)).toThrow(/not a Prometheus metric name/);
    expect(() => exporter.set('ok', { 'bad-label': 'v' }, 1)).toThrow(/not a Prometheus label name/);
  });
});
