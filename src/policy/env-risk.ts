/**
 * Environment variables that change what a program loads or runs. With one of them set by a
 * request, what the command does is no longer what its argv says: `NODE_OPTIONS=--import=…`
 * runs code in any node, `PATH` picks another `aws`, `AWS_CONFIG_FILE` can name a
 * `credential_process`, `BROWSER` / `PAGER` are run by tools that open them. Such a command's
 * effect is unknowable: the risk assessment marks it unverified, and the network adapters
 * (HTTP, MCP) refuse these names unless the operator allows them one by one.
 */

/** Exact names. */
const EXACT = new Set([
  'PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'BROWSER',
  'PAGER',
  'MANPAGER',
  'EDITOR',
  'VISUAL',
  'LESSOPEN',
  'LESSCLOSE',
  'AWS_PAGER',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_DATA_PATH',
  'AWS_CLI_AUTO_PROMPT',
  'HOME',
  'XDG_CONFIG_HOME',
  'LOCPATH',
  'GCONV_PATH',
  'HOSTALIASES',
  'RES_OPTIONS',
  'MALLOC_CHECK_',
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'GEM_PATH',
  'GEM_HOME',
  'LUA_PATH',
  'LUA_CPATH',
  'TCLLIBPATH',
  'SSH_ASKPASS',
  'SUDO_ASKPASS',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_EXEC_PATH',
  'GIT_ASKPASS',
  'DOTNET_STARTUP_HOOKS',
  'CORECLR_PROFILER_PATH',
  'SHELL',
  // Bash's own tables of what a name runs.
  'BASH_CMDS',
  'BASH_ALIASES',
  // Tool configuration that can name programs to run (exec credential plugins, filters, proxies).
  'KUBECONFIG',
  'TAR_OPTIONS',
  'RSYNC_CONNECT_PROG',
  'RSYNC_RSH',
  'RIPGREP_CONFIG_PATH',
  'CURL_HOME',
  'WGETRC',
  'DOCKER_CONFIG',
]);

/** Prefixes: whole families of loader, interpreter and tool settings. */
const PREFIXES = [
  'LD_',
  'DYLD_',
  'PYTHON',
  'PERL5',
  'PERL_',
  'PERLLIB',
  'RUBY',
  'BUNDLE_',
  'GIT_',
  'NPM_CONFIG_',
  'BASH_FUNC_',
  'GLIBC_',
  'MALLOC_',
  'TF_CLI_',
  'CLOUDSDK_',
  'HELM_',
  'KUBECTL_',
];

/** Variables that name a program to run: set to the empty string they name none (`AWS_PAGER=""` turns the pager off). */
const PROGRAM_NAMES = new Set(['PAGER', 'MANPAGER', 'AWS_PAGER', 'BROWSER', 'EDITOR', 'VISUAL']);

/** Why setting `name` (to `value`, when known) makes a command's effect unknowable, or null when it does not. */
export function loaderVariableReason(name: string, value?: string): string | null {
  const upper = name.toUpperCase();
  if (value === '' && PROGRAM_NAMES.has(upper)) return null;
  if (EXACT.has(name) || EXACT.has(upper) || PREFIXES.some((prefix) => upper.startsWith(prefix.toUpperCase()))) {
    return `${name} changes which programs or code a command loads`;
  }
  return null;
}

/** Names in `env` that change what a program loads or runs, sorted. */
export function loaderVariables(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env)
    .filter((name) => loaderVariableReason(name, env[name]) !== null)
    .sort();
}
