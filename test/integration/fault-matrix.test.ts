import { FAULT_CASES } from '../../bench/faults/cases';
import { FaultEnvironment } from '../../bench/faults/environment';
import type { ScoredCase } from '../../bench/faults/matrix';
import { caseLine } from '../../bench/faults/report';
import { runMatrix } from '../../bench/faults/run';

// The fault matrix of `npm run bench:faults`, the same case list, in one shared environment: every fault injected
// into the real workflow (deployed handlers, dynalite, a real Prometheus, the ALB and Step Functions stand-ins).
// Each case is ok when traffic ends all on stable (or promoted because the run really passed), no record is lost,
// the record says what happened and the service's lock is free.

jest.setTimeout(900_000);

let env: FaultEnvironment;
let results: ReadonlyMap<string, ScoredCase>;

beforeAll(async () => {
  env = await FaultEnvironment.start();
  const scored = await runMatrix(env, FAULT_CASES);
  results = new Map(scored.map((s) => [s.result.name, s]));
}, 900_000);

afterAll(async () => {
  await env?.stop();
});

describe('the fault matrix', () => {
  it.each(FAULT_CASES.map((c) => [c.name, c.expected] as const))('%s: %s', (name) => {
    const scored = results.get(name);
    if (!scored) throw new Error(`case ${name} has no result`);
    if (!scored.result.ok) throw new Error(caseLine(scored));
    expect(scored.result.ok).toBe(true);
  });
});
