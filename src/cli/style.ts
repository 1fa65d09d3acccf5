/** Terminal colours, off for NO_COLOR, --no-color and non-terminals (FORCE_COLOR turns them on). */
import { styleText } from 'node:util';

type Format = Parameters<typeof styleText>[0];

export interface Style {
  enabled: boolean;
  paint(format: Format, text: string): string;
}

export function colorEnabled(
  stream: NodeJS.WriteStream,
  flag: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

export function makeStyle(enabled: boolean): Style {
  return { enabled, paint: (format, text) => (enabled ? styleText(format, text) : text) };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}
