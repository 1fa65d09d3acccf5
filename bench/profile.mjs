// Summarize a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time, and self
// time by origin (engine code in dist/, Node internals, dependencies, GC, ...).
//   node bench/profile.mjs file.cpuprofile [top]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, mdTable } from './stats.mjs';

function originOf(url, name) {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return '(program: native, not attributed)';
  if (name === '(idle)') return '(idle)';
  if (!url) return 'native / builtin';
  if (url.includes('/node_modules/')) return `dependency: ${url.split('/node_modules/').pop().split('/')[0]}`;
  if (isEngine(url)) return 'engine (dist/)';
  if (url.startsWith('node:')) return 'Node internals';
  if (url.includes('/bench/')) return 'benchmark harness';
  return 'other';
}

const isEngine = (url) => url.includes('/dist/') && !url.includes('/node_modules/');

function shortUrl(url) {
  if (!url) return '';
  if (url.includes('/node_modules/')) return url.split('/node_modules/').pop();
  if (isEngine(url)) return `dist/${url.split('/dist/').pop()}`;
  if (url.includes('/bench/')) return `bench/${url.split('/bench/').pop()}`;
  return url.startsWith('node:') ? url : basename(url);
}

export function summarize(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  // Inclusive ("total") time of engine functions: each sample counts once for every distinct
  // dist/ function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (cf) => `${cf.functionName || '(anonymous)'}\u0000${cf.url}\u0000${cf.lineNumber}`;
  const inclusive = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id).callFrame;
      if (!isEngine(cf.url)) continue;
      const key = keyOf(cf);
      if (seen.has(key)) continue;
      seen.add(key);
      const e = inclusive.get(key) ?? {
        name: cf.functionName || '(anonymous)',
        where: `${shortUrl(cf.url)}:${cf.lineNumber + 1}`,
        us: 0,
      };
      e.us += us;
      inclusive.set(key, e);
    }
  }
  const fns = new Map();
  const origins = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const key = `${name}\u0000${callFrame.url}\u0000${callFrame.lineNumber}`;
    const entry = fns.get(key) ?? {
      name,
      where: callFrame.url ? `${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}` : '',
      us: 0,
    };
    entry.us += us;
    fns.set(key, entry);
    const origin = originOf(callFrame.url, name);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
  }
  const topFns = [...fns.values()].sort((a, b) => b.us - a.us).slice(0, top);
  const byOrigin = [...origins.entries()].sort((a, b) => b[1] - a[1]);
  const topEngine = [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, top);
  return {
    engineTotal: topEngine.map((f) => ({ ...f, ms: f.us / 1000, pct: (100 * f.us) / total })),
    busyMs: total / 1000,
    idleMs: idle / 1000,
    top: topFns.map((f) => ({ ...f, ms: f.us / 1000, pct: (100 * f.us) / total })),
    origins: byOrigin.map(([origin, us]) => ({ origin, ms: us / 1000, pct: (100 * us) / total })),
  };
}

export function summaryMarkdown(s) {
  const lines = [];
  lines.push(`Busy ${fmt(s.busyMs, 0)} ms, idle ${fmt(s.idleMs, 0)} ms (main thread).`, '');
  lines.push(
    mdTable(
      ['self time by origin', 'ms', '% of busy'],
      s.origins.map((o) => [o.origin, fmt(o.ms, 0), fmt(o.pct, 1)]),
    ),
    '',
  );
  lines.push(
    mdTable(
      ['function (top self time)', 'where', 'self ms', '% of busy'],
      s.top.map((f) => [`\`${f.name}\``, f.where, fmt(f.ms, 0), fmt(f.pct, 1)]),
      'llrr',
    ),
    '',
  );
  lines.push(
    mdTable(
      ['engine function (top total time, callees included)', 'where', 'total ms', '% of busy'],
      s.engineTotal.map((f) => [`\`${f.name}\``, f.where, fmt(f.ms, 0), fmt(f.pct, 1)]),
      'llrr',
    ),
  );
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/profile.mjs file.cpuprofile [top]');
    process.exit(2);
  }
  console.log(summaryMarkdown(summarize(file, Number(top ?? 15))));
}
