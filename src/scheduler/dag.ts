/**
 * Dependency graphs over plan command indices: checking them (range, self-loops, cycles)
 * and turning each strategy into one graph form the scheduler runs.
 */
import type { ValidationIssue } from '../errors.js';
import type { ExecutionStrategy } from '../wire/types.js';

/** `deps[i]` = indices that must finish before `i` starts. */
export type Dependencies = number[][];

/** Problems in a `dependency_graph` strategy over `count` commands; empty when it is sound. */
export function checkDependencies(count: number, dependencies: Record<string, number[]>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const field = (key: string) => `strategy.dependencies.${key}`;
  for (const [key, deps] of Object.entries(dependencies)) {
    const node = Number(key);
    if (node >= count) {
      issues.push({
        code: 'InvalidPlan',
        field: field(key),
        reason: `command index ${node} is out of range (plan has ${count} commands: 0..${count - 1})`,
      });
    }
    for (const dep of deps) {
      if (dep === node) {
        issues.push({ code: 'InvalidPlan', field: field(key), reason: `command ${node} depends on itself` });
      } else if (dep >= count) {
        issues.push({
          code: 'InvalidPlan',
          field: field(key),
          reason: `command ${node} depends on index ${dep}, which is out of range (plan has ${count} commands: 0..${count - 1})`,
        });
      }
    }
  }
  if (issues.length > 0) return issues;
  const cycle = findCycle(toDependencies(count, dependencies));
  if (cycle) {
    issues.push({
      code: 'InvalidPlan',
      field: 'strategy.dependencies',
      reason: `dependency cycle between commands ${cycle.join(' -> ')} -> ${cycle[0]}`,
    });
  }
  return issues;
}

export function toDependencies(count: number, dependencies: Record<string, number[]>): Dependencies {
  const deps: Dependencies = Array.from({ length: count }, () => []);
  for (const [key, list] of Object.entries(dependencies)) {
    const node = Number(key);
    if (node < count) deps[node] = [...new Set(list)];
  }
  return deps;
}

/** One cycle (as the list of indices on it, each depending on the next) or null. Iterative DFS. */
export function findCycle(deps: Dependencies): number[] | null {
  const WHITE = 0,
    GREY = 1,
    BLACK = 2;
  const color = new Uint8Array(deps.length);
  const parent = new Int32Array(deps.length).fill(-1);
  for (let root = 0; root < deps.length; root++) {
    if (color[root] !== WHITE) continue;
    const stack: Array<[node: number, next: number]> = [[root, 0]];
    color[root] = GREY;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, next] = top;
      const list = deps[node]!;
      if (next >= list.length) {
        color[node] = BLACK;
        stack.pop();
        continue;
      }
      top[1] = next + 1;
      const dep = list[next]!;
      if (color[dep] === GREY) {
        // Walk back from `node` to `dep` along the DFS path, then list it in dependency order.
        const back: number[] = [];
        for (let n = node; n !== dep; n = parent[n]!) back.push(n);
        return [dep, ...back.reverse()];
      }
      if (color[dep] === WHITE) {
        color[dep] = GREY;
        parent[dep] = node;
        stack.push([dep, 0]);
      }
    }
  }
  return null;
}

export interface GraphShape {
  deps: Dependencies;
  /** Whether a node whose dependency did not complete is skipped (else it just waits for it to end). */
  requireSuccess: boolean;
  /** Plan-level concurrency limit (Infinity for none). */
  limit: number;
}

/** Every strategy is a graph: serial is a chain, parallel has no edges. */
export function shapeOf(strategy: ExecutionStrategy, count: number): GraphShape {
  switch (strategy.type) {
    case 'serial':
      return {
        deps: Array.from({ length: count }, (_, i) => (i === 0 ? [] : [i - 1])),
        requireSuccess: strategy.stop_on_error,
        limit: 1,
      };
    case 'parallel':
      return {
        deps: Array.from({ length: count }, () => []),
        requireSuccess: false,
        limit: strategy.max_concurrency ?? Number.POSITIVE_INFINITY,
      };
    case 'dependency_graph':
      return {
        deps: toDependencies(count, strategy.dependencies),
        requireSuccess: true,
        limit: Number.POSITIVE_INFINITY,
      };
  }
}
