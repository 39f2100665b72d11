import { createServer, type Server } from 'node:http';

/**
 * A Prometheus target whose samples the test sets: `/metrics` serves the text exposition format
 * (0.0.4) with exactly the values set, NaN and ±Inf included. Series are raw samples; the family
 * type is inferred from the name: `*_total` counter, `*_bucket`/`*_sum`/`*_count` of a name that has
 * buckets histogram, anything else gauge.
 */

export type Labels = Readonly<Record<string, string>>;

export interface TestExporter {
  /** Scrape URL, e.g. http://127.0.0.1:40123/metrics */
  readonly url: string;
  /** host:port for a Prometheus static_configs target. */
  readonly target: string;
  /** Sets one series to a value (NaN, Infinity and -Infinity are allowed). */
  set(name: string, labels: Labels, value: number): void;
  /** Adds to one series (a counter increment); a missing series starts at 0. */
  inc(name: string, labels: Labels, by?: number): void;
  /** The value a series currently exposes, if it exists. */
  get(name: string, labels: Labels): number | undefined;
  /** Stops exposing one series (Prometheus then marks it stale). */
  remove(name: string, labels: Labels): void;
  /** Stops exposing every series. */
  clear(): void;
  /** The exposition text a scrape would get now. */
  render(): string;
  /** How many times /metrics has been served. */
  readonly scrapes: number;
  /** Closes the server. */
  stop(): Promise<void>;
}

interface Series {
  readonly name: string;
  readonly labels: Labels;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Starts an exporter on 127.0.0.1 with a free port. */
export async function startTestExporter(): Promise<TestExporter> {
  const series = new Map<string, Series>();
  let scrapes = 0;

  const render = () => renderExposition([...series.values()]);
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && (request.url ?? '').split('?')[0] === '/metrics') {
      scrapes++;
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end(render());
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: the exporter serves /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('test exporter did not bind a TCP port');
  const target = `127.0.0.1:${address.port}`;

  return {
    url: `http://${target}/metrics`,
    target,
    set(name, labels, value) {
      validate(name, labels);
      series.set(seriesKey(name, labels), { name, labels: { ...labels }, value });
    },
    inc(name, labels, by = 1) {
      validate(name, labels);
      const key = seriesKey(name, labels);
      const existing = series.get(key);
      if (existing) existing.value += by;
      else series.set(key, { name, labels: { ...labels }, value: by });
    },
    get: (name, labels) => series.get(seriesKey(name, labels))?.value,
    remove(name, labels) {
      series.delete(seriesKey(name, labels));
    },
    clear() {
      series.clear();
    },
    render,
    get scrapes() {
      return scrapes;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The text exposition of `samples`, grouped by family, each family after its `# TYPE` line. */
export function renderExposition(samples: readonly Series[]): string {
  const names = new Set(samples.map((s) => s.name));
  const families = new Map<string, { type: string; lines: string[] }>();
  for (const sample of [...samples].sort(compareSeries)) {
    const { family, type } = familyOf(sample.name, names);
    let entry = families.get(family);
    if (!entry) families.set(family, (entry = { type, lines: [] }));
    entry.lines.push(`${sample.name}${renderLabels(sample.labels)} ${formatValue(sample.value)}`);
  }
  let out = '';
  for (const [family, { type, lines }] of families) out += `# TYPE ${family} ${type}\n${lines.join('\n')}\n`;
  return out;
}

function familyOf(name: string, names: ReadonlySet<string>): { family: string; type: string } {
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (histogram && names.has(`${histogram[1]}_bucket`)) return { family: histogram[1], type: 'histogram' };
  if (name.endsWith('_total')) return { family: name, type: 'counter' };
  return { family: name, type: 'gauge' };
}

/** Go's float spellings, which Prometheus parses. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function seriesKey(name: string, labels: Labels): string {
  return `${name}${renderLabels(labels)}`;
}

function compareSeries(a: Series, b: Series): number {
  return seriesKey(a.name, a.labels).localeCompare(seriesKey(b.name, b.labels));
}

function validate(name: string, labels: Labels): void {
  if (!METRIC_NAME.test(name)) throw new Error(`'${name}' is not a Prometheus metric name`);
  for (const label of Object.keys(labels)) {
    if (!LABEL_NAME.test(label)) throw new Error(`'${label}' is not a Prometheus label name`);
  }
}
