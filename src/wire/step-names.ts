/**
 * Plan steps by name or index: a reference (`"build"`, `3`, `"3"`) resolved to the command's
 * index, and the label a step is shown under (its name, else `#index`).
 */

/** The part of a plan that names its steps. */
export interface NamedSteps {
  readonly commands: readonly { readonly name?: string | null }[];
}

const INDEX = /^(0|[1-9]\d*)$/;

/** The index `ref` refers to (a step name, or an index as a number or decimal string), or null if none. */
export function stepIndex(plan: NamedSteps, ref: string | number): number | null {
  const count = plan.commands.length;
  if (typeof ref === 'number') return Number.isSafeInteger(ref) && ref >= 0 && ref < count ? ref : null;
  if (INDEX.test(ref)) {
    const index = Number(ref);
    return index < count ? index : null;
  }
  const index = plan.commands.findIndex((command) => command.name === ref);
  return index === -1 ? null : index;
}

/** How step `index` is shown: its name, else `#index`. */
export function stepLabel(plan: NamedSteps, index: number): string {
  return plan.commands[index]?.name ?? `#${index}`;
}

/** The names the plan's steps have, in order (for "did you mean"). */
export function stepNames(plan: NamedSteps): string[] {
  return plan.commands.flatMap((command) => (command.name ? [command.name] : []));
}
