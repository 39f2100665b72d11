import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { PrometheusMetricsSource } from '../../lambdas/adapters/prometheus/prometheus-metrics-source';
import { SigV4Signer, type RequestSigner, type SignableRequest } from '../../lambdas/adapters/prometheus/sigv4-signer';
import { ConfigurationError, MetricsQueryError } from '../../lambdas/domain/errors';
import { freePort } from '../../local/prometheus/prometheus-server';

// What goes over the wire and how answers become results or errors, against a local server that
// records each request and answers a canned reply.

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

interface RecordingServer {
  readonly url: string;
  readonly requests: Recorded[];
  reply: Reply | 'hang';
  stop(): Promise<void>;
}

const vector = (value: string) =>
  JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1700000000.123, value] }] } });

async function startRecordingServer(): Promise<RecordingServer> {
  const requests: Recorded[] = [];
  const state: { reply: Reply | 'hang' } = { reply: { status: 200, body: vector('1') } };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = state.reply;
      if (reply === 'hang') return;
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    get reply() {
      return state.reply;
    },
    set reply(value) {
      state.reply = value;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let server: RecordingServer;

beforeEach(async () => {
  server = await startRecordingServer();
});

afterEach(async () => {
  await server.stop();
});

async function queryError(source: PrometheusMetricsSource, promql = 'up'): Promise<MetricsQueryError> {
  const error: unknown = await source.query(promql).then(
    (result) => result,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MetricsQueryError);
  return error as MetricsQueryError;
}

describe('the request', () => {
  test('is a POST of a form-encoded query to <baseUrl>/api/v1/query, the query intact', async () => {
    const promql = 'sum(rate(http_requests_total{service="payments", status=~"5.."}[2m])) / 1+1 & more';
    const source = new PrometheusMetricsSource({ baseUrl: `${server.url}/prometheus/` });

    await source.query(promql);

    const [request] = server.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/prometheus/api/v1/query');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(request.body).get('query')).toBe(promql);
    expect(new URLSearchParams(request.body).has('time')).toBe(false);
    expect(request.headers.authorization).toBeUndefined();
  });

  test('evaluates at a given instant with the standard time parameter (count queries chain their windows with it)', async () => {
    const source = new PrometheusMetricsSource({ baseUrl: server.url });

    await source.query('sum(increase(http_requests_total[60s]))', { at: new Date(Date.UTC(2026, 10, 22, 10, 0, 0, 500)) });

    expect(new URLSearchParams(server.requests[0].body).get('time')).toBe(String(Date.UTC(2026, 10, 22, 10, 0, 0, 500) / 1000));
  });

  test('carries the bearer token as Authorization: Bearer', async () => {
    const source = new PrometheusMetricsSource({ baseUrl: server.url, bearerToken: 'tok-3f9a-secret' });

    await expect(source.query('up')).resolves.toEqual({ kind: 'value', value: 1 });

    expect(server.requests[0].headers.authorization).toBe('Bearer tok-3f9a-secret');
  });

  test('sends a token stored with a trailing newline without it, and refuses one with a line break inside without echoing it', async () => {
    await new PrometheusMetricsSource({ baseUrl: server.url, bearerToken: 'tok-3f9a-secret\n' }).query('up');

    expect(server.requests[0].headers.authorization).toBe('Bearer tok-3f9a-secret');
    expect(() => new PrometheusMetricsSource({ baseUrl: server.url, bearerToken: 'tok-3f9a\nsecret' })).toThrow(
      new ConfigurationError('Prometheus bearer token contains a line break or control character; store the bare token'),
    );
  });
});

describe('answers', () => {
  test('a Prometheus error (bad_data, 400) carries its error text and never the bearer token, even when echoed', async () => {
    const token = 'tok-3f9a-secret';
    server.reply = {
      status: 400,
      body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: `invalid parameter "query": 1:5: parse error: unexpected <EOF> (auth ${token})` }),
    };
    const source = new PrometheusMetricsSource({ baseUrl: server.url, bearerToken: token });

    const error = await queryError(source);

    expect(error.message).toContain('Prometheus rejected the query (HTTP 400): invalid parameter "query": 1:5: parse error: unexpected <EOF>');
    expect(error.message).toContain('(bad_data)');
    expect(error.message).not.toContain(token);
  });

  test('an execution error (422) carries its text', async () => {
    server.reply = { status: 422, body: JSON.stringify({ status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory' }) };

    const error = await queryError(new PrometheusMetricsSource({ baseUrl: server.url }));

    expect(error.message).toMatch(/HTTP 422.*too many samples/);
  });

  test('a 5xx says the HTTP status', async () => {
    server.reply = { status: 503, body: 'upstream connect error' , headers: { 'content-type': 'text/plain' } };

    const error = await queryError(new PrometheusMetricsSource({ baseUrl: server.url }));

    expect(error.message).toBe(`${server.url}/api/v1/query answered HTTP 503 Service Unavailable`);
  });

  test('401/403 say the credentials were refused, with the server message and without the token', async () => {
    server.reply = { status: 403, body: JSON.stringify({ message: 'User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: aps:QueryMetrics' }) };
    const token = 'tok-3f9a-secret';

    const error = await queryError(new PrometheusMetricsSource({ baseUrl: server.url, bearerToken: token }));

    expect(error.message).toMatch(/refused the credentials \(HTTP 403\): User: .* aps:QueryMetrics/);
    expect(error.message).not.toContain(token);
  });

  test('a wrong base URL (404, an HTML page, a redirect) says to check the base URL', async () => {
    const source = new PrometheusMetricsSource({ baseUrl: server.url });

    server.reply = { status: 404, body: '404 page not found', headers: { 'content-type': 'text/plain' } };
    expect((await queryError(source)).message).toMatch(/HTTP 404: no Prometheus query API there; check the base URL/);

    server.reply = { status: 200, body: '<html><body>Grafana</body></html>', headers: { 'content-type': 'text/html' } };
    expect((await queryError(source)).message).toMatch(/did not answer with the Prometheus API JSON \(HTTP 200, text\/html\)/);

    server.reply = { status: 302, body: '', headers: { location: 'https://sso.example.com/login' } };
    expect((await queryError(source)).message).toMatch(/HTTP 302 redirect to https:\/\/sso\.example\.com\/login/);
  });

  test('a sample value that is not a number is an error, not a value', async () => {
    server.reply = { status: 200, body: vector('twelve') };

    const error = await queryError(new PrometheusMetricsSource({ baseUrl: server.url }));

    expect(error.message).toMatch(/not a number: 'twelve'/);
  });

  test('a server that does not answer fails with "cannot reach" once the timeout passes, not later', async () => {
    server.reply = 'hang';
    const source = new PrometheusMetricsSource({ baseUrl: server.url, timeoutMs: 300, bearerToken: 'tok-3f9a-secret' });

    const started = Date.now();
    const error = await queryError(source);
    const elapsed = Date.now() - started;

    expect(error.message).toBe(`cannot reach ${server.url}/api/v1/query: no answer within 300 ms`);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
  });

  test('a closed port fails with "cannot reach <url>: connection refused", without the token', async () => {
    const port = await freePort();
    const source = new PrometheusMetricsSource({ baseUrl: `http://127.0.0.1:${port}`, bearerToken: 'tok-3f9a-secret' });

    const error = await queryError(source);

    expect(error.message).toBe(`cannot reach http://127.0.0.1:${port}/api/v1/query: connection refused (ECONNREFUSED)`);
    expect(error.cause).toBeUndefined();
  });
});

describe('configuration', () => {
  test('a bearer token and a signer together, a bad URL, a non-positive timeout or a password in the URL are refused up front', () => {
    const signer: RequestSigner = { sign: async (r) => r.headers };
    expect(() => new PrometheusMetricsSource({ baseUrl: server.url, bearerToken: 't', signer })).toThrow(ConfigurationError);
    expect(() => new PrometheusMetricsSource({ baseUrl: 'prometheus:9090' })).toThrow(/must be http or https|not a URL/);
    expect(() => new PrometheusMetricsSource({ baseUrl: server.url, timeoutMs: 0 })).toThrow(/timeout must be positive/);
    expect(() => new PrometheusMetricsSource({ baseUrl: 'http://admin:hunter2@prometheus:9090' })).toThrow(
      'Prometheus base URL must not contain user:password; pass a bearer token instead',
    );
  });
});

describe('with a SigV4 signer', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
  const now = () => new Date('2024-03-05T10:20:30Z');

  test('the signed headers are exactly what goes on the wire, and they verify against the request received', async () => {
    const signer = new SigV4Signer({ region: 'eu-west-1', credentials: async () => credentials, now });
    const produced: Record<string, string>[] = [];
    const recording: RequestSigner = {
      sign: async (request) => {
        const headers = await signer.sign(request);
        produced.push(headers);
        return headers;
      },
    };
    const source = new PrometheusMetricsSource({ baseUrl: `${server.url}/workspaces/ws-1234`, signer: recording });

    await expect(source.query('sum(rate(http_requests_total[2m]))')).resolves.toEqual({ kind: 'value', value: 1 });

    const wire = server.requests[0];
    const sent = produced[0];
    for (const [name, value] of Object.entries(sent)) expect(wire.headers[name.toLowerCase()]).toBe(value);
    expect(wire.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20240305\/eu-west-1\/aps\/aws4_request, /);
    expect(wire.headers['x-amz-security-token']).toBe('session-token-example');
    // Signing what the server received (its Host, content type and body) gives the same signature.
    const received: SignableRequest = {
      method: wire.method,
      url: new URL(`http://${wire.headers.host}${wire.path}`),
      headers: { 'content-type': String(wire.headers['content-type']), accept: String(wire.headers.accept) },
      body: wire.body,
    };
    expect((await signer.sign(received)).authorization).toBe(wire.headers.authorization);
  });

  test('a signer that cannot get credentials is a MetricsQueryError, and nothing is sent', async () => {
    const signer = new SigV4Signer({
      region: 'eu-west-1',
      credentials: async () => {
        throw new Error('Could not load credentials from any providers');
      },
    });

    const error = await queryError(new PrometheusMetricsSource({ baseUrl: server.url, signer }));

    expect(error.message).toMatch(/could not sign the request to .* \(check the AWS credentials and region\): Could not load credentials/);
    expect(server.requests).toHaveLength(0);
  });
});
