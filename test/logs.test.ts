/** Log files: everything, in order, timestamped; memory stays bounded however much is printed. */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { makeEngine, sh, tempDir } from './helpers.js';

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) \[(stdout|stderr|engine)\] (.*)$/;

test('the log interleaves both streams in order, each line timestamped, with header and footer', async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.05; done; exit 4'));
  const result = await engine.wait(id);
  const log = await engine.readLogs(id);
  expect(result.log_path).toBe(engine.getLogPath(id));
  expect(log).toContain(`# execution_id: ${id}`);
  expect(log).toContain('# command: for i in 1 2 3;');
  const lines = log
    .split('\n')
    .map((l) => LINE.exec(l))
    .filter((m) => m && m[2] !== 'engine');
  // Each pair is separated by a sleep, so across streams the order is deterministic too.
  expect(lines.map((m) => `${m![2]}:${m![3]}`)).toEqual([
    'stdout:out1',
    'stderr:err1',
    'stdout:out2',
    'stderr:err2',
    'stdout:out3',
    'stderr:err3',
  ]);
  const times = lines.map((m) => Date.parse(m![1]!));
  expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
  expect(log).toMatch(/# status: failed\n# exit_code: 4\n/);
});

test('log_dir is honoured and output_log_path overrides the file for one request', async () => {
  const dir = tempDir();
  const engine = makeEngine({ log_dir: join(dir, 'nested', 'logs') });
  const a = await engine.execute(sh('echo a'));
  expect(engine.getLogPath(a)).toBe(join(dir, 'nested', 'logs', `${a}.log`));
  const custom = join(dir, 'custom.log');
  const b = await engine.execute({ ...sh('echo b'), output_log_path: custom });
  expect((await engine.wait(b)).log_path).toBe(custom);
  await engine.wait(a);
  expect(await engine.readLogs(a)).toMatch(/\[stdout\] a\n/);
  expect(await engine.readLogs(b)).toMatch(/\[stdout\] b\n/);
});

test('output beyond max_output_bytes is cut in the result (head and tail kept, marked) but complete in the log', async () => {
  const engine = makeEngine({ max_output_bytes: 4096 });
  const id = await engine.execute(sh('seq 1 20000'));
  const result = await engine.wait(id);
  expect(result.stdout_truncated).toBe(true);
  expect(result.stderr_truncated).toBe(false);
  expect(result.stdout.startsWith('1\n2\n3\n')).toBe(true);
  expect(result.stdout.endsWith('19999\n20000\n')).toBe(true);
  expect(result.stdout).toMatch(
    new RegExp(
      `\\[\\.\\.\\. \\d+ bytes of output omitted; the full output is in ${result.log_path.replaceAll('.', '\\.')} \\.\\.\\.\\]`,
    ),
  );
  expect(Buffer.byteLength(result.stdout)).toBeLessThan(4096 + 300);
  const logged = (await engine.readLogs(id))
    .split('\n')
    .filter((l) => l.includes('[stdout]'))
    .map((l) => l.split('] ')[1]);
  expect(logged).toEqual(Array.from({ length: 20000 }, (_, i) => String(i + 1)));
});

test('a command printing 200 MiB grows RSS by far less than its output (under 128 MB) and its log file has every line', async () => {
  const engine = makeEngine();
  const lines = 2 * 1024 * 1024; // 100-byte lines: 200 MiB
  // What one first command costs once (code compiled, buffers and pipes set up) is not growth with output.
  await engine.wait(await engine.execute(sh(`yes "$(printf '%099d' 7)" | head -n 20000`)));
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  const id = await engine.execute({ ...sh(`yes "$(printf '%099d' 7)" | head -n ${lines}`), timeout_ms: 600_000 });
  const result = await engine.wait(id);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  expect(result.status).toBe('completed');
  expect(result.stdout_truncated).toBe(true);
  // Keeping the output would take over 200 MB. The peak also holds garbage not yet collected,
  // which depends on the collector's timing (measured exactly by `npm run bench`, not here).
  const growthMb = (peak - before) / 1024 / 1024;
  expect(growthMb).toBeLessThan(128);
  const path = engine.getLogPath(id);
  const stdoutLines = Number(
    execFileSync('sh', ['-c', `grep -c '\\[stdout\\] 0*7$' ${path}`])
      .toString()
      .trim(),
  );
  expect(stdoutLines).toBe(lines);
  expect(statSync(path).size).toBeGreaterThan(lines * 100);
}, 240_000);
