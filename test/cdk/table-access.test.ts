import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_LOG_ACCESS, STEP_RUN_LOG_CALLS } from '../../infra/table-access';
import { SAFETY_NET_HANDLER, WORKFLOW_HANDLERS } from '../../lambdas/handlers/catalog';

// The step roles' table grants come from STEP_RUN_LOG_CALLS; the integration tests run on dynalite, which checks no
// IAM, so this reads the code each step runs and fails when a run-log call is granted nowhere (or granted unused).

const LAMBDAS = path.resolve(__dirname, '..', '..', 'lambdas');

/** A module and the modules it imports from lambdas/use-cases (the handler's use case and its helpers), transitively. */
function useCaseSources(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = fs.readFileSync(file, 'utf8');
  // `import type` brings no code along; any other import from a use-case module runs that module's calls.
  const imports = [...source.matchAll(/^import (?!type )[^;]*? from '(\.{1,2}\/[^']+)'/gm)]
    .map((match) => path.resolve(path.dirname(file), `${match[1]}.ts`))
    .filter((imported) => imported.startsWith(path.join(LAMBDAS, 'use-cases')) && fs.existsSync(imported));
  return [source, ...imports.flatMap((imported) => useCaseSources(imported, seen))];
}

/** The RunLog methods called in the code a handler runs: `runLog.<method>(`. */
function runLogCalls(handlerFile: string): string[] {
  const sources = useCaseSources(path.join(LAMBDAS, 'handlers', `${handlerFile}.ts`));
  return [...new Set(sources.flatMap((source) => [...source.matchAll(/\brunLog\s*\.\s*(\w+)\s*\(/g)].map((match) => match[1])))].sort();
}

/**
 * Calls the scan sees in a shared helper that a step never makes: records.ts writeRecords finishes a run only for a
 * `finish` record, and Rollback queues events only (checked below).
 */
const NOT_MADE: Readonly<Record<string, readonly string[]>> = { Rollback: ['finishRun'] };

describe('table access of the steps', () => {
  it('lists, for every step, exactly the run-log methods its handler and use case call', () => {
    const steps = [...WORKFLOW_HANDLERS, SAFETY_NET_HANDLER];
    const inCode = Object.fromEntries(steps.map((entry) => [entry.id, runLogCalls(entry.file).filter((call) => !(NOT_MADE[entry.id] ?? []).includes(call))]));
    const granted = Object.fromEntries(steps.map((entry) => [entry.id, [...(STEP_RUN_LOG_CALLS[entry.id] ?? [])].sort()]));

    expect(granted).toEqual(inCode);
    // The scan sees real calls: Start alone makes six.
    expect(inCode.Start).toHaveLength(6);
  });

  it('rests its exceptions on code that holds: Rollback queues no finish record', () => {
    const rollback = fs.readFileSync(path.join(LAMBDAS, 'use-cases', 'rollback.ts'), 'utf8');
    expect(rollback).toMatch(/writeRecords\(/);
    expect(rollback).toMatch(/kind: 'event'/);
    expect(rollback).not.toMatch(/kind: 'finish'/);
    expect(runLogCalls('rollback')).toContain('finishRun');
  });

  it('knows the table access of every method it grants', () => {
    for (const calls of Object.values(STEP_RUN_LOG_CALLS)) for (const call of calls) expect(RUN_LOG_ACCESS[call]).toBeDefined();
  });

  it('maps the run-log methods to what DynamoDbRunLog sends', () => {
    const adapter = fs.readFileSync(path.join(LAMBDAS, 'adapters', 'dynamodb', 'dynamodb-run-log.ts'), 'utf8');
    // The commands the adapter sends are the actions the map may name; Scan and Batch* are never among them.
    const commands = [...new Set([...adapter.matchAll(/new (\w+)Command\(/g)].map((match) => match[1]))].sort();
    expect(commands).toEqual(['DeleteItem', 'GetItem', 'PutItem', 'Query', 'TransactWriteItems', 'UpdateItem']);
    const named = new Set(Object.values(RUN_LOG_ACCESS).flatMap((access) => Object.values(access.items ?? {}).flat()));
    expect([...named].sort()).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  });
});
