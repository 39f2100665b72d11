import { request, type ClientRequest } from 'node:http';
import type { AlbModel, TargetGroupState, TargetState } from './model';

/**
 * Real HTTP health checks: every target of every target group gets `GET <healthCheckPath>` each
 * interval; `healthyThreshold` consecutive 200s make it healthy, `unhealthyThreshold` failures unhealthy.
 */
export class HealthChecker {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Map<TargetState, ClientRequest>();
  private stopped = false;

  constructor(private readonly model: AlbModel) {}

  /** Starts checking a target group now and then every interval. */
  watch(tg: TargetGroupState): void {
    if (this.stopped) return;
    this.checkAll(tg);
    this.timers.add(setInterval(() => this.checkAll(tg), tg.healthCheckIntervalMs));
  }

  /** Stops every timer and aborts checks in flight. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    for (const req of this.inFlight.values()) req.destroy();
    this.inFlight.clear();
  }

  private checkAll(tg: TargetGroupState): void {
    if (!this.model.targetGroups.has(tg.arn)) return;
    for (const target of tg.targets) if (!this.inFlight.has(target)) this.check(tg, target);
  }

  private check(tg: TargetGroupState, target: TargetState): void {
    let settled = false;
    const settle = (ok: boolean, reason: TargetState['reason'], description: string | undefined) => {
      if (settled) return;
      settled = true;
      this.inFlight.delete(target);
      if (!this.stopped) record(tg, target, ok, reason, description);
    };
    const req = request(
      { host: target.host, port: target.port, path: tg.healthCheckPath, method: 'GET', agent: false, headers: { 'user-agent': 'ELB-HealthChecker/2.0' } },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (status === 200) settle(true, undefined, undefined);
        else settle(false, 'Target.ResponseCodeMismatch', `Health checks failed with these codes: [${status}]`);
      },
    );
    req.setTimeout(tg.healthCheckTimeoutMs, () => {
      settle(false, 'Target.Timeout', 'Request timed out');
      req.destroy();
    });
    req.on('error', () => settle(false, 'Target.FailedHealthChecks', 'Health checks failed'));
    this.inFlight.set(target, req);
    req.end();
  }
}

function record(tg: TargetGroupState, target: TargetState, ok: boolean, reason: TargetState['reason'], description: string | undefined): void {
  if (ok) {
    target.passes += 1;
    target.fails = 0;
    if (target.health !== 'healthy' && target.passes >= tg.healthyThreshold) {
      target.health = 'healthy';
      target.reason = undefined;
      target.description = undefined;
    }
    return;
  }
  target.fails += 1;
  target.passes = 0;
  if (target.health === 'unhealthy' || target.fails >= tg.unhealthyThreshold) {
    target.health = 'unhealthy';
    target.reason = reason;
    target.description = description;
  }
}
