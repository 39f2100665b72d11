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

/** What the manual restore command writes: stable alone in the action, where one weight is already 100%. */
const RESTORE_WEIGHTS: AlbWeights = { canary: 0, stable: 1 };

/** A forward action's target groups as read: the run's two roles (absent when left out of the action). */
interface ForwardShape {
  readonly weights: Weights;
  readonly hasStable: boolean;
  readonly hasCanary: boolean;
}

/** Characters a POSIX shell takes literally in an unquoted word (every ARN fits). */
const PLAIN_SHELL_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The ALB adapter: one listener's default actions, or one listener rule's actions, forwarding to the
 * run's stable and canary target groups with weights. Writes always send the complete action list,
 * because ModifyListener / ModifyRule replace it as a whole.
 *
 * A settled split (0% or 100%) leaves the zero-weight target group out of the forward action. With target
 * group stickiness on, ALB routes a request carrying an AWSALBTG cookie "to the target group specified in the
 * cookie" (ELB User Guide, "Listeners for your Application Load Balancers" → Forward actions), whatever its
 * weight: "Stickiness takes precedence over adjusting Weight" (AWS re:Post, "ALB to automatically redirect
 * traffic"). A weight of 0 would leave every sticky client on the rolled-back canary (or on the old version after
 * a promotion) until its cookie expires; a group absent from the action receives nothing.
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
    return (await this.read()).shape.weights;
  }

  /**
   * Writes `canaryPercent` on the 0–999 scale unless already applied, then reads back and verifies; at 0% only
   * stable stays in the forward action and at 100% only the canary, so no sticky client stays on the other.
   */
  async setWeights(canaryPercent: number): Promise<Weights> {
    const target = weightsFor(canaryPercent);
    const before = await this.read();
    // A retried step finds its own write already applied: nothing to change.
    if (applied(before.shape, target)) return before.shape.weights;

    const alb = toAlbWeights(target.canary);
    await this.write(this.withWeights(before.actions, alb));

    const after = await this.read();
    if (!applied(after.shape, target)) {
      throw new WeightVerificationError(
        `${this.subject()}: wrote canary ${target.canary}% (ALB weights canary ${alb.canary} / stable ${alb.stable}` +
          `${settledNote(alb)}) but read back canary ${after.shape.weights.canary}% / stable ${after.shape.weights.stable}%` +
          `${leftoverNote(after.shape, target, this.traffic)}`,
      );
    }
    return after.shape.weights;
  }

  /**
   * DescribeTargetHealth of the role's target group: ready when it has targets and every one that is not being
   * drained is healthy (a flip that races target registration gives users 503s). A role a settled split left out
   * of the forward action is put back at weight 0 first, or ALB would not health-check it at all.
   */
  async healthOf(role: 'stable' | 'canary'): Promise<TargetHealth> {
    const arn = role === 'stable' ? this.traffic.stableTargetGroupArn : this.traffic.canaryTargetGroupArn;
    const attached = await this.attachForHealthChecks(role);
    const out = await this.call('DescribeTargetHealth', () => this.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })));
    const serving = (out.TargetHealthDescriptions ?? []).filter((t) => t.TargetHealth?.State !== 'draining');
    const healthy = serving.filter((t) => t.TargetHealth?.State === 'healthy').length;
    const states = serving.map((t) => `${t.Target?.Id ?? '?'}:${t.Target?.Port ?? ''} ${t.TargetHealth?.State ?? 'unknown'}`).join(', ');
    return {
      ready: serving.length > 0 && healthy === serving.length,
      healthy,
      total: serving.length,
      detail:
        `${role} target group ${arn}: ${healthy}/${serving.length} targets healthy${states ? ` (${states})` : ''}` +
        (attached ? `; it was out of the forward action of ${this.subject()} and is back in at weight 0, so ALB health-checks it` : ''),
    };
  }

  /** The `aws elbv2 modify-listener` / `modify-rule` command that leaves stable alone in the forward action. */
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

  /**
   * ALB health-checks only target groups a listener or rule forwards to; the others' targets report `unused`
   * (Target.NotInUse, ELB User Guide "Health checks for your target groups" → Target health status). A settled split
   * left this role out, so it goes back in at weight 0 before its health is read; the split itself does not change.
   */
  private async attachForHealthChecks(role: 'stable' | 'canary'): Promise<boolean> {
    const { actions, shape } = await this.read();
    if (role === 'stable' ? shape.hasStable : shape.hasCanary) return false;
    await this.write(this.withWeights(actions, toAlbWeights(shape.weights.canary), role));
    return true;
  }

  private async read(): Promise<{ actions: readonly Action[]; shape: ForwardShape }> {
    const actions = await this.describeActions();
    const shape = this.shapeOf(actions);
    this.lastRead = actions;
    return { actions, shape };
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

  /**
   * The canary share of the forward action, a role left out of it counting as weight 0; refuses a route that
   * names neither role or also sends traffic to another target group.
   */
  private shapeOf(actions: readonly Action[]): ForwardShape {
    const { stableTargetGroupArn: stable, canaryTargetGroupArn: canary } = this.traffic;
    const forward = this.forwardActionOf(actions);
    const groups = targetGroupsOf(forward);
    const arns = groups.map((group) => group.arn);
    const hasStable = arns.includes(stable);
    const hasCanary = arns.includes(canary);

    if (!hasStable && !hasCanary) {
      throw new RouteNotFoundError(
        `${this.subject()}: the forward action has no target group ${stable} and ${canary} ` +
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
    // One target group takes all traffic whatever its weight: the plain `TargetGroupArn` form, or the
    // single-entry ForwardConfig that DescribeListeners reports for it, or a settled split written here.
    if (!hasCanary) return { weights: weightsFor(0), hasStable, hasCanary };
    if (!hasStable) return { weights: weightsFor(100), hasStable, hasCanary };
    const weightOf = (arn: string) => groups.find((group) => group.arn === arn)?.weight ?? 0;
    return { weights: fromAlbWeights(weightOf(canary), weightOf(stable)), hasStable, hasCanary };
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

  /**
   * The complete action list with the forward action set to `alb`; every other action, and stickiness, kept as read.
   * `attach` keeps that role in the action even at weight 0.
   */
  private withWeights(actions: readonly Action[], alb: AlbWeights, attach?: 'stable' | 'canary'): Action[] {
    const forward = this.forwardActionOf(actions);
    return actions.map((action) => (action === forward ? this.forwardWith(action, alb, attach) : writable(action)));
  }

  private forwardWith(read: Action, alb: AlbWeights, attach: 'stable' | 'canary' | undefined): Action {
    const stickiness = read.ForwardConfig?.TargetGroupStickinessConfig;
    const action: Action = {
      ...read,
      ForwardConfig: {
        TargetGroups: this.targetGroups(alb, attach),
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

  /** The roles with a positive weight (and `attach`): a zero-weight role leaves the action, so its sticky clients leave it too. */
  private targetGroups(alb: AlbWeights, attach?: 'stable' | 'canary'): { TargetGroupArn: string; Weight: number }[] {
    const groups = [
      { role: 'stable', tuple: { TargetGroupArn: this.traffic.stableTargetGroupArn, Weight: alb.stable } },
      { role: 'canary', tuple: { TargetGroupArn: this.traffic.canaryTargetGroupArn, Weight: alb.canary } },
    ];
    return groups.filter(({ role, tuple }) => tuple.Weight > 0 || role === attach).map(({ tuple }) => tuple);
  }

  private subject(): string {
    return this.traffic.ruleArn ? `rule ${this.traffic.ruleArn}` : `listener ${this.traffic.listenerArn}`;
  }
}

/**
 * Whether the action already carries `target`: the same split, and at 0% / 100% the zero-weight role out of the
 * action (a weight of 0 alone would still serve that role's sticky clients).
 */
function applied(shape: ForwardShape, target: Weights): boolean {
  if (!sameWeights(shape.weights, target)) return false;
  if (target.canary === 0) return !shape.hasCanary;
  if (target.canary === 100) return !shape.hasStable;
  return shape.hasStable && shape.hasCanary;
}

/** What a settled write leaves out of the action, for the verification message. */
function settledNote(alb: AlbWeights): string {
  if (alb.canary === 0) return ', canary out of the forward action';
  if (alb.stable === 0) return ', stable out of the forward action';
  return '';
}

/** Which role a settled write should have left out but the read-back still shows, for the verification message. */
function leftoverNote(shape: ForwardShape, target: Weights, traffic: AlbRunTraffic): string {
  if (target.canary === 0 && shape.hasCanary) return ` with ${traffic.canaryTargetGroupArn} still in the forward action`;
  if (target.canary === 100 && shape.hasStable) return ` with ${traffic.stableTargetGroupArn} still in the forward action`;
  return '';
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
