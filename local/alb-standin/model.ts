import { randomBytes } from 'node:crypto';
import type {
  Action,
  Listener,
  Rule,
  RuleCondition,
  TargetDescription,
  TargetGroup,
  TargetHealthDescription,
  TargetHealthReasonEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describedActions, normaliseActions, normaliseConditions } from './actions';
import { ElbApiError, constraintError, validationError } from './api-error';

/**
 * The stand-in's state: load balancers, listeners, rules, target groups, targets and their health,
 * with AWS's ARN formats, lookups that fail with AWS's not-found codes, and the weights-changed hook.
 */

export type TargetHealthState = 'initial' | 'healthy' | 'unhealthy';

export interface TargetState {
  readonly host: string;
  readonly port: number;
  health: TargetHealthState;
  reason: TargetHealthReasonEnum | undefined;
  description: string | undefined;
  /** Consecutive passed / failed health checks, against the thresholds. */
  passes: number;
  fails: number;
}

export interface TargetGroupState {
  readonly arn: string;
  readonly name: string;
  readonly port: number;
  readonly healthCheckPath: string;
  readonly healthCheckIntervalMs: number;
  readonly healthCheckTimeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Target stickiness inside the group (the `AWSALB` cookie), the target group's `stickiness.*` attributes. */
  readonly stickiness: { readonly enabled: boolean; readonly durationSeconds: number };
  readonly targets: TargetState[];
}

export interface LoadBalancerState {
  readonly arn: string;
  readonly name: string;
  readonly id: string;
}

export interface ListenerState {
  readonly arn: string;
  readonly loadBalancerArn: string;
  /** The default rule, as DescribeRules reports it for the listener. */
  readonly defaultRuleArn: string;
  port: number;
  defaultActions: Action[];
}

export interface RuleState {
  readonly arn: string;
  readonly listenerArn: string;
  readonly priority: number;
  conditions: RuleCondition[];
  actions: Action[];
}

/** One target group of a forward action, with its weight. */
export interface ForwardTarget {
  readonly targetGroupArn: string;
  readonly targetGroupName: string;
  readonly weight: number;
}

/** The forward action of a listener or rule, as the data plane applies it. */
export interface ForwardView {
  readonly targetGroups: readonly ForwardTarget[];
  readonly stickiness: { readonly enabled: boolean; readonly durationSeconds: number | undefined };
}

/** Fired when ModifyListener or ModifyRule changes the weights of a forward action. */
export interface WeightsChangedEvent {
  /** Epoch milliseconds at which the new weights took effect (before the API answered). */
  readonly at: number;
  readonly source: 'ModifyListener' | 'ModifyRule';
  readonly listenerArn: string;
  /** The modified rule; undefined when the listener's default actions changed. */
  readonly ruleArn: string | undefined;
  readonly previous: ForwardView | undefined;
  readonly current: ForwardView | undefined;
  /** The new weights by target group name, e.g. { 'web-stable': 1000, 'web-canary': 0 }. */
  readonly weights: Readonly<Record<string, number>>;
}

export type WeightsChangedListener = (event: WeightsChangedEvent) => void;

export interface TargetGroupSpec {
  /** 1–32 characters: letters, digits and hyphens, not starting or ending with a hyphen. */
  readonly name: string;
  readonly targets: readonly { readonly host: string; readonly port: number }[];
  /** Default `/`. */
  readonly healthCheckPath?: string;
  /** Default: the stand-in's `healthCheckIntervalMs` (1 s). */
  readonly healthCheckIntervalMs?: number;
  /** Default 5 s (ALB's default); a check still running when the next is due is not started twice. */
  readonly healthCheckTimeoutMs?: number;
  /** Consecutive passes to become healthy; default 2. */
  readonly healthyThresholdCount?: number;
  /** Consecutive failures to become unhealthy; default 2. */
  readonly unhealthyThresholdCount?: number;
  /** Target stickiness within the group (`AWSALB` cookie); default off. */
  readonly stickiness?: { readonly enabled: boolean; readonly durationSeconds?: number };
}

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/;

function hexId(): string {
  return randomBytes(8).toString('hex');
}

function sameWeights(a: ForwardView | undefined, b: ForwardView | undefined): boolean {
  const left = a?.targetGroups ?? [];
  const right = b?.targetGroups ?? [];
  return left.length === right.length && left.every((t, i) => t.targetGroupArn === right[i]?.targetGroupArn && t.weight === right[i]?.weight);
}

/** The whole state of one stand-in; every API call and every programmatic set-up goes through it. */
export class AlbModel {
  readonly loadBalancers = new Map<string, LoadBalancerState>();
  readonly listeners = new Map<string, ListenerState>();
  readonly rules = new Map<string, RuleState>();
  readonly targetGroups = new Map<string, TargetGroupState>();
  private readonly weightListeners = new Set<WeightsChangedListener>();

  constructor(
    readonly region: string,
    readonly accountId: string,
    private readonly defaultHealthCheckIntervalMs: number,
  ) {}

  private arn(resource: string): string {
    return `arn:aws:elasticloadbalancing:${this.region}:${this.accountId}:${resource}`;
  }

  /** Registers an application load balancer; its ARN is `…:loadbalancer/app/<name>/<16 hex>`. */
  createLoadBalancer(name: string): LoadBalancerState {
    if (!NAME.test(name)) throw validationError(`Load balancer name '${name}' is not valid`);
    if ([...this.loadBalancers.values()].some((lb) => lb.name === name)) {
      throw new ElbApiError('DuplicateLoadBalancerName', `A load balancer with the name '${name}' already exists`);
    }
    const id = hexId();
    const lb = { arn: this.arn(`loadbalancer/app/${name}/${id}`), name, id };
    this.loadBalancers.set(lb.arn, lb);
    return lb;
  }

  /** Registers a target group of IP targets; its ARN is `…:targetgroup/<name>/<16 hex>`. */
  createTargetGroup(spec: TargetGroupSpec): TargetGroupState {
    if (!NAME.test(spec.name)) throw validationError(`Target group name '${spec.name}' is not valid`);
    if ([...this.targetGroups.values()].some((tg) => tg.name === spec.name)) {
      throw new ElbApiError('DuplicateTargetGroupName', `A target group with the name '${spec.name}' already exists`);
    }
    const interval = spec.healthCheckIntervalMs ?? this.defaultHealthCheckIntervalMs;
    const tg: TargetGroupState = {
      arn: this.arn(`targetgroup/${spec.name}/${hexId()}`),
      name: spec.name,
      port: spec.targets[0]?.port ?? 80,
      healthCheckPath: spec.healthCheckPath ?? '/',
      healthCheckIntervalMs: interval,
      healthCheckTimeoutMs: spec.healthCheckTimeoutMs ?? 5000,
      healthyThreshold: spec.healthyThresholdCount ?? 2,
      unhealthyThreshold: spec.unhealthyThresholdCount ?? 2,
      stickiness: { enabled: spec.stickiness?.enabled ?? false, durationSeconds: spec.stickiness?.durationSeconds ?? 86_400 },
      targets: spec.targets.map((t) => ({
        host: t.host,
        port: t.port,
        health: 'initial',
        reason: 'Elb.InitialHealthChecking',
        description: 'Initial health checks in progress',
        passes: 0,
        fails: 0,
      })),
    };
    this.targetGroups.set(tg.arn, tg);
    return tg;
  }

  /** Registers a listener of `loadBalancerArn` with validated default actions (port set once its server listens). */
  createListener(loadBalancerArn: string, defaultActions: readonly Action[]): ListenerState {
    const lb = this.loadBalancer(loadBalancerArn);
    const id = hexId();
    const listener: ListenerState = {
      arn: this.arn(`listener/app/${lb.name}/${lb.id}/${id}`),
      loadBalancerArn: lb.arn,
      defaultRuleArn: this.arn(`listener-rule/app/${lb.name}/${lb.id}/${id}/${hexId()}`),
      port: 0,
      defaultActions: this.actions(defaultActions, 'defaultActions', []),
    };
    this.listeners.set(listener.arn, listener);
    return listener;
  }

  /** Adds a rule to a listener; its ARN is `…:listener-rule/app/<lb>/<lb id>/<listener id>/<16 hex>`. */
  createRule(listenerArn: string, priority: number, conditions: readonly RuleCondition[], actions: readonly Action[]): RuleState {
    const listener = this.listener(listenerArn);
    if (!Number.isInteger(priority) || priority < 1 || priority > 50_000) {
      throw constraintError(priority, 'priority', 'Member must have value between 1 and 50000');
    }
    if (this.rulesOf(listener.arn).some((r) => r.priority === priority)) {
      throw new ElbApiError('PriorityInUse', `Priority '${priority}' is currently in use`);
    }
    const rule: RuleState = {
      arn: `${listener.defaultRuleArn.slice(0, listener.defaultRuleArn.lastIndexOf('/'))}/${hexId()}`,
      listenerArn: listener.arn,
      priority,
      conditions: normaliseConditions(conditions),
      actions: this.actions(actions, 'actions', []),
    };
    this.rules.set(rule.arn, rule);
    return rule;
  }

  private actions(actions: readonly Action[], field: string, previous: readonly Action[]): Action[] {
    return normaliseActions(actions, { field, previous, targetGroupExists: (arn) => this.targetGroups.has(arn) });
  }

  /** A load balancer, or LoadBalancerNotFound. */
  loadBalancer(arn: string): LoadBalancerState {
    const lb = this.loadBalancers.get(arn);
    if (lb === undefined) throw new ElbApiError('LoadBalancerNotFound', `Load balancer '${arn}' not found`);
    return lb;
  }

  /** A listener, or ListenerNotFound. */
  listener(arn: string): ListenerState {
    const listener = this.listeners.get(arn);
    if (listener === undefined) throw new ElbApiError('ListenerNotFound', `Listener '${arn}' not found`);
    return listener;
  }

  /** A rule, or for a default rule's ARN its listener (whose default actions it holds), or RuleNotFound. */
  rule(arn: string): RuleState | ListenerState {
    const rule = this.rules.get(arn) ?? [...this.listeners.values()].find((l) => l.defaultRuleArn === arn);
    if (rule === undefined) throw new ElbApiError('RuleNotFound', `One or more rules not found: '${arn}'`);
    return rule;
  }

  /** A target group, or TargetGroupNotFound. */
  targetGroup(arn: string): TargetGroupState {
    const tg = this.targetGroups.get(arn);
    if (tg === undefined) throw new ElbApiError('TargetGroupNotFound', `One or more target groups not found: '${arn}'`);
    return tg;
  }

  /** The non-default rules of a listener by ascending priority: the order the data plane evaluates them. */
  rulesOf(listenerArn: string): RuleState[] {
    return [...this.rules.values()].filter((r) => r.listenerArn === listenerArn).sort((a, b) => a.priority - b.priority);
  }

  /** Replaces a listener's default actions (ModifyListener) and fires the hook when the weights changed. */
  modifyListener(arn: string, defaultActions: readonly Action[] | undefined): ListenerState {
    const listener = this.listener(arn);
    if (defaultActions === undefined) return listener;
    const next = this.actions(defaultActions, 'defaultActions', listener.defaultActions);
    const previous = this.forwardOf(listener.defaultActions);
    listener.defaultActions = next;
    this.emitIfChanged('ModifyListener', listener.arn, undefined, previous, this.forwardOf(next));
    return listener;
  }

  /** Replaces a rule's conditions and/or actions (ModifyRule); default rules are changed with ModifyListener. */
  modifyRule(arn: string, conditions: readonly RuleCondition[] | undefined, actions: readonly Action[] | undefined): RuleState {
    const found = this.rule(arn);
    if (!('priority' in found)) {
      throw new ElbApiError('OperationNotPermitted', 'Default rules cannot be modified; use ModifyListener to change the default actions');
    }
    const nextConditions = conditions === undefined ? found.conditions : normaliseConditions(conditions);
    const nextActions = actions === undefined ? found.actions : this.actions(actions, 'actions', found.actions);
    const previous = this.forwardOf(found.actions);
    found.conditions = nextConditions;
    found.actions = nextActions;
    this.emitIfChanged('ModifyRule', found.listenerArn, found.arn, previous, this.forwardOf(nextActions));
    return found;
  }

  /** The actions of a listener (its default actions) or of a rule, by ARN. */
  actionsOf(listenerOrRuleArn: string): readonly Action[] {
    const listener = this.listeners.get(listenerOrRuleArn);
    if (listener !== undefined) return listener.defaultActions;
    const rule = this.rule(listenerOrRuleArn);
    return 'priority' in rule ? rule.actions : rule.defaultActions;
  }

  /** The forward action among `actions` with target group names, or undefined when there is none. */
  forwardOf(actions: readonly Action[]): ForwardView | undefined {
    const forward = actions.find((a) => a.Type === 'forward');
    if (forward?.ForwardConfig === undefined) return undefined;
    return {
      targetGroups: (forward.ForwardConfig.TargetGroups ?? []).map((t) => {
        const arn = t.TargetGroupArn ?? '';
        return { targetGroupArn: arn, targetGroupName: this.targetGroups.get(arn)?.name ?? arn, weight: t.Weight ?? 0 };
      }),
      stickiness: {
        enabled: forward.ForwardConfig.TargetGroupStickinessConfig?.Enabled ?? false,
        durationSeconds: forward.ForwardConfig.TargetGroupStickinessConfig?.DurationSeconds,
      },
    };
  }

  /** Subscribes to weight changes; returns the unsubscribe function. */
  onWeightsChanged(listener: WeightsChangedListener): () => void {
    this.weightListeners.add(listener);
    return () => this.weightListeners.delete(listener);
  }

  private emitIfChanged(
    source: WeightsChangedEvent['source'],
    listenerArn: string,
    ruleArn: string | undefined,
    previous: ForwardView | undefined,
    current: ForwardView | undefined,
  ): void {
    if (sameWeights(previous, current)) return;
    const weights = Object.fromEntries((current?.targetGroups ?? []).map((t) => [t.targetGroupName, t.weight]));
    const event: WeightsChangedEvent = { at: Date.now(), source, listenerArn, ruleArn, previous, current, weights };
    for (const listener of this.weightListeners) {
      try {
        listener(event);
      } catch {
        // A failing observer must not fail the API call that changed the weights.
      }
    }
  }

  /** Whether any listener's default actions or rule's actions forward to the target group. */
  isInUse(targetGroupArn: string): boolean {
    const uses = (actions: readonly Action[]) =>
      actions.some((a) => a.ForwardConfig?.TargetGroups?.some((t) => t.TargetGroupArn === targetGroupArn) ?? false);
    return [...this.listeners.values()].some((l) => uses(l.defaultActions)) || [...this.rules.values()].some((r) => uses(r.actions));
  }

  /** The load balancers whose listeners or rules forward to the target group. */
  loadBalancersOf(targetGroupArn: string): string[] {
    const uses = (actions: readonly Action[]) =>
      actions.some((a) => a.ForwardConfig?.TargetGroups?.some((t) => t.TargetGroupArn === targetGroupArn) ?? false);
    const arns = new Set<string>();
    for (const l of this.listeners.values()) {
      if (uses(l.defaultActions) || this.rulesOf(l.arn).some((r) => uses(r.actions))) arns.add(l.loadBalancerArn);
    }
    return [...arns];
  }

  /** A listener as DescribeListeners reports it. */
  describeListener(listener: ListenerState): Listener {
    return {
      ListenerArn: listener.arn,
      LoadBalancerArn: listener.loadBalancerArn,
      Port: listener.port,
      Protocol: 'HTTP',
      DefaultActions: describedActions(listener.defaultActions),
    };
  }

  /** A rule (or a listener's default rule) as DescribeRules reports it. */
  describeRule(rule: RuleState | ListenerState): Rule {
    if (!('priority' in rule)) {
      return { RuleArn: rule.defaultRuleArn, Priority: 'default', Conditions: [], Actions: describedActions(rule.defaultActions), IsDefault: true };
    }
    return { RuleArn: rule.arn, Priority: String(rule.priority), Conditions: rule.conditions, Actions: describedActions(rule.actions), IsDefault: false };
  }

  /** A target group as DescribeTargetGroups reports it. */
  describeTargetGroup(tg: TargetGroupState): TargetGroup {
    return {
      TargetGroupArn: tg.arn,
      TargetGroupName: tg.name,
      Protocol: 'HTTP',
      Port: tg.port,
      VpcId: 'vpc-0standin00000000',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: 'traffic-port',
      HealthCheckEnabled: true,
      HealthCheckIntervalSeconds: Math.max(1, Math.round(tg.healthCheckIntervalMs / 1000)),
      HealthCheckTimeoutSeconds: Math.max(1, Math.round(tg.healthCheckTimeoutMs / 1000)),
      HealthyThresholdCount: tg.healthyThreshold,
      UnhealthyThresholdCount: tg.unhealthyThreshold,
      HealthCheckPath: tg.healthCheckPath,
      Matcher: { HttpCode: '200' },
      LoadBalancerArns: this.loadBalancersOf(tg.arn),
      TargetType: 'ip',
      ProtocolVersion: 'HTTP1',
      IpAddressType: 'ipv4',
    };
  }

  /** DescribeTargetHealth: each registered target (or each asked-for one) with its state. */
  describeTargetHealth(tg: TargetGroupState, only: readonly TargetDescription[] | undefined): TargetHealthDescription[] {
    const inUse = this.isInUse(tg.arn);
    const describe = (target: TargetState): TargetHealthDescription => ({
      Target: { Id: target.host, Port: target.port },
      HealthCheckPort: String(target.port),
      TargetHealth: inUse
        ? { State: target.health, Reason: target.reason, Description: target.description }
        : { State: 'unused', Reason: 'Target.NotInUse', Description: 'Target group is not configured to receive traffic from the load balancer' },
    });
    if (only === undefined || only.length === 0) return tg.targets.map(describe);
    return only.map((wanted) => {
      const target = tg.targets.find((t) => t.host === wanted.Id && (wanted.Port === undefined || t.port === wanted.Port));
      if (target !== undefined) return describe(target);
      return {
        Target: { Id: wanted.Id, Port: wanted.Port },
        TargetHealth: { State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' },
      };
    });
  }
}
