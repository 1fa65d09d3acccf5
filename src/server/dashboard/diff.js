// Line diffs of a plan against an edit of it: what an approver must read is what changed, not
// the whole plan again. Pure functions (no DOM) so the tests can run them as they are.

/** Above this many line pairs between the first and last change, the middle is shown as replaced. */
const MAX_CELLS = 4_000_000;

/**
 * The lines of `before` and `after` as a list of `{ op, text }`: `' '` kept, `'-'` removed,
 * `'+'` added, in reading order. Common lines at both ends are matched first; the rest by the
 * longest common subsequence, unless that is too large to compute, when it is shown as removed
 * then added (still correct, only less precise).
 */
export function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  // Concatenated, not pushed with spread: a plan of 10,000 commands prints as some 230,000
  // lines, more arguments than one call can take.
  return a
    .slice(0, start)
    .map((text) => ({ op: ' ', text }))
    .concat(
      middle(a.slice(start, endA), b.slice(start, endB)),
      a.slice(endA).map((text) => ({ op: ' ', text })),
    );
}

function middle(a, b) {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return a.map((text) => ({ op: '-', text })).concat(b.map((text) => ({ op: '+', text })));
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..], in one flat array.
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ op: ' ', text: a[i++] });
      j++;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      ops.push({ op: '-', text: a[i++] });
    } else {
      ops.push({ op: '+', text: b[j++] });
    }
  }
  while (i < n) ops.push({ op: '-', text: a[i++] });
  while (j < m) ops.push({ op: '+', text: b[j++] });
  return ops;
}

/**
 * The diff cut to the changes and `context` kept lines around each, as hunks of
 * `{ op, text, before, after }` (line numbers, 1-based; null on the side a line is not on).
 * No change: no hunks.
 */
export function diffHunks(ops, context = 3) {
  let before = 0;
  let after = 0;
  const numbered = ops.map((o) => {
    if (o.op !== '+') before++;
    if (o.op !== '-') after++;
    return { ...o, before: o.op === '+' ? null : before, after: o.op === '-' ? null : after };
  });
  const keep = new Array(numbered.length).fill(false);
  numbered.forEach((o, index) => {
    if (o.op === ' ') return;
    for (let k = Math.max(0, index - context); k <= Math.min(numbered.length - 1, index + context); k++) keep[k] = true;
  });
  const hunks = [];
  let current = null;
  numbered.forEach((o, index) => {
    if (!keep[index]) {
      current = null;
      return;
    }
    if (!current) {
      current = [];
      hunks.push(current);
    }
    current.push(o);
  });
  return hunks;
}

/** How many lines were added and removed. */
export function diffStats(ops) {
  let added = 0;
  let removed = 0;
  for (const o of ops) {
    if (o.op === '+') added++;
    else if (o.op === '-') removed++;
  }
  return { added, removed };
}
