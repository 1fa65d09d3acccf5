/** `validate PLAN` and `schema [NAME]`: look at plans without running them. */
import { ValidationError } from '../../errors.js';
import { printable } from '../../sinks/control-chars.js';
import { validatePlan } from '../../validation/plan.js';
import { JSON_SCHEMA_NAMES, type JsonSchemaName, jsonSchemaOf } from '../../wire/json-schema.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import type { EngineOptions } from '../options.js';
import { locateIssues, parsePlanSource, readPlanSource } from '../plan-file.js';
import { colorEnabled, makeStyle } from '../style.js';

export async function validateCommand(file: string, options: EngineOptions & { color?: boolean }): Promise<number> {
  const config = engineConfig(options);
  const source = await readPlanSource(file);
  const plan = parsePlanSource(source, config);
  try {
    await validatePlan(plan, config);
  } catch (err) {
    if (err instanceof ValidationError) throw locateIssues(source, err);
    throw err;
  }
  const style = makeStyle(colorEnabled(process.stdout, options.color));
  const what = plan.description ? `"${printable(plan.description)}"` : `plan ${plan.id}`;
  process.stdout.write(
    `${style.paint('green', '✔')} ${printable(source.name)}: ${what} is valid — ${plan.commands.length} command(s), strategy ${plan.strategy.type}\n`,
  );
  return EXIT.OK;
}

export function schemaCommand(name: string): number {
  if (!(JSON_SCHEMA_NAMES as string[]).includes(name)) {
    throw new CliExit(EXIT.BAD_INPUT, `unknown schema "${name}"; choose one of ${JSON_SCHEMA_NAMES.join(', ')}`);
  }
  process.stdout.write(`${JSON.stringify(jsonSchemaOf(name as JsonSchemaName), null, 2)}\n`);
  return EXIT.OK;
}
