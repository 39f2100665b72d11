import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local stand-in for a Slack incoming webhook: records every message; can be made to fail like Slack does. */
export interface WebhookReceiver {
  /** The webhook URL to store as the Slack secret. */
  readonly url: string;
  /** Bodies received, parsed as JSON, oldest first. */
  readonly messages: readonly unknown[];
  /** Answer every request with this status (e.g. 500, 404 "no_service") instead of 200 "ok"; undefined to heal. */
  failWith(status: number | undefined): void;
  /** Resolves once `count` messages arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the receiver on 127.0.0.1 and a free port. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const messages: unknown[] = [];
  let failure: number | undefined;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      if (failure !== undefined) {
        res.writeHead(failure, { 'content-type': 'text/plain' });
        res.end(failure === 404 ? 'no_service' : 'internal_error');
        return;
      }
      try {
        messages.push(JSON.parse(raw) as unknown);
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('invalid_payload');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/local-webhook`;
  return {
    url,
    messages,
    failWith: (status) => void (failure = status),
    async waitFor(count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > until) throw new Error(`webhook received ${messages.length} of ${count} messages`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
