/**
 * Secrets that slipped past redaction: one straddling the cut of a long line (each piece was
 * redacted alone), one cut by the result's head/tail truncation, and one used as the program
 * name (echoed by the spawn error). None may reach the log, the events, the result or the history.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import type { ExecutionEvent, ExecutionRequestInput } from '../../src/index.js';
import { LineSplitter } from '../../src/runner/line-splitter.js';
import { makeEngine, tempDir } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SECRET = 'tok3n-Secret-Value-42';

/** A piece of `secret` of at least `min` characters found in `text`, or null. */
function fragmentOf(secret: string, text: string, min = 5): string | null {
  for (let length = secret.length; length >= min; length--) {
    for (let at = 0; at + length <= secret.length; at++) {
      const piece = secret.slice(at, at + length);
      if (text.includes(piece)) return piece;
    }
  }
  return null;
}

function collect(engine: ReturnType<typeof makeEngine>): ExecutionEvent[] {
  const events: ExecutionEvent[] = [];
  engine.subscribe((e) => {
    events.push(e);
  });
  return events;
}

const stdoutLines = (events: ExecutionEvent[]) => events.flatMap((e) => (e.event_type === 'stdout' ? [e.line] : []));
const loggedLines = (log: string) =>
  log.split('\n').flatMap((l) => {
    const m = /^\S+ \[stdout\] (.*)$/.exec(l);
    return m ? [m[1]!] : [];
  });

describe('a secret across the cut of a long line (max_line_bytes) is redacted in the log, events and result', () => {
  test('property: however the stream is chunked, no cut falls inside a secret, and the pieces join back to the line', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('s3cr3t', 'tok3n-Secret-Value-42', 'ünï€ødé', 'xyzzy'),
        fc.array(fc.oneof(fc.constant('SECRET'), fc.stringMatching(/^[ab]{0,40}$/)), { maxLength: 12 }),
        fc.integer({ min: 2, max: 24 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (secret, parts, max, cuts) => {
          const line = Buffer.from(parts.map((p) => (p === 'SECRET' ? secret : p)).join(''), 'utf8');
          const input = Buffer.concat([line, Buffer.from('\n')]);
          const needle = Buffer.from(secret, 'utf8');
          const splitter = new LineSplitter(max, [needle]);
          const pieces: Buffer[] = [];
          let at = 0;
          for (let i = 0; at < input.length; i++) {
            const size = cuts[i % cuts.length]!;
            pieces.push(
              ...splitter
                .push(input.subarray(at, at + size))
                .toBuffers()
                .map((b) => Buffer.from(b)),
            );
            at += size;
          }
          pieces.push(...splitter.end().toBuffers());
          expect(Buffer.concat(pieces).equals(line)).toBe(true);
          const bounds = new Set<number>();
          let offset = 0;
          for (const piece of pieces) bounds.add((offset += piece.length));
          for (let found = line.indexOf(needle); found !== -1; found = line.indexOf(needle, found + 1)) {
            for (let b = found + 1; b < found + needle.length; b++)
              expect(bounds.has(b), `cut inside the secret at ${b}`).toBe(false);
          }
          for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(max + 2 * needle.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('at every offset around the cuts, in complete lines', async () => {
    const engine = makeEngine({ max_line_bytes: 16 });
    const events = collect(engine);
    const lines = Array.from({ length: 41 }, (_, k) => `${'a'.repeat(k)}${SECRET}${'z'.repeat(30)}`);
    // The script reads the secret from its environment: the command text never holds it.
    const script =
      'for k in $(seq 0 40); do printf "%s%s%s\\n" "$(head -c $k < /dev/zero | tr "\\0" a)" "$API_TOKEN" zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz; done';
    const id = await engine.execute({ command: { type: 'shell', command: script }, env: { API_TOKEN: SECRET } });
    const result = await engine.wait(id);
    expect(result.status).toBe('completed');
    const log = readFileSync(engine.getLogPath(id), 'utf8');
    for (const [what, pieces] of [
      ['events', stdoutLines(events)],
      ['log', loggedLines(log)],
    ] as const) {
      // Cut into pieces of at most 16 bytes (longer only to keep a secret whole), none holding part of it...
      expect(pieces.length, what).toBeGreaterThan(lines.length * 2);
      for (const piece of pieces) expect(fragmentOf(SECRET, piece, 4), `${what}: ${piece}`).toBeNull();
      // ...and joined back, the output with every secret replaced.
      expect(pieces.join(''), what).toBe(lines.map((l) => l.replace(SECRET, '***')).join(''));
    }
    expect(result.stdout).not.toContain(SECRET);
    expect(result.stdout.match(/\*\*\*/g)).toHaveLength(41);
  });

  test('in a line still arriving (no newline yet when it is cut), in parts split inside the secret', async () => {
    const engine = makeEngine({ max_line_bytes: 16 });
    const events = collect(engine);
    // First 9 characters of the secret now, the rest 300 ms later: the cut must wait for them.
    const script =
      's="$API_TOKEN"; printf "%s" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa${s%????????????}"; sleep 0.3; printf "%s\\n" "${s#?????????}bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"';
    const id = await engine.execute({ command: { type: 'shell', command: script }, env: { API_TOKEN: SECRET } });
    expect((await engine.wait(id)).status).toBe('completed');
    const log = readFileSync(engine.getLogPath(id), 'utf8');
    for (const pieces of [stdoutLines(events), loggedLines(log)]) {
      for (const piece of pieces) expect(fragmentOf(SECRET, piece, 4), piece).toBeNull();
      expect(pieces.join('')).toBe(`${'a'.repeat(30)}***${'b'.repeat(30)}`);
    }
    expect(log).not.toContain(SECRET);
  });

  test('a multi-byte secret and a secret longer than max_line_bytes', async () => {
    for (const [secret, max] of [
      ['pässwörd-ünïcødé-ß€', 7],
      ['a-secret-longer-than-the-line-limit', 8],
    ] as const) {
      const engine = makeEngine({ max_line_bytes: max });
      const events = collect(engine);
      const script =
        'for k in 1 2 3 4 5 6 7 8 9; do printf "%s%s%s\\n" "$(head -c $k < /dev/zero | tr "\\0" x)" "$DB_PASSWORD" yyyyyyyyyy; done';
      const id = await engine.execute({ command: { type: 'shell', command: script }, env: { DB_PASSWORD: secret } });
      const result = await engine.wait(id);
      const log = readFileSync(engine.getLogPath(id), 'utf8');
      expect(log).not.toContain(secret);
      for (const pieces of [stdoutLines(events), loggedLines(log)]) {
        for (const piece of pieces) expect(fragmentOf(secret, piece, 4), piece).toBeNull();
        expect(pieces.join('')).toBe(Array.from({ length: 9 }, (_, k) => `${'x'.repeat(k + 1)}***yyyyyyyyyy`).join(''));
      }
      expect(result.stdout).not.toContain(secret);
    }
  });
});

describe('a secret cut by the truncation of a result (max_output_bytes) leaves no part of itself', () => {
  test.each([
    ['the end of the head', `${'x'.repeat(25)}${SECRET}${'y'.repeat(300)}\n`],
    ['the start of the tail', `${'y'.repeat(300)}${SECRET}${'q'.repeat(25)}\n`],
  ])('at %s', async (_where, output) => {
    const engine = makeEngine({ max_output_bytes: 64 });
    // Printed by a shell from the environment (the command text must not hold the secret).
    const run = await engine.execute({
      command: {
        type: 'shell',
        command: `printf '%s' "${output.replace(SECRET, '${API_TOKEN}').replace('\n', '')}"; echo`,
      },
      env: { API_TOKEN: SECRET },
    });
    const result = await engine.wait(run);
    expect(result.stdout_truncated).toBe(true);
    expect(result.stdout).toMatch(/bytes of output omitted/);
    expect(fragmentOf(SECRET, result.stdout), result.stdout).toBeNull();
  });
});

describe('a secret used as the program name does not leak through the spawn error', () => {
  const AMBIENT = 'ambient-pw-value-77';
  afterEach(() => {
    delete process.env.CEE_TEST_SERVICE_PASSWORD;
  });

  test.each<[string, ExecutionRequestInput['command']]>([
    ['exec program', { type: 'exec', program: SECRET, args: [] }],
    ['exec program path', { type: 'exec', program: `/nonexistent/${SECRET}/bin`, args: ['x'] }],
    ['shell binary', { type: 'shell', command: 'true', shell: SECRET }],
  ])('%s: result error, failed event, log and history show *** instead', async (_name, command) => {
    const engine = makeEngine();
    const events = collect(engine);
    const id = await engine.execute({ command, env: { API_TOKEN: SECRET } });
    const result = await engine.wait(id);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^Process spawn failed: .*\*\*\*/);
    expect(result.error).not.toContain(SECRET);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(events.find((e) => e.event_type === 'failed')).toMatchObject({ error: expect.stringContaining('***') });
    expect(readFileSync(engine.getLogPath(id), 'utf8')).not.toContain(SECRET);
    const record = engine.history!.get(id)!;
    expect(`${record.command} ${record.error}`).not.toContain(SECRET);
  });

  test("a script whose interpreter is the secret, and a secret from the engine's own environment", async () => {
    process.env.CEE_TEST_SERVICE_PASSWORD = AMBIENT;
    const engine = makeEngine();
    const script = join(tempDir(), 'job.sh');
    writeFileSync(script, 'echo hi\n');
    const attempts: Array<[ExecutionRequestInput['command'], string]> = [
      [{ type: 'script', path: script, interpreter: SECRET }, SECRET],
      [{ type: 'exec', program: AMBIENT, args: [] }, AMBIENT],
    ];
    for (const [command, secret] of attempts) {
      const id = await engine.execute({ command, env: { API_TOKEN: SECRET } });
      const result = await engine.wait(id);
      expect(result.status).toBe('failed');
      expect(result.error).not.toContain(secret);
      expect(readFileSync(engine.getLogPath(id), 'utf8')).not.toContain(secret);
    }
  });

  test('the CLI: `exec` of a secret program prints *** on stderr', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, '--log-dir', tempDir(), 'exec', '--env', `API_TOKEN=${SECRET}`, '--', SECRET],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('***');
    expect(r.stderr).not.toContain(SECRET);
  });
});
