import { readFileSync } from 'node:fs';
import path from 'node:path';
import validator from 'asl-validator';
import { ERROR_CLASSES, OUTCOME_ERROR_NAMES } from '../../lambdas/domain/errors';
import { WORKFLOW_HANDLERS, substitutionName } from '../../lambdas/handlers/catalog';
import { loadDefinition } from '../../local/workflow/local-workflow';

type State = {
  Type: string;
  Next?: string;
  Default?: string;
  Resource?: string;
  Error?: string;
  Retry?: { ErrorEquals: string[]; JitterStrategy?: string }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Choices?: { Next: string }[];
};

const text = readFileSync(path.resolve(__dirname, '../../statemachine/canary.asl.json'), 'utf8');
const raw = JSON.parse(text) as { StartAt: string; States: Record<string, State> };
const states = Object.entries(raw.States);
// Names AWS itself defines: Step Functions' own and the Lambda service's.
const awsDefined = (name: string) => name.startsWith('States.') || name.startsWith('Lambda.');

describe('statemachine/canary.asl.json', () => {
  it('is valid Amazon States Language once substituted', () => {
    const result = validator(loadDefinition('eu-west-1'), { checkArn: true, checkPaths: true });
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('names in Retry and Catch exist in the error hierarchy (or are AWS-defined)', () => {
    const names = states.flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals));
    const unknown = names.filter((name) => !awsDefined(name) && !(name in ERROR_CLASSES));
    expect(unknown).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['ThrottlingError', 'TransientError', 'WeightVerificationError']));
  });

  it('every error class reports its own name, which Lambda returns as the error type', () => {
    const args: Record<string, unknown[]> = { InputValidationError: [[{ field: 'image', message: 'required' }]], RolloutInProgressError: ['svc', 'run-1', '2026-11-22T10:00:00Z'] };
    for (const [name, ErrorClass] of Object.entries(ERROR_CLASSES)) {
      const error = new (ErrorClass as unknown as new (...a: unknown[]) => Error)(...(args[name] ?? ['message']));
      expect(error.name).toBe(name);
    }
  });

  it('Fail states end with the documented outcome names', () => {
    const fixed = states.filter(([, s]) => s.Type === 'Fail' && s.Error).map(([, s]) => s.Error);
    for (const name of fixed) expect(OUTCOME_ERROR_NAMES).toContain(name);
  });

  it('every Task resource is a handler of the catalog, and every catalog handler is used', () => {
    const placeholders = [...text.matchAll(/\$\{([A-Za-z]+)\}/g)].map((m) => m[1]);
    const provided = WORKFLOW_HANDLERS.map(substitutionName);
    expect([...new Set(placeholders)].sort()).toEqual([...provided].sort());
  });

  it('every Task after Start catches into the rollback path or Finish, so no failure leaves traffic split', () => {
    const tasks = states.filter(([, s]) => s.Type === 'Task');
    for (const [name, s] of tasks) {
      const catchAll = (s.Catch ?? []).find((c) => c.ErrorEquals.includes('States.ALL'));
      expect({ name, catches: catchAll?.Next }).toEqual({ name, catches: expect.any(String) });
      if (!['Start', 'Rollback', 'Finish'].includes(name)) expect({ name, next: catchAll!.Next }).toEqual({ name, next: 'Rollback' });
    }
    expect(raw.States.Rollback.Catch![0].Next).toBe('Finish');
  });

  it('retries on throttling use full jitter', () => {
    for (const [, s] of states) {
      for (const retry of s.Retry ?? []) if (retry.ErrorEquals.includes('ThrottlingError')) expect(retry.JitterStrategy).toBe('FULL');
    }
  });

  it('the analysis loop is at most 4 state transitions per interval', () => {
    // Follow Next from the Wait of an interval until it comes back to it on `continue`.
    const loop: string[] = [];
    let current = 'WaitInterval';
    do {
      loop.push(current);
      const s = raw.States[current];
      current = s.Type === 'Choice' ? s.Choices!.find((c) => c.Next === 'WaitInterval')!.Next : s.Next!;
    } while (current !== 'WaitInterval' && loop.length < 10);
    expect(loop).toEqual(['WaitInterval', 'Analyze', 'Decide']);
    expect(loop.length).toBeLessThanOrEqual(4);
  });
});
