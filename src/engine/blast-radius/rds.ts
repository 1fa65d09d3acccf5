/** RDS: DB instances and clusters (engine, size, a final snapshot kept or not, deletion protection). */
import type { ChangeDetail } from '../../policy/blast-radius.js';
import { type Doc, fact, type Lookup, type OperationArgs, type OperationEntry, tagList, words } from './table.js';

/** Whether the deletion keeps a final snapshot, as the command's arguments say. */
function finalSnapshot(args: OperationArgs): Record<string, ChangeDetail> {
  const skip = args.flag('--skip-final-snapshot', 'SkipFinalSnapshot') === true;
  const name = args.value('--final-db-snapshot-identifier', 'FinalDBSnapshotIdentifier');
  return { final_snapshot: !skip, final_snapshot_identifier: skip ? null : name };
}

const summaryOf = (
  engine: Doc,
  version: Doc,
  size: string | null,
  status: Doc,
  protection: boolean,
  args: OperationArgs,
) =>
  words(
    `${engine} ${version ?? ''}`.trim(),
    size,
    status,
    protection ? 'deletion protection ON' : null,
    finalSnapshot(args).final_snapshot ? 'final snapshot kept' : 'NO final snapshot',
  );

const instance: Lookup = {
  kind: 'each',
  calls: { db: (id) => ['rds', 'describe-db-instances', '--db-instance-identifier', id] },
  notFound: /DBInstanceNotFound/,
  found: (a, _id, args) => {
    const db = a.db?.DBInstances?.[0] ?? {};
    const protection = db.DeletionProtection === true;
    return {
      details: {
        engine: fact(db.Engine),
        engine_version: fact(db.EngineVersion),
        instance_class: fact(db.DBInstanceClass),
        allocated_storage_gib: fact(db.AllocatedStorage),
        status: fact(db.DBInstanceStatus),
        multi_az: fact(db.MultiAZ),
        deletion_protection: protection,
        tags: tagList(db.TagList),
      },
      summary: summaryOf(
        db.Engine,
        db.EngineVersion,
        `${db.DBInstanceClass} ${db.AllocatedStorage} GiB`,
        db.DBInstanceStatus,
        protection,
        args,
      ),
    };
  },
};

const cluster: Lookup = {
  kind: 'each',
  calls: { db: (id) => ['rds', 'describe-db-clusters', '--db-cluster-identifier', id] },
  notFound: /DBClusterNotFound/,
  found: (a, _id, args) => {
    const db = a.db?.DBClusters?.[0] ?? {};
    const protection = db.DeletionProtection === true;
    const members = (db.DBClusterMembers ?? []).map((m: Doc) => String(m.DBInstanceIdentifier));
    return {
      details: {
        engine: fact(db.Engine),
        engine_version: fact(db.EngineVersion),
        allocated_storage_gib: fact(db.AllocatedStorage ?? null),
        status: fact(db.Status),
        members,
        deletion_protection: protection,
        tags: tagList(db.TagList),
      },
      summary: summaryOf(db.Engine, db.EngineVersion, `${members.length} member(s)`, db.Status, protection, args),
    };
  },
};

export const RDS_OPERATIONS: OperationEntry[] = [
  {
    service: 'rds',
    operations: ['delete-db-instance'],
    action: 'delete',
    resource_type: 'db-instance',
    targets: (a) => a.values('--db-instance-identifier', 'DBInstanceIdentifier'),
    lookup: instance,
    fromArgs: finalSnapshot,
  },
  {
    service: 'rds',
    operations: ['delete-db-cluster'],
    action: 'delete',
    resource_type: 'db-cluster',
    targets: (a) => a.values('--db-cluster-identifier', 'DBClusterIdentifier'),
    lookup: cluster,
    fromArgs: finalSnapshot,
  },
];
