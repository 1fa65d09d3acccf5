// biome-ignore-all format: word tables read best packed, one family of programs or operations per line
/**
 * Risk of AWS calls. An operation is classified by its verb (`describe-instances`,
 * `DescribeInstances` -> describe -> read_only), with the exceptions that matter: S3 commands
 * that delete by a flag, calls that write a local file, and calls that run arbitrary code on
 * remote machines (whose effect no one can read ahead). An `aws` command line is parsed the
 * way the CLI parses it: global options (with and without values) first, then service and
 * operation; an option we do not know makes the call unverifiable rather than misread.
 */
import { assessed, type RiskAssessment, type RiskLevel, unverified } from './risk-vocabulary.js';

/** Verbs that only read. */
const READ_VERBS = new Set([
  'describe', 'list', 'get', 'head', 'search', 'lookup', 'query', 'scan', 'select', 'batch-get', 'batchget',
  'validate', 'estimate', 'preview', 'check', 'filter', 'ls', 'wait', 'verify', 'simulate', 'view', 'show',
  'count', 'discover', 'retrieve', 'test', 'tail', 'presign', 'decode', 'download', 'help',
]);

/** Verbs that remove or irreversibly end something. */
export const DESTRUCTIVE_VERBS = new Set([
  'delete', 'batch-delete', 'batchdelete', 'terminate', 'remove', 'deregister', 'detach', 'disassociate', 'revoke',
  'purge', 'destroy', 'drop', 'rm', 'rb', 'release', 'disable', 'deactivate', 'unassign', 'unlink', 'reject',
  'cancel', 'abort', 'reset', 'decommission', 'discard', 'schedule', 'close', 'kill', 'erase', 'wipe', 'empty',
]);

/** Verbs whose parameters decide whether they delete (`batch-write-item` with DeleteRequest, a PartiQL DELETE, a DELETE change batch). */
const PARAMETER_DECIDES_VERBS = new Set(['batch-write', 'batchwrite', 'transact', 'execute', 'batch-execute', 'batchexecute', 'change', 'replace', 'import', 'restore', 'swap', 'apply']);

/** Operations that run code on remote machines or in functions and containers: their effect is the code's. */
const REMOTE_CODE_OPERATIONS = new Set([
  'ssm:send-command',
  'ssm:start-session',
  'ssm:start-automation-execution',
  'ssm:create-association',
  'ssm:update-association',
  'ecs:execute-command',
  'ecs:run-task',
  'ecs:start-task',
  'lambda:invoke',
  'lambda:invoke-async',
  'lambda:invoke-with-response-stream',
  'codebuild:start-build',
  'codebuild:start-build-batch',
  'emr:ssh',
  'emr:add-steps',
  'emr:socks',
  'ec2-instance-connect:ssh',
  'ec2-instance-connect:send-ssh-public-key',
  'ec2-instance-connect:send-serial-console-ssh-public-key',
  'batch:submit-job',
  'glue:start-job-run',
  'states:start-execution',
  'states:start-sync-execution',
  'cloudformation:deploy',
]);

/** S3 / S3 API operations whose CLI form writes a local file (a positional `outfile` or a local destination). */
const LOCAL_OUTFILE_OPERATIONS = new Set(['s3api:get-object', 's3api:get-object-torrent']);
const HARMLESS_OUTFILES = new Set(['-', '/dev/stdout', '/dev/stderr', '/dev/null']);
/** Arguments such as `--outfile`, `--output-file`, `--output-template-file`: the CLI writes there. */
const OUTPUT_FILE_FLAG = /^--([a-z0-9]+-)*(outfile|out-file|output-file|outputfile|output-template-file)(=|$)/;

/** The verb of an AWS operation: `describe-instances` / `DescribeInstances` / `batch-delete-item` -> `describe` / `batch-delete`. */
export function operationVerb(operation: string): string {
  const words =
    operation.includes('-') || operation === operation.toLowerCase()
      ? operation.toLowerCase().split(/[-_]/)
      : operation.split(/(?=[A-Z])/).map((w) => w.toLowerCase());
  const first = words[0] ?? '';
  return first === 'batch' && words[1] ? `batch-${words[1]}` : first;
}

/** `DescribeInstances` -> `describe-instances`. */
function kebab(operation: string): string {
  return operation.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Risk of one AWS operation, from its verb and, for a few S3 commands, its flags. */
export function awsOperationRisk(service: string, operation: string, args: readonly string[] = []): RiskLevel {
  return assessAwsOperation(service, operation, args).risk_level;
}

/** Risk of one AWS operation with its arguments (as the CLI takes them), with the reasons. */
export function assessAwsOperation(service: string, operation: string, args: readonly string[] = []): RiskAssessment {
  const verb = operationVerb(operation);
  const op = `${service.toLowerCase()}:${kebab(operation)}`;
  const name = `aws ${service} ${operation}`;
  if (op === 'configure:set' || op === 'configure:import') return unverified(`${name} writes the AWS config, which can name programs later calls run (credential_process)`);
  if (REMOTE_CODE_OPERATIONS.has(op)) return unverified(`${name} runs code remotely; what it does cannot be read ahead`);
  // `aws s3 sync --delete` removes what the source does not have (the CLI takes any unique prefix: `--del`); `mv` deletes its source.
  if (service === 's3' && (verb === 'sync' || verb === 'cp') && args.some((a) => isPrefixOf(a, '--delete'))) {
    return assessed('destructive', `${name} --delete removes files`);
  }
  if (service === 's3' && verb === 'mv') return assessed('destructive', `${name} deletes its source`);
  if (DESTRUCTIVE_VERBS.has(verb)) return assessed('destructive', `${name} is destructive`);
  if (PARAMETER_DECIDES_VERBS.has(verb)) return unverified(`whether ${name} deletes depends on its parameters`);
  if (READ_VERBS.has(verb)) {
    const written = localFileWritten(service, verb, op, args);
    return written ? assessed('modify', `${name} writes the local file ${written}`) : assessed('read_only');
  }
  return assessed('modify');
}

/** `arg` (before any `=`) is `flag` or a prefix of it the CLI would take for it (`--del` for `--delete`). */
function isPrefixOf(arg: string, flag: string): boolean {
  const name = arg.split('=', 1)[0]!;
  return name.length >= 3 && name.startsWith('--') && flag.startsWith(name);
}

/** The local file a read-only call writes, if any. */
function localFileWritten(service: string, verb: string, op: string, args: readonly string[]): string | null {
  for (const [i, arg] of args.entries()) {
    if (OUTPUT_FILE_FLAG.test(arg)) return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (args[i + 1] ?? arg);
  }
  // API operations take options only; a positional argument is an outfile (`get-object`,
  // `get-thing-shadow`, `get-export`, …). The CLI's own commands take other positionals: S3
  // paths (`s3 ls`), a waiter (`ec2 wait instance-running`), a log group (`logs tail`), a key.
  const cliOwn = service === 's3' || service === 'configure' || service === 'history' || verb === 'wait' || verb === 'tail' || verb === 'help';
  const outfile = cliOwn ? null : positionals(args).at(-1);
  if (outfile === undefined || outfile === null) return LOCAL_OUTFILE_OPERATIONS.has(op) ? '(the outfile argument)' : null;
  return HARMLESS_OUTFILES.has(outfile) ? null : outfile;
}

/** Global options of the AWS CLI v2 that take a value. */
export const GLOBAL_WITH_VALUE: ReadonlySet<string> = new Set(['--endpoint-url', '--output', '--query', '--profile', '--region', '--ca-bundle', '--cli-read-timeout', '--cli-connect-timeout', '--cli-binary-format', '--color']);
/** Global options that take none. */
const GLOBAL_FLAGS = new Set(['--debug', '--no-verify-ssl', '--no-paginate', '--no-sign-request', '--no-cli-pager', '--cli-auto-prompt', '--no-cli-auto-prompt']);

/** Boolean options of operations (they take no value). */
const BOOLEAN_FLAGS = new Set(['--dry-run', '--force', '--recursive', '--generate-cli-skeleton']);

/** Arguments that are not options or option values (options of an operation take one value, except the flags). */
function positionals(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) out.push(arg);
    else if (arg.includes('=') || GLOBAL_FLAGS.has(arg) || BOOLEAN_FLAGS.has(arg) || arg.startsWith('--no-')) continue;
    else if (!(args[i + 1] ?? '--').startsWith('--')) i++;
  }
  return out;
}

/**
 * Risk of an `aws` command line (`words` after the program): global options, then service and
 * operation. `undefined` words are computed at run time (a shell expansion).
 */
export function assessAwsArgv(words: ReadonlyArray<string | undefined>): RiskAssessment {
  let i = 0;
  while (i < words.length) {
    const word = words[i];
    if (word === undefined) return unverified('the aws command line is computed at run time');
    if (!word.startsWith('-')) break;
    const flag = word.split('=', 1)[0]!;
    if (word === '--version') return assessed('read_only');
    if (GLOBAL_FLAGS.has(flag)) i += 1;
    else if (GLOBAL_WITH_VALUE.has(flag)) i += word.includes('=') ? 1 : 2;
    else return unverified(`aws option ${flag} is not one the assessment knows, so the call it makes cannot be established`);
  }
  const service = words[i];
  const operation = words[i + 1];
  if (service === undefined && i >= words.length) return assessed('read_only'); // `aws` alone prints usage
  if (service === undefined || (i + 1 < words.length && operation === undefined)) return unverified('the aws service or operation is computed at run time');
  if (service === 'help' || operation === 'help') return assessed('read_only');
  if (operation === undefined || operation.startsWith('-')) {
    // `aws configure` prompts and writes the config file; `aws s3` alone prints usage.
    return service === 'configure' ? assessed('modify', 'aws configure writes the AWS config') : assessed('read_only');
  }
  const rest = words.slice(i + 2);
  if (rest.some((w) => w === undefined)) {
    // Arguments computed at run time cannot turn an operation into another, but could add
    // `--delete` or an output file: only plain destructive/modify verbs stay verified.
    const base = assessAwsOperation(service, operation, []);
    return base.risk_level === 'destructive' ? base : unverified(`arguments of aws ${service} ${operation} are computed at run time`, base.risk_level);
  }
  return assessAwsOperation(service, operation, rest as string[]);
}
