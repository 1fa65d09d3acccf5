/**
 * Secrets never leave the engine: values of environment variables whose names look secret
 * (and the ambient AWS credentials) are replaced in events, log lines and results.
 */
import { LineBatch } from '../runner/line-splitter.js';

const SECRET_NAME =
  /SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_KEY|API_KEY|APIKEY|ACCESS_KEY|SESSION_KEY|AUTH/i;
/** Short values would redact ordinary words ("on", "1", "true"); they are not worth hiding. */
const MIN_SECRET_LENGTH = 4;

export const REDACTED = '***';

/** Names classified so far: the inherited environment is looked at for every request. */
const nameVerdicts = new Map<string, boolean>();

export function isSecretName(name: string): boolean {
  let verdict = nameVerdicts.get(name);
  if (verdict === undefined) {
    verdict = SECRET_NAME.test(name) || name === 'AWS_SESSION_TOKEN' || name === 'AWS_SECRET_ACCESS_KEY';
    if (nameVerdicts.size < 10_000) nameVerdicts.set(name, verdict);
  }
  return verdict;
}

/** Secret values from `env` (the request's, over the inherited one), longest first. */
export function secretValues(...envs: Array<Record<string, string | undefined>>): string[] {
  const values = new Set<string>();
  for (const env of envs) {
    // Names first: reading a `process.env` value is a native call, and few names are secret
    // (3× faster per request than Object.entries with ~35 variables).
    for (const name of Object.keys(env)) {
      if (!isSecretName(name)) continue;
      const value = env[name];
      if (value && value.length >= MIN_SECRET_LENGTH) values.add(value);
    }
  }
  return [...values].sort((a, b) => b.length - a.length);
}

/** The values to hide for one request under the engine's config (none with `redact_secrets: false`). */
export function secretsOf(request: { env: Record<string, string> }, config: { redact_secrets: boolean }): string[] {
  return config.redact_secrets ? secretValues(process.env, request.env) : [];
}

export type Redactor = (text: string) => string;

const identity: Redactor = (text) => text;

/** A function replacing every secret value in a text; the identity when there are none. */
export function redactorFor(secrets: readonly string[]): Redactor {
  if (secrets.length === 0) return identity;
  const escaped = secrets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(escaped.join('|'), 'g');
  return (text) => (text.length === 0 ? text : text.replace(re, REDACTED));
}

/** The secret values as UTF-8 bytes: what a byte-level search (or a line cut that must not split one) looks for. */
export function secretBytes(secrets: readonly string[]): Buffer[] {
  return secrets.map((s) => Buffer.from(s, 'utf8'));
}

/**
 * Redaction for output lines that stay bytes (the log file). A batch is searched once per
 * secret; only lines that contain one are decoded and rewritten.
 */
export function lineRedactor(secrets: readonly string[]): ((lines: LineBatch) => LineBatch) | null {
  if (secrets.length === 0) return null;
  const redact = redactorFor(secrets);
  const needles = secretBytes(secrets);
  const hasSecret = (buf: Buffer) => needles.some((n) => buf.indexOf(n) !== -1);
  return (lines) => {
    // Every line of the batch is in its source, so one search clears the common case.
    if (lines.count === 0 || !hasSecret(lines.source)) return lines;
    return LineBatch.of(
      lines.toBuffers().map((line) => (hasSecret(line) ? Buffer.from(redact(line.toString('utf8')), 'utf8') : line)),
    );
  };
}
