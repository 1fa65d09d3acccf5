/** Plan-level checks: every command, unique ids, and a sound dependency graph. */
import type { ExecutionConfig } from '../config.js';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { checkDependencies } from '../scheduler/dag.js';
import type { ExecutionPlan } from '../wire/types.js';
import { requestIssues } from './request.js';

export async function validatePlan(plan: ExecutionPlan, config: ExecutionConfig): Promise<void> {
  const issues: ValidationIssue[] = [];
  const seen = new Map<string, number>([[plan.id, -1]]);
  plan.commands.forEach((request, index) => {
    const earlier = seen.get(request.id);
    if (earlier !== undefined) {
      const where = earlier === -1 ? 'the plan itself' : `commands[${earlier}]`;
      issues.push({ code: 'InvalidPlan', field: `commands[${index}].id`, reason: `id ${request.id} is also used by ${where}` });
    } else {
      seen.set(request.id, index);
    }
  });
  if (plan.strategy.type === 'dependency_graph') {
    issues.push(...checkDependencies(plan.commands.length, plan.strategy.dependencies));
  }
  const perCommand = await Promise.all(plan.commands.map((request, i) => requestIssues(request, config, `commands[${i}].`)));
  issues.push(...perCommand.flat());
  if (issues.length > 0) throw new ValidationError(issues);
}
