import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification, Notifier } from '../../ports/notifier';
import { TITLES } from '../notify/notification-text';

/** The JSON document published to SNS: the notification as is, for email, chat or any subscriber to parse. */
export function snsDocument(n: Notification): Record<string, unknown> {
  return { version: 1, source: 'canary-orchestrator', ...n, title: `${n.run.service}: ${TITLES[n.kind]}` };
}

/** Publishes every notification to an SNS topic as JSON, with `kind`, `service` and `outcome` as message attributes for filtering. */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  /** Publishes one notification. */
  async notify(n: Notification): Promise<void> {
    const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: `canary: ${n.run.service} ${TITLES[n.kind]}`.slice(0, 100),
        Message: JSON.stringify(snsDocument(n)),
        MessageAttributes: {
          kind: attribute(n.kind),
          service: attribute(n.run.service),
          ...(n.outcome && { outcome: attribute(n.outcome) }),
        },
      }),
    );
  }
}
