/**
 * `approval show`, `approve`, `reject` take a unique prefix of an approval id, as git takes a
 * short hash: matched against the server's approvals; an ambiguous prefix is bad input listing
 * the candidates, and no match is left to the server to call not found.
 */
import { CliExit, EXIT } from './exit.js';

const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_PREFIX = /^[0-9a-f][0-9a-f-]{0,35}$/i;
const MAX_CANDIDATES = 10;

export async function resolveApprovalId(id: string, list: () => Promise<Array<{ id: string }>>): Promise<string> {
  if (FULL_ID.test(id) || !ID_PREFIX.test(id)) return id;
  const prefix = id.toLowerCase();
  const matches = [...new Set((await list()).map((a) => a.id).filter((a) => a.toLowerCase().startsWith(prefix)))];
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) return id;
  const shown = matches.slice(0, MAX_CANDIDATES).map((m) => `  ${m}`);
  if (matches.length > MAX_CANDIDATES) shown.push(`  ... and ${matches.length - MAX_CANDIDATES} more`);
  throw new CliExit(
    EXIT.BAD_INPUT,
    `"${id}" is ambiguous: ${matches.length} approvals start with it:\n${shown.join('\n')}`,
  );
}
