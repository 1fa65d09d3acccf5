/**
 * Retry with backoff (seed 002 `RetryConfig`): which failures are worth another attempt
 * (a retryable pattern in the output, e.g. AWS throttling) and how long to wait first.
 */
import type { z } from 'zod';
import { RetryConfigSchema, type BackoffSchema } from '../wire/schema.js';

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

function matcherOf(pattern: string): (text: string) => boolean {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  if (regex) {
    const re = new RegExp(regex[1]!, regex[2]);
    return (text) => re.test(text);
  }
  return (text) => text.includes(pattern);
}

/** The first retryable pattern found in a failed attempt's output, or null. */
export function retryableMatch(config: RetryConfig, output: string): string | null {
  for (const pattern of config.retryable_errors) if (matcherOf(pattern)(output)) return pattern;
  return null;
}
