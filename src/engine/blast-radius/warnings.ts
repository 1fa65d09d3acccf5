/**
 * What a careful colleague would point out about the resources a command changes, read from
 * the facts the tables show (their common names: see table.ts), and about the plan as a whole
 * (a command going to another region or account than the rest).
 */
import type { BlastRadiusConfig } from '../../config.js';
import type { DryRunWarning, ResourceChange } from '../../policy/blast-radius.js';

const what = (c: ResourceChange) =>
  c.resource_type === 'objects' ? `the objects under ${c.resource_id}` : `${c.resource_type} ${c.resource_id}`;
/** `is` / `are`, as the subject of `what` takes it. */
const is = (c: ResourceChange) => (c.resource_type === 'objects' ? 'are' : 'is');

/** The production tags of a change (`env=prod`), as configured (keys and values case-insensitive). */
export function productionTags(change: ResourceChange, config: BlastRadiusConfig): string[] {
  const tags = change.details.tags;
  if (!Array.isArray(tags)) return [];
  const keys = new Set(config.production_tags.keys.map((k) => k.toLowerCase()));
  const values = new Set(config.production_tags.values.map((v) => v.toLowerCase()));
  return tags.filter((tag) => {
    const eq = tag.indexOf('=');
    return eq > 0 && keys.has(tag.slice(0, eq).toLowerCase()) && values.has(tag.slice(eq + 1).toLowerCase());
  });
}

/** Warnings about each change, and about how many there are. */
export function changeWarnings(changes: readonly ResourceChange[], config: BlastRadiusConfig): DryRunWarning[] {
  const warnings: DryRunWarning[] = [];
  const warn = (code: DryRunWarning['code'], message: string, resource_id: string | null) =>
    warnings.push({ code, message, resource_id });
  for (const c of changes) {
    const d = c.details;
    if (c.exists === false) {
      warn('resource_not_found', `${what(c)} does not exist: the ${c.action} would fail or do nothing`, c.resource_id);
      continue;
    }
    const prod = productionTags(c, config);
    if (prod.length > 0)
      warn(
        'production_resource',
        d.tags_of === 'bucket'
          ? `${what(c)} ${is(c)} in a bucket tagged ${prod.join(', ')}`
          : `${what(c)} is tagged ${prod.join(', ')}`,
        c.resource_id,
      );
    if (d.deletion_protection === true)
      warn(
        'deletion_protection',
        `${what(c)} has deletion protection on: the ${c.action} fails until it is turned off`,
        c.resource_id,
      );
    if (d.final_snapshot === false)
      warn(
        'no_final_snapshot',
        `${what(c)} is deleted without a final snapshot: its data cannot be restored`,
        c.resource_id,
      );
    if (d.versioning === 'Enabled' || d.versioning === 'Suspended') {
      const message =
        c.resource_type === 'bucket'
          ? `${what(c)} has versioning ${d.versioning}: every object version goes with it`
          : `${what(c)} ${is(c)} in a bucket with versioning ${d.versioning}: earlier versions are kept (a delete marker is added), unless versions are deleted by id`;
      warn('versioned_bucket', message, c.resource_id);
    }
    if (Array.isArray(d.in_use_by) && d.in_use_by.length > 0)
      warn('in_use', `${what(c)} is in use by ${d.in_use_by.join(', ')}`, c.resource_id);
  }
  // Objects under a prefix, resources of a stack: each counts.
  const touched = changes
    .filter((c) => c.exists !== false)
    .reduce((n, c) => {
      const inside = c.details.object_count ?? c.details.resource_count;
      return n + (typeof inside === 'number' ? inside : 1);
    }, 0);
  if (touched > config.many_resources)
    warn('many_resources', `touches ${touched} resources (more than ${config.many_resources})`, null);
  return warnings;
}

/** Where and as whom one AWS command of a plan runs (null: not an AWS command). */
export interface CallPlace {
  region: string;
  account: string;
}

/**
 * `other_region` / `other_account` for commands going elsewhere than the rest of the plan's
 * AWS commands (the most common region and identity; on a tie, the first command's).
 */
export function planWarnings(places: ReadonlyArray<CallPlace | null>): DryRunWarning[][] {
  const out: DryRunWarning[][] = places.map(() => []);
  const known = places.filter((p): p is CallPlace => p !== null);
  if (known.length < 2) return out;
  const usual = (pick: (p: CallPlace) => string): string => {
    const counts = new Map<string, number>();
    for (const p of known) counts.set(pick(p), (counts.get(pick(p)) ?? 0) + 1);
    return [...counts].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
  };
  const region = usual((p) => p.region);
  const account = usual((p) => p.account);
  places.forEach((p, i) => {
    if (p === null) return;
    if (p.region !== region)
      out[i]!.push({
        code: 'other_region',
        message: `runs in ${p.region}; the rest of the plan in ${region}`,
        resource_id: null,
      });
    if (p.account !== account)
      out[i]!.push({
        code: 'other_account',
        message: `runs as ${p.account}; the rest of the plan as ${account}`,
        resource_id: null,
      });
  });
  return out;
}
