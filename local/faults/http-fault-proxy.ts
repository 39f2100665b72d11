import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy on 127.0.0.1 in front of one upstream (dynalite, Prometheus), for fault tests: each request is
 * read whole, then `decide` says what happens to it: passed on, answered with a made-up reply, passed on and its
 * answer replaced (the write happened, the caller never learns it), delayed, or its connection reset. `refuse()`
 * closes the port so that new connections are refused (ECONNREFUSED), as a host that is down does.
 */

export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface ProxyReply {
  readonly status: number;
  readonly headers?: OutgoingHttpHeaders;
  readonly body: string;
}

export type ProxyAction =
  | { readonly kind: 'reply'; readonly reply: ProxyReply }
  | { readonly kind: 'forward-then-reply'; readonly reply: ProxyReply }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'reset' };

export interface HttpFaultProxyOptions {
  /** host:port of the upstream, e.g. 127.0.0.1:8000 */
  readonly upstream: string;
  /** What to do with one request; undefined passes it on. */
  readonly decide: (request: ProxiedRequest) => ProxyAction | undefined;
}

export interface HttpFaultProxy {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly port: number;
  /** Closes the port: new connections are refused and open ones are destroyed, until accept(). */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  /** Requests seen, and how many were faulted. */
  readonly seen: number;
  readonly faulted: number;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Passes one request upstream without keep-alive and gives back the whole answer. */
function forward(upstream: string, req: ProxiedRequest): Promise<ProxyReply> {
  const [host, port] = upstream.split(':');
  const headers: OutgoingHttpHeaders = { ...req.headers, host: upstream, 'content-length': Buffer.byteLength(req.body), connection: 'close' };
  delete headers['transfer-encoding'];
  return new Promise((resolve, reject) => {
    const out = request({ host, port: Number(port), method: req.method, path: req.url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const replyHeaders: OutgoingHttpHeaders = { ...res.headers };
        for (const hop of ['connection', 'keep-alive', 'transfer-encoding', 'content-length']) delete replyHeaders[hop];
        resolve({ status: res.statusCode ?? 502, headers: replyHeaders, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    out.on('error', reject);
    out.end(req.body);
  });
}

function send(res: ServerResponse, reply: ProxyReply): void {
  if (res.destroyed) return;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}

/** Starts the proxy on a free port of 127.0.0.1. */
export async function startHttpFaultProxy(options: HttpFaultProxyOptions): Promise<HttpFaultProxy> {
  let seen = 0;
  let faulted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const proxied: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: await readBody(req) };
      seen++;
      const action = options.decide(proxied);
      if (action !== undefined) faulted++;
      try {
        switch (action?.kind) {
          case undefined:
            return send(res, await forward(options.upstream, proxied));
          case 'reply':
            return send(res, action.reply);
          case 'forward-then-reply':
            await forward(options.upstream, proxied);
            return send(res, action.reply);
          case 'delay':
            await new Promise((resolve) => setTimeout(resolve, action.ms));
            return send(res, await forward(options.upstream, proxied));
          case 'reset':
            req.socket.destroy();
            return;
        }
      } catch (error) {
        send(res, { status: 502, headers: { 'content-type': 'text/plain' }, body: `fault proxy: upstream ${options.upstream} failed: ${error instanceof Error ? error.message : String(error)}` });
      }
    })();
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  const port = await listen(0);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    refuse: close,
    accept: async () => {
      if (!server.listening) await listen(port);
    },
    get seen() {
      return seen;
    },
    get faulted() {
      return faulted;
    },
    stop: close,
  };
}
