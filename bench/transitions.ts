/**
 * npm run bench:transitions
 *
 * Counts the state transitions of one rollout with the default plan (5% for 5 min, 25% for 10 min, then 100%;
 * checks every 60 s), from a local run of the real workflow against dynalite, a real Prometheus and the ALB
 * stand-in. Wait states are shortened to 2 s (the count does not depend on how long a Wait lasts), and the
 * traffic is healthy, so every analysis passes as it would for a good release.
 */
import '../test/support/env';
import { IMAGE, WorkflowEnv } from '../test/support/workflow-env';
import { resolvePlan } from '../lambdas/domain/plan';

// Standard workflows bill per state transition: USD 0.025 per 1,000 (us-east-1, list price).
const PRICE_PER_TRANSITION = 0.025 / 1000;

async function main(): Promise<void> {
  const env = await WorkflowEnv.start();
  try {
    const plan = resolvePlan();
    const svc = await env.addService('default-plan-api', { rps: 1000 });
    const result = await env.run({ service: svc.name, image: IMAGE }, { waitMs: { WaitInterval: 2000 } });
    if (result.status !== 'SUCCEEDED') throw new Error(`the rollout did not promote: ${result.error}: ${result.cause}`);

    const counts = new Map<string, number>();
    for (const state of result.states) counts.set(state, (counts.get(state) ?? 0) + 1);
    const intervals = plan.steps.reduce((n, s) => n + (s.holdSeconds ?? 0) / plan.analysis.intervalSeconds, 0);
    console.log(`default plan: ${plan.steps.map((s) => `${s.weight}%${s.holdSeconds ? ` for ${s.holdSeconds / 60} min` : ''}`).join(', ')}; checks every ${plan.analysis.intervalSeconds} s`);
    console.log(`analysis intervals: ${counts.get('Analyze')} (plan minimum ${intervals})`);
    console.log('\nstate            entered');
    for (const [state, n] of counts) console.log(`${state.padEnd(16)} ${String(n).padStart(7)}`);
    console.log(`\nstate transitions: ${result.stateTransitions} (${(result.stateTransitions - (counts.get('Analyze') ?? 0) * 3)} outside the analysis loop + 3 per interval)`);
    console.log(`cost per rollout at list price: USD ${(result.stateTransitions * PRICE_PER_TRANSITION).toFixed(5)}`);
  } finally {
    await env.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
