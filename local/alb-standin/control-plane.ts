import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readActions, readConditions } from './actions';
import { ElbApiError, constraintError, validationError } from './api-error';
import type { FaultInjector } from './faults';
import type { AlbModel } from './model';
import { integerAt, objectListAt, parseQueryForm, stringAt, stringListAt, type QueryObject } from './query';
import { errorXml, resultXml } from './xml';

/**
 * The ELBv2 Query API (version 2015-12-01) over HTTP on loopback: form-encoded POSTs (or GETs) with
 * `Action=…`, answered in AWS's XML, so the real SDK talks to it through `endpoint` or
 * `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`. Signatures are not checked.
 */

/** One API call the stand-in answered, for tests and the demo. */
export interface ApiCallRecord {
  /** Epoch milliseconds when the call was answered. */
  readonly at: number;
  readonly action: string;
  readonly status: number;
  /** The error code when the call failed (injected or real). */
  readonly errorCode: string | undefined;
}

type Handler = (model: AlbModel, params: QueryObject) => Record<string, unknown>;

const MAX_BODY_BYTES = 1024 * 1024;

function requiredString(params: QueryObject, key: string, at: string): string {
  const value = stringAt(params, key);
  if (value === undefined || value === '') throw constraintError('null', at, 'Member must not be null');
  return value;
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  DescribeListeners(model, params) {
    const arns = stringListAt(params, 'ListenerArns') ?? [];
    const lbArn = stringAt(params, 'LoadBalancerArn');
    if (arns.length > 0 && lbArn !== undefined) throw validationError('Listener ARNs and a load balancer ARN cannot be specified at the same time');
    if (arns.length > 0) return { Listeners: arns.map((arn) => model.describeListener(model.listener(arn))) };
    if (lbArn === undefined) throw validationError('You must specify either listener ARNs or a load balancer ARN');
    const lb = model.loadBalancer(lbArn);
    const listeners = [...model.listeners.values()].filter((l) => l.loadBalancerArn === lb.arn);
    return { Listeners: listeners.map((l) => model.describeListener(l)) };
  },

  DescribeRules(model, params) {
    const arns = stringListAt(params, 'RuleArns') ?? [];
    const listenerArn = stringAt(params, 'ListenerArn');
    if (arns.length > 0 && listenerArn !== undefined) throw validationError('Rule ARNs and a listener ARN cannot be specified at the same time');
    if (arns.length > 0) return { Rules: arns.map((arn) => model.describeRule(model.rule(arn))) };
    if (listenerArn === undefined) throw validationError('You must specify either rule ARNs or a listener ARN');
    const listener = model.listener(listenerArn);
    return { Rules: [...model.rulesOf(listener.arn), listener].map((r) => model.describeRule(r)) };
  },

  ModifyListener(model, params) {
    const arn = requiredString(params, 'ListenerArn', 'listenerArn');
    const listener = model.listener(arn);
    const port = integerAt(params, 'Port', 'port');
    const protocol = stringAt(params, 'Protocol');
    if ((port !== undefined && port !== listener.port) || (protocol !== undefined && protocol !== 'HTTP')) {
      throw validationError('The ALB stand-in serves HTTP on the port it chose; only DefaultActions can be modified');
    }
    const actions = readActions(params, 'DefaultActions', 'defaultActions');
    return { Listeners: [model.describeListener(model.modifyListener(listener.arn, actions))] };
  },

  ModifyRule(model, params) {
    const arn = requiredString(params, 'RuleArn', 'ruleArn');
    const conditions = readConditions(params, 'Conditions');
    const actions = readActions(params, 'Actions', 'actions');
    return { Rules: [model.describeRule(model.modifyRule(arn, conditions, actions))] };
  },

  DescribeTargetGroups(model, params) {
    const arns = stringListAt(params, 'TargetGroupArns') ?? [];
    const names = stringListAt(params, 'Names') ?? [];
    const lbArn = stringAt(params, 'LoadBalancerArn');
    if ([arns.length > 0, names.length > 0, lbArn !== undefined].filter(Boolean).length > 1) {
      throw validationError('Only one of target group ARNs, names or a load balancer ARN can be specified');
    }
    let groups = [...model.targetGroups.values()];
    if (arns.length > 0) groups = arns.map((arn) => model.targetGroup(arn));
    if (names.length > 0) {
      groups = names.map((name) => {
        const found = groups.find((tg) => tg.name === name);
        if (found === undefined) throw new ElbApiError('TargetGroupNotFound', `One or more target groups not found: '${name}'`);
        return found;
      });
    }
    if (lbArn !== undefined) {
      const lb = model.loadBalancer(lbArn);
      groups = groups.filter((tg) => model.loadBalancersOf(tg.arn).includes(lb.arn));
    }
    return { TargetGroups: groups.map((tg) => model.describeTargetGroup(tg)) };
  },

  DescribeTargetHealth(model, params) {
    const tg = model.targetGroup(requiredString(params, 'TargetGroupArn', 'targetGroupArn'));
    const targets = objectListAt(params, 'Targets')?.map((t, i) => ({
      Id: stringAt(t, 'Id'),
      Port: integerAt(t, 'Port', `targets.${i + 1}.member.port`),
    }));
    return { TargetHealthDescriptions: model.describeTargetHealth(tg, targets) };
  },
};

/** The action names the stand-in answers. */
export const SUPPORTED_ACTIONS: readonly string[] = Object.keys(HANDLERS);

export interface ControlPlane {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  readonly calls: ApiCallRecord[];
  close(): Promise<void>;
}

/** Starts the Query API server on 127.0.0.1 (port 0 picks a free port). */
export async function startControlPlane(model: AlbModel, faults: FaultInjector, port = 0): Promise<ControlPlane> {
  const calls: ApiCallRecord[] = [];

  const answer = (res: ServerResponse, action: string, status: number, body: string, requestId: string, errorCode?: string) => {
    calls.push({ at: Date.now(), action, status, errorCode });
    res.writeHead(status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(body),
      'x-amzn-RequestId': requestId,
    });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const requestId = randomUUID();
    let action = '';
    try {
      const query = new URL(req.url ?? '/', 'http://localhost').search.slice(1);
      const params = parseQueryForm(req.method === 'GET' ? query : body);
      action = stringAt(params, 'Action') ?? '';
      if (action === '') throw new ElbApiError('MissingAction', 'The request must contain the parameter Action');
      const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
      if (handler === undefined) throw new ElbApiError('InvalidAction', `The action ${action} is not valid for this web service`);
      const fault = faults.take(action);
      if (fault !== undefined) throw fault;
      answer(res, action, 200, resultXml(action, handler(model, params), requestId), requestId);
    } catch (error) {
      const apiError =
        error instanceof ElbApiError ? error : new ElbApiError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
      answer(res, action, apiError.status, errorXml(apiError, requestId), requestId, apiError.code);
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        const requestId = randomUUID();
        answer(res, '', 413, errorXml(validationError('Request body too large'), requestId), requestId, 'ValidationError');
        return;
      }
      handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    calls,
    close: () => closeServer(server),
  };
}

/** Closes a server and every connection it holds, idle keep-alive ones included. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
