import { PROMETHEUS_INSTALL_HINT, startPrometheus, type RunningPrometheus } from '../../local/prometheus/prometheus-server';
import { startTestExporter, type TestExporter } from '../support/test-exporter';

// The harness other suites (workflow tests, benchmarks, the local demo) build on. Prometheus 2.42
// scrapes about 5 s after it starts, so the servers start together once.

let exporter: TestExporter;
let labelled: RunningPrometheus;
let plain: RunningPrometheus;
let unreachable: RunningPrometheus;
/** The wait on the unreachable target runs alongside the other tests; it can only end when its time is up. */
let unreachableWait: Promise<unknown>;

beforeAll(async () => {
  exporter = await startTestExporter();
  exporter.set('demo_up', {}, 1);
  [labelled, plain, unreachable] = await Promise.all([
    startPrometheus({ targets: [exporter.target], jobName: 'payments', targetLabels: { cluster: 'local' } }),
    startPrometheus({ targets: [exporter.target] }),
    startPrometheus({ targets: ['127.0.0.1:1'] }),
  ]);
  unreachableWait = unreachable.waitForTargetsUp(8000).then(
    () => 'resolved',
    (error: unknown) => error,
  );
});

afterAll(async () => {
  await unreachableWait;
  await Promise.all([labelled?.stop(), plain?.stop(), unreachable?.stop()]);
  await exporter?.stop();
});

async function instant(url: string, promql: string): Promise<unknown> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql }).toString()}`);
  const body = (await response.json()) as { data: { result: unknown } };
  return body.data.result;
}

describe('startPrometheus', () => {
  test('servers started in parallel get distinct free ports and scrape with the given job name and labels', async () => {
    expect(labelled.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set([labelled.url, plain.url, unreachable.url]).size).toBe(3);

    await Promise.all([labelled.waitForTargetsUp(), plain.waitForTargetsUp()]);
    await labelled.waitForSeries('demo_up{job="payments", cluster="local"}');
    await plain.waitForSeries('demo_up{job="test"}');

    expect(await instant(labelled.url, 'up')).toEqual([
      { metric: { __name__: 'up', cluster: 'local', instance: exporter.target, job: 'payments' }, value: [expect.any(Number), '1'] },
    ]);
  });

  test('waitForTargetsUp names a target that cannot be scraped when the time is up', async () => {
    const outcome = await unreachableWait;

    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/targets not up within 8000 ms: 0\/1 up; http:\/\/127\.0\.0\.1:1\/metrics: down .*connection refused/);
  });

  test('waitForSeries fails at once on a query Prometheus rejects', async () => {
    const started = Date.now();
    await expect(plain.waitForSeries('sum(', 10_000)).rejects.toThrow(/query 'sum\(' failed: .*parse error/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('stop() frees the port, and a second stop() is harmless', async () => {
    const prometheus = await startPrometheus({ targets: [] });
    await expect(fetch(`${prometheus.url}/-/ready`).then((r) => r.status)).resolves.toBe(200);

    await prometheus.stop();

    await expect(fetch(`${prometheus.url}/-/ready`)).rejects.toThrow();
    await expect(prometheus.stop()).resolves.toBeUndefined();
  });

  test('without the prometheus binary on PATH it says how to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startPrometheus({ targets: [] })).rejects.toThrow("the 'prometheus' binary is not on PATH; install it with: apt-get install -y prometheus");
    } finally {
      process.env.PATH = path;
    }
    expect(PROMETHEUS_INSTALL_HINT).toBe('apt-get install -y prometheus');
  });
});
