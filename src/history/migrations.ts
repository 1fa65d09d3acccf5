/**
 * The history store's schema, versioned in code. Each migration runs once, in order, in its
 * own transaction; `PRAGMA user_version` records how far a store has come, so a store
 * written by an older version is upgraded when a newer one opens it.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'executions and their full-text index',
    sql: `
      CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('command', 'plan')),
        plan_id TEXT,
        conversation_id TEXT,
        source TEXT,
        status TEXT NOT NULL,
        risk_level TEXT,
        command TEXT NOT NULL,
        description TEXT,
        request_json TEXT,
        plan_json TEXT,
        exit_code INTEGER,
        error TEXT,
        submitted_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        duration_ms INTEGER,
        log_path TEXT NOT NULL,
        tags_json TEXT NOT NULL DEFAULT '{}',
        output TEXT,
        engine_pid INTEGER
      );
      CREATE INDEX executions_submitted ON executions (submitted_at);
      CREATE INDEX executions_status ON executions (status, submitted_at);
      CREATE INDEX executions_conversation ON executions (conversation_id, submitted_at);
      CREATE INDEX executions_plan ON executions (plan_id);
      -- Each search entry has the rowid of its executions row (lookups by rowid are indexed).
      CREATE VIRTUAL TABLE executions_fts USING fts5(id UNINDEXED, command, description, output, tokenize = 'unicode61');
    `,
  },
  {
    version: 2,
    description: 'approval metadata, engine instance, risk index',
    sql: `
      ALTER TABLE executions ADD COLUMN approval_json TEXT;
      ALTER TABLE executions ADD COLUMN engine_id TEXT;
      CREATE INDEX executions_risk ON executions (risk_level, submitted_at);
    `,
  },
  {
    version: 3,
    description: 'rebuild the search index keyed by record rowid',
    // Stores written before this convention could hold search entries under other rowids.
    sql: `
      DELETE FROM executions_fts;
      INSERT INTO executions_fts (rowid, id, command, description, output)
        SELECT rowid, id, command, description, output FROM executions;
    `,
  },
  {
    version: 4,
    description: 'plans waiting for (or given) a human decision',
    sql: `
      CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
        plan_json TEXT NOT NULL,
        request_json TEXT NOT NULL,
        decision_json TEXT,
        execution_id TEXT,
        submitted_at TEXT NOT NULL
      );
      CREATE INDEX approvals_state ON approvals (state, submitted_at);
    `,
  },
  {
    version: 5,
    description: 'the process group a command runs in, so a new engine can end what a dead one left running',
    sql: `
      ALTER TABLE executions ADD COLUMN process_group INTEGER;
      ALTER TABLE executions ADD COLUMN process_start TEXT;
    `,
  },
  {
    version: 6,
    description: "why a result is not a success, as a code (the result's error_code), to filter on",
    // Older records get the code only where a recorded fact states it: the status (timeout,
    // cancelled, skipped, interrupted), a failed command's positive exit code (exit), a failed
    // plan's members (below). The rest (signal, spawn failures, ...) stay null rather than be
    // guessed from their message.
    // A failed plan's rollback steps are its members (plan_id) that are not among its commands
    // (plan_json). With one, its rollback ran and did not complete (a complete one ends the plan
    // rolled_back): rollback_failed. Without one, a step failed: step_failed. A plan whose
    // commands are not readable (plan_json missing, not JSON, without a command list) is left null.
    sql: `
      ALTER TABLE executions ADD COLUMN error_code TEXT;
      UPDATE executions SET error_code = status
        WHERE error IS NOT NULL AND status IN ('timeout', 'cancelled', 'skipped', 'interrupted');
      UPDATE executions SET error_code = 'exit'
        WHERE error IS NOT NULL AND kind = 'command' AND status = 'failed' AND exit_code > 0;
      UPDATE executions AS p SET error_code = CASE
          WHEN EXISTS (
            SELECT 1 FROM executions AS m
            WHERE m.plan_id = p.id
              AND m.id NOT IN (
                SELECT json_extract(c.value, '$.id') FROM json_each(p.plan_json, '$.commands') AS c
                WHERE c.type = 'object'
              )
          ) THEN 'rollback_failed'
          ELSE 'step_failed'
        END
        WHERE p.error IS NOT NULL AND p.kind = 'plan' AND p.status = 'failed'
          AND CASE WHEN json_valid(p.plan_json) THEN json_type(p.plan_json, '$.commands') END = 'array';
      CREATE INDEX executions_error_code ON executions (error_code, submitted_at);
    `,
  },
  {
    version: 7,
    description: 'principals: named identities, each with one role and the hash of its API token',
    // The token itself is never stored: `token_id` (public, in the token) finds the row, and the
    // secret part is checked against `token_hash` in constant time. A revoked principal keeps its row.
    sql: `
      CREATE TABLE principals (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'submitter', 'approver', 'admin')),
        token_id TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT,
        revoked_at TEXT
      );
    `,
  },
  {
    version: 8,
    description: 'the audit trail: who did what, append-only, each entry chained to the one before by its hash',
    sql: `
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        principal TEXT,
        action TEXT NOT NULL,
        object TEXT,
        source TEXT,
        detail_json TEXT NOT NULL DEFAULT '{}',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
    `,
  },
  {
    version: 9,
    description:
      'approvals with who submitted them, the votes so far, how many are needed, the digest approved, expiry',
    // SQLite cannot change a CHECK constraint in place: the table is rebuilt with `expired` allowed.
    sql: `
      CREATE TABLE approvals_v9 (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired')),
        plan_json TEXT NOT NULL,
        request_json TEXT NOT NULL,
        decision_json TEXT,
        execution_id TEXT,
        submitted_at TEXT NOT NULL,
        submitted_by TEXT,
        required INTEGER NOT NULL DEFAULT 1,
        votes_json TEXT NOT NULL DEFAULT '[]',
        plan_sha256 TEXT,
        expires_at TEXT,
        dry_run_at TEXT
      );
      INSERT INTO approvals_v9 (id, state, plan_json, request_json, decision_json, execution_id, submitted_at)
        SELECT id, state, plan_json, request_json, decision_json, execution_id, submitted_at FROM approvals;
      DROP TABLE approvals;
      ALTER TABLE approvals_v9 RENAME TO approvals;
      CREATE INDEX approvals_state ON approvals (state, submitted_at);
    `,
  },
  {
    version: 10,
    description: "an approver's edit of an approval's plan, waiting for the other approvals it needs",
    sql: 'ALTER TABLE approvals ADD COLUMN edit_json TEXT;',
  },
  {
    version: 11,
    description: 'the audit entries about one object found without reading the whole trail (who cancelled a run)',
    sql: 'CREATE INDEX audit_log_object ON audit_log (object, action, seq);',
  },
  {
    version: 12,
    description: 'what the person asked (user_prompt) on each execution, searchable with the rest',
    // FTS5 tables cannot gain a column: the index is made again with one, and every existing row
    // indexed again under its record's rowid (the migration's one transaction covers all of it).
    sql: `
      ALTER TABLE executions ADD COLUMN user_prompt TEXT;
      DROP TABLE executions_fts;
      CREATE VIRTUAL TABLE executions_fts USING fts5(id UNINDEXED, command, description, output, user_prompt, tokenize = 'unicode61');
      INSERT INTO executions_fts (rowid, id, command, description, output, user_prompt)
        SELECT rowid, id, command, description, output, user_prompt FROM executions;
    `,
  },
  {
    version: 13,
    description: "a plan step's name (the request's `name`), shown instead of its command",
    sql: 'ALTER TABLE executions ADD COLUMN name TEXT;',
  },
  {
    version: 14,
    description: 'the outputs a plan step produced, for later steps, as JSON',
    sql: 'ALTER TABLE executions ADD COLUMN outputs_json TEXT;',
  },
  {
    version: 15,
    description: 'a step a resumed plan carried over: the execution that ran it',
    sql: 'ALTER TABLE executions ADD COLUMN carried_from TEXT;',
  },
  {
    version: 16,
    description: "where a command ran: 'local', or 'queue:NAME' (what a later engine can end of it)",
    sql: 'ALTER TABLE executions ADD COLUMN place TEXT;',
  },
  {
    version: 17,
    description: 'the one run that resumes each plan run (claimed when it starts, by any engine on the store)',
    sql: 'CREATE TABLE resumes (from_plan TEXT PRIMARY KEY, plan_id TEXT NOT NULL, claimed_at TEXT NOT NULL);',
  },
  {
    version: 18,
    description: 'the search index keeps no copy of the text it indexes; indexes of mostly NULL columns made partial',
    // Before, the index stored its own copy of every command, description, output and prompt.
    // Now it is contentless (`content = ''`): the text is in `executions` (its output already the
    // bounded slice the index covers), the index holds only what finds a row by its rowid, and
    // `contentless_delete` lets the store drop a row's entry by rowid alone (store.ts writes the
    // entries, after the rows of each transaction: see `SearchWrites`). It holds no `id` column:
    // its rowid is the record's. Every row is indexed again here (a million records take about
    // a minute, once).
    //
    // No triggers keep it in step, on purpose: a trigger makes each row's statement open a
    // statement savepoint, and FTS5 writes its pending entries to disk at every savepoint, so
    // a batch of a thousand records made a thousand index segments (and their merges) instead
    // of one.
    //
    // Most records are not plan steps and succeeded: `plan_id` and `error_code` are NULL in
    // most rows, and rows are only looked up by a value (`plan_id = ?`, `error_code = ?`, which
    // the partial indexes serve), so the NULLs are no longer indexed on every insert.
    sql: `
      DROP TABLE executions_fts;
      CREATE VIRTUAL TABLE executions_fts USING fts5(
        command, description, output, user_prompt,
        content = '', contentless_delete = 1, tokenize = 'unicode61'
      );
      INSERT INTO executions_fts (rowid, command, description, output, user_prompt)
        SELECT rowid, command, description, output, user_prompt FROM executions;
      DROP INDEX executions_plan;
      CREATE INDEX executions_plan ON executions (plan_id) WHERE plan_id IS NOT NULL;
      DROP INDEX executions_error_code;
      CREATE INDEX executions_error_code ON executions (error_code, submitted_at) WHERE error_code IS NOT NULL;
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
