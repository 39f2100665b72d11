import type {
  Action,
  ActionTypeEnum,
  AuthenticateCognitoActionConfig,
  AuthenticateOidcActionConfig,
  FixedResponseActionConfig,
  ForwardActionConfig,
  JwtValidationActionAdditionalClaimFormatEnum,
  JwtValidationActionConfig,
  RedirectActionConfig,
  RedirectActionStatusCodeEnum,
  RuleCondition,
  TargetGroupTuple,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { constraintError, ElbApiError, validationError } from './api-error';
import {
  booleanAt,
  integerAt,
  objectAt,
  objectListAt,
  stringAt,
  stringListAt,
  stringMapAt,
  type QueryObject,
} from './query';

/**
 * Listener and rule actions and rule conditions: read from a Query request, validated and normalised
 * the way ELBv2 stores them (a forward action always reports its ForwardConfig, defaults filled in).
 */

/** AWS's own limit, kept apart from the domain's constant so the stand-in checks the engine instead of agreeing with it. */
const ALB_MAX_TARGET_GROUP_WEIGHT = 999;
const MAX_TARGET_GROUPS_PER_FORWARD = 5;
const MAX_STICKINESS_SECONDS = 604_800;

const ACTION_TYPES: readonly ActionTypeEnum[] = [
  'forward',
  'authenticate-oidc',
  'authenticate-cognito',
  'redirect',
  'fixed-response',
  'jwt-validation',
];
const TERMINAL_TYPES: readonly ActionTypeEnum[] = ['forward', 'redirect', 'fixed-response'];
const UNAUTHENTICATED_BEHAVIOURS = ['deny', 'allow', 'authenticate'] as const;
const REDIRECT_CODES: readonly RedirectActionStatusCodeEnum[] = ['HTTP_301', 'HTTP_302'];
const CLAIM_FORMATS: readonly JwtValidationActionAdditionalClaimFormatEnum[] = [
  'single-string',
  'string-array',
  'space-separated-values',
];
const CONDITION_FIELDS = [
  'http-header',
  'http-request-method',
  'host-header',
  'path-pattern',
  'query-string',
  'source-ip',
] as const;

/** What validating actions needs from the store. */
export interface ActionContext {
  /** AWS's name of the parameter, used in messages: `defaultActions` or `actions`. */
  readonly field: string;
  /** Whether a target group ARN exists. */
  readonly targetGroupExists: (arn: string) => boolean;
  /** The actions being replaced (where `UseExistingClientSecret` finds the stored secret). */
  readonly previous: readonly Action[];
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], at: string): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) {
    throw constraintError(value, at, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return found;
}

function required<T>(value: T | undefined, at: string): T {
  if (value === undefined || value === '') throw constraintError('null', at, 'Member must not be null');
  return value;
}

function inRange(value: number, min: number, max: number, at: string): number {
  if (value < min) throw constraintError(value, at, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw constraintError(value, at, `Member must have value less than or equal to ${max}`);
  return value;
}

/** The actions of a Query request (`DefaultActions` or `Actions`), typed; undefined when not sent. */
export function readActions(tree: QueryObject, key: string, field: string): Action[] | undefined {
  return objectListAt(tree, key)?.map((item, index) => readAction(item, `${field}.${index + 1}.member`));
}

function readAction(t: QueryObject, at: string): Action {
  const forward = objectAt(t, 'ForwardConfig');
  const oidc = objectAt(t, 'AuthenticateOidcConfig');
  const cognito = objectAt(t, 'AuthenticateCognitoConfig');
  const redirect = objectAt(t, 'RedirectConfig');
  const fixed = objectAt(t, 'FixedResponseConfig');
  const jwt = objectAt(t, 'JwtValidationConfig');
  return {
    Type: oneOf(stringAt(t, 'Type'), ACTION_TYPES, `${at}.type`),
    Order: integerAt(t, 'Order', `${at}.order`),
    TargetGroupArn: stringAt(t, 'TargetGroupArn'),
    ForwardConfig: forward && readForward(forward, `${at}.forwardConfig`),
    AuthenticateOidcConfig: oidc && readOidc(oidc, `${at}.authenticateOidcConfig`),
    AuthenticateCognitoConfig: cognito && readCognito(cognito, `${at}.authenticateCognitoConfig`),
    RedirectConfig: redirect && {
      StatusCode: oneOf(stringAt(redirect, 'StatusCode'), REDIRECT_CODES, `${at}.redirectConfig.statusCode`),
      Protocol: stringAt(redirect, 'Protocol'),
      Port: stringAt(redirect, 'Port'),
      Host: stringAt(redirect, 'Host'),
      Path: stringAt(redirect, 'Path'),
      Query: stringAt(redirect, 'Query'),
    },
    FixedResponseConfig: fixed && {
      StatusCode: stringAt(fixed, 'StatusCode'),
      ContentType: stringAt(fixed, 'ContentType'),
      MessageBody: stringAt(fixed, 'MessageBody'),
    },
    JwtValidationConfig: jwt && {
      JwksEndpoint: stringAt(jwt, 'JwksEndpoint'),
      Issuer: stringAt(jwt, 'Issuer'),
      AdditionalClaims: objectListAt(jwt, 'AdditionalClaims')?.map((claim, i) => ({
        Format: oneOf(stringAt(claim, 'Format'), CLAIM_FORMATS, `${at}.jwtValidationConfig.additionalClaims.${i + 1}.member.format`),
        Name: stringAt(claim, 'Name'),
        Values: stringListAt(claim, 'Values'),
      })),
    },
  };
}

function readForward(t: QueryObject, at: string): ForwardActionConfig {
  const stickiness = objectAt(t, 'TargetGroupStickinessConfig');
  return {
    TargetGroups: objectListAt(t, 'TargetGroups')?.map((tuple, i) => ({
      TargetGroupArn: stringAt(tuple, 'TargetGroupArn'),
      Weight: integerAt(tuple, 'Weight', `${at}.targetGroups.${i + 1}.member.weight`),
    })),
    TargetGroupStickinessConfig: stickiness && {
      Enabled: booleanAt(stickiness, 'Enabled', `${at}.targetGroupStickinessConfig.enabled`),
      DurationSeconds: integerAt(stickiness, 'DurationSeconds', `${at}.targetGroupStickinessConfig.durationSeconds`),
    },
  };
}

function readOidc(t: QueryObject, at: string): AuthenticateOidcActionConfig {
  return {
    Issuer: stringAt(t, 'Issuer'),
    AuthorizationEndpoint: stringAt(t, 'AuthorizationEndpoint'),
    TokenEndpoint: stringAt(t, 'TokenEndpoint'),
    UserInfoEndpoint: stringAt(t, 'UserInfoEndpoint'),
    ClientId: stringAt(t, 'ClientId'),
    ClientSecret: stringAt(t, 'ClientSecret'),
    SessionCookieName: stringAt(t, 'SessionCookieName'),
    Scope: stringAt(t, 'Scope'),
    SessionTimeout: integerAt(t, 'SessionTimeout', `${at}.sessionTimeout`),
    AuthenticationRequestExtraParams: stringMapAt(t, 'AuthenticationRequestExtraParams'),
    OnUnauthenticatedRequest: oneOf(stringAt(t, 'OnUnauthenticatedRequest'), UNAUTHENTICATED_BEHAVIOURS, `${at}.onUnauthenticatedRequest`),
    UseExistingClientSecret: booleanAt(t, 'UseExistingClientSecret', `${at}.useExistingClientSecret`),
  };
}

function readCognito(t: QueryObject, at: string): AuthenticateCognitoActionConfig {
  return {
    UserPoolArn: stringAt(t, 'UserPoolArn'),
    UserPoolClientId: stringAt(t, 'UserPoolClientId'),
    UserPoolDomain: stringAt(t, 'UserPoolDomain'),
    SessionCookieName: stringAt(t, 'SessionCookieName'),
    Scope: stringAt(t, 'Scope'),
    SessionTimeout: integerAt(t, 'SessionTimeout', `${at}.sessionTimeout`),
    AuthenticationRequestExtraParams: stringMapAt(t, 'AuthenticationRequestExtraParams'),
    OnUnauthenticatedRequest: oneOf(stringAt(t, 'OnUnauthenticatedRequest'), UNAUTHENTICATED_BEHAVIOURS, `${at}.onUnauthenticatedRequest`),
  };
}

/**
 * Validates actions as ELBv2 does and returns them as it stores them, sorted by Order: a forward action
 * carries its ForwardConfig (weights, stickiness) and, with one target group, also TargetGroupArn;
 * authentication and redirect configs get AWS's defaults; an OIDC client secret is kept but never described.
 */
export function normaliseActions(actions: readonly Action[], ctx: ActionContext): Action[] {
  if (actions.length === 0) throw constraintError('[]', ctx.field, 'Member must have length greater than or equal to 1');
  const normalised = actions.map((action, index) => normaliseAction(action, index, ctx));
  const orders = new Set<number>();
  for (const action of normalised) {
    const order = action.Order ?? 0;
    if (orders.has(order)) throw validationError(`The action order '${order}' is used more than once in ${ctx.field}`);
    orders.add(order);
  }
  normalised.sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0));
  const terminal = normalised.filter((action) => TERMINAL_TYPES.includes(action.Type ?? 'forward'));
  const last = normalised[normalised.length - 1];
  if (terminal.length !== 1 || last === undefined || !TERMINAL_TYPES.includes(last.Type ?? 'forward')) {
    throw new ElbApiError(
      'InvalidLoadBalancerAction',
      `The last action of ${ctx.field} must be one forward, redirect or fixed-response action, and there must be exactly one`,
    );
  }
  return normalised;
}

function normaliseAction(action: Action, index: number, ctx: ActionContext): Action {
  const at = `${ctx.field}.${index + 1}.member`;
  const type = required(action.Type, `${at}.type`);
  oneOf(type, ACTION_TYPES, `${at}.type`);
  const Order = action.Order === undefined ? index + 1 : inRange(action.Order, 1, 50_000, `${at}.order`);
  switch (type) {
    case 'forward':
      return { Type: type, Order, ...normaliseForward(action, at, ctx) };
    case 'authenticate-oidc':
      return { Type: type, Order, AuthenticateOidcConfig: normaliseOidc(action.AuthenticateOidcConfig, `${at}.authenticateOidcConfig`, ctx) };
    case 'authenticate-cognito': {
      const c = required(action.AuthenticateCognitoConfig, `${at}.authenticateCognitoConfig`);
      const cat = `${at}.authenticateCognitoConfig`;
      return {
        Type: type,
        Order,
        AuthenticateCognitoConfig: {
          UserPoolArn: required(c.UserPoolArn, `${cat}.userPoolArn`),
          UserPoolClientId: required(c.UserPoolClientId, `${cat}.userPoolClientId`),
          UserPoolDomain: required(c.UserPoolDomain, `${cat}.userPoolDomain`),
          SessionCookieName: c.SessionCookieName ?? 'AWSELBAuthSessionCookie',
          Scope: c.Scope ?? 'openid',
          SessionTimeout: c.SessionTimeout ?? 604_800,
          AuthenticationRequestExtraParams: c.AuthenticationRequestExtraParams,
          OnUnauthenticatedRequest: c.OnUnauthenticatedRequest ?? 'authenticate',
        },
      };
    }
    case 'redirect': {
      const c: RedirectActionConfig = required(action.RedirectConfig, `${at}.redirectConfig`);
      return {
        Type: type,
        Order,
        RedirectConfig: {
          Protocol: c.Protocol ?? '#{protocol}',
          Port: c.Port ?? '#{port}',
          Host: c.Host ?? '#{host}',
          Path: c.Path ?? '/#{path}',
          Query: c.Query ?? '#{query}',
          StatusCode: required(c.StatusCode, `${at}.redirectConfig.statusCode`),
        },
      };
    }
    case 'fixed-response': {
      const c: FixedResponseActionConfig = required(action.FixedResponseConfig, `${at}.fixedResponseConfig`);
      const status = required(c.StatusCode, `${at}.fixedResponseConfig.statusCode`);
      if (!/^[245][0-9][0-9]$/.test(status)) {
        throw constraintError(status, `${at}.fixedResponseConfig.statusCode`, 'Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$');
      }
      return { Type: type, Order, FixedResponseConfig: { MessageBody: c.MessageBody, StatusCode: status, ContentType: c.ContentType } };
    }
    case 'jwt-validation': {
      const c: JwtValidationActionConfig = required(action.JwtValidationConfig, `${at}.jwtValidationConfig`);
      return {
        Type: type,
        Order,
        JwtValidationConfig: {
          JwksEndpoint: required(c.JwksEndpoint, `${at}.jwtValidationConfig.jwksEndpoint`),
          Issuer: required(c.Issuer, `${at}.jwtValidationConfig.issuer`),
          AdditionalClaims: c.AdditionalClaims,
        },
      };
    }
  }
}

function normaliseForward(action: Action, at: string, ctx: ActionContext): Pick<Action, 'TargetGroupArn' | 'ForwardConfig'> {
  const tuples = action.ForwardConfig?.TargetGroups ?? [];
  if (action.TargetGroupArn !== undefined && tuples.length > 1) {
    throw validationError('You cannot specify both a target group ARN and a forward config with more than one target group');
  }
  if (action.TargetGroupArn !== undefined && tuples.length === 1 && tuples[0]?.TargetGroupArn !== action.TargetGroupArn) {
    throw validationError('The target group ARN and the target group in the forward config must be the same target group');
  }
  const groups: TargetGroupTuple[] =
    tuples.length > 0 ? tuples : action.TargetGroupArn !== undefined ? [{ TargetGroupArn: action.TargetGroupArn }] : [];
  if (groups.length === 0) {
    throw validationError('A forward action must specify a target group ARN or a forward config with at least one target group');
  }
  if (groups.length > MAX_TARGET_GROUPS_PER_FORWARD) {
    throw constraintError(`[${groups.length} target groups]`, `${at}.forwardConfig.targetGroups`, `Member must have length less than or equal to ${MAX_TARGET_GROUPS_PER_FORWARD}`);
  }
  const seen = new Set<string>();
  const normalised = groups.map((tuple, i) => {
    const tat = `${at}.forwardConfig.targetGroups.${i + 1}.member`;
    const arn = required(tuple.TargetGroupArn, `${tat}.targetGroupArn`);
    if (seen.has(arn)) throw validationError(`Target group '${arn}' is specified more than once in the forward config`);
    seen.add(arn);
    return { TargetGroupArn: arn, Weight: inRange(tuple.Weight ?? 1, 0, ALB_MAX_TARGET_GROUP_WEIGHT, `${tat}.weight`) };
  });
  const stickiness = action.ForwardConfig?.TargetGroupStickinessConfig;
  const enabled = stickiness?.Enabled ?? false;
  if (enabled) {
    const seconds = required(stickiness?.DurationSeconds, `${at}.forwardConfig.targetGroupStickinessConfig.durationSeconds`);
    inRange(seconds, 1, MAX_STICKINESS_SECONDS, `${at}.forwardConfig.targetGroupStickinessConfig.durationSeconds`);
  }
  const missing = normalised.find((tuple) => !ctx.targetGroupExists(tuple.TargetGroupArn));
  if (missing !== undefined) throw new ElbApiError('TargetGroupNotFound', `One or more target groups not found: '${missing.TargetGroupArn}'`);
  return {
    TargetGroupArn: normalised.length === 1 ? normalised[0]?.TargetGroupArn : undefined,
    ForwardConfig: {
      TargetGroups: normalised,
      TargetGroupStickinessConfig: { Enabled: enabled, DurationSeconds: stickiness?.DurationSeconds },
    },
  };
}

function normaliseOidc(config: AuthenticateOidcActionConfig | undefined, at: string, ctx: ActionContext): AuthenticateOidcActionConfig {
  const c = required(config, at);
  const clientId = required(c.ClientId, `${at}.clientId`);
  let secret = c.ClientSecret;
  if (c.UseExistingClientSecret === true) {
    if (secret !== undefined) {
      throw new ElbApiError('InvalidLoadBalancerAction', 'You cannot both specify a client secret and set UseExistingClientSecret to true');
    }
    secret = ctx.previous.find((p) => p.AuthenticateOidcConfig?.ClientId === clientId)?.AuthenticateOidcConfig?.ClientSecret;
    if (secret === undefined) throw new ElbApiError('InvalidLoadBalancerAction', `There is no existing client secret for client ID '${clientId}'`);
  }
  return {
    Issuer: required(c.Issuer, `${at}.issuer`),
    AuthorizationEndpoint: required(c.AuthorizationEndpoint, `${at}.authorizationEndpoint`),
    TokenEndpoint: required(c.TokenEndpoint, `${at}.tokenEndpoint`),
    UserInfoEndpoint: required(c.UserInfoEndpoint, `${at}.userInfoEndpoint`),
    ClientId: clientId,
    ClientSecret: required(secret, `${at}.clientSecret`),
    SessionCookieName: c.SessionCookieName ?? 'AWSELBAuthSessionCookie',
    Scope: c.Scope ?? 'openid',
    SessionTimeout: c.SessionTimeout ?? 604_800,
    AuthenticationRequestExtraParams: c.AuthenticationRequestExtraParams,
    OnUnauthenticatedRequest: c.OnUnauthenticatedRequest ?? 'authenticate',
  };
}

/** Actions as Describe* reports them: an OIDC client secret is never returned, as on AWS. */
export function describedActions(actions: readonly Action[]): Action[] {
  return actions.map((action) =>
    action.AuthenticateOidcConfig === undefined
      ? action
      : { ...action, AuthenticateOidcConfig: { ...action.AuthenticateOidcConfig, ClientSecret: undefined } },
  );
}

/** The rule conditions of a Query request, typed; undefined when not sent. */
export function readConditions(tree: QueryObject, key: string): RuleCondition[] | undefined {
  return objectListAt(tree, key)?.map((c) => {
    const values = (name: string) => {
      const config = objectAt(c, name);
      return config && { Values: stringListAt(config, 'Values'), RegexValues: stringListAt(config, 'RegexValues') };
    };
    const header = objectAt(c, 'HttpHeaderConfig');
    const query = objectAt(c, 'QueryStringConfig');
    const method = objectAt(c, 'HttpRequestMethodConfig');
    const source = objectAt(c, 'SourceIpConfig');
    return {
      Field: stringAt(c, 'Field'),
      Values: stringListAt(c, 'Values'),
      RegexValues: stringListAt(c, 'RegexValues'),
      HostHeaderConfig: values('HostHeaderConfig'),
      PathPatternConfig: values('PathPatternConfig'),
      HttpHeaderConfig: header && {
        HttpHeaderName: stringAt(header, 'HttpHeaderName'),
        Values: stringListAt(header, 'Values'),
        RegexValues: stringListAt(header, 'RegexValues'),
      },
      QueryStringConfig: query && {
        Values: objectListAt(query, 'Values')?.map((pair) => ({ Key: stringAt(pair, 'Key'), Value: stringAt(pair, 'Value') })),
      },
      HttpRequestMethodConfig: method && { Values: stringListAt(method, 'Values') },
      SourceIpConfig: source && { Values: stringListAt(source, 'Values') },
    };
  });
}

/** Validates conditions; host-header and path-pattern report their values both flat and in their config, as AWS does. */
export function normaliseConditions(conditions: readonly RuleCondition[]): RuleCondition[] {
  return conditions.map((condition, index) => {
    const at = `conditions.${index + 1}.member`;
    const field = required(oneOf(condition.Field, CONDITION_FIELDS, `${at}.field`), `${at}.field`);
    if (field === 'host-header' || field === 'path-pattern') {
      const config = field === 'host-header' ? condition.HostHeaderConfig : condition.PathPatternConfig;
      const values = config?.Values ?? condition.Values;
      const regexValues = config?.RegexValues ?? condition.RegexValues;
      if ((values?.length ?? 0) + (regexValues?.length ?? 0) === 0) {
        throw validationError(`A '${field}' condition must have at least one value`);
      }
      const normalisedConfig = { Values: values, RegexValues: regexValues };
      return {
        Field: field,
        Values: values,
        ...(field === 'host-header' ? { HostHeaderConfig: normalisedConfig } : { PathPatternConfig: normalisedConfig }),
      };
    }
    return { ...condition, Field: field };
  });
}
