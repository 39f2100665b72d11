import type { RunRecord } from '../../lambdas/domain/run';
import { EXIT, type ExitCode } from '../errors';
import { renderHistory, type HistoryFormat } from '../history';
import type { CliIo } from '../io';
import type { Target } from '../target';

export interface HistoryOptions {
  readonly service?: string;
  /** ISO instant from `--since`. */
  readonly since: string;
  readonly sinceText: string;
  readonly rollbacks?: boolean;
  readonly format: HistoryFormat;
  readonly limit?: number;
}

/**
 * `canary history`: rollbacks that ended since `--since` (the rollbacks index), or runs that started since then
 * (the runs index of one service, or of every registered service). Queries only, never a Scan.
 */
export async function history(options: HistoryOptions, target: Target, io: CliIo): Promise<ExitCode> {
  const runLog = target.runLog();
  const limit = options.limit === undefined ? {} : { limit: options.limit };
  let records: RunRecord[];
  if (options.rollbacks === true) {
    records = await runLog.listRollbacks(options.since, { ...(options.service !== undefined && { service: options.service }), ...limit });
  } else {
    const services = options.service !== undefined ? [options.service] : await runLog.listServices();
    const perService = await Promise.all(services.map((service) => runLog.listRuns(service, { since: options.since, ...limit })));
    records = perService
      .flat()
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, options.limit);
  }
  io.stdout.write(renderHistory(records, { rollbacks: options.rollbacks === true, since: options.since, sinceText: options.sinceText, ...(options.service !== undefined && { service: options.service }) }, options.format));
  return EXIT.ok;
}
