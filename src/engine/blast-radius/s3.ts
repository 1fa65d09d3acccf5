// biome-ignore-all format: operation tables read best one entry per line
/**
 * S3: buckets (`s3api delete-bucket`, `s3 rb`), objects (`s3api delete-object(s)`, `s3 rm`), and
 * what `s3 rm --recursive` and `s3 sync --delete` would remove (how many, a few names).
 */
import type { ChangeDetail } from '../../policy/blast-radius.js';
import { bytes, type Doc, fact, type Lookup, type OperationArgs, type OperationEntry, tagList, words } from './table.js';

/** How many keys a listing reads at most (the CLI pages through them); more is reported as "at least". */
export const MAX_LISTED_OBJECTS = 10_000;
/** Keys shown as examples of what goes. */
const SAMPLES = 5;

/** `s3://bucket/key` -> bucket and key (key may be empty). */
export function s3Path(uri: string): { bucket: string; key: string } | null {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return match ? { bucket: match[1]!, key: match[2]! } : null;
}

const listing = (bucket: string, prefix = '') => [
  's3api',
  'list-objects-v2',
  '--bucket',
  bucket,
  ...(prefix ? ['--prefix', prefix] : []),
  '--max-items',
  String(MAX_LISTED_OBJECTS),
];
const versioningOf = (bucket: string) => ['s3api', 'get-bucket-versioning', '--bucket', bucket];
const taggingOf = (bucket: string) => ['s3api', 'get-bucket-tagging', '--bucket', bucket];
/** A bucket without tags answers NoSuchTagSet: no tags, not a failure. */
const NO_TAGS = /NoSuchTagSet/;

interface Listed {
  keys: string[];
  count: number;
  size: number;
  /** More objects than were listed. */
  more: boolean;
}

function listed(answer: Doc): Listed {
  const contents: Doc[] = answer?.Contents ?? [];
  return {
    keys: contents.map((c) => String(c.Key)),
    count: contents.length,
    size: contents.reduce((sum: number, c: Doc) => sum + (Number(c.Size) || 0), 0),
    more: Boolean(answer?.NextToken),
  };
}

function versioning(answer: Doc): string {
  return typeof answer?.Status === 'string' ? answer.Status : 'Disabled';
}

/** Object facts shown for what goes: count, total size, a few names. */
function objectFacts(l: Listed, keys: string[] = l.keys): Record<string, ChangeDetail> {
  return {
    object_count: keys.length,
    object_count_is_lower_bound: l.more,
    total_size_bytes: l.size,
    sample_keys: keys.slice(0, SAMPLES),
  };
}

const count = (n: number, more: boolean) => `${more ? 'at least ' : ''}${n} object${n === 1 ? '' : 's'}`;

/** A bucket: its objects, versioning and tags. */
const bucket: Lookup = {
  kind: 'each',
  calls: {
    objects: (id) => listing(id),
    versioning: (id) => versioningOf(id),
    tags: (id) => taggingOf(id),
  },
  notFound: /NoSuchBucket/,
  absent: NO_TAGS,
  found: (answers) => {
    const l = listed(answers.objects);
    const status = versioning(answers.versioning);
    return {
      details: { ...objectFacts(l), versioning: status, tags: tagList(answers.tags?.TagSet) },
      summary: `holds ${count(l.count, l.more)} (${bytes(l.size)}), versioning ${status}`,
    };
  },
};

/** One object (`s3://bucket/key`). */
const object: Lookup = {
  kind: 'each',
  calls: {
    head: (id) => {
      const { bucket, key } = s3Path(id)!;
      return ['s3api', 'head-object', '--bucket', bucket, '--key', key];
    },
    versioning: (id) => versioningOf(s3Path(id)!.bucket),
    tags: (id) => taggingOf(s3Path(id)!.bucket),
  },
  notFound: /\(404\)|Not Found|NoSuchKey|NoSuchBucket/,
  absent: NO_TAGS,
  found: (answers) => {
    const status = versioning(answers.versioning);
    const size = Number(answers.head?.ContentLength) || 0;
    return {
      details: {
        size_bytes: size,
        last_modified: fact(answers.head?.LastModified),
        versioning: status,
        ...bucketTags(answers.tags),
      },
      summary: `(${bytes(size)}, last modified ${answers.head?.LastModified}), bucket versioning ${status}`,
    };
  },
};

/** The tags of the bucket objects are in: a production bucket's objects are production data. */
const bucketTags = (answer: Doc): Record<string, ChangeDetail> => ({ tags: tagList(answer?.TagSet), tags_of: 'bucket' });

/** The S3 source of `s3 sync s3://src s3://dst`, or null (a local source). */
export function syncS3Source(args: OperationArgs): string | null {
  const src = args.positionals.length === 2 ? args.positionals[0]! : null;
  return src !== null && s3Path(src) !== null ? src : null;
}

/** Objects under a prefix (`s3 rm --recursive`), or what `s3 sync --delete` removes from its destination. */
const prefix: Lookup = {
  kind: 'each',
  calls: {
    objects: (id) => {
      const { bucket, key } = s3Path(id)!;
      return listing(bucket, key);
    },
    versioning: (id) => versioningOf(s3Path(id)!.bucket),
    tags: (id) => taggingOf(s3Path(id)!.bucket),
    source: (_id, args) => {
      const path = s3Path(syncS3Source(args) ?? '');
      return path ? listing(path.bucket, path.key) : [];
    },
  },
  notFound: /NoSuchBucket/,
  absent: NO_TAGS,
  found: (answers, id, args) => {
    const l = listed(answers.objects);
    const status = versioning(answers.versioning);
    let keys = l.keys;
    let note: string | null = null;
    const sync = args.positionals.length === 2;
    if (sync) {
      // sync --delete: what the destination has and the source does not. A local source is not
      // read (before approval the engine reads none of its own files): everything under the
      // destination may go, which exactly depends on the local files when it runs.
      const src = syncS3Source(args);
      const srcPath = src ? s3Path(src) : null;
      const rel = (k: string, from: string) => (from && k.startsWith(from) ? k.slice(from.length).replace(/^\//, '') : k);
      if (srcPath) {
        const have = new Set(listed(answers.source).keys.map((k) => rel(k, srcPath.key)));
        keys = l.keys.filter((k) => !have.has(rel(k, s3Path(id)!.key)));
      } else {
        note = `which of these go depends on the local files of ${args.positionals[0]} when it runs (not read before approval)`;
      }
      if (args.values('--exclude', 'Exclude').length > 0 || args.values('--include', 'Include').length > 0)
        note = `${note ? `${note}; ` : ''}--exclude/--include filters are not applied: the count may be higher than what goes`;
    }
    const whole = keys === l.keys;
    const may = sync && note !== null;
    return {
      details: {
        ...objectFacts(l, keys),
        total_size_bytes: whole ? l.size : null,
        versioning: status,
        ...bucketTags(answers.tags),
        ...(sync ? { exact: !may } : {}),
        ...(note ? { note } : {}),
      },
      summary: words(
        `${may ? 'up to ' : ''}${count(keys.length, l.more)}${whole ? ` (${bytes(l.size)})` : ''} ${may ? 'may go' : 'go'}`,
        keys.length > 0 ? `(e.g. ${keys.slice(0, SAMPLES).join(', ')})` : null,
        `, bucket versioning ${status}`,
      ).replace(' ,', ','),
    };
  },
};

/** The bucket `s3 rb s3://b` names. */
const rbTargets = (args: OperationArgs) => args.positionals.flatMap((p) => (s3Path(p) ? [s3Path(p)!.bucket] : []));

/** `s3 rm s3://b/k` (one object) or `--recursive` (a prefix): which the entry handles. */
const rmTargets = (recursive: boolean) => (args: OperationArgs) =>
  args.flag('--recursive', 'Recursive') === true === recursive
    ? args.positionals.filter((p) => s3Path(p) !== null && (recursive || s3Path(p)!.key !== ''))
    : null;

/** `delete-objects --delete '{"Objects":[{"Key":"a"}]}'` or shorthand `Objects=[{Key=a},{Key=b}]`. */
function deletedKeys(args: OperationArgs): string[] {
  const bucket = args.value('--bucket', 'Bucket');
  if (bucket === null) return [];
  const raw = args.raw('--delete', 'Delete') as Doc;
  let keys: string[];
  if (raw && Array.isArray(raw.Objects)) keys = raw.Objects.map((o: Doc) => String(o.Key));
  else keys = [...args.values('--delete', 'Delete').join(' ').matchAll(/Key=([^,}\]]+)/g)].map((m) => m[1]!);
  return keys.map((k) => `s3://${bucket}/${k}`);
}

export const S3_OPERATIONS: OperationEntry[] = [
  {
    service: 's3api',
    operations: ['delete-bucket'],
    action: 'delete',
    resource_type: 'bucket',
    targets: (args) => args.values('--bucket', 'Bucket'),
    lookup: bucket,
  },
  { service: 's3', operations: ['rb'], action: 'delete', resource_type: 'bucket', targets: rbTargets, lookup: bucket },
  {
    service: 's3api',
    operations: ['delete-object'],
    action: 'delete',
    resource_type: 'object',
    targets: (args) => {
      const [b, k] = [args.value('--bucket', 'Bucket'), args.value('--key', 'Key')];
      return b !== null && k !== null ? [`s3://${b}/${k}`] : [];
    },
    lookup: object,
  },
  { service: 's3api', operations: ['delete-objects'], action: 'delete', resource_type: 'object', targets: deletedKeys, lookup: object },
  { service: 's3', operations: ['rm'], action: 'delete', resource_type: 'object', targets: rmTargets(false), lookup: object },
  { service: 's3', operations: ['rm'], action: 'delete', resource_type: 'objects', targets: rmTargets(true), lookup: prefix },
  {
    service: 's3',
    operations: ['sync'],
    action: 'delete',
    resource_type: 'objects',
    // Only with --delete does sync remove anything: the destination (the last path).
    targets: (args) =>
      args.flag('--delete', 'Delete') === true && args.positionals.length === 2 && s3Path(args.positionals[1]!)
        ? [args.positionals[1]!]
        : null,
    alsoReads: (args) => [syncS3Source(args) ?? []].flat(),
    lookup: prefix,
  },
];
