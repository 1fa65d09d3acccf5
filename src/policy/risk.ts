/**
 * Risk assessment: how much a command can change. AWS operations are classified by their
 * verb (`describe-instances`, `DescribeInstances` -> describe -> read_only); local programs
 * that only destroy (`rm`, `dd`, `kill`, ...) and infrastructure tools with a destructive
 * subcommand (`kubectl delete`, `terraform destroy`) are destructive; anything else we
 * cannot see into (a shell string, an arbitrary program) is assumed to modify. A declared level can raise the assessment, never lower it.
 */
import type { Command } from '../wire/types.js';

export const RISK_LEVELS = ['read_only', 'modify', 'destructive'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

const RANK: Record<RiskLevel, number> = { read_only: 0, modify: 1, destructive: 2 };

export function maxRisk(...levels: Array<RiskLevel | null | undefined>): RiskLevel {
  let out: RiskLevel = 'read_only';
  for (const level of levels) if (level && RANK[level] > RANK[out]) out = level;
  return out;
}

export function riskAtLeast(level: RiskLevel, threshold: RiskLevel): boolean {
  return RANK[level] >= RANK[threshold];
}

/** Verbs that only read. */
const READ_VERBS = new Set([
  'describe', 'list', 'get', 'head', 'search', 'lookup', 'query', 'scan', 'select', 'batch-get', 'batchget',
  'validate', 'estimate', 'preview', 'check', 'filter', 'ls', 'wait', 'verify', 'simulate', 'view', 'show',
  'count', 'discover', 'retrieve', 'test', 'tail', 'presign', 'decode', 'download', 'help',
]);

/** Verbs that remove or irreversibly end something. */
const DESTRUCTIVE_VERBS = new Set([
  'delete', 'batch-delete', 'batchdelete', 'terminate', 'remove', 'deregister', 'detach', 'disassociate', 'revoke',
  'purge', 'destroy', 'drop', 'rm', 'rb', 'release', 'disable', 'deactivate', 'unassign', 'unlink', 'reject',
  'cancel', 'abort', 'reset', 'decommission', 'discard',
]);

/** The verb of an AWS operation: `describe-instances` / `DescribeInstances` / `batch-delete-item` -> `describe` / `batch-delete`. */
export function operationVerb(operation: string): string {
  const words = operation.includes('-') || operation === operation.toLowerCase()
    ? operation.toLowerCase().split(/[-_]/)
    : operation.split(/(?=[A-Z])/).map((w) => w.toLowerCase());
  const first = words[0] ?? '';
  return first === 'batch' && words[1] ? `batch-${words[1]}` : first;
}

/** Risk of one AWS operation, from its verb and, for a few S3 commands, its flags. */
export function awsOperationRisk(service: string, operation: string, args: readonly string[] = []): RiskLevel {
  const verb = operationVerb(operation);
  // `aws s3 sync --delete` removes what the source does not have; `mv` deletes its source.
  if (service === 's3' && verb === 'sync' && args.includes('--delete')) return 'destructive';
  if (service === 's3' && verb === 'mv') return 'destructive';
  if (DESTRUCTIVE_VERBS.has(verb)) return 'destructive';
  if (READ_VERBS.has(verb)) return 'read_only';
  return 'modify';
}

/** `aws <service> <operation> ...` calls inside an argv or shell string (options before the service skipped). */
function awsCallsIn(tokens: readonly string[]): RiskLevel[] {
  const found: RiskLevel[] = [];
  tokens.forEach((token, i) => {
    if (!/(^|\/)aws$/.test(token)) return;
    let j = i + 1;
    while (j < tokens.length && tokens[j]!.startsWith('-')) j += tokens[j]!.includes('=') ? 1 : 2;
    const service = tokens[j];
    const operation = tokens[j + 1];
    if (service && operation && !operation.startsWith('-')) found.push(awsOperationRisk(service, operation, tokens.slice(j + 2)));
  });
  return found;
}

/** Local programs whose every use removes or ends something. */
const DESTRUCTIVE_PROGRAMS = new Set([
  'rm', 'rmdir', 'shred', 'unlink', 'dd', 'wipefs', 'mkfs', 'mkswap', 'fdisk', 'sfdisk', 'parted', 'truncate', 'kill', 'pkill',
  'killall', 'shutdown', 'reboot', 'halt', 'poweroff', 'userdel', 'groupdel', 'dropdb', 'dropuser',
]);
/** Tools that act on infrastructure through a subcommand: destructive when the subcommand is. */
const SUBCOMMAND_TOOLS = new Set(['kubectl', 'helm', 'terraform', 'tofu', 'gcloud', 'az', 'docker', 'podman', 'gsutil', 'pulumi', 'eksctl', 'sam', 'cdk']);
/** Words that run the next word as the command. */
const PREFIXES = new Set(['sudo', 'env', 'nohup', 'time', 'exec', 'command', 'xargs', 'nice', 'ionice', 'timeout', 'doas']);

/** Risk of one simple command's words (`sudo rm -rf x` -> rm; `kubectl delete pod x` -> delete). */
function programRisk(words: readonly string[]): RiskLevel | null {
  let i = 0;
  // Skip `VAR=value` assignments, prefixes and their options (`timeout 5`, `sudo -u x`).
  while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!) || PREFIXES.has(basename(words[i]!)) || words[i]!.startsWith('-') || /^\d+[smhd]?$/.test(words[i]!))) i++;
  const program = basename(words[i] ?? '');
  if (!program) return null;
  if (DESTRUCTIVE_PROGRAMS.has(program) || program.startsWith('mkfs.')) return 'destructive';
  if (program === 'find' && words.slice(i + 1).some((w) => w === '-delete' || w === 'rm')) return 'destructive';
  if (SUBCOMMAND_TOOLS.has(program)) {
    const subcommands = words.slice(i + 1).filter((w) => !w.startsWith('-')).slice(0, 3);
    if (subcommands.some((w) => DESTRUCTIVE_VERBS.has(operationVerb(w)) || w === 'rmi' || w === 'prune' || w === 'uninstall')) return 'destructive';
  }
  return null;
}

function basename(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1);
}

/** The simple commands of a shell string, split at `;`, `&&`, `||`, `|`, newlines, subshells and substitutions. */
function simpleCommands(script: string): string[][] {
  return script
    .split(/[;&|()`\n]+|\$\(/)
    .map((segment) => segment.split(/\s+/).filter(Boolean).map((w) => w.replace(/^['"]|['"]$/g, '')))
    .filter((words) => words.length > 0);
}

/** Risk of a command as written, before any declared level is applied. */
export function assessCommandRisk(command: Command): RiskLevel {
  switch (command.type) {
    case 'aws_cli':
      return awsOperationRisk(command.service, command.operation, command.args);
    case 'sdk':
      return awsOperationRisk(command.service, command.operation);
    case 'exec': {
      const words = [command.program, ...command.args];
      const calls = awsCallsIn(words);
      // Only `aws …` itself is judged by its operation alone: `bash -c '<x>' aws ec2 describe-instances` runs <x>.
      const runsAws = /(^|\/)aws$/.test(command.program);
      return maxRisk(runsAws && calls.length > 0 ? null : 'modify', programRisk(words), ...calls);
    }
    case 'shell': {
      // A rough tokenization is enough to spot `aws ec2 terminate-instances` or `rm -rf` in a
      // pipeline; whatever else the string does stays at least `modify`.
      const calls = awsCallsIn(command.command.split(/[\s;&|()`$]+/).filter(Boolean));
      return maxRisk('modify', ...calls, ...simpleCommands(command.command).map(programRisk));
    }
    case 'script':
      return 'modify';
  }
}
