import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { RouteNotFoundError, RouterError, WeightVerificationError } from '../../domain/errors';
import type { AlbRunTraffic } from '../../domain/traffic';
import { fromAlbWeights, sameWeights, toAlbWeights, weightsFor, type Weights } from '../../domain/weights';
import type { TargetHealth, TrafficRouter } from '../../ports/traffic-router';
import { translateElbError } from './elb-errors';

/** Target-group weights on the ALB 0–999 scale. */
interface AlbWeights {
  readonly canary: number;
  readonly stable: number;
}

/** What the manual restore command writes: a lone positive weight is already 100% on stable. */
const RESTORE_WEIGHTS: AlbWeights = { canary: 0, stable: 1 };

/** Characters a POSIX shell takes literally in an unquoted word (every ARN fits). */
const PLAIN_SHELL_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The ALB adapter: one listener's default actions, or one listener rule's actions, forwarding to the
 * run's stable and canary target groups with weights. Writes always send the complete action list,
 * because ModifyListener / ModifyRule replace it as a whole.
 */
export class AlbTrafficRouter implements TrafficRouter {
  /** The actions of the last successful read, for a restore command that keeps them. */
  private lastRead: readonly Action[] | undefined;

  constructor(
    private readonly client: ElasticLoadBalancingV2Client,
    private readonly traffic: AlbRunTraffic,
  ) {}

  /** Reads the forward action of the listener (or rule) and returns the canary share it applies. */
  async getWeights(): Promise<Weights> {
    return (await this.read()).weights;
  }

  /** Writes `canaryPercent` on the 0–999 scale unless already applied, then reads back and verifies. */
  async setWeights(canaryPercent: number): Promise<Weights> {
    const target = weightsFor(canaryPercent);
    const before = await this.read();
    // A retried step finds its own write already applied: nothing to change.
    if (sameWeights(before.weights, target)) return before.weights;

    const alb = toAlbWeights(target.canary);
    await this.write(this.withWeights(before.actions, alb));

    const after = await this.read();
    if (!sameWeights(after.weights, target)) {
      throw new WeightVerificationError(
        `${this.subject()}: wrote canary ${target.canary}% (ALB weights canary ${alb.canary} / stable ${alb.stable}) ` +
          `but read back canary ${after.weights.canary}% / stable ${after.weights.stable}%`,
      );
    }
    return after.weights;
  }

  /**
   * DescribeTargetHealth of the role's target group: ready when it has targets and every one that is not being
   * drained is healthy (a flip that races target registration gives users 503s).
   */
  async healthOf(role: 'stable' | 'canary'): Promise<TargetHealth> {
    const arn = role === 'stable' ? this.traffic.stableTargetGroupArn : this.traffic.canaryTargetGroupArn;
    const out = await this.call('DescribeTargetHealth', () => this.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })));
    const serving = (out.TargetHealthDescriptions ?? []).filter((t) => t.TargetHealth?.State !== 'draining');
    const healthy = serving.filter((t) => t.TargetHealth?.State === 'healthy').length;
    const states = serving.map((t) => `${t.Target?.Id ?? '?'}:${t.Target?.Port ?? ''} ${t.TargetHealth?.State ?? 'unknown'}`).join(', ');
    return {
      ready: serving.length > 0 && healthy === serving.length,
      healthy,
      total: serving.length,
      detail: `${role} target group ${arn}: ${healthy}/${serving.length} targets healthy${states ? ` (${states})` : ''}`,
    };
  }

  /** The `aws elbv2 modify-listener` / `modify-rule` command that puts 100% of traffic on stable. */
  manualRestoreCommand(): string {
    const actions = this.lastRead ? this.withWeights(this.lastRead, RESTORE_WEIGHTS) : [this.forwardOnly(RESTORE_WEIGHTS)];
    const json = shellQuote(JSON.stringify(actions));
    const { listenerArn, ruleArn } = this.traffic;
    // The ARN's region, so the command works from a shell configured for another one.
    const region = `--region ${shellWord(listenerArn.split(':')[3] ?? '')}`;
    return ruleArn
      ? `aws elbv2 modify-rule ${region} --rule-arn ${shellWord(ruleArn)} --actions ${json}`
      : `aws elbv2 modify-listener ${region} --listener-arn ${shellWord(listenerArn)} --default-actions ${json}`;
  }

  private async read(): Promise<{ actions: readonly Action[]; weights: Weights }> {
    const actions = await this.describeActions();
    const weights = this.weightsOf(actions);
    this.lastRead = actions;
    return { actions, weights };
  }

  private async describeActions(): Promise<readonly Action[]> {
    const { listenerArn, ruleArn } = this.traffic;
    if (ruleArn) {
      const out = await this.call('DescribeRules', () => this.client.send(new DescribeRulesCommand({ RuleArns: [ruleArn] })));
      const rule = out.Rules?.[0];
      if (!rule) throw new RouteNotFoundError(`${this.subject()} not found (DescribeRules returned no rule)`);
      return rule.Actions ?? [];
    }
    const out = await this.call('DescribeListeners', () =>
      this.client.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })),
    );
    const listener = out.Listeners?.[0];
    if (!listener) throw new RouteNotFoundError(`${this.subject()} not found (DescribeListeners returned no listener)`);
    return listener.DefaultActions ?? [];
  }

  private async write(actions: Action[]): Promise<void> {
    const { listenerArn, ruleArn } = this.traffic;
    if (ruleArn) {
      await this.call('ModifyRule', () => this.client.send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions: actions })));
    } else {
      await this.call('ModifyListener', () =>
        this.client.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: actions })),
      );
    }
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw translateElbError(error, `${operation} on ${this.subject()}`);
    }
  }

  /** The canary share of the forward action; refuses a route it cannot account for in full. */
  private weightsOf(actions: readonly Action[]): Weights {
    const { stableTargetGroupArn: stable, canaryTargetGroupArn: canary } = this.traffic;
    const forward = this.forwardActionOf(actions);
    const groups = targetGroupsOf(forward);
    const arns = groups.map((group) => group.arn);

    // One target group takes all traffic whatever its weight: the plain `TargetGroupArn` form, or the
    // single-entry ForwardConfig that DescribeListeners reports for it.
    if (groups.length === 1) {
      if (arns[0] === stable) return weightsFor(0);
      if (arns[0] === canary) return weightsFor(100);
    }
    const missing = [stable, canary].filter((arn) => !arns.includes(arn));
    if (missing.length > 0) {
      throw new RouteNotFoundError(
        `${this.subject()}: the forward action has no target group ${missing.join(' and ')} ` +
          `(it forwards to ${arns.join(', ') || 'nothing'})`,
      );
    }
    const others = arns.filter((arn) => arn !== stable && arn !== canary);
    if (others.length > 0) {
      throw new RouterError(
        `${this.subject()}: the forward action also sends traffic to ${others.join(', ')}; ` +
          `only ${stable} and ${canary} may share it, and another target group is never dropped`,
      );
    }
    const weightOf = (arn: string) => groups.find((group) => group.arn === arn)?.weight ?? 0;
    return fromAlbWeights(weightOf(canary), weightOf(stable));
  }

  private forwardActionOf(actions: readonly Action[]): Action {
    const forward = actions.find((action) => action.Type === 'forward');
    if (!forward) {
      throw new RouteNotFoundError(
        `${this.subject()} has no forward action (actions: ${actions.map((a) => a.Type).join(', ') || 'none'}); ` +
          `it cannot send traffic to ${this.traffic.stableTargetGroupArn} or ${this.traffic.canaryTargetGroupArn}`,
      );
    }
    return forward;
  }

  /** The complete action list with the forward action set to `alb`; every other action kept as read. */
  private withWeights(actions: readonly Action[], alb: AlbWeights): Action[] {
    const forward = this.forwardActionOf(actions);
    return actions.map((action) => (action === forward ? this.forwardWith(action, alb) : writable(action)));
  }

  private forwardWith(read: Action, alb: AlbWeights): Action {
    const stickiness = read.ForwardConfig?.TargetGroupStickinessConfig;
    const action: Action = {
      ...read,
      ForwardConfig: {
        TargetGroups: this.targetGroups(alb),
        ...(stickiness ? { TargetGroupStickinessConfig: { ...stickiness } } : {}),
      },
    };
    // AWS rejects a top-level TargetGroupArn beside a ForwardConfig of more than one target group.
    delete action.TargetGroupArn;
    return action;
  }

  private forwardOnly(alb: AlbWeights): Action {
    return { Type: 'forward', ForwardConfig: { TargetGroups: this.targetGroups(alb) } };
  }

  private targetGroups(alb: AlbWeights): { TargetGroupArn: string; Weight: number }[] {
    return [
      { TargetGroupArn: this.traffic.stableTargetGroupArn, Weight: alb.stable },
      { TargetGroupArn: this.traffic.canaryTargetGroupArn, Weight: alb.canary },
    ];
  }

  private subject(): string {
    return this.traffic.ruleArn ? `rule ${this.traffic.ruleArn}` : `listener ${this.traffic.listenerArn}`;
  }
}

/** The target groups a forward action names, with their weights (1 where AWS leaves it out). */
function targetGroupsOf(forward: Action): { arn: string; weight: number }[] {
  const tuples = forward.ForwardConfig?.TargetGroups ?? [];
  const groups = tuples.flatMap((tuple) => (tuple.TargetGroupArn ? [{ arn: tuple.TargetGroupArn, weight: tuple.Weight ?? 1 }] : []));
  if (groups.length > 0) return groups;
  return forward.TargetGroupArn ? [{ arn: forward.TargetGroupArn, weight: 1 }] : [];
}

/**
 * An action as Modify* accepts it back. Describe never returns an OIDC client secret, and Modify
 * demands one unless told to keep the existing secret.
 */
function writable(action: Action): Action {
  const oidc = action.AuthenticateOidcConfig;
  if (!oidc || oidc.ClientSecret !== undefined || oidc.UseExistingClientSecret === true) return action;
  return { ...action, AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true } };
}

/** One single-quoted POSIX shell word; an embedded `'` becomes `'\''`. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function shellWord(value: string): string {
  return PLAIN_SHELL_WORD.test(value) ? value : shellQuote(value);
}
