/**
 * Every bypass the adversarial review of the risk assessment confirmed (issue 13): commands
 * that delete a file, kill a process or run a destructive AWS operation but were assessed
 * read_only/modify with `verified: true`. Each must now come out destructive, or unverified
 * (which the default policy treats as destructive), and name a reason.
 *
 * The table is only meaningful if the payloads are real, so a representative case of each
 * shell/exec class is also run for real in bash against a sentinel in a temp dir: the
 * sentinel must be gone (the process killed, for the kill case). AWS cases are assessed only.
 */
import { type SpawnSyncOptionsWithStringEncoding, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { assessRequest } from '../../src/policy/approval.js';
import { assessCommand, RISK_LEVELS } from '../../src/policy/risk.js';
import { parseRequest } from '../../src/wire/parse.js';
import type { Command } from '../../src/wire/types.js';
import { tempDir } from '../helpers.js';

const CTX = { awsCliPath: '/usr/bin/aws' };

const shell = (command: string, sh = 'bash'): Command => ({ type: 'shell', command, shell: sh });
const exec = (program: string, ...args: string[]): Command => ({ type: 'exec', program, args });
const aws = (service: string, operation: string, ...args: string[]): Command => ({
  type: 'aws_cli',
  service,
  operation,
  args,
  profile: null,
  region: null,
});

interface Case {
  /** Review class (1–12) and what the case does. */
  name: string;
  command: Command;
  env?: Record<string, string>;
  /** The variable the reasons must name (environment cases). */
  names?: string;
  /** Run for real against the sentinel as this class's live-payload control. */
  live?: boolean;
  /** Overwrites a named file without deleting it: a `modify` effect, like `> file`, and must be rated at least that. */
  overwrites?: boolean;
}

/** The review's cases with their sentinel at `${dir}/s` (other fixtures named under `dir`). */
function cases(dir: string): Case[] {
  const S = join(dir, 's');
  const BIN = join(dir, 'bin'); // would hold an `ls` that is really rm
  const REPO = join(dir, 'repo');
  const arith = `$'a[\\x24(rm -f ${S})]'`; // decodes to a[$(rm -f S)] only at run time
  return [
    // 1. Words after a redirect, which the grammar dropped from the command.
    { name: '1 env </dev/null rm', command: shell(`env </dev/null rm -f ${S}`), live: true },
    { name: '1 env </dev/null rm -rf', command: shell(`env </dev/null rm -rf ${dir}`) },
    { name: '1 find </dev/null -delete', command: shell(`find ${dir} </dev/null -delete`) },
    { name: '1 env <<EOF rm', command: shell(`env <<EOF rm -f ${S}\nEOF`) },
    { name: '1 env </dev/null kill -9', command: shell('sleep 300 & env </dev/null kill -9 $!') },
    { name: '1 env >/dev/null rm', command: shell(`env >/dev/null rm -f ${S}`) },
    { name: '1 find 2>/dev/null -delete', command: shell('find . 2>/dev/null -delete') },

    // 2. Clustered short options of wrappers hiding the wrapped program.
    { name: '2 exec env -iu', command: exec('env', '-iu', 'ls', 'rm', '-f', S), live: true },
    { name: '2 exec xargs -tE', command: exec('xargs', '-tE', 'ls', 'rm', '-f', S) },
    { name: '2 shell xargs -tE', command: shell(`xargs -tE ls rm -f ${S} </dev/null`) },
    { name: '2 exec flock -nE', command: exec('/usr/bin/flock', '-nE', '1', 'ls', 'rm', '-f', S) },
    { name: '2 shell flock -nE', command: shell(`flock -nE 1 ls rm -f ${S}`) },
    { name: '2 exec time -po', command: exec('time', '-po', 'ls', 'rm', '-f', S) },
    { name: '2 exec -la', command: shell(`exec -la ls rm -f ${S}`) },
    { name: '2 env -iS attached', command: shell(`env -iSrm\\ -f\\ ${S}`) },
    { name: '2 script interpreter env -iu', command: { type: 'script', path: S, interpreter: 'env -iu ls rm -f' } },
    { name: '2 exec sudo -ng', command: exec('sudo', '-ng', 'tty', 'rm', '-f', S) },

    // 3. Shell state that changes which program a later word runs.
    { name: '3 BASH_CMDS', command: shell(`BASH_CMDS[ls]=/bin/rm; ls ${S}`), live: true },
    { name: '3 hash -rp', command: shell(`hash -rp /bin/rm ls; ls ${S}`) },
    { name: '3 BASH_ALIASES', command: shell(`shopt -s expand_aliases; BASH_ALIASES[ls]='rm -f'\nls ${S}`) },
    { name: '3 printf -v PATH', command: shell(`printf -v PATH %s ${BIN}; ls ${S}`) },
    { name: '3 read PATH', command: shell(`read PATH <<< ${BIN}; ls ${S}`) },
    { name: '3 export "PATH="', command: shell(`export "PATH=${BIN}"; ls ${S}`) },
    { name: "3 declare -x 'PATH='", command: shell(`declare -x 'PATH=${BIN}'; ls ${S}`) },
    { name: '3 set -k', command: shell(`set -k; ls PATH=${BIN} ${S}`) },

    // 4. Callbacks and arithmetic evaluation of text decoded at run time.
    { name: '4 mapfile -C', command: shell(`mapfile -t -C 'rm -f ${S} #' -c 1 a <<< x`) },
    { name: '4 readarray -C', command: shell(`readarray -C 'rm -f ${S} #' -c 1 a <<< x`) },
    { name: '4 (( x )) on decoded text', command: shell(`x=${arith}; (( x ))`), live: true },
    { name: '4 declare -i', command: shell(`declare -i x=${arith}`) },
    { name: '4 [[ -eq ]]', command: shell(`[[ ${arith} -eq 0 ]]`) },
    { name: '4 test -v', command: shell(`test -v ${arith}`) },
    { name: '4 printf -v subscript', command: shell(`printf -v ${arith} x`) },
    { name: '4 let escaped', command: shell(`let a\\[\\$\\(rm\\ -f\\ ${S}\\)\\]`) },
    { name: '4 let decoded', command: shell(`let ${arith}`) },

    // 5. Arithmetic on a variable the request's environment supplies.
    { name: '5 bash -c (( X )) with env X', command: exec('bash', '-c', '(( X ))'), env: { X: `a[$(rm -f ${S})]` } },

    // 6. Here-document delimiters, dash quoting and NUL in words.
    { name: '6 <<E"OF"', command: shell(`cat <<E"OF"\nEOF\nrm -f ${S}\nE"OF"\n`), live: true },
    { name: "6 <<E''OF", command: shell(`cat <<E''OF\nEOF\nrm -f ${S}\nE''OF\n`) },
    { name: "6 <<$'EOF'", command: shell(`cat <<$'EOF'\nEOF\nrm -f ${S}\n$'EOF'\n`) },
    { name: '6 <<$"EOF"', command: shell(`cat <<$"EOF"\nEOF\nrm -f ${S}\n$"EOF"\n`) },
    { name: "6 dash has no $'…'", command: shell(`echo $'\\'\nrm -f ${S}\n#\\''`, 'sh') },
    { name: '6 find NUL -delete', command: shell(`find ${dir} $'-delete\\0'`) },
    { name: '6 find NUL -exec', command: shell(`find ${dir} -name s $'-exec\\x00' rm {} +`) },

    // 7. `command` runs the program a function of the same name shadowed.
    { name: '7 command skill', command: shell('skill(){ :; }; sleep 300 & command skill -KILL -p $!'), live: true },
    { name: '7 command killall5', command: shell('killall5() { :; }; command killall5 -9') },
    { name: '7 command lvremove', command: shell('lvremove() { :; }; command lvremove -f vg/lv') },

    // 8. find -exec whose command takes `+` as an option argument.
    {
      name: '8 find -exec env -u +',
      command: shell(`find ${dir} -maxdepth 0 -exec env -u + rm -f ${S} \\;`),
      live: true,
    },
    {
      name: '8 exec find -exec env -u +',
      command: exec('find', dir, '-maxdepth', '0', '-exec', 'env', '-u', '+', 'rm', '-f', S, ';'),
    },

    // 9. Programs with options that run code, write files or destroy, in abbreviated or attached forms.
    { name: '9 awk -W interactive', command: shell(`awk -W interactive 'BEGIN{system("rm -f ${S}")}'`), live: true },
    { name: "9 sed -n '-e1e'", command: shell(`sed -n '-e1e rm -f ${S}' /bin/sh`) },
    { name: '9 exec sed -e1e', command: exec('sed', '-n', `-e1e rm -f ${S}`, '/bin/sh') },
    { name: '9 sed \\,/,e', command: shell("sed '\\,/,e rm -f ./s' /etc/passwd") },
    {
      name: '9 git ls-remote --upload-pack',
      command: shell(`git ls-remote --upload-pack='rm -f ${S}; git-upload-pack' ${REPO}`),
    },
    {
      name: '9 exec git ls-remote --upload-pack',
      command: exec('git', 'ls-remote', `--upload-pack=rm -f ${S}; git-upload-pack`, REPO),
    },
    { name: '9 git grep -O', command: shell(`git -C ${REPO} grep -O'rm -f ${S} #' -e root`) },
    { name: '9 git log --output', command: shell(`git log --output=${S} -1`) },
    { name: '9 git reset --har', command: exec('git', 'reset', '--har') },
    { name: '9 shell git reset --har', command: shell('git reset --har') },
    { name: '9 git branch -qD', command: exec('git', 'branch', '-qD', 'foo') },
    { name: '9 git push -uf', command: exec('git', 'push', '-uf', 'origin', 'main') },
    {
      name: '9 git rebase --exec',
      command: exec('git', '-C', join(dir, 'clone'), 'rebase', '--root', '--exec', `rm -f ${S}`),
    },
    { name: '9 sort -uo', command: shell(`sort -uo ${S} /etc/hostname`), overwrites: true },
    { name: '9 sort --out=', command: shell(`sort --out=${S} /etc/hostname`), overwrites: true },
    {
      name: '9 sort --compress-prog',
      command: exec('sort', '-S1', `--compress-prog=${join(dir, 'evil')}`, '/etc/services'),
    },
    { name: '9 tar --remove-f', command: shell(`tar -cf ${join(dir, 'x.tar')} --remove-f ${S}`) },
    { name: '9 tar --to-comm', command: shell(`tar -xf ${join(dir, 'x.tar')} --to-comm='rm -f ${S}'`) },
    {
      name: '9 tar with env TAR_OPTIONS',
      command: exec('tar', '-cf', join(dir, 'y.tar'), S),
      env: { TAR_OPTIONS: '--remove-files' },
      names: 'TAR_OPTIONS',
    },

    // 10. AWS operations that delete, run code or write local files.
    { name: '10 s3 sync --del', command: aws('s3', 'sync', 's3://bkt', dir, '--del') },
    { name: '10 exec aws s3 sync --del', command: exec('/usr/bin/aws', 's3', 'sync', 's3://bkt', dir, '--del') },
    { name: '10 dynamodb batch-write-item', command: aws('dynamodb', 'batch-write-item', '--request-items', '{}') },
    {
      name: '10 dynamodb execute-statement',
      command: aws('dynamodb', 'execute-statement', '--statement', "DELETE FROM t WHERE pk='a'"),
    },
    { name: '10 kms schedule-key-deletion', command: aws('kms', 'schedule-key-deletion', '--key-id', 'k') },
    { name: '10 route53 change-resource-record-sets', command: aws('route53', 'change-resource-record-sets') },
    { name: '10 organizations close-account', command: aws('organizations', 'close-account') },
    { name: '10 lambda invoke', command: aws('lambda', 'invoke', '--function-name', 'f', '/tmp/out') },
    { name: '10 ssm create-association', command: aws('ssm', 'create-association', '--name', 'AWS-RunShellScript') },
    { name: '10 ecs run-task', command: aws('ecs', 'run-task') },
    { name: '10 codebuild start-build', command: aws('codebuild', 'start-build') },
    { name: '10 emr ssh --command', command: aws('emr', 'ssh', '--command', 'rm -rf /') },
    { name: '10 ec2-instance-connect ssh', command: aws('ec2-instance-connect', 'ssh') },
    {
      name: '10 iot-data get-thing-shadow OUTFILE',
      command: aws('iot-data', 'get-thing-shadow', '--thing-name', 't', S),
      overwrites: true,
    },
    {
      name: '10 apigateway get-export OUTFILE',
      command: aws(
        'apigateway',
        'get-export',
        '--rest-api-id',
        'x',
        '--stage-name',
        's',
        '--export-type',
        'swagger',
        S,
      ),
      overwrites: true,
    },
    {
      name: '10 configure set credential_process',
      command: aws('configure', 'set', 'credential_process', `rm -f ${S}`),
    },

    // 11. Environment variables that make a read-only program load config that runs code.
    {
      name: '11 KUBECONFIG',
      command: exec('kubectl', 'get', 'pods'),
      env: { KUBECONFIG: join(dir, 'kc.yaml') },
      names: 'KUBECONFIG',
    },
    {
      name: '11 TAR_OPTIONS',
      command: exec('tar', '-tf', join(dir, 'x.tar')),
      env: { TAR_OPTIONS: '--remove-files' },
      names: 'TAR_OPTIONS',
    },
    {
      name: '11 RSYNC_CONNECT_PROG',
      command: exec('rsync', '--list-only', 'rsync://host/mod/'),
      env: { RSYNC_CONNECT_PROG: `rm -f ${S}` },
      names: 'RSYNC_CONNECT_PROG',
    },
    {
      name: '11 RIPGREP_CONFIG_PATH',
      command: exec('rg', 'root', '/etc/passwd'),
      env: { RIPGREP_CONFIG_PATH: join(dir, 'rgrc') },
      names: 'RIPGREP_CONFIG_PATH',
    },
    {
      name: '11 TF_CLI_ARGS',
      command: exec('terraform', 'show'),
      env: { TF_CLI_ARGS: '-destroy' },
      names: 'TF_CLI_ARGS',
    },
    {
      name: '11 TF_CLI_CONFIG_FILE',
      command: exec('terraform', 'show'),
      env: { TF_CLI_CONFIG_FILE: join(dir, 'tfrc') },
      names: 'TF_CLI_CONFIG_FILE',
    },
    {
      name: '11 CURL_HOME',
      command: exec('curl', '-s', 'http://localhost:8080/health'),
      env: { CURL_HOME: dir },
      names: 'CURL_HOME',
    },
    {
      name: '11 WGETRC',
      command: exec('wget', '-qO-', 'http://localhost:8080/health'),
      env: { WGETRC: join(dir, 'wgetrc') },
      names: 'WGETRC',
    },
    { name: '11 DOCKER_CONFIG', command: exec('docker', 'ps'), env: { DOCKER_CONFIG: dir }, names: 'DOCKER_CONFIG' },
    {
      name: '11 CLOUDSDK_CONFIG',
      command: exec('gcloud', 'compute', 'instances', 'list'),
      env: { CLOUDSDK_CONFIG: dir },
      names: 'CLOUDSDK_CONFIG',
    },
    { name: '11 SHELL', command: exec('ls', dir), env: { SHELL: join(dir, 'evil') }, names: 'SHELL' },

    // 12. Destructive subcommands of CLIs behind global options or under other verbs.
    {
      name: '12 kubectl global options delete',
      command: shell('kubectl -n a --context b --cluster c --user d delete pod x'),
    },
    { name: '12 gcloud beta delete', command: shell('gcloud beta compute instances delete vm1') },
    { name: '12 docker kill', command: shell('docker kill web') },
    { name: '12 systemctl kill', command: shell('systemctl kill nginx') },
    { name: '12 terraform apply -destroy', command: shell('terraform apply -destroy -auto-approve') },
    { name: '12 yum erase', command: shell('yum erase -y httpd') },
  ];
}

const assess = (c: Case) =>
  c.env ? assessRequest({ command: c.command, env: c.env, risk_level: null }, CTX) : assessCommand(c.command, CTX);

describe('each confirmed bypass is destructive or unverified, with a reason', () => {
  test.each(cases('/tmp/cee-sentinel').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const a = assess(c);
    if (c.overwrites) expect(['modify', 'destructive'], JSON.stringify(a)).toContain(a.risk_level);
    else expect(a.risk_level === 'destructive' || a.verified === false, JSON.stringify(a)).toBe(true);
    expect(a.reasons.length, 'names a reason').toBeGreaterThan(0);
    if (c.names) expect(a.reasons.join(' '), 'names the variable').toContain(c.names);
  });

  test('an escape beyond Unicode in a shell string is assessed, not thrown', () => {
    const a = assessCommand(shell("echo $'\\U110000'"), CTX);
    expect(RISK_LEVELS).toContain(a.risk_level);
    expect(Array.isArray(a.reasons)).toBe(true);
  });

  test('an aws_cli operation that reads as an option is refused at the wire, naming command.operation', () => {
    const request = {
      command: {
        type: 'aws_cli',
        service: 's3',
        operation: '-delete-bucket',
        args: ['--cli-input-json', '{"Bucket":"victim-bkt"}'],
      },
    };
    let error: unknown;
    try {
      parseRequest(request);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.field)).toContain('command.operation');
  });
});

describe('ordinary read-only work stays read-only and verified', () => {
  test.each([
    'ss -tlnp',
    'netstat -tlnp',
    'lsof -i :80',
    'dmesg',
    'journalctl -u nginx --since today',
    'top -bn1',
    'python3 --version',
    'node --version',
    'while read -r l; do [[ $l == *ERR* ]] && echo "$l"; done < app.log',
    'if [[ -f x ]]; then echo ok; fi; echo $(hostname)',
  ])('%s', (command) => {
    expect(assessCommand(shell(command), CTX)).toMatchObject({ risk_level: 'read_only', verified: true });
  });
});

/** Run a shell or exec case for real in `dir`, stdin closed. */
function run(c: Case, dir: string, script?: string) {
  const env = { ...process.env, ...c.env };
  const options: SpawnSyncOptionsWithStringEncoding = {
    cwd: dir,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    killSignal: 'SIGTERM',
  };
  switch (c.command.type) {
    case 'shell':
      return spawnSync(c.command.shell, ['-c', script ?? c.command.command], options);
    case 'exec':
      return spawnSync(c.command.program, c.command.args, options);
    default:
      throw new Error(`${c.name}: only shell and exec cases run`);
  }
}

describe('control: the payloads are live (run for real against a sentinel)', () => {
  const live = cases('/tmp/cee-sentinel').filter((c) => c.live);

  test('one case of each shell/exec class is run', () => {
    expect(live.map((c) => c.name.split(' ')[0]).sort()).toEqual(['1', '2', '3', '4', '6', '7', '8', '9']);
  });

  test.each(live.filter((c) => !c.name.startsWith('7 ')).map((c) => [c.name] as const))(
    '%s deletes the sentinel',
    (name) => {
      const dir = tempDir('cee-review-');
      const c = cases(dir).find((x) => x.name === name)!;
      const sentinel = join(dir, 's');
      writeFileSync(sentinel, 'SENTINEL\n');
      const result = run(c, dir);
      expect(result.error, String(result.error)).toBeUndefined();
      expect(existsSync(sentinel), `${name} left the sentinel: ${result.stderr}`).toBe(false);
    },
  );

  test('7 command skill kills the background process', () => {
    const dir = tempDir('cee-review-');
    const c = cases(dir).find((x) => x.name.startsWith('7 command skill'))!;
    if (c.command.type !== 'shell') throw new Error('shell case expected');
    // Wait for the sleep: killed by SIGKILL it ends with 137. Should the payload be dead, the
    // spawn timeout's SIGTERM ends the wait (trap) and kills the sleep, so nothing is left.
    const script = `${c.command.command}\npid=$!\ntrap 'kill -9 $pid 2>/dev/null; echo status=not-killed; exit 0' TERM\nwait $pid\necho "status=$?"`;
    const result = run(c, dir, script);
    expect(result.stdout.trim(), result.stderr).toBe('status=137');
  });
});
