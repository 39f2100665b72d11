import { execFileSync } from 'node:child_process';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
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
    { percent: 0, canary: 0, stable: 999 },
    { percent: 100, canary: 999, stable: 0 },
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
        { ...OIDC, AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig, UseExistingClientSecret: true } },
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
  ])('reads $form as canary $canary%', async ({ action, canary }) => {
    // Prepare
    elb.on(DescribeListenersCommand).resolves(listener(OIDC, { ...action, Order: 2 }));

    // Act
    const weights = await listenerRouter().getWeights();

    // Assess
    expect(weights.canary).toBe(canary);
    expect(weights.stable).toBe(Math.round((100 - canary) * 10) / 10);
  });

  it('throws RouteNotFoundError naming the listener and the missing canary target group', async () => {
    // Prepare
    const withoutCanary: Action = {
      Type: 'forward',
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: STABLE, Weight: 999 }, { TargetGroupArn: SHADOW, Weight: 1 }] },
    };
    elb.on(DescribeListenersCommand).resolves(listener(withoutCanary));

    // Act
    const error = await failureOf(listenerRouter().getWeights());

    // Assess
    expect(error).toBeInstanceOf(RouteNotFoundError);
    expect((error as Error).message).toContain(LISTENER);
    expect((error as Error).message).toContain(`no target group ${CANARY}`);
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
  it('without a prior read, gives modify-listener with one forward action: stable 1, canary 0', () => {
    // Prepare
    const router = listenerRouter();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    expect(command).toBe(
      `aws elbv2 modify-listener --region eu-west-1 --listener-arn ${LISTENER} --default-actions ` +
        `'[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"${STABLE}","Weight":1},{"TargetGroupArn":"${CANARY}","Weight":0}]}}]'`,
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
        `'[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"${STABLE}","Weight":1},{"TargetGroupArn":"${CANARY}","Weight":0}]}}]'`,
    );
  });

  it('after a read, keeps the other actions and the stickiness of the listener exactly as read', async () => {
    // Prepare
    const sticky: Action = {
      ...weighted(750, 250, 2),
      ForwardConfig: { ...weighted(750, 250).ForwardConfig, TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 600 } },
    };
    elb.on(DescribeListenersCommand).resolves(listener(OIDC, sticky));
    const router = listenerRouter();
    await router.getWeights();

    // Act
    const command = router.manualRestoreCommand();

    // Assess
    const args = awsArguments(command);
    expect(args.slice(0, 6)).toEqual(['elbv2', 'modify-listener', '--region', 'eu-west-1', '--listener-arn', LISTENER]);
    expect(args[6]).toBe('--default-actions');
    expect(JSON.parse(args[7])).toStrictEqual([
      { ...OIDC, AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig, UseExistingClientSecret: true } },
      {
        Type: 'forward',
        Order: 2,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: STABLE, Weight: 1 },
            { TargetGroupArn: CANARY, Weight: 0 },
          ],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 600 },
        },
      },
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
        TargetGroups: [
          { TargetGroupArn: STABLE, Weight: 1 },
          { TargetGroupArn: CANARY, Weight: 0 },
        ],
        TargetGroupStickinessConfig: { Enabled: false },
      },
    });
  });
});
