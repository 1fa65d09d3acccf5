/**
 * What a command would touch, as a dry run found it: the resources it names, looked up with
 * read-only calls (`changes`), and what a careful colleague would point out (`warnings`).
 * The shapes live here, below the engine, because the approval request carries them; the
 * look-ups themselves run commands and live with the dry run (src/engine/blast-radius/).
 */

/** Why a warning is given; one code per concern, so clients decide on facts, not on message text. */
export const DRY_RUN_WARNING_CODES = [
  /** Tagged as production (the tag keys and values are configurable). */
  'production_resource',
  /** The resource does not exist: the command would fail. */
  'resource_not_found',
  /** Deletion protection is on: the command would fail until it is turned off. */
  'deletion_protection',
  /** A database is deleted without a final snapshot. */
  'no_final_snapshot',
  /** A bucket keeps versions: deleting objects leaves (or, with versions, removes) history. */
  'versioned_bucket',
  /** More resources than the configured threshold. */
  'many_resources',
  /** A region or account different from the rest of the plan. */
  'other_region',
  'other_account',
  /** Something in use by others (an attached volume, a security group still referenced). */
  'in_use',
  /** What the command touches could not be established; the message says why. */
  'unresolved',
] as const;
export type DryRunWarningCode = (typeof DRY_RUN_WARNING_CODES)[number];

/** A value shown about a resource: a fact as AWS reported it. */
export type ChangeDetail = string | number | boolean | null | string[];

/** One resource a command would change. */
export interface ResourceChange {
  /** What happens to it, as the operation's verb says: `terminate`, `delete`, `stop`, `modify`, `revoke`, ... */
  action: string;
  /** The AWS service (`ec2`, `s3`, `iam`, `rds`, `cloudformation`). */
  service: string;
  /**
   * `instance`, `volume`, `snapshot`, `security-group`, `bucket`, `object`, `objects` (everything
   * under an S3 prefix: `s3 rm --recursive`, `s3 sync --delete`; `details.object_count` says how
   * many), `user`, `role`, `policy`, `access-key`, `db-instance`, `db-cluster`, `stack`.
   */
  resource_type: string;
  resource_id: string;
  /** False when a read-only call said it does not exist; null when it could not be looked up. */
  exists: boolean | null;
  /** One line a person recognises: `i-0abc (web-1) running t3.micro, env=prod, owner=ana`. */
  summary: string;
  /** The facts behind the summary, by name (`Name`, `state`, `instance_type`, `launch_time`, `tags`, ...). */
  details: Record<string, ChangeDetail>;
}

export interface DryRunWarning {
  code: DryRunWarningCode;
  message: string;
  /** The resource it is about, or null for the command as a whole. */
  resource_id: string | null;
}

/**
 * How far the look-up went: `resolved` (every resource named was looked up), `partial`, `unresolved`
 * (none could be: `resolution_note` says why), `not_applicable` (the command changes nothing a
 * table covers: read-only work, or an operation with no look-up yet).
 */
export const RESOLUTION_STATES = ['resolved', 'partial', 'unresolved', 'not_applicable'] as const;
export type ResolutionState = (typeof RESOLUTION_STATES)[number];

/** What a dry run found out about one command's blast radius. */
export interface BlastRadius {
  changes: ResourceChange[];
  warnings: DryRunWarning[];
  resolution: ResolutionState;
  /** Why the look-up did not go all the way (null when it did). */
  resolution_note: string | null;
  /** When the look-ups ran (RFC 3339); null when none ran. What the approval shows the age of. */
  resolved_at: string | null;
}
