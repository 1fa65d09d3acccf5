// biome-ignore-all format: word tables read best packed, one family of programs or operations per line
/**
 * Risk of running one program with its arguments (an `exec` argv, or one simple command of a
 * shell string). Only what can be read ahead counts as known: programs on a short list, by
 * name or from a system directory, with arguments that keep them what the list says. Anything
 * else — an unknown program, one from an odd path, an interpreter running code, a wrapper we
 * cannot see through, a word computed at run time where it matters — is unverified.
 *
 * A word is `undefined` when its value is only known at run time (a shell expansion, a glob).
 */
import { assessAwsArgv, DESTRUCTIVE_VERBS, operationVerb } from './aws-risk.js';
import { loaderVariableReason } from './env-risk.js';
import { assessed, combine, type RiskAssessment, unverified } from './risk-vocabulary.js';

export type Word = string | undefined;

export interface ArgvContext {
  /** The configured AWS CLI binary: only it (or `aws` found on the engine's PATH) makes an AWS call. */
  awsCliPath: string;
  /** Assess a shell string found inside an argv (`bash -c '…'`, `trap '…'`). */
  shell(script: string, shellName: string, depth: number): RiskAssessment;
  /** Nesting depth: shells in shells, wrappers in wrappers. */
  depth: number;
  /** Functions the shell string defines: their bodies are assessed where they are defined. */
  functions?: ReadonlySet<string>;
}

const MAX_DEPTH = 8;
/** Files that programs read their configuration from: writing one can make a later, harmless-looking command run anything. */
export const CONFIG_PATH = /(^|\/)\.(aws|kube|ssh|gnupg|docker|config|local\/bin)\/|(^|\/)\.(gitconfig|bashrc|bash_profile|bash_login|profile|zshrc|zshenv|npmrc|netrc|curlrc|wgetrc|inputrc)$|^\/etc\/|^\/usr\/|^\/bin\/|^\/sbin\//;

const SYSTEM_DIRS = ['/bin/', '/usr/bin/', '/sbin/', '/usr/sbin/', '/usr/local/bin/', '/usr/local/sbin/'];

/** Local programs whose every use removes or ends something. */
const DESTRUCTIVE_PROGRAMS = new Set([
  'rm', 'rmdir', 'shred', 'unlink', 'dd', 'wipefs', 'mkfs', 'mkswap', 'fdisk', 'sfdisk', 'parted', 'truncate', 'kill', 'pkill',
  'killall', 'shutdown', 'reboot', 'halt', 'poweroff', 'userdel', 'groupdel', 'dropdb', 'dropuser',
]);

/** Programs (and shell builtins) that only read or print, whatever their arguments. */
const READ_ONLY_PROGRAMS = new Set([
  'echo', 'printf', 'true', 'false', ':', 'ls', 'cat', 'head', 'tail', 'grep', 'egrep', 'fgrep', 'wc', 'cut', 'tr', 'uname',
  'pwd', 'whoami', 'id', 'sleep', 'test', '[', 'stat', 'du', 'df', 'ps', 'which', 'jq', 'basename', 'dirname', 'realpath',
  'readlink', 'md5sum', 'sha1sum', 'sha256sum', 'sha512sum', 'cksum', 'base64', 'seq', 'nproc', 'free', 'uptime',
  'tty', 'diff', 'cmp', 'comm', 'column', 'nl', 'od', 'hexdump', 'strings', 'tac', 'rev', 'fold', 'fmt', 'paste', 'join',
  'expand', 'unexpand', 'printenv', 'getent', 'groups', 'dig', 'host', 'nslookup', 'ping', 'lsblk', 'lscpu', 'locale',
  'numfmt', 'yes', 'ss', 'netstat', 'lsof', 'top', 'vmstat', 'iostat', 'w', 'who', 'last', 'nl',
  // Shell builtins that only change the shell's own state.
  'cd', 'export', 'set', 'shift', 'local', 'read', 'exit', 'return', 'wait', 'unset', 'declare', 'readonly', 'typeset',
  'getopts', 'break', 'continue', 'umask', 'ulimit', 'pushd', 'popd', 'dirs', 'shopt', 'jobs', 'times', 'type', 'help',
  'let',
]);

/** Builtins that assign to the variables they name: a loader variable among them changes what runs next. */
const ASSIGNING_BUILTINS = new Set(['read', 'printf', 'mapfile', 'readarray', 'getopts', 'export', 'declare', 'local', 'readonly', 'typeset', 'set', 'let', 'unset']);

/** Programs that write files or change local state, by their nature (verified `modify`). */
const MODIFYING_PROGRAMS = new Set([
  'tee', 'cp', 'mv', 'ln', 'mkdir', 'touch', 'chmod', 'chown', 'chgrp', 'install', 'mktemp', 'gzip', 'gunzip', 'zip', 'unzip',
  'bzip2', 'bunzip2', 'xz', 'unxz', 'zstd', 'curl', 'wget', 'scp', 'split', 'csplit', 'patch', 'sync',
]);

/** Shells whose `-c` string we parse. */
const PARSED_SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh']);
/** Shells whose syntax we do not parse. */
const OTHER_SHELLS = new Set(['zsh', 'fish', 'csh', 'tcsh', 'pwsh', 'powershell', 'busybox', 'rbash']);
/** Programs that run code given inline or in a file. */
const INTERPRETER = /^(python|pypy|perl|ruby|lua|luajit|php|node|nodejs|deno|bun|tclsh|wish|rscript|r|julia|java|jshell|groovy|scala|osascript|expect|gdb|irb|erl|escript|elixir|guile|racket|sbcl|ghci|runghc|dotnet|swift|go)[0-9.]*$/i;
/** Shell builtins that run text as code or change what later words mean. */
const CODE_BUILTINS: Record<string, string> = {
  eval: 'eval runs text as code',
  source: 'source runs a file as code',
  '.': '. runs a file as code',
  alias: 'alias changes what later commands mean',
  enable: 'enable can load builtins from a library',
  coproc: 'coproc runs a command in the background',
};

/** Infrastructure tools that act through a subcommand. */
const SUBCOMMAND_TOOLS = new Set(['kubectl', 'helm', 'terraform', 'tofu', 'gcloud', 'az', 'docker', 'podman', 'gsutil', 'pulumi', 'eksctl', 'sam', 'cdk', 'systemctl', 'service', 'apt-get', 'apt', 'dnf', 'yum', 'crontab', 'journalctl']);
/** Subcommands that run code in a container or on another machine. */
const REMOTE_CODE_SUBCOMMANDS = new Set(['exec', 'run', 'ssh', 'attach', 'debug', 'scp', 'build', 'compose', 'plugin', 'port-forward', 'proxy']);
const EXTRA_DESTRUCTIVE_SUBCOMMANDS = new Set(['rmi', 'prune', 'uninstall', 'purge', 'autoremove', 'mask', '-r', '-destroy', '--vacuum-size', '--vacuum-time', '--vacuum-files', '--rotate']);
const READ_SUBCOMMANDS = new Set(['get', 'describe', 'list', 'ls', 'show', 'logs', 'version', 'status', 'ps', 'images', 'inspect', 'top', 'history', 'search', 'info', 'cat', 'explain', 'api-resources', 'cluster-info', 'is-active', 'is-enabled', '-l']);
/** Subcommands that change things in a way their name tells (the rest may do anything their plugins or configuration say). */
const MODIFY_SUBCOMMANDS = new Set(['start', 'restart', 'reload', 'enable', 'create', 'scale', 'label', 'annotate', 'cordon', 'uncordon', 'tag', 'pull', 'push', 'login', 'logout', 'install', 'update', 'upgrade']);

/** Wrappers that run the rest of their arguments as a command, with the options that take a value. */
const WRAPPERS: Record<string, { withValue: Set<string>; flags?: Set<string>; positionalsBefore?: number }> = {
  sudo: { withValue: new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T', '--user', '--group', '--chdir', '--host', '--prompt', '--role', '--type', '--other-user', '--close-from', '--command-timeout']), flags: new Set(['-n', '-E', '-H', '-P', '-S', '-b', '-i', '-k', '-s', '--non-interactive', '--preserve-env', '--set-home', '--preserve-groups', '--stdin', '--background', '--login', '--reset-timestamp', '--shell', '--']) },
  doas: { withValue: new Set(['-u', '-C']), flags: new Set(['-n', '-s', '--']) },
  nohup: { withValue: new Set(), flags: new Set(['--']) },
  time: { withValue: new Set(['-o', '-f', '--output', '--format']), flags: new Set(['-p', '-v', '-a', '--portability', '--verbose', '--append', '--']) },
  exec: { withValue: new Set(['-a']), flags: new Set(['-c', '-l', '--']) },
  command: { withValue: new Set(), flags: new Set(['-p', '--']) },
  builtin: { withValue: new Set(), flags: new Set(['--']) },
  nice: { withValue: new Set(['-n', '--adjustment']), flags: new Set(['--']) },
  ionice: { withValue: new Set(['-c', '-n', '--class', '--classdata']), flags: new Set(['-t', '--ignore', '--']) },
  timeout: { withValue: new Set(['-s', '-k', '--signal', '--kill-after']), flags: new Set(['--preserve-status', '--foreground', '-v', '--verbose', '--']), positionalsBefore: 1 },
  stdbuf: { withValue: new Set(['-i', '-o', '-e', '--input', '--output', '--error']), flags: new Set(['--']) },
  setsid: { withValue: new Set(), flags: new Set(['-c', '-f', '-w', '--ctty', '--fork', '--wait', '--']) },
  xargs: { withValue: new Set(['-I', '-n', '-P', '-L', '-d', '-a', '-E', '-s', '--max-args', '--max-procs', '--max-lines', '--delimiter', '--arg-file', '--eof', '--max-chars', '--replace']), flags: new Set(['-0', '-r', '-t', '-p', '-x', '--null', '--no-run-if-empty', '--verbose', '--interactive', '--exit', '--open-tty', '-o', '--']) },
  env: { withValue: new Set(['-u', '-C', '--unset', '--chdir']), flags: new Set(['-i', '-0', '--ignore-environment', '--null', '-', '--']) },
  flock: { withValue: new Set(['-w', '-E', '--timeout', '--conflict-exit-code']), flags: new Set(['-s', '-x', '-u', '-n', '-o', '--shared', '--exclusive', '--unlock', '--nonblock', '--close', '--']), positionalsBefore: 1 },
  chrt: { withValue: new Set(), flags: new Set(['-b', '-f', '-i', '-o', '-r', '-d', '--']), positionalsBefore: 1 },
  taskset: { withValue: new Set(), flags: new Set(['-c', '--cpu-list', '--']), positionalsBefore: 1 },
};

interface ProgramName {
  name: string;
  /** Found by name on the engine's PATH, or in a system directory. */
  trusted: boolean;
}

function programName(word: string): ProgramName {
  if (!word.includes('/')) return { name: word, trusted: true };
  const name = word.slice(word.lastIndexOf('/') + 1);
  const dir = word.slice(0, word.lastIndexOf('/') + 1);
  return { name, trusted: SYSTEM_DIRS.includes(dir) };
}

const isOption = (w: Word): w is string => w !== undefined && w.length > 1 && w.startsWith('-');

/** Risk of running `words` (program first). */
export function assessArgv(words: readonly Word[], ctx: ArgvContext): RiskAssessment {
  if (ctx.depth > MAX_DEPTH) return unverified('commands are nested too deeply to follow');
  const first = words[0];
  if (first === undefined) return unverified('the program to run is computed at run time');
  if (first === '') return assessed('read_only');
  const { name, trusted } = programName(first);
  const args = words.slice(1);
  if (DESTRUCTIVE_PROGRAMS.has(name) || name.startsWith('mkfs.')) return assessed('destructive', `${name} removes or ends things`);
  if (name === 'aws') {
    if (first === ctx.awsCliPath || first === 'aws') return assessAwsArgv(args);
    return unverified(`${first} is not the configured AWS CLI (${ctx.awsCliPath})`);
  }
  if (!trusted) return unverified(`${first} is not a program the assessment knows (only system directories and the PATH are)`);
  // A function the string defines shadows only a name called directly: wrappers run the real program.
  const inner = { ...ctx, depth: ctx.depth + 1, functions: undefined };
  if (ctx.functions?.has(first)) return assessed('read_only');
  // `python3 --version`: asking any known program for its version or usage runs nothing else.
  if (args.length === 1 && (args[0] === '--version' || args[0] === '--help') && !WRAPPERS[name]) return assessed('read_only');
  const wrapper = WRAPPERS[name];
  if (wrapper) return assessWrapped(name, wrapper, args, inner);
  if (CODE_BUILTINS[name]) return unverified(CODE_BUILTINS[name]!);
  if (name === 'hash') return args.some((a) => a === undefined || /^-[a-z]*p/.test(a)) ? unverified('hash -p points a command name at another program') : assessed('read_only');
  if (ASSIGNING_BUILTINS.has(name)) {
    const assigning = assessAssigningBuiltin(name, args);
    if (assigning) return assigning;
  }
  if (name === 'trap') return assessTrap(args, inner);
  if (PARSED_SHELLS.has(name) || OTHER_SHELLS.has(name)) return assessShellProgram(name, args, inner);
  if (INTERPRETER.test(name)) return unverified(`${name} runs code (inline or from a script) that cannot be read ahead`);
  if (name === 'find') return assessFind(args, inner);
  if (name === 'awk' || name === 'gawk' || name === 'mawk' || name === 'nawk') return assessAwk(name, args);
  if (name === 'sed') return assessSed(args);
  if (name === 'git') return assessGit(args);
  if (name === 'rsync') return unverified('rsync options can delete files or run other programs');
  if (name === 'tar') return assessTar(args);
  if (SUBCOMMAND_TOOLS.has(name)) return assessSubcommandTool(name, args);
  if (name === 'jobs' && args.some((a) => a === undefined || /^-[a-z]*x/.test(a))) return assessJobsExec(args, inner);
  if (name === 'ss') return assessSs(args);
  if (name === 'sort' || name === 'uniq' || name === 'date' || name === 'hostname' || name === 'rg' || name === 'dmesg' || name === 'mount') return assessReaderWithWrites(name, args);
  if (READ_ONLY_PROGRAMS.has(name)) return assessed('read_only');
  if (name === 'tee') return assessTee(args);
  if (MODIFYING_PROGRAMS.has(name)) {
    const config = args.find((a) => a !== undefined && CONFIG_PATH.test(a.split('=').at(-1)!));
    return config ? unverified(`${name} writes ${config}, configuration or programs that later commands load`) : assessed('modify');
  }
  if (name === 'ssh') return unverified('ssh runs commands on another machine');
  return unverified(`${name} is not a program the assessment knows`);
}

/** `sudo -u x rm …`: the wrapper's options, then the wrapped command. */
function assessWrapped(name: string, spec: (typeof WRAPPERS)[string], args: readonly Word[], ctx: ArgvContext): RiskAssessment {
  let i = 0;
  let positionals = spec.positionalsBefore ?? 0;
  const assignments: RiskAssessment[] = [];
  while (i < args.length) {
    const arg = args[i];
    if (arg === undefined) return unverified(`the command ${name} runs is computed at run time`);
    if (arg === '--') {
      i++;
      break;
    }
    if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) {
      assignments.push(envAssignment(arg.slice(0, arg.indexOf('='))));
      i++;
      continue;
    }
    if (isOption(arg)) {
      if (arg.startsWith('--')) {
        const flag = arg.split('=', 1)[0]!;
        if (name === 'env' && '--split-string'.startsWith(flag) && flag.length > 3) return unverified('env -S splits a string into a command');
        if (name === 'xargs' && arg === '--replace') {
          i += 1; // its value is optional, and only given with `=`
          continue;
        }
        if (spec.withValue.has(flag)) i += arg.includes('=') ? 1 : 2;
        else if (spec.flags?.has(flag) && !arg.includes('=')) i += 1;
        else return unverified(`${name} option ${flag} is not one the assessment knows`);
        continue;
      }
      // A cluster of short options, letter by letter: one that takes a value takes the rest of
      // the cluster, or the next argument (`-iu NAME`, `-uNAME`, `-ng GROUP`).
      let takesNext = false;
      for (let k = 1; k < arg.length; k++) {
        const opt = `-${arg[k]}`;
        if (name === 'env' && opt === '-S') return unverified('env -S splits a string into a command');
        // `command -v rm` only says where rm is.
        if (name === 'command' && (opt === '-v' || opt === '-V')) return assessed('read_only');
        if (spec.withValue.has(opt)) {
          takesNext = k === arg.length - 1;
          break;
        }
        if (!spec.flags?.has(opt)) return unverified(`${name} option ${opt} is not one the assessment knows`);
      }
      i += takesNext ? 2 : 1;
      continue;
    }
    if (positionals > 0) {
      positionals--;
      i++;
      continue;
    }
    break;
  }
  const rest = args.slice(i);
  if (name === 'time') {
    const output = timeOutput(args.slice(0, i));
    if (output !== null) assignments.push(writes('time -o', output));
  }
  if (rest.length === 0) return combine([assessed('read_only'), ...assignments]);
  // xargs adds arguments read from its input to the command; with -I it puts them in place
  // of the replace string, even inside a word (`sh -c 'echo {}'` runs the input as code).
  let command: Word[] = rest;
  if (name === 'xargs') {
    const replace = xargsReplace(args.slice(0, i));
    command = [...rest.map((w) => (replace !== null && w !== undefined && (replace === '' || w.includes(replace)) ? undefined : w)), undefined];
  }
  return combine([assessArgv(command, ctx), ...assignments]);
}

function envAssignment(name: string): RiskAssessment {
  const reason = loaderVariableReason(name);
  return reason ? unverified(reason) : assessed('read_only');
}

/** The file `time -o FILE` / `--output=FILE` writes, among the options before the command; null when none. */
function timeOutput(options: readonly Word[]): Word | null {
  for (let j = 0; j < options.length; j++) {
    const w = options[j];
    if (w === undefined) return undefined;
    if (w.startsWith('--')) {
      if (/^--output=/.test(w)) return w.slice('--output='.length);
      if (w === '--output') return options[j + 1];
      continue;
    }
    const m = /^-[pva]*o(.*)$/.exec(w);
    if (m) return m[1] !== '' ? m[1] : options[j + 1];
    if (w === '-f' || w === '--format') j++;
  }
  return null;
}

/** `xargs -I R` / `--replace[=R]` (`{}` by default): the replace string, or null without one. */
function xargsReplace(options: readonly Word[]): string | null {
  let replace: string | null = null;
  for (let j = 0; j < options.length; j++) {
    const w = options[j];
    if (w === undefined) return '';
    if (w === '--replace') replace = '{}';
    else if (w.startsWith('--replace=')) replace = w.slice('--replace='.length);
    else if (!w.startsWith('--')) {
      const m = /^-[0rtpxo]*I(.*)$/.exec(w);
      if (m) replace = m[1] !== '' ? m[1]! : (options[j + 1] ?? '');
    }
  }
  return replace;
}

/** Writing a file: modify, or unverified when it is configuration or programs later commands load. */
function writes(what: string, file: Word): RiskAssessment {
  if (file === undefined) return unverified(`${what} writes a file named at run time`);
  return CONFIG_PATH.test(file) ? unverified(`${what} writes ${file}, configuration or programs that later commands load`) : assessed('modify', `${what} writes ${file}`);
}

/** `jobs -x CMD ARGS`: runs CMD with job specs in ARGS replaced by process ids. */
function assessJobsExec(args: readonly Word[], ctx: ArgvContext): RiskAssessment {
  const at = args.findIndex((a) => a === undefined || /^-[a-z]*x/.test(a));
  if (args[at] === undefined) return unverified('jobs options are computed at run time');
  // `jobs -x cmd %1`: a job spec becomes a process id.
  const command = args.slice(at + 1).map((w) => (w?.startsWith('%') ? undefined : w));
  if (command.length === 0) return assessed('read_only');
  return assessArgv(command, ctx);
}

/** `ss` lists sockets; `-K`/`--kill` closes them, `-D`/`--diag FILE` writes a file. */
function assessSs(args: readonly Word[]): RiskAssessment {
  if (args.some((a) => a === undefined)) return unverified('ss arguments are computed at run time');
  const words = args as string[];
  const parts: RiskAssessment[] = [assessed('read_only')];
  for (let j = 0; j < words.length; j++) {
    const w = words[j]!;
    if (w === '--kill' || /^-[a-zA-Z0-9]*K/.test(w)) parts.push(assessed('destructive', 'ss -K closes the sockets it lists'));
    else if (w.startsWith('--diag')) parts.push(writes('ss --diag', w.includes('=') ? w.slice(w.indexOf('=') + 1) : words[j + 1]));
    else if (/^-[a-zA-Z0-9]*D/.test(w)) parts.push(writes('ss -D', w.endsWith('D') ? words[j + 1] : w.slice(w.indexOf('D') + 1)));
  }
  return combine(parts);
}

function assessTrap(args: readonly Word[], ctx: ArgvContext): RiskAssessment {
  const [action] = args.filter((a) => !isOption(a));
  if (action === undefined) return args.length === 0 || args.every(isOption) ? assessed('read_only') : unverified('trap runs code computed at run time');
  return action === '' || action === '-' ? assessed('read_only') : ctx.shell(action, 'bash', ctx.depth);
}

/** `bash -c '…'` is parsed; a script file or standard input cannot be read ahead. */
function assessShellProgram(name: string, args: readonly Word[], ctx: ArgvContext): RiskAssessment {
  let command = false;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined) return unverified(`the arguments of ${name} are computed at run time`);
    if (arg === '--' || arg === '-') {
      i++;
      break;
    }
    if (arg === '-o' || arg === '+o' || arg === '-O' || arg === '+O' || arg === '--rcfile' || arg === '--init-file') {
      if (arg === '--rcfile' || arg === '--init-file') return unverified(`${name} ${arg} runs a file as code`);
      i++;
      continue;
    }
    if (/^[-+][A-Za-z]+$/.test(arg)) {
      if (arg.startsWith('-') && arg.includes('c')) command = true;
      continue;
    }
    if (arg.startsWith('--')) continue;
    break;
  }
  if (!command) {
    const script = args[i];
    return unverified(script === undefined && i >= args.length ? `${name} runs commands from its input` : `${name} runs the script ${script ?? '(computed at run time)'}`);
  }
  const script = args[i];
  if (script === undefined) return unverified(`the command string of ${name} -c is computed at run time`);
  if (!PARSED_SHELLS.has(name)) return unverified(`${name} syntax is not parsed by the assessment`);
  return ctx.shell(script, name, ctx.depth);
}

/** `find`: read-only unless it deletes, writes a file, or runs a command (assessed in turn). */
function assessFind(args: readonly Word[], ctx: ArgvContext): RiskAssessment {
  const parts: RiskAssessment[] = [assessed('read_only')];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined) return unverified('find arguments are computed at run time');
    if (arg === '-delete') parts.push(assessed('destructive', 'find -delete removes files'));
    else if (arg === '-fprint' || arg === '-fprint0' || arg === '-fprintf' || arg === '-fls') parts.push(writes(`find ${arg}`, args[i + 1]));
    else if (arg === '-exec' || arg === '-execdir' || arg === '-ok' || arg === '-okdir') {
      // `;` ends it; `+` only right after `{}` (anywhere else it is an argument).
      const end = args.findIndex((a, j) => j > i && (a === ';' || (a === '+' && args[j - 1] === '{}')));
      // `{}` inside a longer word (`sh -c 'cat {}'`) puts a found name into it: its text is not known.
      const command = args.slice(i + 1, end === -1 ? args.length : end).map((w) => (w !== undefined && w !== '{}' && w.includes('{}') ? undefined : w));
      parts.push(assessArgv(command, ctx));
      if (end === -1) break;
      i = end;
    }
  }
  return combine(parts);
}

/** An awk program runs commands through `system()`, pipes and `getline`, and writes files with `>`. Only `-F` and `-v` are read. */
function assessAwk(name: string, args: readonly Word[]): RiskAssessment {
  let program: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined) return unverified(`${name} arguments are computed at run time`);
    if (program !== undefined) continue; // input files and assignments after the program
    if (arg === '--') continue;
    if (arg === '-F' || arg === '-v') {
      if (args[++i] === undefined) return unverified(`${name} arguments are computed at run time`);
      continue;
    }
    if (/^-[Fv]./.test(arg)) continue;
    if (isOption(arg)) return unverified(`${name} option ${arg} is not one the assessment knows`);
    program = arg;
  }
  if (program === undefined) return assessed('read_only');
  if (/system|\||getline|@|ENVIRON/.test(program)) return unverified(`the ${name} program runs commands`);
  if (!/>/.test(program)) return assessed('read_only');
  // `print > "file"`: a file named by a string can be read; one named by an expression cannot.
  for (const m of program.matchAll(/\bprintf?\b[^;{}\n]*?>>?\s*("(?:[^"\\]|\\.)*"|.?)/g)) {
    const target = m[1]!;
    if (!target.startsWith('"')) return unverified(`the ${name} program writes a file named at run time`);
    if (CONFIG_PATH.test(target.slice(1, -1))) return unverified(`the ${name} program writes ${target}, configuration or programs that later commands load`);
  }
  return assessed('modify', `the ${name} program may write files`);
}

/** One sed command the assessment can read: an optional address (line, `$`, `/re/`), then a printing or editing command. */
const SED_ADDRESS = String.raw`(?:\d+|\$|/(?:[^/\\\n]|\\.)*/)`;
const SED_COMMAND = new RegExp(
  String.raw`^\s*(?:${SED_ADDRESS}(?:\s*,\s*${SED_ADDRESS})?\s*!?\s*)?` +
    String.raw`(?:[pdqQnNgGhHxlPD=]|s/(?:[^/\\\n]|\\.)*/(?:[^/\\\n]|\\.)*/[gpiI0-9]*|y/(?:[^/\\\n]|\\.)*/(?:[^/\\\n]|\\.)*/)\s*$`,
);

/** True when every command of the script is one `SED_COMMAND` reads (no `e`, `w`, `r`, other delimiters, …). */
function sedScriptIsPlain(script: string): boolean {
  return script.split(/[;\n]/).every((command) => command.trim() === '' || SED_COMMAND.test(command));
}

/** sed scripts run commands (`e`, `s///e`) and write files (`w`); `-i` edits in place. Options outside a small set are unverified. */
function assessSed(args: readonly Word[]): RiskAssessment {
  const scripts: string[] = [];
  let inPlace = false;
  let explicit = false;
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined) return unverified('sed arguments are computed at run time');
    if (arg === '-e' || arg === '--expression') {
      const script = args[++i];
      if (script === undefined) return unverified('the sed script is computed at run time');
      scripts.push(script);
      explicit = true;
    } else if (/^-[nErsuz]*i/.test(arg) || /^--in-place(=|$)/.test(arg)) inPlace = true; // `-i.bak`: the rest of the word is the backup suffix
    else if (/^-[nErsuz]+$/.test(arg) || arg === '--posix' || arg === '--debug' || arg === '--quiet' || arg === '--silent' || arg === '--regexp-extended') continue;
    else if (isOption(arg)) return unverified(`sed option ${arg} is not one the assessment knows`);
    else operands.push(arg);
  }
  if (!explicit && operands[0] !== undefined) scripts.push(operands[0]);
  if (!scripts.every(sedScriptIsPlain)) return unverified('the sed script may run commands (e) or write files (w)');
  return inPlace ? assessed('modify', 'sed -i edits files') : assessed('read_only');
}

function assessTar(args: readonly Word[]): RiskAssessment {
  if (args.some((a) => a === undefined)) return unverified('tar arguments are computed at run time');
  const [mode, ...rest] = args as string[];
  // Creating an archive from named files writes only the archive; anything else (extracting,
  // long options that GNU tar takes abbreviated) is decided by the archive or the options.
  if (mode !== undefined && /^-?[cvzjJf]+$/.test(mode) && mode.includes('c') && rest.every((a) => !a.startsWith('-'))) {
    return assessed('modify', 'tar writes an archive');
  }
  if (mode !== undefined && /^-?[tvzjJf]+$/.test(mode) && mode.includes('t') && rest.every((a) => !a.startsWith('-'))) return assessed('read_only');
  return unverified('tar options or the archive decide which files tar writes or removes');
}

/** Infrastructure tools: their subcommand decides (`kubectl delete` destructive, `kubectl get` read-only, `docker run` runs code). */
function assessSubcommandTool(name: string, args: readonly Word[]): RiskAssessment {
  if (args.some((w) => w === undefined)) return unverified(`the ${name} command line is computed at run time`);
  const words = args as string[];
  // Every word counts (options take values we cannot tell apart from subcommands): a name
  // that looks destructive anywhere makes the whole line destructive.
  const terraform = name === 'terraform' || name === 'tofu';
  if (words.some((w) => DESTRUCTIVE_VERBS.has(operationVerb(w)) || EXTRA_DESTRUCTIVE_SUBCOMMANDS.has(w) || DESTRUCTIVE_PROGRAMS.has(w) || (terraform && w === 'destroy'))) {
    return assessed('destructive', `${name} ${words.filter((w) => !w.startsWith('-')).slice(0, 3).join(' ')} is destructive`);
  }
  const subcommands = words.filter((w) => !w.startsWith('-'));
  if (terraform) return assessTerraform(name, words, subcommands);
  if (name === 'crontab') return assessCrontab(words);
  if (name === 'journalctl') return words.length === 0 || subcommands.length === words.length ? assessed('read_only') : readerOptions(name, words);
  // A kubeconfig names exec credential plugins (programs run for a token), like $KUBECONFIG does.
  if (words.some((w) => /^--kubeconfig(=|$)/.test(w))) return unverified(`${name} --kubeconfig loads a file that can name programs to run`);
  if (name === 'helm' && words.some((w) => /^--post-renderer(=|$)/.test(w))) return unverified('helm --post-renderer runs the program it names');
  if (subcommands.some((w) => REMOTE_CODE_SUBCOMMANDS.has(w))) return unverified(`${name} ${subcommands[0]} runs code in a container or on another machine`);
  const first = subcommands[0];
  if (first !== undefined && READ_SUBCOMMANDS.has(first)) return assessed('read_only');
  if (first !== undefined && MODIFY_SUBCOMMANDS.has(first)) return assessed('modify');
  return unverified(`${name} ${first ?? ''} may do anything its configuration or plugins say`.replace(/ {2}/, ' '));
}

/** Terraform (and OpenTofu) subcommands that only read configuration and state; the others write files or infrastructure. */
const TERRAFORM_READ = new Set(['plan', 'show', 'validate', 'version', 'output', 'providers', 'graph', 'state list', 'state show', 'state pull', 'workspace list', 'workspace show']);
/** Subcommands that write local files (modules, providers, lock file, formatting, a plan file) but no infrastructure. */
const TERRAFORM_LOCAL = new Set(['init', 'get', 'fmt', 'providers lock', 'providers mirror', 'workspace new', 'workspace select', 'login', 'logout']);

/** `terraform plan` reads (with `-out` it writes the plan file); `apply`, `import`, `state mv`, … change what it manages. */
function assessTerraform(name: string, words: readonly string[], subcommands: readonly string[]): RiskAssessment {
  const [first, second] = subcommands;
  if (first === undefined) return assessed('read_only');
  const pair = `${first} ${second ?? ''}`.trim();
  if (first === 'plan' && words.some((w) => /^--?out(=|$)/.test(w))) return assessed('modify', `${name} plan -out writes a plan file`);
  if (first === 'plan' && words.some((w) => /^--?generate-config-out(=|$)/.test(w))) return assessed('modify', `${name} plan -generate-config-out writes a configuration file`);
  if (first === 'fmt' && words.some((w) => /^--?check(=true)?$/.test(w))) return assessed('read_only');
  // `providers`, `state` and `workspace` take a second word, and the pair decides (alone, they list or print usage).
  const key = first === 'providers' || first === 'state' || first === 'workspace' ? pair : first;
  if (TERRAFORM_READ.has(key) || key === 'state' || key === 'workspace') return assessed('read_only');
  if (TERRAFORM_LOCAL.has(key)) return assessed('modify', `${name} ${key} writes local files`);
  return unverified(`${name} ${key} changes the infrastructure or state it manages`);
}

/**
 * git subcommands that only read the repository. The checkout is trusted as the programs on
 * PATH are (its own configuration may name a textconv or fsmonitor program); what a command
 * line can add is not: `-c`, `--exec-path`, `--git-dir`, aliases and other subcommands stay unverified.
 */
const GIT_READ = new Set(['status', 'log', 'diff', 'show', 'rev-parse', 'ls-files', 'ls-tree', 'describe', 'shortlog', 'blame', 'rev-list', 'show-ref', 'whatchanged', 'grep', 'version', 'merge-base', 'name-rev', 'count-objects', 'cherry']);
/** Per listing subcommand: the first operands that only list (none: listing without an operand too). */
const GIT_LISTING: Record<string, { words: string[]; bare: boolean }> = {
  branch: { words: [], bare: true },
  tag: { words: [], bare: true },
  remote: { words: ['show', 'get-url'], bare: true },
  reflog: { words: ['show'], bare: true },
  stash: { words: ['list', 'show'], bare: false },
  worktree: { words: ['list'], bare: false },
};
/** `git branch`/`tag`/`remote` options that only list. */
const GIT_LIST_OPTIONS = /^(-[arvl]+|-vv|-p|--(all|remotes|list|verbose|show-current|stat|patch|merged|no-merged|contains|no-contains|points-at|sort|format|column|no-column|abbrev|no-abbrev|ignore-case)(=.*)?)$/;

function assessGit(args: readonly Word[]): RiskAssessment {
  const configured = unverified('git runs programs its command line or repository configuration names (-c, hooks, aliases)');
  if (args.some((a) => a === undefined)) return unverified('git arguments are computed at run time');
  const words = args as string[];
  let i = 0;
  // Global options before the subcommand: only those that cannot name a program.
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-C') i++;
    else if (w === '--no-pager' || w === '-P' || w === '--no-optional-locks' || w === '--literal-pathspecs' || w === '--no-replace-objects') continue;
    else if (w.startsWith('-')) return configured;
    else break;
  }
  const sub = words[i];
  const rest = words.slice(i + 1);
  if (sub === undefined) return assessed('read_only');
  // Options that name a program to run: an external diff, a pager for grep's files, remote helpers.
  if (rest.some((w) => w === '--ext-diff' || /^--(exec|upload-pack|receive-pack|open-files-in-pager)(=|$)/.test(w) || (sub === 'grep' && /^-O/.test(w)))) return configured;
  if (GIT_READ.has(sub)) {
    // `git diff --output=FILE` (also log, show) overwrites any file it names, configuration included.
    if (rest.some((w) => /^--output(=|$)/.test(w))) return unverified(`git ${sub} --output overwrites the file it names`);
    return assessed('read_only');
  }
  const listing = GIT_LISTING[sub];
  if (listing) {
    const operands = rest.filter((w) => !w.startsWith('-'));
    const options = rest.filter((w) => w.startsWith('-'));
    const removes = options.some((o) => /^-[a-zA-Z]*[dD]|^--delete/.test(o)) || ['remove', 'rm', 'prune', 'drop', 'clear', 'delete', 'expire'].includes(operands[0] ?? '');
    if (removes) return assessed('destructive', `git ${sub} ${[...options, ...operands].slice(0, 2).join(' ')} removes refs or entries`);
    const lists =
      operands.length === 0 ? listing.bare : listing.words.includes(operands[0]!) || ((sub === 'branch' || sub === 'tag') && options.some((o) => o === '-l' || o === '--list'));
    if (lists && options.every((o) => GIT_LIST_OPTIONS.test(o))) return assessed('read_only');
    return assessed('modify', `git ${sub} ${operands[0] ?? ''} changes refs or configuration`.trimEnd());
  }
  return configured;
}

/** `tee` with no file (or only /dev/null, /dev/stdout, /dev/stderr) only copies its input to its output. */
function assessTee(args: readonly Word[]): RiskAssessment {
  if (args.some((a) => a === undefined)) return unverified('tee arguments are computed at run time');
  const files = (args as string[]).filter((a) => !/^-[aip]+$|^--(append|ignore-interrupts|output-error(=.*)?)$/.test(a) && a !== '--');
  const written = files.filter((f) => !['/dev/null', '/dev/stdout', '/dev/stderr'].includes(f));
  if (written.length === 0) return assessed('read_only');
  const config = written.find((f) => CONFIG_PATH.test(f));
  return config ? unverified(`tee writes ${config}, configuration or programs that later commands load`) : assessed('modify', `tee writes ${written.join(', ')}`);
}

/**
 * `crontab -l` lists; `crontab -r` removes the table; `crontab FILE`, `crontab -` and a bare
 * `crontab` (standard input) install one, and `-e` edits it.
 */
function assessCrontab(words: readonly string[]): RiskAssessment {
  let list = false;
  for (let j = 0; j < words.length; j++) {
    const w = words[j]!;
    if (w === '-u' || w === '-n') j++; // user, or the host that runs the jobs
    else if (/^-[a-zA-Z]*r/.test(w)) return assessed('destructive', 'crontab -r removes the crontab');
    else if (/^-[ilc]+$/.test(w) && /[lc]/.test(w)) list = true;
    else if (w === '-i') continue;
    else if (w === '-e') return assessed('modify', 'crontab -e edits the crontab');
    else if (w.startsWith('-') && w !== '-') return unverified(`crontab option ${w} is not one the assessment knows`);
    else return assessed('modify', 'crontab FILE installs a crontab');
  }
  return list ? assessed('read_only') : assessed('modify', 'crontab installs a crontab from its input');
}

/** journalctl with options: listing and filtering read; anything else is not assessed. */
function readerOptions(name: string, words: readonly string[]): RiskAssessment {
  const reading = /^(-[ufnbkqoraex]+|--(unit|since|until|lines|boot|follow|no-pager|output|reverse|priority|identifier|grep|utc|dmesg|user)(=.*)?)$/;
  return words.every((w) => !w.startsWith('-') || reading.test(w)) ? assessed('read_only') : unverified(`${name} options outside listing may change or remove things`);
}

/** The file of `sort -oFILE`, `-o FILE`, `--output=FILE` (or an abbreviation). */
function sortOutput(option: string, next: string | undefined): Word {
  if (option.startsWith('--')) return option.includes('=') ? option.slice(option.indexOf('=') + 1) : next;
  const rest = option.slice(option.indexOf('o') + 1);
  return rest !== '' ? rest : next;
}

/** Readers with options (or a second operand) that write or run something: only known options are read. */
function assessReaderWithWrites(name: string, args: readonly Word[]): RiskAssessment {
  if (args.some((a) => a === undefined)) return unverified(`${name} arguments are computed at run time`);
  const words = args as string[];
  const options = words.filter((a) => a.startsWith('-') && a !== '-');
  const operands = words.filter((a) => !a.startsWith('-') || a === '-');
  switch (name) {
    case 'sort': {
      // GNU sort takes abbreviated long options (`--out=` is `--output=`): only a fixed set is read.
      const known = /^(-[bdfghiMnrRsuVzc]+|-[kt].*|--(numeric-sort|reverse|unique|human-numeric-sort|version-sort|ignore-case|stable|general-numeric-sort|month-sort|zero-terminated|ignore-leading-blanks|dictionary-order|check|key=.*|field-separator=.*))$/;
      let i = 0;
      for (; i < words.length; i++) {
        const w = words[i]!;
        if (w === '-k' || w === '-t') i++;
        else if (w.startsWith('-') && w !== '-' && !known.test(w)) return /^-[a-zA-Z]*o/.test(w) || '--output'.startsWith(w.split('=')[0]!) ? writes('sort -o', sortOutput(w, words[i + 1])) : unverified(`sort option ${w} is not one the assessment knows`);
      }
      return assessed('read_only');
    }
    case 'uniq':
      if (!options.every((o) => /^-[cdiuDz]+$|^-[fsw]\d*$|^\d+$/.test(o))) return unverified('uniq options are not ones the assessment knows');
      return operands.length >= 2 ? assessed('modify', 'uniq writes its second operand') : assessed('read_only');
    case 'date':
      if (options.some((o) => /^-[a-zA-Z]*s/.test(o) || (o.startsWith('--s') && '--set'.startsWith(o.split('=')[0]!)))) return assessed('modify', 'date -s sets the clock');
      return options.every((o) => /^(-[uRIr]+|-[df].*|-I\w*|--(utc|universal|rfc-email|rfc-3339=.*|iso-8601(=.*)?|date=.*|reference=.*|debug))$/.test(o)) ? assessed('read_only') : unverified('date options are not ones the assessment knows');
    case 'hostname':
      return operands.length > 0 || options.some((o) => /^-[a-zA-Z]*[bF]/.test(o) || o.startsWith('--file') || o.startsWith('--boot')) ? assessed('modify', 'hostname NAME sets the host name') : assessed('read_only');
    case 'dmesg':
      return options.some((o) => /^-[a-zA-Z]*[cCDEn]/.test(o) || /^--(clear|read-clear|console)/.test(o)) ? assessed('modify', 'dmesg -c clears the kernel log') : assessed('read_only');
    case 'mount':
      return words.length === 0 || (words.length === 1 && words[0] === '-l') ? assessed('read_only') : assessed('modify', 'mount attaches a file system');
    default: // rg
      return options.some((o) => o.startsWith('--pre') || o.startsWith('--hostname-bin') || o.startsWith('--search-zip') || /^-[a-zA-Z]*z/.test(o)) ? unverified('rg --pre runs another program') : assessed('read_only');
  }
}

/**
 * Builtins that assign to variables they are given by name (`read PATH`, `printf -v PATH`,
 * `export "PATH=…"`, `mapfile -C callback`, `set -k`): a loader variable among those names
 * changes what later commands run; a callback is code. Null when nothing of that kind is seen.
 */
function assessAssigningBuiltin(name: string, args: readonly Word[]): RiskAssessment | null {
  if ((name === 'mapfile' || name === 'readarray') && args.some((a) => a === undefined || /^-[a-zA-Z]*C/.test(a))) return unverified(`${name} -C runs a callback as code`);
  if (name === 'set' && args.some((a) => a === undefined || /^-[a-zA-Z]*k/.test(a) || a === 'keyword')) return unverified('set -k makes later words assignments');
  for (const arg of args) {
    if (arg === undefined) return unverified(`the names ${name} assigns are computed at run time`);
    const named = /^([A-Za-z_][A-Za-z0-9_]*)(\[|\+?=|$)/.exec(arg);
    const reason = named ? loaderVariableReason(named[1]!) : null;
    if (reason) return unverified(`${name} ${named![1]}: ${reason}`);
  }
  return null;
}
