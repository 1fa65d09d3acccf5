// The benchmark suite: `npm run bench` (builds first), or `node bench/run.mjs [options]`.
//
//   --only=spawn,cancel   run some cases (spawn, output, latency, cancel, scheduler, memory, queue, history)
//   --write               write BENCHMARKS.md even for a partial or scaled run
//   --md=PATH             where to write (default: BENCHMARKS.md at the repo root)
//   --no-profile          do not profile missed targets
//   BENCH_SCALE=0.1       shrink every case (per-case size variables override it)
//   BENCH_ENGINE=path     benchmark another build's index.js (e.g. a scratch build with a fix)
//
// Every peer of every case runs in its own Node process (bench/child.mjs), so timings and
// memory are per peer. Targets print PASS/FAIL; a miss never makes the exit code non-zero.
// A missed target is profiled (node --cpu-prof on that peer, at a reduced size) and the
// hottest functions go into "Misses and why", with the analysis kept in
// bench/misses-analysis.md (hand-written, included as is).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCALE } from './lib.mjs';
import { summarize, summaryMarkdown } from './profile.mjs';
import { mdTable } from './stats.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(HERE);
const CASES = ['spawn', 'output', 'latency', 'cancel', 'scheduler', 'memory', 'queue', 'history'];

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
    return [m[1], m[2] ?? true];
  }),
);
const only =
  typeof args.only === 'string'
    ? args.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : CASES;
for (const c of only) {
  if (!CASES.includes(c)) {
    console.error(`unknown case "${c}"; cases: ${CASES.join(', ')}`);
    process.exit(2);
  }
}
const complete =
  only.length === CASES.length && SCALE === 1 && !Object.keys(process.env).some((k) => /^BENCH_(?!SCALE)/.test(k));
const writeMd = args.write === true || complete;
const mdPath = typeof args.md === 'string' ? args.md : join(ROOT, 'BENCHMARKS.md');
const profileMisses = args['no-profile'] !== true;

// ---- running peers in child processes ----

let current = null; // the running child, killed (with its process group) on Ctrl-C
const leftovers = [];
const warningsSeen = new Set(); // process warnings the peers emitted ("case/peer: message")

function runChild(caseName, peer, opts, { nodeFlags = [], timeoutMs = 15 * 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', ...nodeFlags, join(HERE, 'child.mjs'), caseName, peer], {
      cwd: ROOT,
      env: { ...process.env, BENCH_PEER_OPTS: JSON.stringify(opts) },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // own group: a timeout or Ctrl-C kills it and whatever it started in that group
    });
    current = child;
    let out = '';
    let result = null;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      let nl;
      while ((nl = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('@@RESULT ')) result = JSON.parse(line.slice(9));
        else process.stdout.write(`    [${caseName}/${peer}] ${line}\n`);
      }
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      try {
        process.kill(-child.pid, 'SIGKILL'); // sweep the group, should anything be left in it
      } catch {}
      if (!result) return reject(new Error(`${caseName}/${peer}: child exited ${code ?? signal} without a result`));
      if (result.error) return reject(new Error(`${caseName}/${peer}: ${result.error}`));
      if (result.leftover_processes > 0)
        leftovers.push(`${caseName}/${peer}: ${result.leftover_processes} process(es) left behind (killed)`);
      for (const w of result.warnings ?? []) {
        const key = `${caseName}/${peer}: ${w}`;
        if (!warningsSeen.has(key)) process.stdout.write(`    [${caseName}/${peer}] warning: ${w}\n`);
        warningsSeen.add(key);
      }
      resolve(result);
    });
  });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    if (current) {
      try {
        process.kill(-current.pid, 'SIGKILL');
      } catch {}
    }
    process.exit(130);
  });
}

// ---- machine ----

function git(...a) {
  try {
    return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine() {
  const dirty = git('status', '--porcelain', '--', 'src');
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    os: `${process.platform} ${release()}`,
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: `${git('rev-parse', '--short', 'HEAD') || 'unknown'}${dirty ? ' + uncommitted changes in src/' : ''}`,
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

// ---- main ----

const log = (s) => process.stdout.write(`${s}\n`);
if (!process.env.BENCH_ENGINE && !existsSync(join(ROOT, 'dist', 'index.js'))) {
  console.error('dist/index.js is missing: run `npm run build` first (or use `npm run bench`)');
  process.exit(2);
}
const env = machine();
log(`cloudops-execution-engine benchmarks — ${env.cpu}, ${env.cores} cores, Node ${env.node}, load ${env.load}`);
log(
  `cases: ${only.join(', ')}; BENCH_SCALE=${SCALE}${writeMd ? `; writing ${mdPath}` : '; partial or scaled run: BENCHMARKS.md not written (--write to force)'}\n`,
);

const started = Date.now();
const sections = [];
const allTargets = [];
for (const name of only) {
  const mod = await import(`./cases/${name}.mjs`);
  log(`## ${mod.title}`);
  const t0 = Date.now();
  const loadAtStart = loadavg()[0].toFixed(2);
  const ctx = {
    peer: (caseName, peer, opts, options) => runChild(caseName, peer, opts, options),
    log,
  };
  let section;
  try {
    section = await mod.run(ctx);
  } catch (err) {
    log(`  ERROR: ${err.stack ?? err}`);
    section = { title: mod.title, intro: '', tables: [], ratios: [], targets: [], error: String(err.message ?? err) };
  }
  section.name = name;
  section.seconds = (Date.now() - t0) / 1000;
  section.load = `${loadAtStart} → ${loadavg()[0].toFixed(2)}`;
  sections.push(section);
  log('');
  if (section.intro) log(`${section.intro}\n`);
  for (const t of section.tables) {
    if (t.caption) log(t.caption);
    log(`${mdTable(t.headers, t.rows, t.align)}\n`);
  }
  for (const r of section.ratios ?? []) log(`  ratio: ${r}`);
  for (const t of section.targets) {
    log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.label}: ${t.value}`);
    allTargets.push({ ...t, section: section.title });
  }
  log(`  (${section.seconds.toFixed(1)} s)\n`);
}

// ---- profile misses ----

const profiles = [];
const misses = allTargets.filter((t) => !t.pass);
if (profileMisses && misses.length > 0) {
  const seen = new Set();
  const dir = mkdtempSync(join(tmpdir(), 'cee-bench-prof-'));
  try {
    for (const t of misses) {
      if (!t.profile) continue;
      const spec = t.profile;
      const key = `${spec.case}/${spec.peer}`;
      if (seen.has(key)) {
        profiles.find((p) => p.key === key).targets.push(t.label);
        continue;
      }
      seen.add(key);
      log(`## profiling ${key} (missed: ${t.label})`);
      const profDir = join(dir, key.replace(/\W+/g, '_'));
      try {
        await runChild(spec.case, spec.peer, spec.opts, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
        const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
        const s = summarize(join(profDir, file), 15);
        profiles.push({ key, targets: [t.label], opts: spec.opts, summary: s });
        log(`${summaryMarkdown(s)}\n`);
      } catch (err) {
        log(`  profiling failed: ${err.message ?? err}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const totalSeconds = (Date.now() - started) / 1000;
log('## Targets');
for (const t of allTargets) log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.label}: ${t.value}`);
for (const l of leftovers) log(`  warning: ${l}`);
if (warningsSeen.size)
  log(
    `  ${warningsSeen.size} distinct process warning(s) from peers (listed above${writeMd ? ' and in BENCHMARKS.md' : ''})`,
  );
log(`\ntotal ${totalSeconds.toFixed(0)} s`);

// ---- BENCHMARKS.md ----

if (writeMd) {
  const md = [];
  md.push('# Benchmarks', '');
  md.push(
    `Generated by \`npm run bench\` (\`bench/run.mjs\`); total run time ${Math.round(totalSeconds)} s. Re-running overwrites this file; the analysis of misses comes from \`bench/misses-analysis.md\`.`,
    '',
  );
  md.push('## Machine', '');
  md.push(
    mdTable(
      ['', ''],
      [
        ['CPU', env.cpu],
        ['cores', String(env.cores)],
        ['memory', env.memory],
        ['OS', env.os],
        ['Node.js', env.node],
        ['date', env.date],
        ['engine', `commit ${env.commit}`],
        ['load average at start', env.load],
      ],
      'll',
    ),
    '',
  );
  md.push('## How to reproduce', '');
  md.push('```sh');
  md.push('npm ci');
  md.push(
    'npm run bench                               # build, run every case, rewrite BENCHMARKS.md (6-9 min on 2 cores)',
  );
  md.push('node bench/run.mjs --only=spawn,cancel      # some cases (no build; BENCHMARKS.md untouched)');
  md.push('BENCH_SCALE=0.1 node bench/run.mjs          # everything 10x smaller, for a quick look');
  md.push('node bench/run.mjs --no-profile --write     # skip profiling of misses; write the file anyway');
  md.push('node bench/profile.mjs some.cpuprofile      # summarize a CPU profile the same way');
  md.push('```', '');
  md.push(
    'Size variables (each overrides `BENCH_SCALE`): `BENCH_SPAWN_N`, `BENCH_SPAWN_ROUNDS`, `BENCH_OUTPUT_BYTES`, `BENCH_LATENCY_LINES`, `BENCH_CANCEL_RUNS`, `BENCH_CANCEL_IGNORE_RUNS`, `BENCH_CANCEL_GRACE_MS`, `BENCH_SCHED_NODES`, `BENCH_MEMORY_N`; `BENCH_ENGINE=path/to/index.js` benchmarks another build (e.g. a branch with a fix) with the same suite. Every peer runs in a fresh Node process; the machine may have been running other work, so expect a few percent of noise between runs.',
    '',
  );
  md.push('## Targets', '');
  md.push(
    mdTable(
      ['target', 'measured', 'result'],
      allTargets.map((t) => [t.label, t.value, t.pass ? 'PASS' : '**FAIL**']),
      'lrl',
    ),
    '',
  );
  sections.forEach((s, i) => {
    md.push(`## ${i + 1}. ${s.title}`, '');
    if (s.error) md.push(`**Error:** ${s.error}`, '');
    if (s.intro) md.push(s.intro, '');
    md.push(`_Case time ${Math.round(s.seconds)} s; 1-minute load average ${s.load} (start → end)._`, '');
    for (const t of s.tables) {
      if (t.caption) md.push(t.caption, '');
      md.push(mdTable(t.headers, t.rows, t.align), '');
    }
    if (s.ratios?.length) md.push(...s.ratios.map((r) => `- ${r}`), '');
    if (s.notes?.length) md.push(...s.notes.map((n) => `- ${n}`), '');
    if (s.targets.length)
      md.push(...s.targets.map((t) => `- ${t.pass ? 'PASS' : '**FAIL**'}: ${t.label}: ${t.value}`), '');
  });
  md.push('## Misses and why', '');
  if (misses.length === 0) md.push('Every target was met.', '');
  else {
    md.push(...misses.map((t) => `- **${t.label}**: ${t.value}`), '');
    const analysis = join(HERE, 'misses-analysis.md');
    if (existsSync(analysis)) md.push(readFileSync(analysis, 'utf8').trim(), '');
    if (profiles.length) {
      md.push('### CPU profiles of the missed peers', '');
      md.push(
        '`node --cpu-prof` on the peer\'s process, summarized by `bench/profile.mjs` (self time; "busy" excludes idle).',
        '',
      );
      for (const p of profiles) {
        md.push(`#### ${p.key} (${JSON.stringify(p.opts)})`, '');
        md.push(summaryMarkdown(p.summary), '');
      }
    }
  }
  if (leftovers.length || warningsSeen.size) {
    md.push(
      '## Warnings',
      '',
      'Process warnings emitted by the peers (each peer runs with `--no-warnings`; they are collected instead), and processes a peer left behind:',
      '',
    );
    md.push(...[...warningsSeen].map((w) => `- ${w}`), ...leftovers.map((l) => `- ${l}`), '');
  }
  writeFileSync(mdPath, md.join('\n'));
  log(`wrote ${mdPath}`);
}
