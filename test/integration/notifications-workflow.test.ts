import { FAST_PLAN, IMAGE, WorkflowEnv } from '../support/workflow-env';
import { HEALTHY } from '../support/synthetic-traffic';
import { startSecretsStandIn, type SecretsStandIn } from '../../local/secrets-standin';
import { startWebhookReceiver, type WebhookReceiver } from '../../local/webhook-receiver';
import { THRESHOLD_CHECKS } from '../../lambdas/domain/builtin-checks';

// Notifications from the real workflow to a local Slack webhook; its URL comes from (a stand-in of) Secrets Manager.

jest.setTimeout(120_000);

let env: WorkflowEnv;
let secrets: SecretsStandIn;
let slack: WebhookReceiver;

beforeAll(async () => {
  [secrets, slack] = await Promise.all([startSecretsStandIn(), startWebhookReceiver()]);
  Object.assign(process.env, secrets.env);
  env = await WorkflowEnv.start();
});

afterAll(async () => {
  await Promise.allSettled([env.stop(), secrets.stop(), slack.stop()]);
});

type Message = { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[] };
const messagesSince = (start: number) => slack.messages.slice(start) as Message[];
// ":rocket: told-api: rollout started" → "rollout started"
const titleOf = (m: Message) => m.blocks[0].text!.text.replace(/^:[a-z_]+: [^:]+: /, '');
const fieldsOf = (m: Message) => m.blocks.find((b) => b.fields)?.fields?.map((f) => f.text) ?? [];

async function serviceWithSlack(name: string) {
  const webhook = secrets.put(`${name}/slack-webhook`, slack.url);
  // Threshold judging pinned: these messages quote its checks and thresholds.
  return env.addService(name, { plan: { ...FAST_PLAN, checks: THRESHOLD_CHECKS }, extra: { notifications: { slackWebhookSecretArn: webhook, dashboardUrl: 'https://grafana.example.com/d/canary?from={from}&to={to}' } } });
}

describe('notifications at every transition', () => {
  it('a rollback is announced with check, value, threshold and stage', async () => {
    const svc = await serviceWithSlack('told-api');
    svc.traffic.setProfile('canary', { ...HEALTHY, errorRate: 0.08 });
    const start = slack.messages.length;

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result.error).toBe('CanaryRolledBack');
    const messages = messagesSince(start);
    expect(messages.map(titleOf)).toEqual(['rollout started', 'rolled back']);
    expect(messages[0].blocks[1].text!.text).toBe('Rollout of 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v2.4.1 to told-api started: 20% → 50% → 100%, checks error-rate, latency-p99, success-rate');
    const rolledBack = messages[1];
    expect(rolledBack.blocks[1].text!.text).toMatch(/^error-rate 0\.0[6-9]\d* outside ≤ 0\.01 for 2 intervals in a row at step 0 \(20%\)$/);
    expect(fieldsOf(rolledBack)).toEqual([
      `*Image*\n\`${IMAGE}\``,
      '*Stage*\nstep 0 (20%)',
      '*Check*\nerror-rate',
      expect.stringMatching(/^\*Value\*\n0\.0[6-9]/),
      '*Threshold*\n≤ 0.01',
      expect.stringMatching(/^\*Since start\*\n\d+ s$/),
      expect.stringMatching(/^\*Time to rollback\*\n[\d.]+ s$/),
    ]);
    expect(JSON.stringify(rolledBack)).toContain('https://grafana.example.com/d/canary?from=');
  });

  it('a promotion is announced after each passed step with its numbers', async () => {
    const svc = await serviceWithSlack('praised-api');
    const start = slack.messages.length;

    const result = await env.run({ service: svc.name, image: IMAGE });

    expect(result.output).toMatchObject({ outcome: 'promoted' });
    const messages = messagesSince(start);
    expect(messages.map(titleOf)).toEqual(['rollout started', 'step passed', 'step passed', 'promoted']);
    const stepPassed = messages[1].blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('• '))!;
    expect(stepPassed.text!.text.split('\n').map((line) => line.replace(/ [\d.e-]+ \(/, ' N (').replace(/, [\d.]+ samples/, ', S samples'))).toEqual([
      '• error-rate N (≤ 0.01, S samples) ✓',
      '• latency-p99 N (≤ 0.5, S samples) ✓',
      '• success-rate N (≥ 0.99, S samples) ✓',
    ]);
  });

  it('Slack down never fails a rollout', async () => {
    const svc = await serviceWithSlack('lonely-api');
    slack.failWith(500);
    try {
      const result = await env.run({ service: svc.name, image: IMAGE });
      expect(result.output).toMatchObject({ outcome: 'promoted' });
      expect(svc.canaryShare()).toBe(100);
    } finally {
      slack.failWith(undefined);
    }
  });
});
