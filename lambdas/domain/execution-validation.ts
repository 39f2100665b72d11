import { ConfigurationError, InputValidationError, ServiceNotRegisteredError } from './errors';
import { parseExecutionInput, type ExecutionInput } from './execution-input';
import { historyBudgetIssues } from './history-budget';
import { enabledChecks, resolveFullPlan, type Plan } from './plan';
import { overridePolicyIssues, policyIssues } from './policy';
import { parseServiceConfig, type ServiceConfig } from './service-config';

/**
 * What Start checks before it touches anything, as one function: Start and `canary validate` both call it, so the
 * command says exactly what Start would refuse. The registrations come from a source (the table, a services file).
 */

/** Where registrations are looked up. */
export interface RegistrationSource {
  /** A service's registration as stored, and how its fields are named in messages; undefined when it has none. */
  registration(service: string): Promise<{ readonly value: unknown; readonly root: string } | undefined>;
  /** The registered service names, for the message that names an unknown one. */
  services(): Promise<readonly string[]>;
}

export interface ValidatedExecution {
  readonly input: ExecutionInput;
  readonly config: ServiceConfig;
  /** The plan the run follows: registered plan + the input's overrides, within the policy and the history budget. */
  readonly plan: Plan;
}

/**
 * The plan a run of `config` with these overrides follows. Throws InputValidationError naming every bad field: the
 * plan's own rules first; then, on a plan that is well formed, every policy rule it breaks and the history budget.
 */
export function planForRun(config: ServiceConfig, overrides: unknown): Plan {
  const roots = { plan: 'plan', policy: `registration of '${config.name}'.policy` };
  const registered = resolveFullPlan(config.plan, undefined, 'plan');
  let final: Plan;
  try {
    final = resolveFullPlan(config.plan, overrides, 'plan');
  } catch (error) {
    // A malformed plan is refused for its fields; a switch-off in it (a replaced query, a raised SLO) also names its rule.
    if (!(error instanceof InputValidationError)) throw error;
    throw new InputValidationError([...error.issues, ...overridePolicyIssues(config.policy, registered, overrides, roots)], 'plan');
  }
  const plan = enabledChecks(final);
  const issues = [...policyIssues(config.policy, registered, final, roots), ...historyBudgetIssues(plan, config.workload, 'plan')];
  if (issues.length > 0) throw new InputValidationError(issues, 'plan');
  return plan;
}

/**
 * Validates an execution input as Start does: its fields, the service's registration, then the plan within the
 * registration's policy and the history budget. Throws InputValidationError (the input), ServiceNotRegisteredError,
 * or ConfigurationError (the registration itself is invalid: a deploy problem, not the input's).
 */
export async function validateExecution(raw: unknown, source: RegistrationSource): Promise<ValidatedExecution> {
  const input = parseExecutionInput(raw);
  const found = await source.registration(input.service);
  if (found === undefined) throw new ServiceNotRegisteredError(input.service, await source.services());
  let config: ServiceConfig;
  try {
    config = parseServiceConfig(found.value, found.root);
  } catch (error) {
    if (error instanceof InputValidationError) {
      throw new ConfigurationError(`the registered configuration of '${input.service}' is invalid: ${error.message}; fix it in the CDK app and deploy`, { cause: error });
    }
    throw error;
  }
  return { input, config, plan: planForRun(config, input.plan) };
}
