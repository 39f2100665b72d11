import type { Notification, Notifier } from '../../ports/notifier';
import { TransientError } from '../../domain/errors';
import { slackMessage } from './slack-message';

export interface SlackNotifierOptions {
  /** Gives the incoming-webhook URL (from Secrets Manager); the URL is a credential and is never logged. */
  readonly webhookUrl: () => Promise<string>;
  readonly dashboardUrl?: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Posts Block Kit messages to a Slack incoming webhook. */
export class SlackNotifier implements Notifier {
  constructor(private readonly options: SlackNotifierOptions) {}

  /** Posts one message; a refusal or an unreachable Slack throws an error that does not contain the URL. */
  async notify(notification: Notification): Promise<void> {
    const url = await this.options.webhookUrl();
    const body = JSON.stringify(slackMessage(notification, { ...(this.options.dashboardUrl && { dashboardUrl: this.options.dashboardUrl }) }));
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
    } catch (error) {
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new TransientError(`Slack webhook unreachable: ${reason.replaceAll(url, '<webhook>')}`);
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 200);
      throw new TransientError(`Slack webhook answered HTTP ${response.status}${text ? `: ${text}` : ''}`);
    }
  }
}
