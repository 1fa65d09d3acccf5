/**
 * A plan's references and parameters, checked before anything runs: every `${{ ... }}` must
 * read as a reference; a parameter it names must be declared; a step output it names must be
 * declared by a step that is sure to have finished before this one starts (serial: an earlier
 * step; parallel: none; dependency graph: one of its dependencies, directly or through others;
 * a rollback command: the step it undoes, or what that step may refer to). The values given in
 * `params` must be declared and fit their type; a parameter without a default must be given.
 * Each problem names its field (`commands[2].command.args[1]`) and, for a typo, the nearest name.
 */
import { basename } from 'node:path';
import type { ValidationIssue } from '../errors.js';
import { didYouMean } from '../nearest-name.js';
import { Re2JobFailed, re2CompileErrors } from '../policy/retry-matcher.js';
import { toDependencies } from '../scheduler/dag.js';
import {
  outputRegex,
  parameterProblem,
  parseTemplate,
  type Reference,
  referenceText,
  shellContexts,
  templateFields,
} from '../wire/references.js';
import type { RegexPattern } from '../wire/retry-pattern.js';
import { stepIndex, stepLabel, stepNames } from '../wire/step-names.js';
import type { ExecutionPlan, ExecutionRequest } from '../wire/types.js';

/** Every problem with the plan's parameters, references and output regexes. */
export async function planReferenceIssues(plan: ExecutionPlan): Promise<ValidationIssue[]> {
  const issues = parameterIssues(plan);
  const before = readyBefore(plan);
  plan.commands.forEach((request, i) => {
    issues.push(...referenceIssues(plan, request, `commands[${i}].`, i, () => before(i), false));
    // A rollback command runs after the step it undoes.
    const undoing = () => ({ has: (step: number) => step === i || before(i).has(step) });
    request.rollback.forEach((step, j) => {
      issues.push(...referenceIssues(plan, step, `commands[${i}].rollback[${j}].`, i, undoing, true));
    });
  });
  issues.push(...(await outputRegexIssues(plan)));
  return issues;
}

/** A command run on its own has no steps or parameters to refer to. */
export function standaloneReferenceIssues(request: Pick<ExecutionRequest, 'command' | 'env' | 'working_dir'>) {
  return templateFields(request).map(
    (field): ValidationIssue => ({
      code: 'InvalidCommand',
      field: field.field,
      reason: `"\${{ ... }}" references need a plan (steps and parameters to refer to): submit the command as a plan`,
    }),
  );
}

function parameterIssues(plan: ExecutionPlan): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const declared = Object.keys(plan.parameters);
  for (const [name, value] of Object.entries(plan.params)) {
    const spec = plan.parameters[name];
    if (!spec) {
      const known = declared.length > 0 ? `declared: ${declared.join(', ')}` : 'the plan declares no parameters';
      issues.push({
        code: 'InvalidField',
        field: `params.${name}`,
        reason: `unknown parameter "${name}" (${known})${didYouMean(name, declared)}`,
      });
      continue;
    }
    const problem = parameterProblem(spec.type, spec.enum, value);
    if (problem)
      issues.push({ code: 'InvalidField', field: `params.${name}`, reason: `parameter "${name}" ${problem}` });
  }
  for (const [name, spec] of Object.entries(plan.parameters)) {
    if (spec.default === null && !(name in plan.params))
      issues.push({
        code: 'MissingField',
        field: `params.${name}`,
        reason: `parameter "${name}" (${spec.type}) has no default: give it a value`,
      });
  }
  return issues;
}

/** Steps certain to have finished before a given step starts. */
interface Finished {
  has(step: number): boolean;
}

const NONE: Finished = { has: () => false };

/**
 * For step `i`, the steps certain to have finished before it starts. Asked only for steps that
 * use another step's outputs, and worked out then: every step's set, made up front, was
 * quadratic in the plan's size (a serial plan of 10,000 steps held 50 million entries).
 */
function readyBefore(plan: ExecutionPlan): (i: number) => Finished {
  const strategy = plan.strategy;
  if (strategy.type === 'serial') return (i) => ({ has: (step) => step < i });
  if (strategy.type === 'parallel') return () => NONE;
  let deps: number[][] | null = null;
  const known = new Map<number, Finished>();
  return (i) => {
    const found = known.get(i);
    if (found) return found;
    deps ??= toDependencies(plan, strategy.dependencies);
    const graph = deps;
    // Transitive closure; a cycle is reported elsewhere (checkDependencies), `seen` keeps this finite.
    const seen = new Set<number>();
    known.set(i, seen);
    const stack = [...graph[i]!];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (next === i || seen.has(next)) continue;
      seen.add(next);
      stack.push(...(graph[next] ?? []));
    }
    return seen;
  };
}

/** Shells that read `"${NAME}"` as the variable's value, one word, parsed no further. */
const POSIX_SHELLS: ReadonlySet<string> = new Set(['bash', 'sh', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'busybox']);

function referenceIssues(
  plan: ExecutionPlan,
  request: Pick<ExecutionRequest, 'command' | 'env' | 'working_dir'>,
  prefix: string,
  index: number,
  ready: () => Finished,
  rollback: boolean,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const field of templateFields(request)) {
    const at = `${prefix}${field.field}`;
    const parts = parseTemplate(field.text);
    if ('problem' in parts) {
      issues.push({ code: 'InvalidPlan', field: at, reason: parts.problem });
      continue;
    }
    if (field.placement === 'shell') {
      // The value is read from a variable ("${CLOUDOPS_REF_0}"): a syntax only POSIX shells share.
      const shell = request.command.type === 'shell' ? basename(request.command.shell) : null;
      if (shell !== null && !POSIX_SHELLS.has(shell) && parts.some((part) => typeof part !== 'string'))
        issues.push({
          code: 'InvalidPlan',
          field: at,
          reason: `references in a shell string need a POSIX shell (${[...POSIX_SHELLS].join(', ')}); the shell is ${shell}`,
        });
      for (const context of shellContexts(field.text))
        if (typeof context !== 'string') issues.push({ code: 'InvalidPlan', field: at, reason: context.problem });
    }
    for (const part of parts) {
      if (typeof part === 'string') continue;
      const problem = referenceProblem(plan, part, index, part.kind === 'output' ? ready() : NONE, rollback);
      if (problem) issues.push({ code: 'InvalidPlan', field: at, reason: `${referenceText(part)}: ${problem}` });
    }
  }
  return issues;
}

function referenceProblem(
  plan: ExecutionPlan,
  ref: Reference,
  index: number,
  ready: Finished,
  rollback: boolean,
): string | null {
  if (ref.kind === 'param') {
    if (ref.name in plan.parameters) return null;
    const declared = Object.keys(plan.parameters);
    return `the plan declares no parameter "${ref.name}"${didYouMean(ref.name, declared)}`;
  }
  const target = stepIndex(plan, ref.step);
  if (target === null) {
    return /^\d+$/.test(ref.step)
      ? `there is no step ${ref.step} (the plan has ${plan.commands.length}: 0..${plan.commands.length - 1})`
      : `no step is named "${ref.step}"${didYouMean(ref.step, stepNames(plan))}`;
  }
  const label = stepLabel(plan, target);
  const self = stepLabel(plan, index);
  if (!ready.has(target)) {
    if (target === index) return 'a step cannot use its own outputs';
    switch (plan.strategy.type) {
      case 'serial':
        return `step ${label} runs after step ${self}: a step may only use outputs of earlier steps`;
      case 'parallel':
        return 'the steps of a parallel plan run at the same time: a step may not use the outputs of another (use a dependency_graph)';
      case 'dependency_graph':
        return `step ${label} is not a dependency of step ${self}${rollback ? ' (this rollback command undoes it)' : ''}: add it to strategy.dependencies.${plan.commands[index]!.name ?? index}`;
    }
  }
  const declared = Object.keys(plan.commands[target]!.outputs);
  if (ref.key in plan.commands[target]!.outputs) return null;
  if (declared.length === 0) return `step ${label} declares no outputs`;
  return `step ${label} declares no output "${ref.key}" (it declares ${declared.join(', ')})${didYouMean(ref.key, declared)}`;
}

/** Output regexes must compile in RE2 (checked off the event loop, as retry patterns are). */
async function outputRegexIssues(plan: ExecutionPlan): Promise<ValidationIssue[]> {
  const regexes: Array<{ field: string; pattern: RegexPattern }> = [];
  const collect = (request: Pick<ExecutionRequest, 'outputs'>, prefix: string) => {
    for (const [key, spec] of Object.entries(request.outputs)) {
      if (spec.regex === undefined) continue;
      const pattern = outputRegex(spec.regex);
      if (!('problem' in pattern)) regexes.push({ field: `${prefix}outputs.${key}.regex`, pattern });
    }
  };
  plan.commands.forEach((request, i) => {
    collect(request, `commands[${i}].`);
    request.rollback.forEach((step, j) => collect(step, `commands[${i}].rollback[${j}].`));
  });
  if (regexes.length === 0) return [];
  try {
    const errors = await re2CompileErrors(regexes.map((r) => r.pattern));
    return regexes.flatMap(({ field }, k) =>
      errors[k] ? [{ code: 'InvalidField' as const, field, reason: `RE2 cannot compile it: ${errors[k]}` }] : [],
    );
  } catch (err) {
    if (!(err instanceof Re2JobFailed)) throw err;
    return regexes.map(({ field }) => ({
      code: 'InvalidField' as const,
      field,
      reason:
        err.reason === 'deadline'
          ? 'regex is too complex: RE2 could not compile it in time'
          : `regex could not be checked: ${err.message}`,
    }));
  }
}
