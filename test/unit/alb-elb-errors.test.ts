import { Readable } from 'node:stream';
import { DescribeListenersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { HttpResponse } from '@smithy/protocol-http';
import { elbErrorCodes, translateElbError } from '../../lambdas/adapters/alb/elb-errors';
import {
  CanaryError,
  RouteNotFoundError,
  RouterError,
  ThrottlingError,
  TransientError,
} from '../../lambdas/domain/errors';

/**
 * The error the real SDK throws for an ELBv2 Query-protocol error response: the client's own
 * deserializer runs, only the HTTP exchange is replaced.
 */
async function sdkErrorFor(statusCode: number, code: string, message: string): Promise<unknown> {
  const body =
    '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">' +
    `<Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
    '<RequestId>4a8f3c2e-0000-4000-8000-000000000000</RequestId></ErrorResponse>';
  const client = new ElasticLoadBalancingV2Client({
    maxAttempts: 1,
    requestHandler: {
      handle: async () => ({
        response: new HttpResponse({ statusCode, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(body)]) }),
      }),
    },
  });
  try {
    await client.send(new DescribeListenersCommand({ ListenerArns: ['arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2'] }));
  } catch (error) {
    return error;
  }
  throw new Error('expected the SDK call to fail');
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code });
}

describe('translateElbError on errors the SDK deserializes', () => {
  it.each([
    { status: 400, code: 'Throttling', expected: ThrottlingError },
    { status: 400, code: 'ThrottlingException', expected: ThrottlingError },
    { status: 429, code: 'TooManyRequestsException', expected: ThrottlingError },
    { status: 503, code: 'RequestLimitExceeded', expected: ThrottlingError },
    { status: 400, code: 'ListenerNotFound', expected: RouteNotFoundError },
    { status: 400, code: 'RuleNotFound', expected: RouteNotFoundError },
    { status: 400, code: 'TargetGroupNotFound', expected: RouteNotFoundError },
    { status: 400, code: 'ValidationError', expected: RouterError },
    { status: 403, code: 'AccessDenied', expected: RouterError },
    { status: 400, code: 'AccessDeniedException', expected: RouterError },
    { status: 400, code: 'TargetGroupAssociationLimit', expected: RouterError },
    { status: 400, code: 'InvalidConfigurationRequest', expected: RouterError },
    { status: 400, code: 'InvalidLoadBalancerAction', expected: RouterError },
    { status: 400, code: 'OperationNotPermitted', expected: RouterError },
    { status: 500, code: 'InternalFailure', expected: TransientError },
    { status: 503, code: 'ServiceUnavailable', expected: TransientError },
    { status: 502, code: 'SomethingUnheardOf', expected: TransientError },
  ])('$code (HTTP $status) becomes $expected.name', async ({ status, code, expected }) => {
    // Prepare
    const sdkError = await sdkErrorFor(status, code, `AWS says ${code}`);

    // Act
    const translated = translateElbError(sdkError, 'ModifyListener on listener L');

    // Assess
    expect(translated).toBeInstanceOf(expected);
    expect((translated as Error).name).toBe(expected.name);
    expect((translated as Error).cause).toBe(sdkError);
    expect((translated as Error).message).toBe(`ModifyListener on listener L failed: ${code.replace(/Exception$/, '')}: AWS says ${code}`);
  });

  it('reads a modelled error by its wire code as well as by its class name', async () => {
    // Prepare
    const sdkError = await sdkErrorFor(400, 'ListenerNotFound', 'One or more listeners not found');

    // Act
    const codes = elbErrorCodes(sdkError);

    // Assess
    expect((sdkError as Error).name).toBe('ListenerNotFoundException');
    expect(codes).toEqual(['ListenerNotFound']);
  });

  it('returns an unknown client error as it was', async () => {
    // Prepare
    const sdkError = await sdkErrorFor(400, 'SomethingUnheardOf', 'new in 2031');

    // Act
    const translated = translateElbError(sdkError, 'DescribeRules on rule R');

    // Assess
    expect(translated).toBe(sdkError);
  });
});

describe('translateElbError on errors below the SDK', () => {
  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT'])('makes a %s network error a TransientError', (code) => {
    // Prepare
    const error = networkError(code);

    // Act
    const translated = translateElbError(error, 'DescribeListeners on listener L');

    // Assess
    expect(translated).toBeInstanceOf(TransientError);
    expect((translated as TransientError).retryable).toBe(true);
    expect((translated as Error).message).toBe(`DescribeListeners on listener L failed: ${code}: connect ${code} 10.0.0.1:443`);
    expect((translated as Error).cause).toBe(error);
  });

  it('makes a TimeoutError a TransientError', () => {
    // Prepare
    const error = Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });

    // Act
    const translated = translateElbError(error, 'ModifyRule on rule R');

    // Assess
    expect(translated).toBeInstanceOf(TransientError);
  });

  it('reads the code from `Code` when the name is a plain Error', () => {
    // Prepare
    const error = Object.assign(new Error('Rate exceeded'), { Code: 'Throttling' });

    // Act
    const translated = translateElbError(error, 'ModifyRule on rule R');

    // Assess
    expect(translated).toBeInstanceOf(ThrottlingError);
    expect((translated as Error).message).toBe('ModifyRule on rule R failed: Throttling: Rate exceeded');
  });

  it.each([
    { what: 'a TypeError', error: new TypeError('x is not a function') },
    { what: 'a string', error: 'boom' },
    { what: 'undefined', error: undefined },
  ])('returns $what unchanged', ({ error }) => {
    // Act
    const translated = translateElbError(error, 'ModifyRule on rule R');

    // Assess
    expect(translated).toBe(error);
  });

  it('returns a domain error unchanged', () => {
    // Prepare
    const error: CanaryError = new RouteNotFoundError('rule R has no forward action');

    // Act
    const translated = translateElbError(error, 'ModifyRule on rule R');

    // Assess
    expect(translated).toBe(error);
  });
});
