/**
 * The shape of a blast-radius table: for each operation, which arguments name the resources
 * it changes, the read-only call (an AWS CLI argv) that describes them, and the facts shown.
 * One table per service (ec2.ts, s3.ts, iam.ts, rds.ts, cloudformation.ts); adding an operation
 * is one entry. resolve.ts runs the calls (each checked read-only first), warnings.ts reads
 * the facts.
 *
 * Facts use common names so the warnings need no per-service code: `tags` (`key=value`
 * strings: production tags), `deletion_protection` (true: would fail), `final_snapshot`
 * (false: none kept), `versioning` (`Enabled`/`Suspended`), `in_use_by` (non-empty: in use),
 * `object_count` (counts toward "many resources").
 */
import type { ChangeDetail } from '../../policy/blast-radius.js';

/** An AWS answer: arbitrary JSON, read field by field. */
// biome-ignore lint/suspicious/noExplicitAny: AWS answers are arbitrary JSON, read by field names the tables know
export type Doc = any;

/** The arguments of the command being assessed, read the same way for the CLI and the SDK. */
export interface OperationArgs {
  /** The values of an option: CLI `--instance-ids a b` / `--instance-ids=a` / `--cli-input-json`, or the SDK's `InstanceIds`. */
  values(cli: string, sdk: string): string[];
  /** One value (the first), or null. */
  value(cli: string, sdk: string): string | null;
  /** A boolean option: `--skip-final-snapshot` true, `--no-skip-final-snapshot` false, SDK `SkipFinalSnapshot`; null when absent. */
  flag(cli: string, sdk: string): boolean | null;
  /** A structured parameter as the SDK takes it (from SDK parameters or `--cli-input-json`); CLI shorthand is not parsed. */
  raw(cli: string, sdk: string): unknown;
  /** CLI words that are not options or option values (`s3 rm s3://b/k`); empty for the SDK. */
  positionals: string[];
  /** The working dir of the command (local paths of `s3 sync` are relative to it). */
  workingDir: string | null;
}

/** What a look-up learnt about one resource. */
export interface Found {
  /** False: the describe call says it does not exist. */
  exists: boolean;
  details: Record<string, ChangeDetail>;
  /** The part of the summary after the id: `(web-1) running t3.micro`. */
  summary: string;
}

/** A read-only call: the AWS CLI words after `aws` (service, operation, options); `--output json` is added. Empty: no call. */
export type LookupArgv = string[];

/**
 * How the resources of one type are looked up. Either `list` (one call for all ids, the ids in a
 * filter: an id missing from the answer does not exist) or `each` (calls per id; the answer of
 * the first tells whether it exists: `notFound` matches AWS's error).
 */
export type Lookup =
  | {
      kind: 'list';
      argv: (ids: string[]) => LookupArgv;
      items: (answer: Doc) => Doc[];
      id: (item: Doc) => string;
      /** More calls per found item (e.g. what uses a security group): their answers by name. */
      more?: Record<string, (id: string) => LookupArgv>;
      found: (item: Doc, more: Record<string, Doc>, args: OperationArgs) => Omit<Found, 'exists'>;
    }
  | {
      kind: 'each';
      /** Calls per id, by name; the first decides existence. */
      calls: Record<string, (id: string, args: OperationArgs) => LookupArgv>;
      notFound: RegExp;
      /** Errors of later calls that mean "none" (a bucket without tags): the answer is null, not a failure. */
      absent?: RegExp;
      found: (answers: Record<string, Doc>, id: string, args: OperationArgs) => Omit<Found, 'exists'>;
    };

/** One operation: what it does, to which resources, and how they are looked up. */
export interface OperationEntry {
  /** The CLI's service (`ec2`, `s3api`, `s3`, `iam`, `rds`, `cloudformation`). */
  service: string;
  /** The CLI's operation names (`terminate-instances`); the SDK name is derived (`TerminateInstances`). */
  operations: string[];
  /** What happens to the resources: `terminate`, `delete`, `stop`, ... */
  action: string;
  resource_type: string;
  /**
   * The ids of the resources named by the command's arguments; null when the command, as
   * written, is not one this entry covers (`s3 sync` without `--delete` removes nothing).
   */
  targets: (args: OperationArgs) => string[] | null;
  lookup: Lookup;
  /** Other values of the command a look-up puts in its argv (the S3 source of a sync): checked like the ids. */
  alsoReads?: (args: OperationArgs) => string[];
  /** Facts from the command's own arguments (a final snapshot kept or not), added to every change. */
  fromArgs?: (args: OperationArgs) => Record<string, ChangeDetail>;
}

/** `--instance-ids` / `InstanceIds`: the resource ids an option names. */
export const option =
  (cli: string, sdk: string) =>
  (args: OperationArgs): string[] =>
    args.values(cli, sdk);

/** Tags as `key=value` strings (EC2's `Tags: [{Key, Value}]`, RDS's `TagList`, IAM's `Tags`). */
export function tagList(tags: Doc): string[] {
  if (!Array.isArray(tags)) return [];
  return tags.map((t: Doc) => `${t?.Key ?? t?.key ?? ''}=${t?.Value ?? t?.value ?? ''}`);
}

/** The value of one tag, or null. */
export function tagValue(tags: Doc, key: string): string | null {
  if (!Array.isArray(tags)) return null;
  const tag = tags.find((t: Doc) => t?.Key === key);
  return tag ? String(tag.Value ?? '') : null;
}

/** A fact as shown: strings, numbers and booleans as they are; anything else as null. */
export function fact(value: unknown): ChangeDetail {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return null;
}

/** `1536` bytes -> `1.5 KiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Summary words, empty ones left out. */
export function words(...parts: Array<string | null | undefined | false>): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}
