/**
 * The valid name a mistyped one was most likely meant to be, so an error can say
 * "did you mean X?" (CLI options and API query parameters that take a vocabulary word).
 */

/** Edits (insert, delete, replace, swap two neighbours) a typo may be from the name it meant. */
const MAX_EDITS = 2;

/** Optimal string alignment distance: Levenshtein plus the swap of two adjacent characters. */
function editDistance(a: string, b: string): number {
  // rows[i][j]: distance between the first i characters of a and the first j of b.
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!;
    const above = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The option `value` was probably meant to be, or null: the closest within two edits (and
 * closer than half its length, so a short word is not "near" every other short word),
 * else the only option `value` is the start of. Case is ignored. Null for a value that is
 * itself an option, and when two options are equally close.
 */
export function nearestName(value: string, options: readonly string[]): string | null {
  const typed = value.toLowerCase();
  if (typed === '' || options.includes(value)) return null;
  // Nothing longer than every option by more than the edits allowed can be near one: no table
  // is built for it (a request may carry a megabyte where a word was expected).
  const longest = options.reduce((max, option) => Math.max(max, option.length), 0);
  if (typed.length > longest + MAX_EDITS) return null;
  let best: string[] = [];
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const option of options) {
    const distance = editDistance(typed, option.toLowerCase());
    const allowed = Math.min(MAX_EDITS, Math.floor(Math.max(typed.length, option.length) / 2));
    if (distance > allowed || distance > bestDistance) continue;
    best = distance < bestDistance ? [option] : [...best, option];
    bestDistance = distance;
  }
  if (best.length > 0) return best.length === 1 ? best[0]! : null;
  const extending = options.filter((option) => option.toLowerCase().startsWith(typed));
  return extending.length === 1 ? extending[0]! : null;
}

/** `; did you mean "X"?` when an option is near `value`, else empty: to end an error message with. */
export function didYouMean(value: string, options: readonly string[]): string {
  const near = nearestName(value, options);
  return near === null ? '' : `; did you mean ${JSON.stringify(near)}?`;
}
