/**
 * The layers of ARCHITECTURE.md, held against the code: every import in src/ points to the
 * same layer or one below it, and no files import each other in a loop. A change that makes
 * the engine import the queue, or the policy import the engine, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Bottom (0) to top; a file may import files of its own layer or lower ones. */
const LAYERS: Array<[string, number]> = [
  ['vocabulary.ts', 0],
  ['redis-config.ts', 0],
  ['nearest-name.ts', 0],
  ['errors.ts', 1],
  ['wire/', 2],
  ['command/', 3],
  ['runner/', 4],
  ['scheduler/', 4],
  ['policy/', 5],
  ['config.ts', 6],
  ['validation/', 7],
  ['executor/', 7],
  ['history/', 7],
  ['sinks/', 7],
  ['engine/', 8],
  ['queue/', 9],
  ['services/', 9],
  ['create-engine.ts', 10],
  ['server/', 10],
  ['cli/', 11],
  ['index.ts', 11],
];

function roomOf(file: string): [string, number] {
  const hit = LAYERS.find(([prefix]) => file === prefix || (prefix.endsWith('/') && file.startsWith(prefix)));
  if (!hit) throw new Error(`${file} belongs to no layer: add its folder to ARCHITECTURE.md and to LAYERS here`);
  return hit;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'dashboard' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** Relative imports of a file (static, re-exports, type-only and dynamic), as src-relative .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(SRC, resolve(SRC, dirname(file), s)).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => files.includes(target))]));

test('every import points to a lower layer, or stays inside its own folder', () => {
  expect(files.length).toBeGreaterThan(50);
  const wrong = [...graph].flatMap(([file, targets]) =>
    targets
      .filter((target) => {
        const [room, layer] = roomOf(file);
        const [targetRoom, targetLayer] = roomOf(target);
        // Up is never allowed; sideways only within one folder (rooms of one layer stay independent).
        return targetLayer > layer || (targetLayer === layer && targetRoom !== room);
      })
      .map((target) => `${file} -> ${target}`),
  );
  expect(wrong).toEqual([]);
});

test('no files import each other in a loop', () => {
  const state = new Map<string, 'open' | 'done'>();
  const loops: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      loops.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  expect(loops).toEqual([]);
});

test('the engine knows executors only by their contract: it never imports the queue', () => {
  const engineImports = [...graph].filter(([file]) => file.startsWith('engine/')).flatMap(([, targets]) => targets);
  expect(engineImports.filter((target) => target.startsWith('queue/'))).toEqual([]);
  expect(engineImports).toContain('executor/contract.ts');
});
