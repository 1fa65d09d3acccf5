/** Plan-level checks: every command, unique ids and step names, and a sound dependency graph. */
import type { ExecutionConfig } from '../config.js';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { checkDependencies } from '../scheduler/dag.js';
import { checkPlanSize } from '../wire/parse.js';
import type { ExecutionPlan } from '../wire/types.js';
import { planReferenceIssues } from './plan-references.js';
import { requestIssues } from './request.js';

export async function validatePlan(plan: ExecutionPlan, config: ExecutionConfig): Promise<void> {
  // First: every later check is per command.
  checkPlanSize(plan, config);
  const issues: ValidationIssue[] = [];
  // Every id the plan brings (its own, its commands', their rollback steps') names one thing.
  const seen = new Map<string, string>([[plan.id, 'the plan itself']]);
  const claim = (id: string, field: string) => {
    const earlier = seen.get(id);
    if (earlier !== undefined)
      issues.push({ code: 'InvalidPlan', field: `${field}.id`, reason: `id ${id} is also used by ${earlier}` });
    else seen.set(id, field);
  };
  // A step name (a command's, or a rollback step's) names one step of the plan.
  const named = new Map<string, string>();
  const claimName = (name: string | null, field: string) => {
    if (name === null) return;
    const earlier = named.get(name);
    if (earlier !== undefined)
      issues.push({ code: 'InvalidPlan', field: `${field}.name`, reason: `name "${name}" is also used by ${earlier}` });
    else named.set(name, field);
  };
  plan.commands.forEach((request, index) => {
    claim(request.id, `commands[${index}]`);
    claimName(request.name, `commands[${index}]`);
    request.rollback.forEach((step, j) => {
      claim(step.id, `commands[${index}].rollback[${j}]`);
      claimName(step.name, `commands[${index}].rollback[${j}]`);
    });
  });
  if (plan.strategy.type === 'dependency_graph') {
    issues.push(...checkDependencies(plan, plan.strategy.dependencies));
  }
  const perCommand = await Promise.all(
    plan.commands.flatMap((request, i) => [
      requestIssues(request, config, `commands[${i}].`),
      ...request.rollback.map((step, j) =>
        requestIssues({ ...step, rollback: [] }, config, `commands[${i}].rollback[${j}].`),
      ),
    ]),
  );
  issues.push(...perCommand.flat());
  // Parameters, `${{ ... }}` references and output regexes.
  issues.push(...(await planReferenceIssues(plan)));
  if (issues.length > 0) throw new ValidationError(issues);
}
