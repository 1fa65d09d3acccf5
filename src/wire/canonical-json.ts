/**
 * Canonical JSON: one text for one value, so a digest of it (an approval's `plan_sha256`, an
 * audit entry's hash) is the same wherever it is computed. Object keys are sorted (by UTF-16
 * code units, as JavaScript sorts strings), there is no whitespace, and strings and numbers are
 * written as `JSON.stringify` writes them: the rules of RFC 8785 (JCS) for the values JSON has.
 *
 * Written by hand rather than with a `JSON.stringify` replacer: an object rebuilt with sorted
 * keys would still list integer-like keys ("2", "10") first, in numeric order.
 */

export function canonicalJson(value: unknown): string {
  const text = write(value);
  if (text === undefined) throw new TypeError('canonicalJson: the value has no JSON form');
  return text;
}

/** The value's canonical text, or undefined where JSON has no value (undefined, functions, symbols). */
function write(value: unknown): string | undefined {
  const json = toJsonValue(value);
  if (json === null || typeof json === 'boolean' || typeof json === 'string') return JSON.stringify(json);
  if (typeof json === 'number') return JSON.stringify(json); // NaN and ±Infinity become null, as in JSON.stringify
  if (typeof json === 'bigint') throw new TypeError('canonicalJson: a BigInt has no JSON form');
  if (typeof json !== 'object') return undefined;
  if (Array.isArray(json)) return `[${json.map((item) => write(item) ?? 'null').join(',')}]`;
  const record = json as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const text = write(record[key]);
    if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

/** What JSON.stringify would serialise in the value's place: a Date (or anything with toJSON) by its toJSON. */
function toJsonValue(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON: () => unknown }).toJSON();
  }
  return value;
}
