// Small statistics and formatting helpers for the benchmark suite (no dependencies).

/** Sorted copy, ascending. */
export function sorted(values) {
  return [...values].sort((a, b) => a - b);
}

/** Percentile by linear interpolation between closest ranks (p in 0..100). */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export const median = (values) => percentile(values, 50);

export function mean(values) {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function summary(values) {
  return {
    n: values.length,
    min: Math.min(...values),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: Math.max(...values),
    mean: mean(values),
  };
}

/** Fixed decimals, with thousands separators for the integer part. */
export function fmt(value, decimals = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export const fmtInt = (value) => fmt(value, 0);

export function fmtBytes(bytes) {
  const abs = Math.abs(bytes);
  if (abs >= 1024 * 1024) return `${fmt(bytes / (1024 * 1024), 1)} MiB`;
  if (abs >= 1024) return `${fmt(bytes / 1024, 1)} KiB`;
  return `${fmtInt(bytes)} B`;
}

export const ratio = (a, b) => `${fmt(a / b, 2)}×`;

/** A Markdown table; `align` is a string of 'l' / 'r' per column (default: first left, rest right). */
export function mdTable(headers, rows, align) {
  const a = align ?? `l${'r'.repeat(headers.length - 1)}`;
  const sep = headers.map((_, i) => (a[i] === 'r' ? '---:' : '---'));
  const line = (cells) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(headers), `|${sep.join('|')}|`, ...rows.map(line)].join('\n');
}

/** Deterministic pseudo-random numbers in [0, 1) (the LCG of bench/history-bench.mjs). */
export function lcg(seed = 42) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}
