import type { Notification, Notifier } from '../../ports/notifier';
import type { Log } from '../../use-cases/deps';

/** Writes every notification as a structured log line: the record of what was said, whatever else is configured. */
export class LogNotifier implements Notifier {
  constructor(private readonly log: Log) {}

  /** Logs the notification with its numbers. */
  async notify(notification: Notification): Promise<void> {
    this.log.info(`notification: ${notification.message}`, { notification: { ...notification } });
  }
}
