import { Command, InvalidArgumentError } from 'commander';
import type { TargetGroupTuple } from '@aws-sdk/client-elastic-load-balancing-v2';
import { startAlbStandIn } from './index';

/**
 * Runs the ALB stand-in on its own and prints its endpoints as one JSON line, e.g.
 *   npx tsx local/alb-standin/main.ts --target-group web-stable=127.0.0.1:8081 \
 *     --target-group web-canary=127.0.0.1:8082 --weight web-stable=999 --stickiness 300
 * With target groups, one listener forwards to all of them (the first gets weight 999 unless --weight says
 * otherwise, the others 0). Stops on Ctrl-C.
 */

interface TargetGroupArg {
  readonly name: string;
  readonly targets: { host: string; port: number }[];
}

function targetGroupArg(value: string, previous: TargetGroupArg[]): TargetGroupArg[] {
  const [name, list] = value.split('=');
  if (name === undefined || list === undefined || name === '') {
    throw new InvalidArgumentError('expected NAME=HOST:PORT[,HOST:PORT...]');
  }
  const targets = list.split(',').map((hostPort) => {
    const match = /^([^:]+):([0-9]+)$/.exec(hostPort);
    if (match === null) throw new InvalidArgumentError(`'${hostPort}' is not HOST:PORT`);
    return { host: match[1] ?? '127.0.0.1', port: Number(match[2]) };
  });
  return [...previous, { name, targets }];
}

function weightArg(value: string, previous: Record<string, number>): Record<string, number> {
  const [name, weight] = value.split('=');
  if (name === undefined || weight === undefined || !/^[0-9]+$/.test(weight)) throw new InvalidArgumentError('expected NAME=WEIGHT');
  return { ...previous, [name]: Number(weight) };
}

function integerArg(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('alb-standin')
    .description('Local ALB stand-in: the ELBv2 Query API and a weighted, sticky HTTP listener')
    .option('--api-port <port>', 'port of the ELBv2 API (0: any free port)', integerArg, 0)
    .option('--listener-port <port>', 'port of the listener (0: any free port)', integerArg, 0)
    .option('--target-group <name=host:port,...>', 'a target group and its targets (repeatable)', targetGroupArg, [])
    .option('--weight <name=weight>', 'initial forward weight of a target group (repeatable)', weightArg, {})
    .option('--stickiness <seconds>', 'enable target-group stickiness with this duration', integerArg)
    .option('--health-path <path>', 'health-check path of the target groups', '/')
    .option('--region <region>', 'region in the ARNs', 'eu-west-1')
    .option('--account-id <id>', 'account in the ARNs', '123456789012')
    .parse();
  const opts = program.opts<{
    apiPort: number;
    listenerPort: number;
    targetGroup: TargetGroupArg[];
    weight: Record<string, number>;
    stickiness?: number;
    healthPath: string;
    region: string;
    accountId: string;
  }>();

  const standin = await startAlbStandIn({ region: opts.region, accountId: opts.accountId, apiPort: opts.apiPort });
  const targetGroups: Record<string, string> = {};
  for (const tg of opts.targetGroup) {
    targetGroups[tg.name] = standin.createTargetGroup({ name: tg.name, targets: tg.targets, healthCheckPath: opts.healthPath });
  }
  let listener: { arn: string; url: string } | undefined;
  if (opts.targetGroup.length > 0) {
    const tuples: TargetGroupTuple[] = opts.targetGroup.map((tg, i) => ({
      TargetGroupArn: targetGroups[tg.name],
      Weight: opts.weight[tg.name] ?? (i === 0 ? 999 : 0),
    }));
    listener = await standin.createListener({
      port: opts.listenerPort,
      defaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: tuples,
            TargetGroupStickinessConfig:
              opts.stickiness === undefined ? { Enabled: false } : { Enabled: true, DurationSeconds: opts.stickiness },
          },
        },
      ],
    });
  }
  standin.onWeightsChanged((event) => process.stderr.write(`weights ${JSON.stringify(event.weights)} (${event.source})\n`));
  process.stdout.write(
    `${JSON.stringify({ apiEndpoint: standin.apiEndpoint, env: standin.env, listenerArn: listener?.arn ?? null, listenerUrl: listener?.url ?? null, targetGroups })}\n`,
  );

  const shutdown = () => {
    void standin.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
