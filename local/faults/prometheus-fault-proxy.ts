import { startHttpFaultProxy, type HttpFaultProxy, type ProxyAction } from './http-fault-proxy';

/**
 * A Prometheus HTTP API with faults: a proxy in front of a real Prometheus, registered as a service's metrics URL.
 * Modes: `pass`; `down` (the port is closed, connections refused); `slow` (every answer held back `delayMs`, past
 * the adapter's query timeout); `garbage` (HTTP 200 whose body is not the API's JSON: alternately not JSON at all
 * and JSON of the wrong shape, the two ways a broken proxy or a wrong URL answers).
 */

export type PrometheusFaultMode = { readonly kind: 'pass' } | { readonly kind: 'down' } | { readonly kind: 'slow'; readonly delayMs: number } | { readonly kind: 'garbage' };

export interface PrometheusFaultProxy {
  /** The base URL to register as the service's metrics url. */
  readonly url: string;
  /** Switches the mode from the next request on. */
  set(mode: PrometheusFaultMode): Promise<void>;
  readonly faulted: number;
  stop(): Promise<void>;
}

// A Prometheus API answer is {"status":"success","data":{"resultType":…,"result":[…]}} (Prometheus docs, "HTTP API").
const NOT_JSON = '<html><body><h1>502 Bad Gateway</h1>upstream sent an invalid response</body></html>\n';
const WRONG_JSON = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: 'not a list' } });

/** Starts the proxy in front of `prometheusUrl` (http://127.0.0.1:<port>). */
export async function startPrometheusFaultProxy(prometheusUrl: string): Promise<PrometheusFaultProxy> {
  let mode: PrometheusFaultMode = { kind: 'pass' };
  let garbage = 0;
  const decide = (): ProxyAction | undefined => {
    switch (mode.kind) {
      case 'pass':
      case 'down':
        return undefined;
      case 'slow':
        return { kind: 'delay', ms: mode.delayMs };
      case 'garbage': {
        const body = garbage++ % 2 === 0 ? NOT_JSON : WRONG_JSON;
        return { kind: 'reply', reply: { status: 200, headers: { 'content-type': body === NOT_JSON ? 'text/html' : 'application/json' }, body } };
      }
    }
  };
  const proxy: HttpFaultProxy = await startHttpFaultProxy({ upstream: new URL(prometheusUrl).host, decide });
  return {
    url: proxy.endpoint,
    async set(next) {
      mode = next;
      if (next.kind === 'down') await proxy.refuse();
      else await proxy.accept();
    },
    get faulted() {
      return proxy.faulted;
    },
    stop: () => proxy.stop(),
  };
}
