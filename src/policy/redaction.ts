/**
 * Secrets never leave the engine: values of environment variables whose names look secret
 * (and the ambient AWS credentials) are replaced in events, log lines and results.
 */
import { LineBatch } from '../runner/line-splitter.js';

const SECRET_NAME =
  /SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_KEY|API_KEY|APIKEY|ACCESS_KEY|SESSION_KEY|AUTH/i;
/**
 * How a secret value is searched for in text. A value of at least MIN_SUBSTRING_LENGTH
 * characters that is not a common word is replaced wherever it appears, even inside a word.
 * A shorter value (4–7 characters) that is not a common word is replaced wherever it is a
 * whole word: not preceded or followed by a letter, digit or `_` (`app:hunter2@db`,
 * `--password hunter2`, `Bearer hunter2`, `>hunter2<`; `hunter2x` stays, see wholeWord).
 * A common value (`test`, `admin`, `changeme`, ...) would destroy ordinary output
 * (`rb-test` -> `rb-***`, "running test suite"), so it is replaced only where it stands alone
 * (see standsAlone). Values under MIN_SECRET_LENGTH and plain flags (`true`, `false`, `null`,
 * ...) are never searched for: they carry no secret. A value that is not replaced everywhere is
 * reported once per process in a warning (code CLOUDOPS_WEAK_SECRET) that names the variable,
 * not the value. The variable itself is always shown as `***` where a request's env is shown.
 */
const MIN_SUBSTRING_LENGTH = 8;
/** Shorter values would redact ordinary words ("on", "1"); they are not worth hiding. */
const MIN_SECRET_LENGTH = 4;
/** Flag-like values no one keeps a secret in. */
const NOT_SECRETS = new Set(['true', 'false', 'null', 'none', 'undefined', 'enabled', 'disabled']);
/** Values common enough in ordinary text (and emulator setups) that they are searched for only where they stand alone. */
const COMMON_VALUES = new Set([
  'test',
  'tests',
  'testing',
  'password',
  'passw0rd',
  'password1',
  'secret',
  'admin',
  'administrator',
  'root',
  'changeme',
  'example',
  'localhost',
  'default',
  'guest',
  'dummy',
  'foobar',
  'letmein',
  'qwerty',
  '12345678',
  '123456789',
]);

/** `substring`: everywhere; `word`: every whole word; `standalone`: only where it stands alone; `none`: never. */
export type SecretStrength = 'substring' | 'word' | 'standalone' | 'none';

/** How `value` is searched for in text (see MIN_SUBSTRING_LENGTH). */
export function secretStrength(value: string): SecretStrength {
  const lower = value.toLowerCase();
  if (value.length < MIN_SECRET_LENGTH || NOT_SECRETS.has(lower)) return 'none';
  if (COMMON_VALUES.has(lower)) return 'standalone';
  if (value.length < MIN_SUBSTRING_LENGTH) return 'word';
  return 'substring';
}

/** Values already reported by a warning (once per value per process). */
const warned = new Set<string>();

function warnWeak(name: string, value: string, strength: SecretStrength): void {
  if (warned.has(value) || warned.size >= 10_000) return;
  warned.add(value);
  const how =
    strength === 'none'
      ? 'is never searched for in output'
      : strength === 'word'
        ? 'is hidden in output only as a whole word (not next to a letter, digit or _), not inside other words'
        : 'is hidden in output only where it stands alone (a whole line or field, quoted, or after = or :), not inside other words';
  process.emitWarning(
    `the value of ${name} is too short or too common to redact everywhere: it ${how}. Use a value of at least ${MIN_SUBSTRING_LENGTH} characters that is not a common word.`,
    { code: 'CLOUDOPS_WEAK_SECRET' },
  );
}

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
      if (!value || values.has(value)) continue;
      const strength = secretStrength(value);
      if (strength !== 'substring') warnWeak(name, value, strength);
      if (strength !== 'none') values.add(value);
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

/**
 * Where a short or common value stands alone, as a regular expression around its escaped text:
 * the whole line (surrounding blanks aside), between a pair of the same quotes, or as the value
 * of an assignment (`NAME=value`, `name: value`) ending at a blank, quote, `,`, `;`, `&` or a
 * closing bracket. Inside a word or name it stays (`rb-test`, `test_helper`, `s3://test/x`).
 */
function standsAlone(e: string): string {
  return [
    `(?<=^[ \\t]*)${e}(?=[ \\t]*$)`,
    `(?<=")${e}(?=")`,
    `(?<=')${e}(?=')`,
    `(?<=\`)${e}(?=\`)`,
    `(?<=[=:][ \\t]*)${e}(?=[\\s"'\`,;&)\\]}]|$)`,
  ].join('|');
}

/** A short, uncommon value as a whole word: not preceded or followed by a letter, digit or `_`. */
function wholeWord(e: string): string {
  return `(?<![A-Za-z0-9_])${e}(?![A-Za-z0-9_])`;
}

/**
 * A function replacing every secret value in a text; the identity when there are none. Each
 * value is replaced as secretStrength says: everywhere, as a whole word, or only where it stands alone.
 */
export function redactorFor(secrets: readonly string[]): Redactor {
  const patterns: string[] = [];
  for (const secret of secrets) {
    const strength = secretStrength(secret);
    if (strength === 'none') continue;
    const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    patterns.push(strength === 'substring' ? escaped : strength === 'word' ? wholeWord(escaped) : standsAlone(escaped));
  }
  if (patterns.length === 0) return identity;
  const re = new RegExp(patterns.join('|'), 'gm');
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
