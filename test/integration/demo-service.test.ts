import { parseProfile, type ProfileFile } from '../../local/demo/profile';
import { startServiceProcess, type ServiceProcess } from '../../local/demo/service-process';
import { sampleLatencyMs } from '../../local/demo/demo-service';

// The demo service as the demo runs it: a child process per version, behaving as its profile says and
// exporting its metrics in the default conventions with prom-client.

jest.setTimeout(60_000);

const started: ServiceProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function start(role: 'stable' | 'canary', profile: ProfileFile): Promise<ServiceProcess> {
  const service = await startServiceProcess({ service: 'svc-test', role, profile: parseProfile(profile) });
  started.push(service);
  return service;
}

async function get(service: ServiceProcess, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://${service.target}${path}`);
  return { status: response.status, text: await response.text() };
}

/** The value of one sample line of the exposition text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

const QUICK = { p50: 1, p99: 2 };

describe('the demo service', () => {
  it('exports request, duration and memory series labelled {service, version} before any request, at 0', async () => {
    // Prepare
    const canary = await start('canary', { phases: [{ fromSecond: 0, errorRate: 0, latencyMs: QUICK }] });

    // Act
    const metrics = await get(canary, '/metrics');
    const health = await get(canary, '/healthz');

    // Assess
    expect(health).toEqual({ status: 200, text: 'ok' });
    const labels = { service: 'svc-test', version: 'canary' };
    expect(sample(metrics.text, 'http_requests_total', { ...labels, status: '200' })).toBe(0);
    expect(sample(metrics.text, 'http_requests_total', { ...labels, status: '500' })).toBe(0);
    expect(sample(metrics.text, 'http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(0);
    expect(sample(metrics.text, 'http_request_duration_seconds_count', labels)).toBe(0);
    expect(sample(metrics.text, 'process_resident_memory_bytes', labels)).toBeGreaterThan(10 * 1024 * 1024);
    expect(await canary.state()).toMatchObject({ role: 'canary', versionLabel: 'canary', firstRequestAt: null, phaseIndex: null, requests: 0 });
  });

  it('fails exactly the profile’s share of requests, evenly spread, and counts them by status', async () => {
    // Prepare
    const stable = await start('stable', { phases: [{ fromSecond: 0, errorRate: 0.25, latencyMs: QUICK }] });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await get(stable, `/orders/${i}`)).status);
    const metrics = await get(stable, '/metrics');

    // Assess
    expect(statuses.filter((s) => s === 500)).toHaveLength(10);
    // Evenly spread: never two errors in a row at 25%.
    expect(statuses.some((s, i) => s === 500 && statuses[i + 1] === 500)).toBe(false);
    const labels = { service: 'svc-test', version: 'stable' };
    expect(sample(metrics.text, 'http_requests_total', { ...labels, status: '500' })).toBe(10);
    expect(sample(metrics.text, 'http_requests_total', { ...labels, status: '200' })).toBe(30);
    expect(sample(metrics.text, 'http_request_duration_seconds_count', labels)).toBe(40);
  });

  it('starts the phase clock at its first request and switches phase at fromSecond', async () => {
    // Prepare
    const canary = await start('canary', {
      phases: [
        { fromSecond: 0, errorRate: 0, latencyMs: QUICK },
        { fromSecond: 1, fault: true, errorRate: 1 },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // Act: the clock has not started yet, so the first requests are still in phase 0.
    const before = (await get(canary, '/')).status;
    const first = (await canary.state()).firstRequestAt;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = (await get(canary, '/')).status;

    // Assess
    expect(before).toBe(200);
    expect(first).toEqual(expect.any(Number));
    expect(after).toBe(500);
    expect((await canary.state()).phaseIndex).toBe(1);
  });

  it('reports the versionLabel of a mislabelled profile on every series, memory included', async () => {
    // Prepare
    const canary = await start('canary', { phases: [{ fromSecond: 0, errorRate: 0, latencyMs: QUICK }], versionLabel: 'v2' });

    // Act
    await get(canary, '/');
    const metrics = await get(canary, '/metrics');

    // Assess
    expect(sample(metrics.text, 'http_requests_total', { version: 'v2', status: '200' })).toBe(1);
    expect(sample(metrics.text, 'process_resident_memory_bytes', { version: 'v2' })).toBeGreaterThan(0);
    expect(metrics.text).not.toContain('version="canary"');
  });

  it('really allocates and keeps memory: the start size, then growthPerMinute from the first request', async () => {
    // Prepare: 1200 MB a minute is 20 MB a second.
    const canary = await start('canary', { phases: [{ fromSecond: 0, errorRate: 0, latencyMs: QUICK }], memoryMb: { start: 150, growthPerMinute: 1200 } });
    const atStart = await canary.state();

    // Act
    await get(canary, '/');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const later = await canary.state();
    const metrics = await get(canary, '/metrics');

    // Assess
    const mb = (bytes: number) => bytes / (1024 * 1024);
    expect(mb(atStart.rssBytes)).toBeGreaterThan(140);
    expect(later.retainedMb - atStart.retainedMb).toBeGreaterThanOrEqual(55);
    expect(mb(later.rssBytes) - mb(atStart.rssBytes)).toBeGreaterThan(50);
    expect(mb(sample(metrics.text, 'process_resident_memory_bytes', { version: 'canary' }) ?? 0)).toBeGreaterThan(195);
  });

  it('runs each version in its own process, and replaces its profile on PUT /__demo/profile, restarting the clock', async () => {
    // Prepare
    const stable = await start('stable', { phases: [{ fromSecond: 0, errorRate: 0, latencyMs: QUICK }] });
    const canary = await start('canary', { phases: [{ fromSecond: 0, errorRate: 0, latencyMs: QUICK }] });
    await get(canary, '/');

    // Act
    await canary.setProfile(parseProfile({ phases: [{ fromSecond: 0, fault: true, errorRate: 1, latencyMs: QUICK }] }));
    const reset = await canary.state();
    const status = (await get(canary, '/')).status;
    const refused = canary.setProfile(parseProfile({ phases: [{ fromSecond: 0, errorRate: 0, latencyMs: QUICK }], versionLabel: 'v9' }));

    // Assess
    expect(stable.pid).not.toBe(canary.pid);
    expect(reset.firstRequestAt).toBeNull();
    expect(status).toBe(500);
    await expect(refused).rejects.toThrow(/versionLabel cannot change/);
  });

  it('draws latencies with the profile’s median and 99th percentile', () => {
    // Prepare: enough draws that the percentiles are within a few percent.
    const count = 20_000;

    // Act
    const draws = Array.from({ length: count }, () => sampleLatencyMs(20, 120)).sort((a, b) => a - b);

    // Assess
    expect(draws[10_000]).toBeGreaterThan(17);
    expect(draws[10_000]).toBeLessThan(23);
    expect(draws[19_800]).toBeGreaterThan(100);
    expect(draws[19_800]).toBeLessThan(145);
  });
});
