/** Plan-level checks: every command, unique ids, and a sound dependency graph. */
import type { ExecutionConfig } from '../config.js';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { checkDependencies } from '../scheduler/dag.js';
import { checkPlanSize } from '../wire/parse.js';
import type { ExecutionPlan } from '../wire/types.js';
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
  plan.commands.forEach((request, index) => {
    claim(request.id, `commands[${index}]`);
    request.rollback.forEach((step, j) => claim(step.id, `commands[${index}].rollback[${j}]`));
  });
  if (plan.strategy.type === 'dependency_graph') {
    issues.push(...checkDependencies(plan.commands.length, plan.strategy.dependencies));
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
  if (issues.length > 0) throw new ValidationError(issues);
}
