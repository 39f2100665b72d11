import type { Notification, Notifier } from '../../ports/notifier';

/** Sends each notification to every channel at once; one channel failing does not stop the others. */
export class FanoutNotifier implements Notifier {
  constructor(private readonly channels: readonly { readonly name: string; readonly notifier: Notifier }[]) {}

  /** Delivers to all channels; throws one error naming every channel that failed, after all were tried. */
  async notify(notification: Notification): Promise<void> {
    const results = await Promise.allSettled(this.channels.map((c) => c.notifier.notify(notification)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${this.channels[i].name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
    if (failed.length > 0) throw new Error(`notification '${notification.kind}' not delivered to ${failed.join('; ')}`);
  }
}
