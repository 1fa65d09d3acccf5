/**
 * Retry with backoff (`RetryConfig`): which failures are worth another attempt
 * (a listed exit code, or a retryable pattern in the output, e.g. AWS throttling) and how
 * long to wait first.
 */
import type { z } from 'zod';
import type { ValidationIssue } from '../errors.js';
import { parseRetryPattern, type RegexPattern } from '../wire/retry-pattern.js';
import { type BackoffSchema, RetryConfigSchema } from '../wire/schema.js';
import { Re2JobFailed, re2CompileErrors, re2FirstMatch } from './retry-matcher.js';

export { BackoffSchema, RetryConfigSchema } from '../wire/schema.js';

export type Backoff = z.output<typeof BackoffSchema>;
export type RetryConfig = z.output<typeof RetryConfigSchema>;
export type RetryConfigInput = z.input<typeof RetryConfigSchema>;

export const DEFAULT_RETRY: Readonly<RetryConfig> = Object.freeze(RetryConfigSchema.parse({}));

/** Delay before attempt `attempt + 1`, after `attempt` (1-based) failed; `random` in [0, 1). */
export function backoffDelay(config: RetryConfig, attempt: number, random: () => number = Math.random): number {
  const { backoff } = config;
  let delay: number;
  switch (backoff.type) {
    case 'fixed':
      delay = backoff.delay_ms;
      break;
    case 'exponential':
      delay = Math.min(backoff.max_ms, backoff.base_ms * 2 ** (attempt - 1));
      break;
    case 'linear':
      delay = Math.min(backoff.max_ms, backoff.increment_ms * attempt);
      break;
  }
  const spread = delay * config.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(delay + spread));
}

/**
 * Regexes look at most this many characters at each end of each stream's output. The output
 * is already bounded (`max_output_bytes`, 4 MiB per stream by default), but RE2's worst
 * case grows with text × pattern size (see retry-matcher.ts) and its heap is small;
 * retryable errors are short messages near the end of a failed command's output (or at its
 * start).
 */
export const REGEX_WINDOW_CHARS = 4 * 1024;

/** Stands for the middle of a long output, on a line of its own, so `^` and `$` only meet real line ends. */
const OMITTED = '[... output omitted from retry matching ...]';

/** A long text's first and last REGEX_WINDOW_CHARS, cut at line ends where there are any. */
function windowOf(text: string): string {
  if (text.length <= 2 * REGEX_WINDOW_CHARS) return text;
  let head = text.slice(0, REGEX_WINDOW_CHARS);
  const headEnd = head.lastIndexOf('\n');
  head = headEnd >= 0 ? head.slice(0, headEnd + 1) : `${head}\n`;
  let tail = text.slice(-REGEX_WINDOW_CHARS);
  const tailStart = tail.indexOf('\n');
  if (tailStart >= 0 && tailStart < tail.length - 1) tail = tail.slice(tailStart + 1);
  return `${head}${OMITTED}\n${tail}`;
}

/**
 * The first retryable pattern (in the policy's order) found in a failed attempt's output
 * (one text per stream), or null. Substrings are looked for in the whole output; regexes in
 * the first and last REGEX_WINDOW_CHARS of each stream, by RE2 off the event loop. Entries
 * that do not parse (only possible when a config skipped the schema) never match, nor does
 * a regex RE2 gave no answer for.
 */
export async function retryableMatch(config: RetryConfig, output: string | readonly string[]): Promise<string | null> {
  const texts = typeof output === 'string' ? [output] : output;
  const patterns = config.retryable_errors.map((p) => parseRetryPattern(p));
  let substring = patterns.findIndex(
    (p) => 'kind' in p && p.kind === 'substring' && texts.some((t) => t.includes(p.text)),
  );
  if (substring === -1) substring = patterns.length;
  // Only regexes listed before the first matching substring can change the answer.
  const regexes = patterns
    .slice(0, substring)
    .flatMap((p, index) => ('kind' in p && p.kind === 'regex' ? [{ index, regex: p }] : []));
  if (regexes.length > 0) {
    const hit = await re2FirstMatch(
      regexes.map((r) => r.regex),
      texts.map(windowOf),
    ).catch((err: unknown) => {
      if (err instanceof Re2JobFailed) return -1;
      throw err;
    });
    if (hit >= 0) return config.retryable_errors[regexes[hit]!.index]!;
  }
  return config.retryable_errors[substring] ?? null;
}

/**
 * Why a failed attempt that exited with `exitCode` is worth another: its exit code is one of
 * `retryable_exit_codes` (reason `exit code 75`), else the first retryable pattern found in
 * its output (see retryableMatch); null when neither.
 */
export async function retryReason(
  config: RetryConfig,
  exitCode: number,
  output: string | readonly string[],
): Promise<string | null> {
  if (config.retryable_exit_codes.includes(exitCode)) return `exit code ${exitCode}`;
  return retryableMatch(config, output);
}

/**
 * Problems with a policy's patterns beyond the schema's syntax checks: each regex must
 * compile in RE2. `field` names the list (`retry.retryable_errors`); each issue names its entry.
 */
export async function retryPatternIssues(patterns: readonly string[], field: string): Promise<ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  const regexes: Array<{ index: number; regex: RegexPattern }> = [];
  patterns.forEach((pattern, index) => {
    const parsed = parseRetryPattern(pattern);
    if ('problem' in parsed)
      issues.push({
        code: 'InvalidField',
        field: `${field}[${index}]`,
        reason: `${parsed.problem} (got ${JSON.stringify(pattern)})`,
      });
    else if (parsed.kind === 'regex') regexes.push({ index, regex: parsed });
  });
  if (regexes.length === 0) return issues;
  let errors: Array<string | null>;
  try {
    errors = await re2CompileErrors(regexes.map((r) => r.regex));
  } catch (err) {
    if (!(err instanceof Re2JobFailed)) throw err;
    const why =
      err.reason === 'deadline'
        ? 'regex is too complex: RE2 could not compile it in time'
        : `regex could not be checked: ${err.message}`;
    return [
      ...issues,
      ...regexes.map(({ index }) => ({
        code: 'InvalidField' as const,
        field: `${field}[${index}]`,
        reason: `${why} (got ${JSON.stringify(patterns[index])})`,
      })),
    ];
  }
  regexes.forEach(({ index }, k) => {
    const error = errors[k];
    if (error)
      issues.push({
        code: 'InvalidField',
        field: `${field}[${index}]`,
        reason: `RE2 cannot compile this regex: ${error} (got ${JSON.stringify(patterns[index])})`,
      });
  });
  return issues.sort((a, b) => a.field.localeCompare(b.field, 'en', { numeric: true }));
}
