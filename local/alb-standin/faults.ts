import { ElbApiError } from './api-error';

/** Which calls a fault applies to: every API call, or only one action (e.g. `ModifyListener`). */
export interface FaultScope {
  readonly action?: string;
}

export interface FailOptions extends FaultScope {
  /** The error code the call answers with, e.g. `InternalFailure`, `ServiceUnavailable`, `ListenerNotFound`. */
  readonly code: string;
  /** HTTP status; default 500 (Type Receiver from 500 up, Sender below). */
  readonly status?: number;
  readonly message?: string;
}

interface PendingFault {
  remaining: number;
  readonly action: string | undefined;
  readonly error: () => ElbApiError;
}

/**
 * Programmed failures of the ELBv2 API, for tests: the next N matching calls answer with an error
 * before they take effect, so a throttled or failed Modify changes nothing.
 */
export class FaultInjector {
  private readonly pending: PendingFault[] = [];

  /** The next `count` matching calls answer 400 `Throttling` ("Rate exceeded"), as ELBv2 does. */
  throttleNext(count: number, scope: FaultScope = {}): void {
    this.add(count, scope.action, () => new ElbApiError('Throttling', 'Rate exceeded', 400));
  }

  /** The next `count` matching calls answer with `code` and `status` (default 500). */
  failNext(count: number, options: FailOptions): void {
    const message = options.message ?? `Injected fault: ${options.code}`;
    this.add(count, options.action, () => new ElbApiError(options.code, message, options.status ?? 500));
  }

  /** Drops every pending fault. */
  clear(): void {
    this.pending.length = 0;
  }

  /** How many injected failures are still to be served (all actions). */
  remaining(): number {
    return this.pending.reduce((sum, fault) => sum + fault.remaining, 0);
  }

  /** The error the call of `action` answers with, consuming one pending fault, or undefined to let it through. */
  take(action: string): ElbApiError | undefined {
    const index = this.pending.findIndex((f) => f.remaining > 0 && (f.action === undefined || f.action === action));
    const fault = this.pending[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.pending.splice(index, 1);
    return fault.error();
  }

  private add(count: number, action: string | undefined, error: () => ElbApiError): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`fault count must be a positive integer, got ${count}`);
    this.pending.push({ remaining: count, action, error });
  }
}
