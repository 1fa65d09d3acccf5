// Before `npm test` builds or runs anything: is every system program the suite starts for real
// present? Lists EVERYTHING missing in one message, with the install lines, and exits 1; exits 0
// silently when all is there. No network and no child processes (well under a second).
//
// `--apt` (used by scripts/test.sh): print only the Debian packages that would supply what is
// missing, space-separated, and exit 0; the check itself is the same.
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, as a child process spawned by name would find it. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/**
 * The AWS CLI's major version at `path`, without running it (`aws --version` takes a second):
 * Debian's package and AWS's installer both keep the version where it can be read. Null if unknown.
 */
function awsMajorVersion(path) {
  try {
    // AWS's own installer: /usr/local/aws-cli/v2/<version>/dist/aws
    const match = /\/aws-cli\/v(\d+)\//.exec(realpathSync(path));
    if (match) return Number(match[1]);
  } catch {}
  try {
    // Debian's awscli package (its /usr/bin/aws is a Python script importing this module)
    const init = readFileSync('/usr/lib/python3/dist-packages/awscli/__init__.py', 'utf8');
    const match = /__version__\s*=\s*['"](\d+)\./.exec(init);
    if (match) return Number(match[1]);
  } catch {}
  return null;
}

/** Each entry: what is missing, why the suite needs it, and how to get it (apt package or another line). */
const missing = [];

const [nodeMajor] = process.versions.node.split('.').map(Number);
if (nodeMajor < 20) {
  missing.push({ what: `Node.js 20 or newer (this is ${process.version})`, install: 'Node.js 20+ from nodejs.org' });
}

const haveModules = existsSync(join(root, 'node_modules', 'vitest', 'package.json'));
if (!haveModules) {
  missing.push({ what: 'node_modules (the project is not installed)', why: 'vitest, tsc', install: 'npm ci' });
  // npm ci compiles better-sqlite3 where no prebuilt binary downloads: it needs a C++ toolchain.
  for (const [program, apt] of [
    ['make', 'make'],
    ['g++', 'g++'],
    ['python3', 'python3'],
  ]) {
    if (!onPath(program)) missing.push({ what: program, why: 'npm ci compiles better-sqlite3', apt });
  }
}

for (const [program, apt, why] of [
  ['redis-server', 'redis-server', 'the queue (scale-out) tests start their own Redis'],
  ['script', 'bsdutils', 'the interactive CLI tests run under a pseudo-terminal'],
  ['setsid', 'util-linux', 'the process-tree tests'],
  ['bash', 'bash', 'shell commands run in bash'],
]) {
  if (!onPath(program)) missing.push({ what: `${program} (not on PATH)`, why, apt });
}

const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!executable(chromium)) {
  missing.push({
    what: `chromium at ${chromium}${process.env.CHROMIUM_PATH ? ' (CHROMIUM_PATH)' : ''}`,
    why: 'the dashboard tests drive a real browser; set CHROMIUM_PATH for another location',
    apt: 'chromium',
  });
}

/**
 * Whether apt installs the AWS CLI v2, read from /etc/os-release (the preflight runs no apt):
 * Debian packages v2 as `awscli` from 12 (bookworm) on, testing and unstable included (no
 * VERSION_ID). Ubuntu 24.04 has no such package, and older Debian and Ubuntu package v1.
 */
function aptHasAwsCliV2() {
  let text;
  try {
    text = readFileSync('/etc/os-release', 'utf8');
  } catch {
    return false;
  }
  const field = (name) => new RegExp(`^${name}=["']?([^"'\\n]*)`, 'm').exec(text)?.[1];
  if (field('ID') !== 'debian') return false;
  const version = field('VERSION_ID');
  return version === undefined || Number(version) >= 12;
}

const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
/** AWS's own installer, putting `aws` at /usr/bin/aws, where the suite runs it. */
const awsInstaller = [
  "the AWS CLI v2 from AWS's installer (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html),",
  '    into /usr/bin, where the suite runs it:',
  '    curl -fsSLo awscliv2.zip "https://awscli.amazonaws.com/awscli-exe-linux-$(uname -m).zip" && unzip -q awscliv2.zip',
  `    ${sudo}./aws/install --bin-dir /usr/bin`,
].join('\n');
const awsCliV2 = aptHasAwsCliV2() ? { apt: 'awscli' } : { install: awsInstaller };

// The AWS tests call /usr/bin/aws by path: a pip-installed v1 `aws` earlier on PATH is never used.
if (!executable('/usr/bin/aws')) {
  missing.push({
    what: 'the AWS CLI v2 at /usr/bin/aws',
    why: 'the AWS tests run it against a local emulator',
    ...awsCliV2,
  });
} else {
  const major = awsMajorVersion('/usr/bin/aws');
  if (major !== null && major < 2) {
    missing.push({
      what: `the AWS CLI v2 at /usr/bin/aws (found v${major})`,
      why: 'the AWS tests need v2 behaviour (remove the v1 first: apt-get remove awscli, or pip uninstall awscli)',
      ...awsCliV2,
    });
  }
}

if (!onPath('moto_server')) {
  missing.push({
    what: 'moto_server (not on PATH)',
    why: 'the AWS tests run against this local AWS emulator',
    install: "pip install 'moto[server]'",
  });
}

if (process.argv.includes('--apt')) {
  const packages = [...new Set(missing.flatMap((m) => (m.apt ? [m.apt] : [])))];
  if (packages.length > 0) console.log(packages.join(' '));
  process.exit(0);
}

if (missing.length > 0) {
  const lines = [
    `Missing what the test suite needs (${missing.length}); no test was run:`,
    ...missing.map((m) => `  - ${m.what}${m.why ? `: ${m.why}` : ''}`),
    'Install:',
  ];
  const packages = [...new Set(missing.flatMap((m) => (m.apt ? [m.apt] : [])))];
  if (packages.length > 0) lines.push(`  ${sudo}apt-get install -y ${packages.join(' ')}`);
  for (const line of new Set(missing.flatMap((m) => (m.install ? [m.install] : [])))) lines.push(`  ${line}`);
  lines.push(
    'Or run `npm run test:all`: it installs the Debian packages when it can (as root or with',
    'passwordless sudo), starts its own moto_server and redis-server, then lints and runs every suite.',
  );
  console.error(lines.join('\n'));
  process.exit(1);
}
