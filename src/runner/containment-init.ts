/**
 * The init process of a command's own PID namespace, and the reports it sends the engine.
 *
 * Why an init of our own: in a new PID namespace, PID 1 receives only the signals it has a
 * handler for, so a command running as PID 1 (`unshare --fork cmd`) would shrug off SIGTERM,
 * its own `kill $$`, and `unshare` cannot re-raise a SIGKILL (it exits 1 instead). So PID 1 is
 * this small program, and the command runs as its child with ordinary signal semantics:
 *  - it reports its pid as the engine sees it, forks, and execs the command;
 *  - SIGTERM sent to it is passed to every process in the namespace (`kill -1` from PID 1);
 *  - it reaps every orphan (double-forked daemons re-parent to it, never to the host's init);
 *  - when the command ends it reports the exact wait status (exit code or signal number),
 *    and if anything is left it sends it SIGTERM and says so, so the engine can SIGKILL this
 *    init after the grace period; its death makes the kernel kill everything in the namespace.
 * It is Perl because Perl is present wherever util-linux is on Debian-like systems (perl-base
 * is essential) and can do all of this without loading a module.
 *
 * File descriptors: 1 is the command's stdout, 2 the report channel (this program's and
 * unshare's own messages land there too, never in the command's output), 3 the command's
 * stderr, which the command gets as its fd 2. The command inherits nothing else from us.
 */

/** Prefix under which the engine passes PERL* variables past the init (restored for the command). */
export const SAVED_ENV_PREFIX = 'CLOUDOPS_SAVED_';

/**
 * Guard first: `kill -1` means "every process in the namespace" only for PID 1; anywhere else
 * it would signal every process the user may signal, so outside a new namespace this refuses.
 * Environment variables that steer Perl itself (PERL5OPT, PERL5LIB, ...) were renamed by the
 * engine so they cannot change this program; they are restored for the command.
 */
export const INIT_SCRIPT = `exit 125 if $$ != 1;
my $got;
$SIG{TERM} = sub { $got = 1; kill 'TERM', -1 if $$ == 1 };
print STDERR 'R ' . (readlink('/proc/self') || 0) . "\\n";
my $pid = fork;
if (!defined $pid) { print STDERR 'E ' . ($! + 0) . "\\n"; exit 127 }
if (!$pid) {
  $SIG{TERM} = 'DEFAULT';
  kill 'TERM', $$ if $got;
  for (keys %ENV) { $ENV{$1} = delete $ENV{$_} if /^${SAVED_ENV_PREFIX}(PERL.*)$/s }
  open(my $ctl, '>&', \\*STDERR) or exit 127;
  open(STDERR, '>&3') or exit 127;
  open(my $fd3, '>&=', 3) and close $fd3;
  exec { $ARGV[0] } @ARGV;
  my $errno = $! + 0;
  print $ctl "E $errno\\n";
  exit 127;
}
close STDOUT;
open(my $fd3, '>&=', 3) and close $fd3;
while ((my $w = waitpid(-1, 0)) > 0) {
  next if $w != $pid;
  my $st = $?;
  1 while waitpid(-1, 1) > 0;
  my $left = ($$ == 1 && kill(0, -1)) ? ' L' : '';
  kill 'TERM', -1 if $left && $$ == 1;
  my $report = ($st & 127 ? 'S ' . ($st & 127) : 'X ' . ($st >> 8)) . $left . "\\n";
  print STDERR $report;
}
exit 0;
`;

export type InitReport =
  /** The init runs as PID 1 of a new namespace; `pid` is its pid in the engine's namespace (0: unknown). */
  | { kind: 'ready'; pid: number }
  /** The command could not be executed (`errno` as from execve). */
  | { kind: 'exec_failed'; errno: number }
  /** The command ended; `leftovers`: processes remained and were sent SIGTERM. */
  | { kind: 'ended'; exitCode: number | null; signal: number | null; leftovers: boolean };

const REPORT = /^([REXS]) (\d+)( L)?$/;
const MAX_OTHER_CHARS = 2_000;

/** Reads the report channel: complete lines only, in order. */
export class InitChannel {
  private pending = '';
  /** Whatever was not a report (unshare's or Perl's own complaints), kept short, for error messages. */
  other = '';

  constructor(private readonly onReport: (report: InitReport) => void) {}

  push(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) !== -1) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      this.line(line);
    }
  }

  end(): void {
    if (this.pending !== '') this.line(this.pending);
    this.pending = '';
  }

  private line(line: string): void {
    const m = REPORT.exec(line);
    if (!m) {
      if (this.other.length < MAX_OTHER_CHARS) this.other = `${this.other}${line}\n`.slice(0, MAX_OTHER_CHARS);
      return;
    }
    const n = Number(m[2]);
    switch (m[1]) {
      case 'R':
        return this.onReport({ kind: 'ready', pid: n });
      case 'E':
        return this.onReport({ kind: 'exec_failed', errno: n });
      case 'X':
        return this.onReport({ kind: 'ended', exitCode: n, signal: null, leftovers: m[3] !== undefined });
      default:
        return this.onReport({ kind: 'ended', exitCode: null, signal: n, leftovers: m[3] !== undefined });
    }
  }
}
