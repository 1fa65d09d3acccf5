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
 *
 * The channel is not private: a command running as root can copy it (`pidfd_getfd`, or
 * /proc/<init>/fd/2) and write lines of its own. So the reader trusts only what no command can
 * have written: the first report (`R`, written before the command is forked) and the first end
 * report; and the end report must agree with the init's exit status, which is the command's
 * (see `initExitCode`). What is left to a root command is lying about itself (e.g. forging an
 * end report that matches the status it then exits with, or ptracing its init).
 */

/** Prefix under which the engine passes PERL* variables past the init (restored for the command). */
export const SAVED_ENV_PREFIX = 'CLOUDOPS_SAVED_';

/**
 * Guard first: `kill -1` means "every process in the namespace" only for PID 1; anywhere else
 * it would signal every process the user may signal, so outside a new namespace this refuses.
 * Environment variables that steer Perl itself (PERL5OPT, PERL5LIB, ...) were renamed by the
 * engine so they cannot change this program; they are restored for the command. Which ones
 * comes from the arguments (a count, then the names), never from the environment, so a
 * variable that merely carries the prefix is not turned into one (containment.ts drops those).
 * It exits with the command's status (128 + signal number for a signal), which the engine
 * checks the end report against.
 */
export const INIT_SCRIPT = `exit 125 if $$ != 1;
my $nsaved = shift @ARGV;
exit 125 if !defined $nsaved || $nsaved !~ /^[0-9]+$/s || $nsaved > @ARGV;
my @saved = splice(@ARGV, 0, $nsaved);
my ($got, $status) = (undef, 0);
$SIG{TERM} = sub { $got = 1; kill 'TERM', -1 if $$ == 1 };
print STDERR 'R ' . (readlink('/proc/self') || 0) . "\\n";
my $pid = fork;
if (!defined $pid) { print STDERR 'E ' . ($! + 0) . "\\n"; exit 127 }
if (!$pid) {
  $SIG{TERM} = 'DEFAULT';
  kill 'TERM', $$ if $got;
  for (@saved) { my $k = "${SAVED_ENV_PREFIX}$_"; $ENV{$_} = delete $ENV{$k} if /^PERL/s && exists $ENV{$k} }
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
  $status = $st & 127 ? 128 + ($st & 127) : $st >> 8;
  1 while waitpid(-1, 1) > 0;
  my $left = ($$ == 1 && kill(0, -1)) ? ' L' : '';
  kill 'TERM', -1 if $left && $$ == 1;
  my $report = ($st & 127 ? 'S ' . ($st & 127) : 'X ' . ($st >> 8)) . $left . "\\n";
  print STDERR $report;
}
exit $status;
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

/**
 * The exit status the init ends with after sending `report` (exec failure: the child's 127).
 * unshare exits with it too, so a report that disagrees with unshare's exit code is forged.
 */
export function initExitCode(report: Exclude<InitReport, { kind: 'ready' }>): number {
  if (report.kind === 'exec_failed') return 127;
  return report.signal !== null ? 128 + report.signal : (report.exitCode ?? -1);
}

/**
 * Reads the report channel: complete lines only, in order. Only reports the init alone can
 * have sent get through: `R` only as the very first report (written before the command
 * exists), and after it only the first end report (`X`/`S`/`E`); every later one is dropped.
 */
export class InitChannel {
  private pending = '';
  private sawReport = false;
  private sawReady = false;
  private sawEnd = false;
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
    const first = !this.sawReport;
    this.sawReport = true;
    if (m[1] === 'R' ? !first : !this.sawReady || this.sawEnd) return;
    if (m[1] === 'R') this.sawReady = true;
    else this.sawEnd = true;
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
