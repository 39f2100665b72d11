import type { TestExporter } from './test-exporter';

/**
 * Request metrics of a service's two versions, in the default conventions, as its pods would export them:
 * `http_requests_total{service,version,status}` and `http_request_duration_seconds_bucket{service,version,le}`.
 * Each tick splits `rps` between the versions by the router's current weights, so a version that gets no
 * traffic exports nothing new, exactly like a real canary at 0%.
 */

export interface VersionProfile {
  /** Share of requests answered 5xx. */
  readonly errorRate: number;
  readonly latencySeconds: { readonly p50: number; readonly p99: number };
  /** The version label this version's metrics carry (a mislabelled canary reports something else). */
  readonly versionLabel?: string;
}

export const HEALTHY: VersionProfile = { errorRate: 0.001, latencySeconds: { p50: 0.02, p99: 0.12 } };

export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Share of requests at or under `bound` seconds: 50% under p50, 99% under p99, all under 2 × p99. */
export function shareUnder(bound: number, { p50, p99 }: VersionProfile['latencySeconds']): number {
  if (bound < p50) return (0.5 * bound) / p50;
  if (bound < p99) return 0.5 + (0.49 * (bound - p50)) / (p99 - p50);
  if (bound < 2 * p99) return 0.99 + (0.01 * (bound - p99)) / p99;
  return 1;
}

export interface SyntheticTrafficOptions {
  readonly service: string;
  /** Requests per second over both versions. */
  readonly rps: number;
  /** The canary's share in percent, read every tick (e.g. from the ALB stand-in's weights). */
  readonly canaryShare: () => number;
  readonly tickMs?: number;
}

export class SyntheticTraffic {
  private readonly profiles: Record<'stable' | 'canary', VersionProfile> = { stable: HEALTHY, canary: HEALTHY };
  private timer: NodeJS.Timeout | undefined;
  private last = Date.now();

  constructor(
    private readonly exporter: TestExporter,
    private readonly options: SyntheticTrafficOptions,
  ) {}

  /** Changes how a version behaves from the next tick on. */
  setProfile(role: 'stable' | 'canary', profile: VersionProfile): void {
    this.profiles[role] = profile;
  }

  start(): void {
    this.last = Date.now();
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 200);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = Date.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    const canaryShare = Math.min(100, Math.max(0, this.options.canaryShare())) / 100;
    this.emit('stable', this.options.rps * seconds * (1 - canaryShare));
    this.emit('canary', this.options.rps * seconds * canaryShare);
  }

  private emit(role: 'stable' | 'canary', requests: number): void {
    if (requests <= 0) return;
    const profile = this.profiles[role];
    const labels = { service: this.options.service, version: profile.versionLabel ?? role };
    const errors = requests * profile.errorRate;
    this.exporter.inc('http_requests_total', { ...labels, status: '200' }, requests - errors);
    this.exporter.inc('http_requests_total', { ...labels, status: '500' }, errors);
    for (const bound of BUCKETS) {
      this.exporter.inc('http_request_duration_seconds_bucket', { ...labels, le: String(bound) }, requests * shareUnder(bound, profile.latencySeconds));
    }
    this.exporter.inc('http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }, requests);
    this.exporter.inc('http_request_duration_seconds_count', labels, requests);
    this.exporter.inc('http_request_duration_seconds_sum', labels, requests * profile.latencySeconds.p50);
  }
}
