import { expect, test } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, RetryConfigSchema, retryableMatch } from '../src/policy/retry.js';

const noJitter = (backoff: object) => RetryConfigSchema.parse({ backoff, jitter: 0 });

test('seed defaults: 3 attempts, exponential 1s..30s, AWS throttling patterns', () => {
  expect(DEFAULT_RETRY.max_attempts).toBe(3);
  expect(DEFAULT_RETRY.backoff).toEqual({ type: 'exponential', base_ms: 1000, max_ms: 30000 });
  expect(DEFAULT_RETRY.retryable_errors).toEqual(['ThrottlingException', 'RequestLimitExceeded', 'ServiceUnavailable']);
});

test('fixed, exponential (capped) and linear (capped) delays', () => {
  const fixed = noJitter({ type: 'fixed', delay_ms: 250 });
  expect([1, 2, 3].map((a) => backoffDelay(fixed, a))).toEqual([250, 250, 250]);
  const exp = noJitter({ type: 'exponential', base_ms: 100, max_ms: 1000 });
  expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(exp, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  const lin = noJitter({ type: 'linear', increment_ms: 300, max_ms: 1000 });
  expect([1, 2, 3, 4].map((a) => backoffDelay(lin, a))).toEqual([300, 600, 900, 1000]);
});

test('jitter spreads delays within ±jitter of the nominal value', () => {
  const config = RetryConfigSchema.parse({ backoff: { type: 'fixed', delay_ms: 1000 }, jitter: 0.2 });
  expect(backoffDelay(config, 1, () => 0)).toBe(800);
  expect(backoffDelay(config, 1, () => 0.5)).toBe(1000);
  expect(backoffDelay(config, 1, () => 0.999999)).toBe(1200);
});

test('retryable patterns: substrings and /regex/', async () => {
  expect(await retryableMatch(DEFAULT_RETRY, 'An error occurred (ThrottlingException) when calling')).toBe(
    'ThrottlingException',
  );
  expect(await retryableMatch(DEFAULT_RETRY, 'AccessDenied')).toBeNull();
  const re = RetryConfigSchema.parse({ retryable_errors: ['/5\\d\\d Server Error/i'] });
  expect(await retryableMatch(re, 'HTTP 503 server error')).toBe('/5\\d\\d Server Error/i');
  expect(await retryableMatch(re, 'HTTP 404 server error')).toBeNull();
});

test("the first pattern in the policy's order wins, whichever kind it is; each stream is searched", async () => {
  const config = RetryConfigSchema.parse({
    retryable_errors: ['SlowDown', '/rate (limit|exceeded)/i', 'Rate exceeded', '/(?<code>5\\d\\d)/'],
  });
  expect(await retryableMatch(config, ['Rate exceeded', ''])).toBe('/rate (limit|exceeded)/i');
  expect(await retryableMatch(config, ['nothing here', 'SlowDown; Rate exceeded'])).toBe('SlowDown');
  expect(await retryableMatch(config, ['', 'HTTP 503'])).toBe('/(?<code>5\\d\\d)/');
  expect(await retryableMatch(config, ['', 'HTTP 404'])).toBeNull();
  // JavaScript spellings RE2 reads differently still mean the same.
  const spelled = RetryConfigSchema.parse({
    retryable_errors: ['/\\u0041BC/', '/[\\u{1F600}]/u', '/^timed out$/m', '/a.b/s'],
  });
  expect(await retryableMatch(spelled, 'xxABCxx')).toBe('/\\u0041BC/');
  expect(await retryableMatch(spelled, 'oops \u{1F600}')).toBe('/[\\u{1F600}]/u');
  expect(await retryableMatch(spelled, 'first\ntimed out\nlast')).toBe('/^timed out$/m');
  expect(await retryableMatch(spelled, 'a\nb')).toBe('/a.b/s');
  expect(await retryableMatch(spelled, 'timed out later')).toBeNull();
});

test('bad retry config is rejected', () => {
  expect(() => RetryConfigSchema.parse({ max_attempts: 0 })).toThrow();
  expect(() => RetryConfigSchema.parse({ backoff: { type: 'fixed' } })).toThrow();
});
