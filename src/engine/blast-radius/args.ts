/**
 * The AWS call a command makes, read for its blast radius: service, operation, the arguments
 * (CLI options, `--cli-input-json`, or SDK parameters, read the same way), and where it goes.
 */
import { cliOperationName, isAwsCliProgram, valueReadFrom } from '../../command/aws.js';
import { GLOBAL_WITH_VALUE } from '../../policy/aws-risk.js';
import type { Command } from '../../wire/types.js';
import type { OperationArgs } from './table.js';

export interface AwsCall {
  /** The CLI's service name (`s3api` for the SDK's `s3`). */
  service: string;
  /** The CLI's operation name (`terminate-instances`). */
  operation: string;
  args: OperationArgs;
  /** Region and profile the command names itself (field or option); null: the environment's. */
  region: string | null;
  profile: string | null;
  /** The endpoint the command names itself (`--endpoint-url`), or null. */
  endpoint: string | null;
  /** Why what the command names cannot be read (its JSON comes from a file when run), or null. */
  unreadable: string | null;
}

/** Options of the `s3` commands that take no value (`s3 rm --recursive s3://b/p`). */
const S3_BOOLEANS = new Set([
  '--recursive',
  '--delete',
  '--force',
  '--dryrun',
  '--quiet',
  '--only-show-errors',
  '--no-progress',
  '--exact-timestamps',
  '--size-only',
  '--follow-symlinks',
  '--no-follow-symlinks',
  '--no-guess-mime-type',
  '--ignore-glacier-warnings',
  '--force-glacier-transfer',
  '--sse',
  '--no-paginate',
  '--debug',
]);
/** Options of API operations that take no value. */
const BOOLEANS = new Set([
  '--dry-run',
  '--force',
  '--skip-final-snapshot',
  '--delete-automated-backups',
  '--debug',
  '--no-paginate',
  '--no-verify-ssl',
  '--no-sign-request',
  '--no-cli-pager',
  '--generate-cli-skeleton',
  '--force-delete',
]);
interface Parsed {
  options: Map<string, string[]>;
  positionals: string[];
}

/**
 * CLI words into options and positionals. An API operation's option takes every word up to the
 * next option (`--instance-ids a b`); an `s3` command's takes one.
 */
function parseCli(service: string, words: readonly string[]): Parsed {
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  const booleans = service === 's3' ? S3_BOOLEANS : BOOLEANS;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('--')) {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq === -1 ? word : word.slice(0, eq);
    const values = options.get(name) ?? [];
    options.set(name, values);
    if (eq !== -1) {
      values.push(word.slice(eq + 1));
      continue;
    }
    if (booleans.has(name) || name.startsWith('--no-')) continue;
    const one = service === 's3' || GLOBAL_WITH_VALUE.has(name);
    while (i + 1 < words.length && !words[i + 1]!.startsWith('--')) {
      values.push(words[++i]!);
      if (one) break;
    }
  }
  return { options, positionals };
}

function strings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object') return [JSON.stringify(value)];
  return [String(value)];
}

function operationArgs(parsed: Parsed, params: Record<string, unknown>, workingDir: string | null): OperationArgs {
  const { options } = parsed;
  const raw = (cli: string, sdk: string): unknown => {
    if (sdk in params) return params[sdk];
    const written = options.get(cli);
    if (written?.length === 1) {
      try {
        return JSON.parse(written[0]!);
      } catch {
        return undefined;
      }
    }
    return undefined;
  };
  const values = (cli: string, sdk: string) => options.get(cli) ?? strings(params[sdk]);
  return {
    values,
    value: (cli, sdk) => values(cli, sdk)[0] ?? null,
    flag: (cli, sdk) => {
      if (options.has(cli)) return options.get(cli)![0]?.toLowerCase() !== 'false';
      if (options.has(`--no-${cli.slice(2)}`)) return false;
      const value = params[sdk];
      return typeof value === 'boolean' ? value : null;
    },
    raw,
    positionals: parsed.positionals,
    workingDir,
  };
}

/** `--cli-input-json` as parameters; a file or URL (read only when run) is unreadable. */
function inputJson(parsed: Parsed): { params: Record<string, unknown> } | { unreadable: string } {
  const json = parsed.options.get('--cli-input-json')?.[0];
  if (parsed.options.has('--cli-input-yaml')) return { unreadable: 'its input is YAML (--cli-input-yaml)' };
  if (json === undefined) return { params: {} };
  if (valueReadFrom(json) !== null) return { unreadable: `its input is read from ${json.trim()} when it runs` };
  try {
    const parsedJson = JSON.parse(json) as unknown;
    if (typeof parsedJson === 'object' && parsedJson !== null && !Array.isArray(parsedJson))
      return { params: parsedJson as Record<string, unknown> };
  } catch {}
  return { unreadable: 'its --cli-input-json does not parse' };
}

function fromCli(
  service: string,
  operation: string,
  words: readonly string[],
  own: { region: string | null; profile: string | null; endpoint: string | null },
  workingDir: string | null,
): AwsCall {
  const parsed = parseCli(service, words);
  const input = inputJson(parsed);
  const params = 'params' in input ? input.params : {};
  // The CLI takes an unambiguous prefix of an option too (`--endpoint`).
  const endpointOption = [...parsed.options.keys()].find((k) => k.length >= 6 && '--endpoint-url'.startsWith(k));
  const endpoint = endpointOption ? parsed.options.get(endpointOption)?.[0] : undefined;
  return {
    service,
    operation,
    args: operationArgs(parsed, params, workingDir),
    region: own.region ?? parsed.options.get('--region')?.[0] ?? null,
    profile: own.profile ?? parsed.options.get('--profile')?.[0] ?? null,
    endpoint: endpoint ?? own.endpoint,
    unreadable: 'unreadable' in input ? input.unreadable : null,
  };
}

/** `aws [globals] service operation args...` as written for an `exec` command. */
function fromAwsArgv(words: readonly string[], workingDir: string | null): AwsCall | null {
  let region: string | null = null;
  let profile: string | null = null;
  let endpoint: string | null = null;
  let i = 0;
  for (; i < words.length && words[i]!.startsWith('--'); i++) {
    const word = words[i]!;
    const eq = word.indexOf('=');
    const name = eq === -1 ? word : word.slice(0, eq);
    if (!GLOBAL_WITH_VALUE.has(name)) continue;
    const value = eq === -1 ? words[++i] : word.slice(eq + 1);
    if (value === undefined) return null;
    if (name === '--region') region = value;
    if (name === '--profile') profile = value;
    if (name === '--endpoint-url') endpoint = value;
  }
  const [service, operation] = [words[i], words[i + 1]];
  if (service === undefined || operation === undefined || operation.startsWith('-')) return null;
  return fromCli(service, operation, words.slice(i + 2), { region, profile, endpoint }, workingDir);
}

/** The AWS call of a command, or null when it makes none (or one this reading cannot follow, such as a shell line). */
export function awsCallOf(command: Command, awsCliPath: string, workingDir: string | null): AwsCall | null {
  switch (command.type) {
    case 'aws_cli':
      return fromCli(
        command.service,
        command.operation,
        command.args,
        { region: command.region ?? null, profile: command.profile ?? null, endpoint: null },
        workingDir,
      );
    case 'sdk': {
      const service = command.service.toLowerCase() === 's3' ? 's3api' : command.service.toLowerCase();
      return {
        service,
        operation: cliOperationName(command.operation),
        args: operationArgs({ options: new Map(), positionals: [] }, command.parameters, workingDir),
        region: command.region ?? null,
        profile: command.profile ?? null,
        endpoint: null,
        unreadable: null,
      };
    }
    case 'exec':
      return isAwsCliProgram(command.program, awsCliPath) ? fromAwsArgv(command.args, workingDir) : null;
    default:
      return null;
  }
}
