import { mockClient } from 'aws-sdk-client-mock';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { slackMessage } from '../../lambdas/adapters/slack/slack-message';
import { SlackNotifier } from '../../lambdas/adapters/slack/slack-notifier';
import { SnsNotifier } from '../../lambdas/adapters/sns/sns-notifier';
import { FanoutNotifier } from '../../lambdas/adapters/notify/fanout-notifier';
import { formatDuration } from '../../lambdas/adapters/notify/notification-text';
import type { Notification, Notifier } from '../../lambdas/ports/notifier';

const run: Notification['run'] = {
  runId: 'run-42',
  executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:canary-orchestrator:run-42',
  service: 'payments-api',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1',
  dryRun: false,
  startedAt: '2026-11-22T10:00:00.000Z',
  trigger: { source: 'ecr', tag: 'v2.4.1' },
};

const rolledBack: Notification = {
  kind: 'rolled-back',
  at: '2026-11-22T10:06:12.000Z',
  run,
  outcome: 'rolled_back',
  stepIndex: 0,
  weight: 5,
  decision: {
    action: 'rollback',
    reason: { kind: 'consecutive-failures', stepIndex: 0, weight: 5, verdict: 'fail', check: 'error-rate', value: 0.061, max: 0.01, message: 'error-rate 0.061 outside ≤ 0.01 for 2 intervals in a row at step 0 (5%)' },
  },
  message: 'error-rate 0.061 outside ≤ 0.01 for 2 intervals in a row at step 0 (5%)',
  timeToRollbackSeconds: 11.2,
};

describe('Slack message', () => {
  it('a rollback says which check, what value, what threshold, where, since when, with the dashboard for the run', () => {
    expect(slackMessage(rolledBack, { dashboardUrl: 'https://grafana.example.com/d/canary?from={from}&to={to}&var-run={runId}' })).toEqual({
      text: ':rotating_light: payments-api: rolled back: error-rate 0.061 outside ≤ 0.01 for 2 intervals in a row at step 0 (5%)',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: ':rotating_light: payments-api: rolled back', emoji: true } },
        { type: 'section', text: { type: 'mrkdwn', text: 'error-rate 0.061 outside ≤ 0.01 for 2 intervals in a row at step 0 (5%)' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Image*\n`123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1`' },
            { type: 'mrkdwn', text: '*Stage*\nstep 0 (5%)' },
            { type: 'mrkdwn', text: '*Check*\nerror-rate' },
            { type: 'mrkdwn', text: '*Value*\n0.061' },
            { type: 'mrkdwn', text: '*Threshold*\n≤ 0.01' },
            { type: 'mrkdwn', text: '*Since start*\n6 min 12 s' },
            { type: 'mrkdwn', text: '*Time to rollback*\n11.2 s' },
          ],
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Dashboard for this run' },
              url: `https://grafana.example.com/d/canary?from=${Date.parse(run.startedAt) - 60_000}&to=${Date.parse(rolledBack.at) + 60_000}&var-run=run-42`,
            },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'run `run-42` · started by ecr' }] },
      ],
    });
  });

  it('a passed step lists each check with value, threshold, samples and verdict', () => {
    const message = slackMessage({
      kind: 'step-passed',
      at: '2026-11-22T10:05:00.000Z',
      run,
      stepIndex: 0,
      weight: 5,
      measurements: [
        { check: 'error-rate', verdict: 'pass', value: 0.002, samples: 1500, max: 0.01, detail: '' },
        { check: 'latency-p99', verdict: 'pass', value: 0.181, samples: 1500, max: 0.5, detail: '' },
      ],
      message: 'Step 0 (5%) passed: all checks passed for 5 intervals at step 0 (5%)',
    });
    expect(message.blocks[3]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '• error-rate 0.002 (≤ 0.01, 1500 samples) ✓\n• latency-p99 0.181 (≤ 0.5, 1500 samples) ✓' },
    });
  });

  it('a failed rollback carries the manual command as a code block', () => {
    const message = slackMessage({ ...rolledBack, kind: 'rollback-failed', outcome: 'rollback_failed', manualCommand: "aws elbv2 modify-listener --listener-arn x --default-actions '[]'" });
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':sos: payments-api: ROLLBACK FAILED: act now', emoji: true } });
    expect(JSON.stringify(message.blocks)).toContain("```aws elbv2 modify-listener --listener-arn x --default-actions '[]'```");
  });

  it('formats durations as people read them', () => {
    expect([5, 65, 3600, 3725].map(formatDuration)).toEqual(['5 s', '1 min 5 s', '1 h', '1 h 2 min']);
  });
});

describe('SlackNotifier', () => {
  it('never puts the webhook URL in its errors', async () => {
    const url = 'http://127.0.0.1:9/services/T1/B1/secret-token';
    const notifier = new SlackNotifier({ webhookUrl: async () => url, timeoutMs: 2000 });
    const error = await notifier.notify(rolledBack).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toContain('Slack webhook unreachable');
    expect(error?.message).not.toContain('secret-token');
  });
});

describe('SnsNotifier', () => {
  it('publishes the notification as JSON with filterable attributes', async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await new SnsNotifier(new SNSClient({}), 'arn:aws:sns:eu-west-1:123456789012:canary').notify(rolledBack);

    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input).toMatchObject({
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:canary',
      Subject: 'canary: payments-api rolled back',
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'rolled-back' }, service: { DataType: 'String', StringValue: 'payments-api' }, outcome: { DataType: 'String', StringValue: 'rolled_back' } },
    });
    expect(JSON.parse(input.Message!)).toMatchObject({ version: 1, kind: 'rolled-back', title: 'payments-api: rolled back', decision: { reason: { check: 'error-rate', value: 0.061, max: 0.01 } }, timeToRollbackSeconds: 11.2 });
    sns.restore();
  });
});

describe('FanoutNotifier', () => {
  it('delivers to every channel even when one fails, then reports the failure by channel', async () => {
    const delivered: string[] = [];
    const ok: Notifier = { notify: async (n) => void delivered.push(n.kind) };
    const down: Notifier = { notify: async () => Promise.reject(new Error('Slack webhook answered HTTP 500')) };

    const result = new FanoutNotifier([{ name: 'slack', notifier: down }, { name: 'sns', notifier: ok }]).notify(rolledBack);

    await expect(result).rejects.toThrow("notification 'rolled-back' not delivered to slack: Slack webhook answered HTTP 500");
    expect(delivered).toEqual(['rolled-back']);
  });
});

describe('Slack message of a data-limit rollback', () => {
  it('names the check without a value or threshold', () => {
    const noData: Notification = {
      ...rolledBack,
      decision: { action: 'rollback', reason: { kind: 'no-data-limit', stepIndex: 0, weight: 5, verdict: 'no-data', check: 'error-rate', value: null, message: 'no data for 5 intervals in a row (noDataLimit 5) at step 0 (5%)' } },
      message: 'no data for 5 intervals in a row (noDataLimit 5) at step 0 (5%)',
    };
    const fields = (slackMessage(noData).blocks[2] as { fields: { text: string }[] }).fields.map((f) => f.text.split('\n')[0]);
    expect(fields).toEqual(['*Image*', '*Stage*', '*Check*', '*Since start*', '*Time to rollback*']);
  });
});
