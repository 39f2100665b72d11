import { startDemoService, type Role } from './demo-service';
import { parseProfile } from './profile';

/**
 * Entry of a demo service process (started by service-process.ts with the tsx loader). Reads its
 * configuration from DEMO_SERVICE_CONFIG, tells the parent its port over IPC, and exits when the parent
 * goes away, so that no service outlives the demo even when the demo is killed.
 */

interface ConfigMessage {
  readonly service: string;
  readonly role: Role;
  readonly profile: unknown;
}

async function main(): Promise<void> {
  const raw = process.env.DEMO_SERVICE_CONFIG;
  if (raw === undefined) throw new Error('DEMO_SERVICE_CONFIG is not set: this program is started by the demo');
  const config = JSON.parse(raw) as ConfigMessage;
  const service = await startDemoService({ service: config.service, role: config.role, profile: parseProfile(config.profile) });
  const stop = () => {
    void service.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  if (process.send === undefined) {
    process.stdout.write(`listening on 127.0.0.1:${service.port}\n`);
  } else {
    process.send({ type: 'listening', port: service.port });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo service failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
