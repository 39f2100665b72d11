import { describeThreshold, formatNumber } from '../../domain/judge';
import type { Notification } from '../../ports/notifier';
import { TITLES, dashboardLink, elapsedSeconds, formatDuration, measurementLine, stageText } from '../notify/notification-text';

/** A Slack Block Kit message (https://api.slack.com/block-kit): `text` is the fallback for notifications. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

const ICONS = {
  started: ':rocket:',
  'step-passed': ':white_check_mark:',
  'rolled-back': ':rotating_light:',
  promoted: ':tada:',
  'rollback-failed': ':sos:',
  'dry-run-passed': ':test_tube:',
  aborted: ':octagonal_sign:',
} as const;

const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });

/** The message for one notification: what happened, the numbers behind it, and where to look. */
export function slackMessage(n: Notification, options: { dashboardUrl?: string } = {}): SlackMessage {
  const title = `${ICONS[n.kind]} ${n.run.service}: ${TITLES[n.kind]}${n.run.dryRun ? ' (dry run)' : ''}`;
  const fields = [field('Image', `\`${n.run.image}\``)];
  const stage = stageText(n);
  if (stage) fields.push(field('Stage', stage));
  const reason = n.decision?.reason;
  if (reason?.check && (n.kind === 'rolled-back' || n.kind === 'rollback-failed')) {
    fields.push(field('Check', reason.check));
    // A no-data or query-error limit has no value measured against a threshold.
    if (reason.min !== undefined || reason.max !== undefined) {
      fields.push(field('Value', reason.value === null || reason.value === undefined ? 'no value' : formatNumber(reason.value)));
      fields.push(field('Threshold', describeThreshold(reason)));
    }
  }
  fields.push(field('Since start', formatDuration(elapsedSeconds(n))));
  if (n.timeToRollbackSeconds !== undefined) fields.push(field('Time to rollback', `${formatNumber(n.timeToRollbackSeconds)} s`));

  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: n.message } },
    { type: 'section', fields: fields.slice(0, 10) },
  ];
  if (n.measurements && n.measurements.length > 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: n.measurements.map((m) => `• ${measurementLine(m)}`).join('\n') } });
  }
  if (n.manualCommand) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Traffic may still be on the canary. Put it back on stable by hand:*\n\`\`\`${n.manualCommand}\`\`\`` } });
  }
  const link = dashboardLink(options.dashboardUrl, n);
  if (link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Dashboard for this run' }, url: link }] });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `run \`${n.run.runId}\` · started by ${n.run.trigger.source}${n.run.trigger.actor ? ` (${n.run.trigger.actor})` : ''}` }] });
  return { text: `${title}: ${n.message}`, blocks };
}
