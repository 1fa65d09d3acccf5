/**
 * Integer options (`--limit`, `--port`, `--timeout`, ...), read one way by every subcommand:
 * plain decimal digits (no sign, exponent, hex or spaces: `1e3` or ` 5` are typos, not
 * numbers), within the option's bounds. A bad value is bad input (exit 2), and the message
 * names the option, what it accepts and what it got.
 */
import { CliExit, EXIT } from './exit.js';

export interface IntBounds {
  /** Default 0. */
  min?: number;
  /** Default: the largest exact integer. */
  max?: number;
}

function accepted(min: number, max: number): string {
  if (max !== Number.MAX_SAFE_INTEGER) return `an integer from ${min} to ${max}`;
  return min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`;
}

/** `value` of `option` as an integer within `bounds`, or a CliExit (bad input) saying why not. */
export function intOption(option: string, value: string, bounds: IntBounds = {}): number {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  const refuse = (why: string) =>
    new CliExit(EXIT.BAD_INPUT, `${option} must be ${accepted(min, max)}: got "${value}", ${why}`);
  if (!/^\d+$/.test(value)) throw refuse('which is not a whole number in digits');
  const n = Number(value);
  if (n < min) throw refuse('which is too small');
  if (n > max || !Number.isSafeInteger(n)) throw refuse('which is too large');
  return n;
}

/** As `intOption`, for an option that may be left out: `fallback` (default undefined) then. */
export function optionalIntOption(option: string, value: string | undefined, bounds?: IntBounds): number | undefined;
export function optionalIntOption(
  option: string,
  value: string | undefined,
  bounds: IntBounds,
  fallback: number,
): number;
export function optionalIntOption(
  option: string,
  value: string | undefined,
  bounds: IntBounds = {},
  fallback?: number,
): number | undefined {
  return value === undefined ? fallback : intOption(option, value, bounds);
}
