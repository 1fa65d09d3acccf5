// Runs one peer of one case in a fresh process, so timings and memory are per peer:
//   node bench/child.mjs <case> <peer>      (options as JSON in BENCH_PEER_OPTS)
// Prints one line `@@RESULT <json>` on stdout, then exits. Any process this one leaves
// behind is killed (and counted in `leftover_processes`), so a run never orphans anything.
import { descendants, killDescendants, waitGone } from './lib.mjs';

const [caseName, peer] = process.argv.slice(2);
const opts = JSON.parse(process.env.BENCH_PEER_OPTS ?? '{}');

// Process warnings (the runner starts us with --no-warnings) are collected and reported once each.
const warnings = new Map();
process.on('warning', (w) => {
  const key = `${w.name}: ${w.message}`.replace(/\d+ (abort|error|drain|close) listeners/, 'N $1 listeners');
  warnings.set(key, (warnings.get(key) ?? 0) + 1);
});

let code = 0;
let result;
try {
  const mod = await import(`./cases/${caseName}.mjs`);
  result = await mod.runPeer(peer, opts);
} catch (err) {
  code = 1;
  result = { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}
// Helpers a closed engine lets go (its spawn server) exit on their own within a moment.
await waitGone(descendants(process.pid), 1000);
result.leftover_processes = killDescendants();
result.warnings = [...warnings].map(([message, count]) => (count > 1 ? `${message} (×${count})` : message));
process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`, () => process.exit(code));
