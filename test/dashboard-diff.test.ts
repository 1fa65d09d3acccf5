/** The dashboard's line diff (an edit against the plan it changes), run as the page runs it. */
import { expect, test } from 'vitest';
// @ts-expect-error: the dashboard is plain JavaScript served as it is, without type declarations
import { diffHunks, diffStats, lineDiff } from '../src/server/dashboard/diff.js';

type Op = { op: ' ' | '-' | '+'; text: string; before?: number | null; after?: number | null };
const render = (ops: Op[]) => ops.map((o) => `${o.op}${o.text}`);

test('a changed line is one removal and one addition, everything else kept', () => {
  expect(render(lineDiff('a\nb\nc', 'a\nB\nc'))).toEqual([' a', '-b', '+B', ' c']);
  expect(render(lineDiff('a\nb', 'a\nb'))).toEqual([' a', ' b']);
  expect(render(lineDiff('', 'x'))).toEqual(['-', '+x']);
});

test('lines moved, inserted and deleted are matched by the longest common run', () => {
  const ops = lineDiff('1\n2\n3\n4\n5', '1\n3\n4\nnew\n5');
  expect(render(ops)).toEqual([' 1', '-2', ' 3', ' 4', '+new', ' 5']);
  expect(diffStats(ops)).toEqual({ added: 1, removed: 1 });
  // Applying the diff gives back both texts.
  expect(ops.filter((o: Op) => o.op !== '+').map((o: Op) => o.text)).toEqual(['1', '2', '3', '4', '5']);
  expect(ops.filter((o: Op) => o.op !== '-').map((o: Op) => o.text)).toEqual(['1', '3', '4', 'new', '5']);
});

test('hunks keep three lines of context around each change, with line numbers on each side', () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
  const after = [...before];
  after[1] = 'changed 2';
  after[17] = 'changed 18';
  const hunks = diffHunks(lineDiff(before.join('\n'), after.join('\n')));
  expect(hunks).toHaveLength(2);
  expect(hunks[0].map((o: Op) => `${o.op}${o.text}`)).toEqual([
    ' line 1',
    '-line 2',
    '+changed 2',
    ' line 3',
    ' line 4',
    ' line 5',
  ]);
  expect(hunks[1][0]).toMatchObject({ op: ' ', text: 'line 15', before: 15, after: 15 });
  expect(hunks[1].find((o: Op) => o.op === '+')).toMatchObject({ text: 'changed 18', before: null, after: 18 });
  expect(diffHunks(lineDiff('same\ntext', 'same\ntext'))).toEqual([]);
});

test('a diff too large to match line by line is still complete: the middle shown removed then added', () => {
  const before = Array.from({ length: 3000 }, (_, i) => `a${i}`).join('\n');
  const after = Array.from({ length: 3000 }, (_, i) => `b${i}`).join('\n');
  const ops = lineDiff(`head\n${before}\ntail`, `head\n${after}\ntail`);
  expect(diffStats(ops)).toEqual({ added: 3000, removed: 3000 });
  expect(ops[0]).toEqual({ op: ' ', text: 'head' });
  expect(ops.at(-1)).toEqual({ op: ' ', text: 'tail' });
});

test('a plan printed as some 230,000 lines diffs without running out of stack', () => {
  const big = Array.from({ length: 230_000 }, (_, i) => `  "line": ${i},`).join('\n');
  const ops = lineDiff(`x\n${big}`, `y\n${big}`);
  expect(diffStats(ops)).toEqual({ added: 1, removed: 1 });
  expect(ops).toHaveLength(230_002);
});
