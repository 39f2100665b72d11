import { execFileSync } from 'node:child_process';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  ListenerNotFoundException,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AlbTrafficRouter } from '../../lambdas/adapters/alb/alb-traffic-router';
import {
  RouteNotFoundError,
  RouterError,
  ThrottlingError,
  TransientError,
  WeightVerificationError,
} from '../../lambdas/domain/errors';
import type { AlbRunTraffic as RunTraffic } from '../../lambdas/domain/traffic';

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012';
const LISTENER = `${ARN}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const RULE = `${ARN}:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`;
const STABLE = `${ARN}:targetgroup/payments-stable/73e2d6bc24d8a067`;
const CANARY = `${ARN}:targetgroup/payments-canary/2453ed029918f21f`;
const SHADOW = `${ARN}:targetgroup/payments-shadow/8e1c5a3b7d9f0c21`;

const LISTENER_TRAFFIC: RunTraffic = {
  kind: 'alb',
  listenerArn: LISTENER,
  stableTargetGroupArn: STABLE,
  canaryTargetGroupArn: CANARY,
  swapped: false,
};
const RULE_TRAFFIC: RunTraffic = { ...LISTENER_TRAFFIC, ruleArn: RULE };

const OIDC: Action = {
  Type: 'authenticate-oidc',
  Order: 1,
  AuthenticateOidcConfig: {
    Issuer: 'https://login.example.com',
    AuthorizationEndpoint: 'https://login.example.com/authorize',
    TokenEndpoint: 'https://login.example.com/token',
    UserInfoEndpoint: 'https://login.example.com/userinfo',
    ClientId: 'payments',
    Scope: 'openid',
    SessionCookieName: 'AWSELBAuthSessionCookie',
    SessionTimeout: 604800,
    OnUnauthenticatedRequest: 'authenticate',
  },
};

/** The OIDC action as Modify* must get it back: Describe never returns the secret. */
const RESENT_OIDC: Action = { ...OIDC, AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig!, UseExistingClientSecret: true } };

/** A forward action to stable and canary as DescribeListeners reports it (ALB weights). */
function weighted(stable: number, canary: number, order?: number): Action {
  return {
    Type: 'forward',
    ...(order === undefined ? {} : { Order: order }),
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: STABLE, Weight: stable },
        { TargetGroupArn: CANARY, Weight: canary },
      ],
      TargetGroupStickinessConfig: { Enabled: false },
    },
  };
}

/** A forward action to a lone target group, without ForwardConfig. */
function lone(targetGroupArn: string): Action {
  return { Type: 'forward', TargetGroupArn: targetGroupArn };
}

/** A forward action to one target group as DescribeListeners reports it: both forms at once. */
function single(targetGroupArn: string, order?: number): Action {
  return {
    Type: 'forward',
    ...(order === undefined ? {} : { Order: order }),
    TargetGroupArn: targetGroupArn,
    ForwardConfig: {
      TargetGroups: [{ TargetGroupArn: targetGroupArn, Weight: 1 }],
      TargetGroupStickinessConfig: { Enabled: false },
    },
  };
}

/** A forward action to one role alone in its ForwardConfig, as this router writes a settled split. */
function alone(targetGroupArn: string, weight: number, order?: number): Action {
  return {
    Type: 'forward',
    ...(order === undefined ? {} : { Order: order }),
    ForwardConfig: {
      TargetGroups: [{ TargetGroupArn: targetGroupArn, Weight: weight }],
      TargetGroupStickinessConfig: { Enabled: false },
    },
  };
}

/** The same forward action with target group stickiness on for `seconds`. */
function sticky(action: Action, seconds: number): Action {
  return { ...action, ForwardConfig: { ...action.ForwardConfig, TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: seconds } } };
}

function listener(...actions: Action[]) {
  return { Listeners: [{ ListenerArn: LISTENER, DefaultActions: actions }] };
}

function rule(...actions: Action[]) {
  return { Rules: [{ RuleArn: RULE, Priority: '10', IsDefault: false, Conditions: [], Actions: actions }] };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** The arguments a POSIX shell passes to `aws` when it runs `command`. */
function awsArguments(command: string): string[] {
  const out = execFileSync('sh', ['-c', `aws() { printf '%s\\0' "$@"; }; ${command}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

const elb = mockClient(ElasticLoadBalancingV2Client);

beforeEach(() => {
  elb.reset();
});

function listenerRouter(): AlbTrafficRouter {
  return new AlbTrafficRouter(new ElasticLoadBalancingV2Client({}), LISTENER_TRAFFIC);
}

function ruleRouter(): AlbTrafficRouter {
  return new AlbTrafficRouter(new ElasticLoadBalancingV2Client({}), RULE_TRAFFIC);
}

describe('AlbTrafficRouter.setWeights on a listener', () => {
  it('sends the whole default action list with both target groups on the 0–999 scale', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(single(STABLE, 1))).resolvesOnce(listener(weighted(950, 50, 1)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(5);

    // Assess
    expect(weights).toEqual({ canary: 5, stable: 95 });
    expect(elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 1);
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input).toStrictEqual({
      ListenerArn: LISTENER,
      DefaultActions: [
        {
          Type: 'forward',
          Order: 1,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: STABLE, Weight: 950 },
              { TargetGroupArn: CANARY, Weight: 50 },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        },
      ],
    });
    expect(elb).toHaveReceivedCommandWith(DescribeListenersCommand, { ListenerArns: [LISTENER] });
    expect(elb).toHaveReceivedCommandTimes(DescribeListenersCommand, 2);
    expect(elb).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(elb).not.toHaveReceivedCommand(DescribeRulesCommand);
  });

  it('keeps the other actions in their order, keeps stickiness and drops the top-level TargetGroupArn', async () => {
    // Prepare
    const stickyForward: Action = {
      Type: 'forward',
      Order: 2,
      TargetGroupArn: STABLE,
      ForwardConfig: {
        TargetGroups: [{ TargetGroupArn: STABLE, Weight: 1 }],
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
      },
    };
    const cognito: Action = {
      Type: 'authenticate-cognito',
      Order: 1,
      AuthenticateCognitoConfig: {
        UserPoolArn: `arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc`,
        UserPoolClientId: 'client',
        UserPoolDomain: 'shop',
      },
    };
    const afterWrite = { ...weighted(750, 250, 2), ForwardConfig: { ...weighted(750, 250).ForwardConfig, TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 } } };
    elb.on(DescribeListenersCommand).resolvesOnce(listener(cognito, stickyForward)).resolvesOnce(listener(cognito, afterWrite));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    await listenerRouter().setWeights(25);

    // Assess
    const sent = elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions ?? [];
    expect(sent).toStrictEqual([
      cognito,
      {
        Type: 'forward',
        Order: 2,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: STABLE, Weight: 750 },
            { TargetGroupArn: CANARY, Weight: 250 },
          ],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
        },
      },
    ]);
    expect(sent[1]).not.toHaveProperty('TargetGroupArn');
  });

  it('re-sends an authenticate-oidc action as read, told to keep the client secret Describe never returns', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(OIDC, single(STABLE, 2))).resolvesOnce(listener(OIDC, weighted(950, 50, 2)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    await listenerRouter().setWeights(5);

    // Assess
    const sent = elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions ?? [];
    expect(sent.map((action) => [action.Type, action.Order])).toEqual([
      ['authenticate-oidc', 1],
      ['forward', 2],
    ]);
    expect(sent[0]).toStrictEqual({
      ...OIDC,
      AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig, UseExistingClientSecret: true },
    });
  });

  it.each([
    { percent: 5, canary: 50, stable: 950 },
    { percent: 0.1, canary: 1, stable: 999 },
    { percent: 99.9, canary: 999, stable: 1 },
  ])('writes $percent% as canary $canary / stable $stable', async ({ percent, canary, stable }) => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(weighted(750, 250))).resolvesOnce(listener(weighted(stable, canary)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(percent);

    // Assess
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions?.[0].ForwardConfig?.TargetGroups).toStrictEqual([
      { TargetGroupArn: STABLE, Weight: stable },
      { TargetGroupArn: CANARY, Weight: canary },
    ]);
    expect(weights).toEqual({ canary: percent, stable: Math.round((100 - percent) * 10) / 10 });
  });

  it.each([
    { percent: 0, role: 'stable', kept: STABLE },
    { percent: 100, role: 'canary', kept: CANARY },
  ])('writes $percent% as $role alone in the forward action, weight 999', async ({ percent, kept }) => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(weighted(750, 250))).resolvesOnce(listener(alone(kept, 999)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(percent);

    // Assess
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions).toStrictEqual([
      { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: kept, Weight: 999 }], TargetGroupStickinessConfig: { Enabled: false } } },
    ]);
    expect(weights).toEqual({ canary: percent, stable: 100 - percent });
  });

  it('on rollback takes the canary out of a sticky forward action and keeps stickiness, order and the other actions exactly', async () => {
    // Prepare
    elb.on(DescribeListenersCommand)
      .resolvesOnce(listener(OIDC, sticky(weighted(750, 250, 2), 3600)))
      .resolvesOnce(listener(OIDC, sticky(alone(STABLE, 999, 2), 3600)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(0);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions).toStrictEqual([
      RESENT_OIDC,
      sticky(alone(STABLE, 999, 2), 3600),
    ]);
  });

  it('on promotion takes stable out of a sticky forward action, keeping its stickiness', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(sticky(weighted(750, 250, 1), 600))).resolvesOnce(listener(sticky(alone(CANARY, 999, 1), 600)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(100);

    // Assess
    expect(weights).toEqual({ canary: 100, stable: 0 });
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions).toStrictEqual([
      sticky(alone(CANARY, 999, 1), 600),
    ]);
  });

  it('takes out a canary left in the action at weight 0: 0% with the canary still there is not yet applied', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(sticky(weighted(999, 0), 300))).resolvesOnce(listener(sticky(alone(STABLE, 999), 300)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(0);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 1);
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions?.[0].ForwardConfig?.TargetGroups).toStrictEqual([
      { TargetGroupArn: STABLE, Weight: 999 },
    ]);
  });

  it('takes out a stable left in the action at weight 0 when promoting', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(weighted(0, 999))).resolvesOnce(listener(alone(CANARY, 999)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    await listenerRouter().setWeights(100);

    // Assess
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions?.[0].ForwardConfig?.TargetGroups).toStrictEqual([
      { TargetGroupArn: CANARY, Weight: 999 },
    ]);
  });

  it.each([
    { from: 'stable alone (after a rollback)', read: alone(STABLE, 999, 1) },
    { from: 'stable alone in the single-group form Describe reports', read: single(STABLE, 1) },
  ])('puts the canary back for the next rollout from $from, stickiness as the user set it', async ({ read }) => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(sticky(read, 3600))).resolvesOnce(listener(sticky(weighted(950, 50, 1), 3600)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(5);

    // Assess
    expect(weights).toEqual({ canary: 5, stable: 95 });
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions).toStrictEqual([sticky(weighted(950, 50, 1), 3600)]);
  });

  it('puts stable back when rolling back from 100%', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(sticky(alone(CANARY, 999), 60))).resolvesOnce(listener(sticky(alone(STABLE, 999), 60)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const weights = await listenerRouter().setWeights(0);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions?.[0].ForwardConfig).toStrictEqual({
      TargetGroups: [{ TargetGroupArn: STABLE, Weight: 999 }],
      TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 60 },
    });
  });

  it.each([
    { percent: 0, read: sticky(alone(STABLE, 999), 3600) },
    { percent: 100, read: sticky(alone(CANARY, 999), 3600) },
  ])('does not call ModifyListener for $percent% when the settled shape is already there', async ({ percent, read }) => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(read));

    // Act
    const weights = await listenerRouter().setWeights(percent);

    // Assess
    expect(weights.canary).toBe(percent);
    expect(elb).not.toHaveReceivedCommand(ModifyListenerCommand);
    expect(elb).toHaveReceivedCommandTimes(DescribeListenersCommand, 1);
  });

  it('throws WeightVerificationError when the canary is still in the action after a rollback write', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolvesOnce(listener(weighted(750, 250))).resolvesOnce(listener(weighted(999, 0)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const error = await failureOf(listenerRouter().setWeights(0));

    // Assess
    expect(error).toBeInstanceOf(WeightVerificationError);
    expect((error as Error).message).toBe(
      `listener ${LISTENER}: wrote canary 0% (ALB weights canary 0 / stable 999, canary out of the forward action) ` +
        `but read back canary 0% / stable 100% with ${CANARY} still in the forward action`,
    );
  });

  it('throws WeightVerificationError with both values when the read-back differs', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(single(STABLE)));
    elb.on(ModifyListenerCommand).resolves({});

    // Act
    const error = await failureOf(listenerRouter().setWeights(5));

    // Assess
    expect(error).toBeInstanceOf(WeightVerificationError);
    expect((error as Error).name).toBe('WeightVerificationError');
    expect((error as Error).message).toContain(LISTENER);
    expect((error as Error).message).toMatch(/wrote canary 5% \(ALB weights canary 50 \/ stable 950\).*read back canary 0% \/ stable 100%/);
    expect(elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 1);
  });

  it('does not call ModifyListener when the weights already are the target, and returns them', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(weighted(950, 50)));

    // Act
    const weights = await listenerRouter().setWeights(5);

    // Assess
    expect(weights).toEqual({ canary: 5, stable: 95 });
    expect(elb).not.toHaveReceivedCommand(ModifyListenerCommand);
    expect(elb).toHaveReceivedCommandTimes(DescribeListenersCommand, 1);
  });

  it('does not call ModifyListener for 0% when stable is the lone target group', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(lone(STABLE)));

    // Act
    const weights = await listenerRouter().setWeights(0);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(elb).not.toHaveReceivedCommand(ModifyListenerCommand);
  });

  it('refuses to write over a third target group', async () => {
    // Prepare
    const threeWay: Action = {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: STABLE, Weight: 800 },
          { TargetGroupArn: CANARY, Weight: 100 },
          { TargetGroupArn: SHADOW, Weight: 100 },
        ],
      },
    };
    elb.on(DescribeListenersCommand).resolves(listener(threeWay));

    // Act
    const error = await failureOf(listenerRouter().setWeights(25));

    // Assess
    expect(error).toBeInstanceOf(RouterError);
    expect((error as Error).message).toContain(SHADOW);
    expect(elb).not.toHaveReceivedCommand(ModifyListenerCommand);
  });
});

describe('AlbTrafficRouter.setWeights on a rule', () => {
  it('sends the exact ModifyRule input with the whole action list', async () => {
    // Prepare
    elb.on(DescribeRulesCommand).resolvesOnce(rule(OIDC, weighted(999, 0, 2))).resolvesOnce(rule(OIDC, weighted(500, 500, 2)));
    elb.on(ModifyRuleCommand).resolves({});

    // Act
    const weights = await ruleRouter().setWeights(50);

    // Assess
    expect(weights).toEqual({ canary: 50, stable: 50 });
    expect(elb).toHaveReceivedCommandWith(DescribeRulesCommand, { RuleArns: [RULE] });
    expect(elb.commandCalls(ModifyRuleCommand)[0].args[0].input).toStrictEqual({
      RuleArn: RULE,
      Actions: [
        RESENT_OIDC,
        {
          Type: 'forward',
          Order: 2,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: STABLE, Weight: 500 },
              { TargetGroupArn: CANARY, Weight: 500 },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        },
      ],
    });
    expect(elb).not.toHaveReceivedCommand(DescribeListenersCommand);
    expect(elb).not.toHaveReceivedCommand(ModifyListenerCommand);
  });

  it('on rollback sends ModifyRule with the canary out of the forward action and the OIDC action kept', async () => {
    // Prepare
    elb.on(DescribeRulesCommand).resolvesOnce(rule(OIDC, sticky(weighted(750, 250, 2), 900))).resolvesOnce(rule(OIDC, sticky(alone(STABLE, 999, 2), 900)));
    elb.on(ModifyRuleCommand).resolves({});

    // Act
    const weights = await ruleRouter().setWeights(0);

    // Assess
    expect(weights).toEqual({ canary: 0, stable: 100 });
    expect(elb.commandCalls(ModifyRuleCommand)[0].args[0].input).toStrictEqual({
      RuleArn: RULE,
      Actions: [
        RESENT_OIDC,
        sticky(alone(STABLE, 999, 2), 900),
      ],
    });
  });

  it('throws WeightVerificationError when the rule reads back other weights', async () => {
    // Prepare
    elb.on(DescribeRulesCommand).resolvesOnce(rule(weighted(999, 0))).resolvesOnce(rule(weighted(750, 250)));
    elb.on(ModifyRuleCommand).resolves({});

    // Act
    const error = await failureOf(ruleRouter().setWeights(5));

    // Assess
    expect(error).toBeInstanceOf(WeightVerificationError);
    expect((error as Error).message).toContain(RULE);
    expect((error as Error).message).toMatch(/wrote canary 5%.*read back canary 25% \/ stable 75%/);
  });
});

describe('AlbTrafficRouter.getWeights', () => {
  it.each([
    { form: 'a lone TargetGroupArn on stable', action: lone(STABLE), canary: 0 },
    { form: 'a lone TargetGroupArn on canary', action: lone(CANARY), canary: 100 },
    { form: 'the single-group form Describe reports', action: single(STABLE), canary: 0 },
    { form: 'weights 50 / 950', action: weighted(950, 50), canary: 5 },
    { form: 'weights 1 / 999', action: weighted(999, 1), canary: 0.1 },
    { form: 'weights 1 / 1', action: weighted(1, 1), canary: 50 },
    { form: 'stable alone in a sticky ForwardConfig', action: sticky(alone(STABLE, 999), 3600), canary: 0 },
    { form: 'the canary alone in a sticky ForwardConfig (a promotion without workload)', action: sticky(alone(CANARY, 999), 3600), canary: 100 },
    { form: 'stable 999 with the canary at weight 0', action: weighted(999, 0), canary: 0 },
    { form: 'the canary 999 with stable at weight 0', action: weighted(0, 999), canary: 100 },
  ])('reads $form as canary $canary%', async ({ action, canary }) => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(OIDC, { ...action, Order: 2 }));

    // Act
    const weights = await listenerRouter().getWeights();

    // Assess
    expect(weights.canary).toBe(canary);
    expect(weights.stable).toBe(Math.round((100 - canary) * 10) / 10);
  });

  it.each([
    { form: 'stable and an unrelated group, the canary out of the action', kept: STABLE },
    { form: 'the canary and an unrelated group, stable out of the action', kept: CANARY },
  ])('throws RouterError naming the unrelated target group for $form', async ({ kept }) => {
    // Prepare
    const withShadow: Action = {
      Type: 'forward',
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: kept, Weight: 999 }, { TargetGroupArn: SHADOW, Weight: 1 }] },
    };
    elb.on(DescribeListenersCommand).resolves(listener(withShadow));

    // Act
    const error = await failureOf(listenerRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(RouterError);
    expect((error as Error).message).toBe(
      `listener ${LISTENER}: the forward action also sends traffic to ${SHADOW}; ` +
        `only ${STABLE} and ${CANARY} may share it, and another target group is never dropped`,
    );
  });

  it('throws RouteNotFoundError when the lone target group is neither stable nor canary', async () => {
    // Prepare
    elb.on(DescribeRulesCommand).resolves(rule(lone(SHADOW)));

    // Act
    const error = await failureOf(ruleRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(RouteNotFoundError);
    expect((error as Error).message).toContain(RULE);
    expect((error as Error).message).toContain(`no target group ${STABLE} and ${CANARY}`);
  });

  it('throws RouterError when the forward action holds a third target group', async () => {
    // Prepare
    const threeWay: Action = {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: STABLE, Weight: 900 },
          { TargetGroupArn: CANARY, Weight: 50 },
          { TargetGroupArn: SHADOW, Weight: 50 },
        ],
      },
    };
    elb.on(DescribeListenersCommand).resolves(listener(threeWay));

    // Act
    const error = await failureOf(listenerRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(RouterError);
    expect(error).not.toBeInstanceOf(RouteNotFoundError);
    expect((error as Error).message).toContain(SHADOW);
  });

  it('throws RouteNotFoundError naming the rule when it has no forward action', async () => {
    // Prepare
    elb.on(DescribeRulesCommand).resolves(
      rule({ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503', ContentType: 'text/plain', MessageBody: 'down' } }),
    );

    // Act
    const error = await failureOf(ruleRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(RouteNotFoundError);
    expect((error as Error).message).toContain(`rule ${RULE} has no forward action (actions: fixed-response)`);
  });

  it('throws RouteNotFoundError when DescribeListeners returns no listener', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves({ Listeners: [] });

    // Act
    const error = await failureOf(listenerRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(RouteNotFoundError);
    expect((error as Error).message).toContain(LISTENER);
  });
});

describe('AlbTrafficRouter.healthOf', () => {
  const healthy = (port: number) => ({ Target: { Id: '10.0.1.5', Port: port }, TargetHealth: { State: 'healthy' as const } });

  it('reads the health of a role in the forward action without writing', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(sticky(weighted(999, 0), 3600)));
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [healthy(8080), healthy(8081), { Target: { Id: '10.0.1.9', Port: 8080 }, TargetHealth: { State: 'draining' } }],
    });

    // Act
    const health = await listenerRouter().healthOf('canary');

    // Assess
    expect(health).toEqual({
      ready: true,
      healthy: 2,
      total: 2,
      detail: `canary target group ${CANARY}: 2/2 targets healthy (10.0.1.5:8080 healthy, 10.0.1.5:8081 healthy)`,
    });
    expect(elb).toHaveReceivedCommandWith(DescribeTargetHealthCommand, { TargetGroupArn: CANARY });
    expect(elb).not.toHaveReceivedCommand(ModifyListenerCommand);
  });

  it('puts a canary left out by a settled split back at weight 0 first, since ALB health-checks only groups in use', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(OIDC, sticky(alone(STABLE, 999, 2), 3600)));
    elb.on(ModifyListenerCommand).resolves({});
    elb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: '10.0.1.5', Port: 8080 }, TargetHealth: { State: 'initial' } }] });

    // Act
    const health = await listenerRouter().healthOf('canary');

    // Assess
    expect(elb.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions).toStrictEqual([
      RESENT_OIDC,
      sticky(weighted(999, 0, 2), 3600),
    ]);
    expect(health.ready).toBe(false);
    expect(health.detail).toBe(
      `canary target group ${CANARY}: 0/1 targets healthy (10.0.1.5:8080 initial); ` +
        `it was out of the forward action of listener ${LISTENER} and is back in at weight 0, so ALB health-checks it`,
    );
  });

  it('puts stable left out after a 100% step back at weight 0 on a rule before the promotion health gate', async () => {
    // Prepare
    elb.on(DescribeRulesCommand).resolves(rule(alone(CANARY, 999)));
    elb.on(ModifyRuleCommand).resolves({});
    elb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [healthy(8080)] });

    // Act
    const health = await ruleRouter().healthOf('stable');

    // Assess
    expect(elb.commandCalls(ModifyRuleCommand)[0].args[0].input.Actions?.[0].ForwardConfig?.TargetGroups).toStrictEqual([
      { TargetGroupArn: STABLE, Weight: 0 },
      { TargetGroupArn: CANARY, Weight: 999 },
    ]);
    expect(health.ready).toBe(true);
  });

  it('is not ready while the targets report unused or there are none', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(weighted(950, 50)));
    elb.on(DescribeTargetHealthCommand)
      .resolvesOnce({ TargetHealthDescriptions: [{ Target: { Id: '10.0.1.5', Port: 8080 }, TargetHealth: { State: 'unused' } }] })
      .resolvesOnce({ TargetHealthDescriptions: [] });

    // Act
    const unused = await listenerRouter().healthOf('stable');
    const none = await listenerRouter().healthOf('stable');

    // Assess
    expect([unused.ready, unused.healthy, unused.total]).toEqual([false, 0, 1]);
    expect([none.ready, none.detail]).toEqual([false, `stable target group ${STABLE}: 0/0 targets healthy`]);
  });
});

describe('AlbTrafficRouter error translation', () => {
  const throttling = () =>
    new ElasticLoadBalancingV2ServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });

  it('surfaces a Throttling on ModifyListener as ThrottlingError with the SDK error as cause', async () => {
    // Prepare
    const sdkError = throttling();
    elb.on(DescribeListenersCommand).resolves(listener(single(STABLE)));
    elb.on(ModifyListenerCommand).rejects(sdkError);

    // Act
    const error = await failureOf(listenerRouter().setWeights(5));

    // Assess
    expect(error).toBeInstanceOf(ThrottlingError);
    expect((error as ThrottlingError).retryable).toBe(true);
    expect((error as Error).cause).toBe(sdkError);
    expect((error as Error).message).toBe(`ModifyListener on listener ${LISTENER} failed: Throttling: Rate exceeded`);
  });

  it('surfaces ListenerNotFound on DescribeListeners as RouteNotFoundError', async () => {
    // Prepare
    const sdkError = Object.assign(
      new ListenerNotFoundException({ message: 'One or more listeners not found', $metadata: { httpStatusCode: 400 } }),
      { Code: 'ListenerNotFound' },
    );
    elb.on(DescribeListenersCommand).rejects(sdkError);

    // Act
    const error = await failureOf(listenerRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(RouteNotFoundError);
    expect((error as Error).cause).toBe(sdkError);
    expect((error as Error).message).toContain('ListenerNotFound: One or more listeners not found');
  });

  it('surfaces a ValidationError on ModifyRule as RouterError with the AWS message', async () => {
    // Prepare
    const sdkError = new ElasticLoadBalancingV2ServiceException({
      name: 'ValidationError',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'You cannot specify a target group ARN together with a forward configuration',
    });
    elb.on(DescribeRulesCommand).resolves(rule(weighted(999, 0)));
    elb.on(ModifyRuleCommand).rejects(sdkError);

    // Act
    const error = await failureOf(ruleRouter().setWeights(5));

    // Assess
    expect(error).toBeInstanceOf(RouterError);
    expect((error as Error).message).toBe(
      `ModifyRule on rule ${RULE} failed: ValidationError: You cannot specify a target group ARN together with a forward configuration`,
    );
  });

  it('surfaces a 500 InternalFailure on DescribeRules as TransientError', async () => {
    // Prepare
    elb.on(DescribeRulesCommand).rejects(
      new ElasticLoadBalancingV2ServiceException({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'oops' }),
    );

    // Act
    const error = await failureOf(ruleRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(TransientError);
  });

  it('rethrows an unknown error unchanged', async () => {
    // Prepare
    const unknown = new TypeError('socket hang up in a strange way');
    elb.on(DescribeListenersCommand).rejects(unknown);

    // Act
    const error = await failureOf(listenerRouter().getWeights());

    // Assess
    expect(error).toBe(unknown);
  });
});

describe('AlbTrafficRouter.manualRestoreCommand', () => {
  it('without a prior read, gives modify-listener with one forward action to stable alone', () => {
    // Prepare
    const router = listenerRouter();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    expect(command).toBe(
      `aws elbv2 modify-listener --region eu-west-1 --listener-arn ${LISTENER} --default-actions ` +
        `'[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"${STABLE}","Weight":1}]}}]'`,
    );
    expect(elb.calls()).toHaveLength(0);
  });

  it('without a prior read, gives modify-rule for a rule', () => {
    // Prepare
    const router = ruleRouter();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    expect(command).toBe(
      `aws elbv2 modify-rule --region eu-west-1 --rule-arn ${RULE} --actions ` +
        `'[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"${STABLE}","Weight":1}]}}]'`,
    );
  });

  it('after a read, keeps the other actions and the stickiness of the listener exactly as read', async () => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(OIDC, sticky(weighted(750, 250, 2), 600)));
    const router = listenerRouter();
    await router.getWeights();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    const args = awsArguments(command);
    expect(args.slice(0, 6)).toEqual(['elbv2', 'modify-listener', '--region', 'eu-west-1', '--listener-arn', LISTENER]);
    expect(args[6]).toBe('--default-actions');
    expect(JSON.parse(args[7])).toStrictEqual([
      RESENT_OIDC,
      sticky(alone(STABLE, 1, 2), 600),
    ]);
  });

  it('after a read, gives modify-rule with single quotes escaped for a POSIX shell', async () => {
    // Prepare
    const quoting: Action = {
      ...OIDC,
      AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig!, AuthenticationRequestExtraParams: { login_hint: "o'brien@example.com" } },
    };
    elb.on(DescribeRulesCommand).resolves(rule(quoting, single(CANARY, 2)));
    const router = ruleRouter();
    await router.getWeights();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    expect(command.startsWith(`aws elbv2 modify-rule --region eu-west-1 --rule-arn ${RULE} --actions '[`)).toBe(true);
    expect(command).toContain(`"login_hint":"o'\\''brien@example.com"`);
    const args = awsArguments(command);
    expect(args.slice(0, 7)).toEqual(['elbv2', 'modify-rule', '--region', 'eu-west-1', '--rule-arn', RULE, '--actions']);
    const actions = JSON.parse(args[7]) as Action[];
    expect(actions[0].AuthenticateOidcConfig?.AuthenticationRequestExtraParams).toEqual({ login_hint: "o'brien@example.com" });
    expect(actions[1]).toStrictEqual({
      Type: 'forward',
      Order: 2,
      ForwardConfig: {
        TargetGroups: [{ TargetGroupArn: STABLE, Weight: 1 }],
        TargetGroupStickinessConfig: { Enabled: false },
      },
    });
  });
});
