/**
 * The embedded execution history: one SQLite file in WAL mode, safe for several processes,
 * with full-text search over commands, descriptions, output and user prompts. Synchronous on purpose: each write is a few tens of microseconds and must be done
 * before the engine moves on, so a crash loses nothing that had started.
 */
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ExecutionError, resultError, ValidationError } from '../errors.js';
import {
  type ApprovalEdit,
  type ApprovalMetadata,
  type ApprovalVote,
  planDigest,
  type QueuedApproval,
} from '../policy/approval.js';
import { redactData } from '../policy/redact-data.js';
import {
  ACTIVE_STATUSES,
  type ApprovalState,
  type AuditAction,
  EXECUTION_STATUSES,
  type ExecutionKind,
  ExecutionKindSchema,
  type ExecutionStatus,
  RESULT_ERROR_CODES,
  type ResultErrorCode,
  RISK_LEVELS,
  type RiskLevel,
  type Role,
} from '../vocabulary.js';
import { canonicalJson } from '../wire/canonical-json.js';
import type { ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import {
  type AuditContent,
  type AuditEntry,
  type AuditInput,
  type AuditRow,
  auditHash,
  fromAuditRow,
  GENESIS_HASH,
} from './audit-log.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

export interface ExecutionRecord {
  id: string;
  kind: ExecutionKind;
  plan_id: string | null;
  /** A plan step's name (its request's `name`); null for plans and unnamed steps, and in older records. */
  name: string | null;
  conversation_id: string | null;
  /** What the person asked that led to this work (`metadata.user_prompt`; a plan's command: its plan's), stored redacted. */
  user_prompt: string | null;
  source: string | null;
  /**
   * An ExecutionStatus: the engine's, as the execution goes; `interrupted` is written by
   * `markInterrupted` for what an engine that died left pending or running.
   */
  status: ExecutionStatus;
  risk_level: RiskLevel | null;
  command: string;
  description: string | null;
  request: ExecutionRequest | null;
  plan: ExecutionPlan | null;
  approval: ApprovalMetadata | null;
  exit_code: number | null;
  error: string | null;
  /** Why it is not a success (the result's `error_code`); null exactly when `error` is, and in older records. */
  error_code: ResultErrorCode | null;
  submitted_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  log_path: string;
  tags: Record<string, string>;
  output: string | null;
  engine_pid: number | null;
  engine_id: string | null;
  /** The command's process group while it runs (its leader's pid), and when that leader started. */
  process_group: number | null;
  process_start: string | null;
  /** The outputs a finished command produced (its result's `outputs`); null for plans, unfinished commands and older records. */
  outputs: Record<string, string> | null;
  /** A step a resumed plan carried over: the execution that ran it (its result's `carried_from`); null otherwise. */
  carried_from: string | null;
  /** Where a command ran: `local` or `queue:NAME` (its engine's executor); null for plans and older records. */
  place: string | null;
}

/** Which records to list. Dates compare on `submitted_at`, both ends inclusive. */
export interface ExecutionFilter {
  status?: ExecutionStatus | null;
  risk_level?: RiskLevel | null;
  /** Only records whose result carries this code. */
  error_code?: ResultErrorCode | null;
  conversation_id?: string | null;
  kind?: ExecutionKind | null;
  /** The commands of one plan. */
  plan_id?: string | null;
  /** Only plans and stand-alone commands, not the commands inside plans. */
  top_level?: boolean | null;
  from_date?: string | Date | null;
  to_date?: string | Date | null;
  limit?: number;
  offset?: number;
}

interface ApprovalRow {
  id: string;
  state: ApprovalState;
  plan_json: string;
  request_json: string;
  decision_json: string | null;
  execution_id: string | null;
  submitted_at: string;
  submitted_by: string | null;
  required: number;
  votes_json: string;
  /** Null in approvals saved before plans had digests. */
  plan_sha256: string | null;
  expires_at: string | null;
  dry_run_at: string | null;
  edit_json: string | null;
}

function fromApprovalRow(row: ApprovalRow): QueuedApproval {
  const plan = JSON.parse(row.plan_json) as QueuedApproval['plan'];
  const edit = row.edit_json === null ? null : (JSON.parse(row.edit_json) as ApprovalEdit);
  return {
    id: row.id,
    state: row.state,
    plan,
    request: JSON.parse(row.request_json) as QueuedApproval['request'],
    decision: row.decision_json === null ? null : (JSON.parse(row.decision_json) as ApprovalMetadata),
    execution_id: row.execution_id,
    submitted_at: row.submitted_at,
    submitted_by: row.submitted_by,
    required: row.required,
    votes: JSON.parse(row.votes_json) as ApprovalVote[],
    plan_sha256: row.plan_sha256 ?? planDigest(edit?.plan ?? plan),
    expires_at: row.expires_at,
    dry_run_at: row.dry_run_at,
    edit,
  };
}

/** How approvals are written: `redact_secrets` as the engine's config has it (default true). */
export interface ApprovalStorage {
  redact_secrets?: boolean;
}

/**
 * An approval as stored. A decided one never runs again, so its secrets are not kept: the
 * file would otherwise hold every approved or rejected request's tokens for as long as it
 * lives. A pending one keeps its real environment, on purpose: after a restart it is
 * approved from this copy and runs with it (the file is owner-only, see restrictStoreFiles).
 */
function approvalRow(approval: QueuedApproval, config: ApprovalStorage): ApprovalRow {
  const stored =
    approval.state === 'pending' ? approval : redactData(approval, { redact_secrets: config.redact_secrets ?? true });
  return {
    // Keys, times, names and digests as they are: facts the table is looked up and ordered by, never free text.
    id: approval.id,
    state: approval.state,
    plan_json: JSON.stringify(stored.plan),
    request_json: JSON.stringify(stored.request),
    decision_json: stored.decision === null ? null : JSON.stringify(stored.decision),
    execution_id: approval.execution_id,
    submitted_at: approval.submitted_at,
    submitted_by: approval.submitted_by,
    required: approval.required,
    votes_json: JSON.stringify(stored.votes),
    plan_sha256: approval.plan_sha256,
    expires_at: approval.expires_at,
    dry_run_at: approval.dry_run_at,
    edit_json: stored.edit === null ? null : JSON.stringify(stored.edit),
  };
}

/** Output kept for search, in characters: its first and last part (the log file has all of it). */
export const INDEXED_OUTPUT_CHARS = 32 * 1024;
const STATUSES: ReadonlySet<string> = new Set(EXECUTION_STATUSES);
const RISKS: ReadonlySet<string> = new Set(RISK_LEVELS);
const ERROR_CODES: ReadonlySet<string> = new Set(RESULT_ERROR_CODES);
const KINDS: ReadonlySet<string> = new Set(ExecutionKindSchema.options);
/** `'pending', 'running'`: the vocabulary's active statuses as an SQL list (fixed words, no user input). */
const ACTIVE_SQL = ACTIVE_STATUSES.map((status) => `'${status}'`).join(', ');
const DEFAULT_LIMIT = 100;
/** The most records one `list` (or `approvals`) call returns. */
export const MAX_LIST_LIMIT = 10_000;

const COLUMNS = [
  'id',
  'kind',
  'plan_id',
  'name',
  'conversation_id',
  'user_prompt',
  'source',
  'status',
  'risk_level',
  'command',
  'description',
  'request_json',
  'plan_json',
  'approval_json',
  'exit_code',
  'error',
  'error_code',
  'submitted_at',
  'started_at',
  'completed_at',
  'duration_ms',
  'log_path',
  'tags_json',
  'output',
  'engine_pid',
  'engine_id',
  'process_group',
  'process_start',
  'outputs_json',
  'carried_from',
  'place',
] as const;
type Row = Record<(typeof COLUMNS)[number], string | number | null>;

/** Which record field each column stores (JSON columns are named `<field>_json`). */
const FIELD_OF = Object.fromEntries(COLUMNS.map((c) => [c, c.replace(/_json$/, '')])) as Record<
  (typeof COLUMNS)[number],
  string
>;

const EMPTY_RECORD: Omit<ExecutionRecord, 'id'> = {
  kind: 'command',
  plan_id: null,
  name: null,
  conversation_id: null,
  user_prompt: null,
  source: null,
  status: 'pending',
  risk_level: null,
  command: '',
  description: null,
  request: null,
  plan: null,
  approval: null,
  exit_code: null,
  error: null,
  error_code: null,
  submitted_at: '',
  started_at: null,
  completed_at: null,
  duration_ms: null,
  log_path: '',
  tags: {},
  output: null,
  engine_pid: null,
  engine_id: null,
  process_group: null,
  process_start: null,
  outputs: null,
  carried_from: null,
  place: null,
};

function boundOutput(output: string | null): string | null {
  if (output === null || output.length <= 2 * INDEXED_OUTPUT_CHARS) return output;
  return `${output.slice(0, INDEXED_OUTPUT_CHARS)}\n…\n${output.slice(-INDEXED_OUTPUT_CHARS)}`;
}

function toRow(r: ExecutionRecord): Row {
  return {
    id: r.id,
    kind: r.kind,
    plan_id: r.plan_id,
    // `?? null`: a record built before steps had names has none.
    name: r.name ?? null,
    conversation_id: r.conversation_id,
    // `?? null`: a record built before executions carried a prompt has none.
    user_prompt: r.user_prompt ?? null,
    source: r.source,
    status: r.status,
    risk_level: r.risk_level,
    command: r.command,
    description: r.description,
    request_json: r.request ? JSON.stringify(r.request) : null,
    plan_json: r.plan ? JSON.stringify(r.plan) : null,
    approval_json: r.approval ? JSON.stringify(r.approval) : null,
    exit_code: r.exit_code,
    error: r.error,
    // `?? null`: a record built before results carried a code has none.
    error_code: r.error_code ?? null,
    submitted_at: r.submitted_at,
    started_at: r.started_at,
    completed_at: r.completed_at,
    duration_ms: r.duration_ms,
    log_path: r.log_path,
    tags_json: JSON.stringify(r.tags),
    output: boundOutput(r.output),
    engine_pid: r.engine_pid,
    engine_id: r.engine_id,
    process_group: r.process_group,
    process_start: r.process_start,
    // `?? null`: a record built before steps had outputs has none.
    outputs_json: r.outputs ? JSON.stringify(r.outputs) : null,
    // `?? null`: a record built before plans could be resumed has none.
    carried_from: r.carried_from ?? null,
    // `?? null`: a record built before the place was recorded has none.
    place: r.place ?? null,
  };
}

function fromRow(row: Row): ExecutionRecord {
  const json = <T>(v: string | number | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : null);
  return {
    id: row.id as string,
    kind: row.kind as ExecutionKind,
    plan_id: row.plan_id as string | null,
    name: row.name as string | null,
    conversation_id: row.conversation_id as string | null,
    user_prompt: row.user_prompt as string | null,
    source: row.source as string | null,
    status: row.status as ExecutionStatus,
    risk_level: row.risk_level as RiskLevel | null,
    command: row.command as string,
    description: row.description as string | null,
    request: json<ExecutionRequest>(row.request_json),
    plan: json<ExecutionPlan>(row.plan_json),
    approval: json<ApprovalMetadata>(row.approval_json),
    exit_code: row.exit_code as number | null,
    error: row.error as string | null,
    error_code: row.error_code as ResultErrorCode | null,
    submitted_at: row.submitted_at as string,
    started_at: row.started_at as string | null,
    completed_at: row.completed_at as string | null,
    duration_ms: row.duration_ms as number | null,
    log_path: row.log_path as string,
    tags: json<Record<string, string>>(row.tags_json) ?? {},
    output: row.output as string | null,
    engine_pid: row.engine_pid as number | null,
    engine_id: row.engine_id as string | null,
    process_group: row.process_group as number | null,
    process_start: row.process_start as string | null,
    outputs: json<Record<string, string>>(row.outputs_json ?? null),
    carried_from: (row.carried_from ?? null) as string | null,
    place: (row.place ?? null) as string | null,
  };
}

function isoOf(value: string | Date, field: string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw ValidationError.of('InvalidField', `filter.${field}`, `not a date: ${String(value)}`);
  return date.toISOString();
}

/** A search longer than this is refused (see `searchWords`). */
export const MAX_SEARCH_WORDS = 32;
export const MAX_SEARCH_CHARS = 1_000;
/** The most records one `search` call returns. */
export const MAX_SEARCH_LIMIT = 1_000;
/**
 * How many matches one search ranks, divided by its number of words: the newest matches are
 * ranked, at most RANK_BUDGET / words of them (and never fewer than asked for). FTS5's bm25
 * merges the positions of every phrase in a row by scanning all phrases for each occurrence,
 * so ranking one row costs (occurrences × words); this keeps a call's work bounded however
 * large the store is and whatever its rows hold. Ranking costs ≈ 1.5 µs a row for a one-word
 * search: at 4,096 (the budget before) a word found in most records took 6 ms to rank alone.
 */
const RANK_BUDGET = 1_024;

/**
 * The tokenizer the search index uses (migrations.ts: `tokenize = 'unicode61'`), run by SQLite
 * itself on a private in-memory table: what counts as a token, how case and diacritics fold,
 * follow SQLite's Unicode tables exactly, which a JavaScript regex does not (they differ on
 * thousands of code points, some of which would let one "word" hide hundreds of tokens).
 */
let tokenizer: { db: Database.Database; tokenize: (words: readonly string[]) => string[][] } | null = null;

/** Each word's FTS5 tokens, in order (none for a word of only separators). */
function tokensOf(words: readonly string[]): string[][] {
  if (!tokenizer) {
    const db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE words USING fts5(word, tokenize = 'unicode61');
             CREATE VIRTUAL TABLE word_tokens USING fts5vocab(words, 'instance');`);
    const insert = db.prepare('INSERT INTO words (rowid, word) VALUES (?, ?)');
    const read = db.prepare('SELECT doc, term FROM word_tokens ORDER BY doc, offset');
    const clear = db.prepare('DELETE FROM words');
    const tokenize = db.transaction((list: readonly string[]) => {
      list.forEach((word, i) => insert.run(i + 1, word));
      const tokens: string[][] = list.map(() => []);
      for (const { doc, term } of read.all() as Array<{ doc: number; term: string }>) tokens[doc - 1]!.push(term);
      clear.run();
      return tokens;
    });
    tokenizer = { db, tokenize };
  }
  return tokenizer.tokenize(words);
}

/**
 * The words of a search query, bounded and without repeats. Repeats add nothing to what
 * matches, but each costs the ranking as much as a new word: with bm25 over N phrases costing
 * O(N²) per row, a 1,000-word query of one repeated word took seconds. A repeat is a word with
 * the same tokens (`a`, `A.`, `(a)` are all the token `a`), not the same spelling; a word with
 * no tokens (`--`) matches nothing and is dropped; and the tokens of the distinct words are
 * what is bounded (`a-a-a-a` is one word of four tokens).
 */
export function searchWords(text: string): string[] {
  return searchTerms(text).words;
}

function searchTerms(text: string): { words: string[]; tokens: number } {
  if (text.length > MAX_SEARCH_CHARS) {
    throw ValidationError.of(
      'InvalidField',
      'query',
      `a search may be at most ${MAX_SEARCH_CHARS} characters long (got ${text.length})`,
    );
  }
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length > MAX_SEARCH_WORDS) {
    throw ValidationError.of(
      'InvalidField',
      'query',
      `a search may have at most ${MAX_SEARCH_WORDS} words (got ${words.length})`,
    );
  }
  const distinct = new Map<string, { word: string; tokens: number }>();
  tokensOf(words).forEach((tokens, i) => {
    const key = tokens.join(' ');
    if (tokens.length > 0 && !distinct.has(key)) distinct.set(key, { word: words[i]!, tokens: tokens.length });
  });
  const tokens = [...distinct.values()].reduce((sum, d) => sum + d.tokens, 0);
  if (tokens > MAX_SEARCH_WORDS) {
    throw ValidationError.of(
      'InvalidField',
      'query',
      `a search may have at most ${MAX_SEARCH_WORDS} distinct words, counting each part of a word like a-b-c (got ${tokens})`,
    );
  }
  return { words: [...distinct.values()].map((d) => d.word), tokens };
}

/** Words as an FTS5 query: each a quoted phrase (so `rm -rf /` or `a"b` are plain text), all required. */
function matchOf(words: readonly string[]): string {
  return words.map((word) => `"${word.replaceAll('"', '""')}"`).join(' ');
}

/** User words as an FTS5 query (see `searchWords` for the bounds). */
export function ftsQuery(text: string): string {
  return matchOf(searchWords(text));
}

/** The SQLite error (itself, or what it wraps) saying the file is damaged or not a database at all. */
function corruptionOf(err: unknown): (Error & { code: string }) | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB'))
      return e as Error & { code: string };
  }
  return null;
}

/** SQLITE_CORRUPT (or one of its extended codes) or SQLITE_NOTADB when `err` says the store's file is damaged; else null. */
export function corruptionCode(err: unknown): string | null {
  return corruptionOf(err)?.code ?? null;
}

/** `history store <path> is corrupt (SQLITE_NOTADB: file is not a database)`. */
export function corruptionReason(path: string, err: unknown): string {
  const sqlite = corruptionOf(err);
  return `history store ${path} is corrupt (${sqlite?.code}: ${sqlite?.message})`;
}

/** The files of a store: the database and, in WAL mode, its write-ahead log and shared-memory index. */
const STORE_FILE_SUFFIXES = ['', '-wal', '-shm', '-journal'] as const;

/**
 * A store holds requests and their output: owner-only (0600), like the log files. The database
 * file is made 0600 before SQLite opens it (SQLite would create it 0644 minus the umask), and
 * SQLite gives its -wal and -shm files the database file's mode. A store made earlier with
 * wider modes is tightened here, before anything is read or written. Only regular files we
 * own are changed, looked at without following links (chmod follows them): a link planted
 * as `history.sqlite-wal` must not make us loosen or tighten whatever it points at, and
 * SQLite would write its log through it, so such a store is refused.
 */
function restrictStoreFiles(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // an existing store is tightened below
  }
  for (const suffix of STORE_FILE_SUFFIXES) {
    const file = `${path}${suffix}`;
    let stat;
    try {
      stat = lstatSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // no -wal yet
      throw err;
    }
    if (stat.isSymbolicLink() && suffix !== '') {
      throw ExecutionError.io(
        `history store file ${file} is a symbolic link; SQLite would write through it. Remove it to use the store`,
      );
    }
    // The database itself may be a link the user made (SQLite opens it as such): its target is not ours to change.
    if (!stat.isFile() || stat.uid !== process.getuid?.()) continue;
    // Changed through a descriptor opened without following links, so a file swapped for a link
    // after the check above is not followed either (O_NONBLOCK: a swapped-in FIFO does not hang us).
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      // Gone meanwhile, swapped for a link (ELOOP), or unreadable: left as it is.
      if (['ENOENT', 'ELOOP', 'EACCES', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) continue;
      throw err;
    }
    try {
      const opened = fstatSync(fd);
      if (opened.isFile() && opened.uid === process.getuid?.()) fchmodSync(fd, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err; // not ours to change
    } finally {
      closeSync(fd);
    }
  }
}

/** A principal as stored: never its token, only the token's public id and the hash of its secret part. */
export interface PrincipalRow {
  name: string;
  role: Role;
  token_id: string;
  /** sha256 of the token's secret part, hex. */
  token_hash: string;
  created_at: string;
  created_by: string | null;
  revoked_at: string | null;
}

/** What a store does when its file turns out to be corrupt while in use (see `keepRunningInMemory`). */
export interface MemoryFallback {
  /** Called once, with the reason naming the file; returns the records to start the in-memory store with. */
  onCorrupt(reason: string): readonly ExecutionRecord[];
  /** Top-level finished records kept in memory; older ones (and their plans' commands) are dropped. */
  maxRecords: number;
}

export class HistoryStore {
  private db: Database.Database;
  private upsert!: Database.Statement;
  private selectOne!: Database.Statement;
  private rowidOf!: Database.Statement;
  private insertSearch!: Database.Statement;
  private deleteSearch!: Database.Statement;
  /**
   * The rows the transaction in progress wrote or deleted, by rowid, each with whether it had a
   * search entry before (to remove). Their entries are written at the end of the transaction,
   * after every row (see `writing`), from the rows as they are then (none for a deleted one).
   */
  private readonly searchWrites = new Map<number, boolean>();
  /** Whether a `writing` transaction is open (inner calls join it). */
  private inWrite = false;
  private readonly statements = new Map<string, Database.Statement>();
  /** Calls in progress: only the outermost one handles a corrupt file (inner ones run inside its transaction). */
  private depth = 0;
  private fallback: MemoryFallback | null = null;
  private lostReason: string | null;
  private writesSincePrune = 0;

  private constructor(
    readonly path: string,
    db: Database.Database,
    lostReason: string | null = null,
  ) {
    this.db = db;
    this.lostReason = lostReason;
    this.prepare();
  }

  private prepare(): void {
    const db = this.db;
    const assignments = COLUMNS.filter((c) => c !== 'id')
      .map((c) => `${c} = excluded.${c}`)
      .join(', ');
    this.upsert = db.prepare(
      `INSERT INTO executions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) ON CONFLICT(id) DO UPDATE SET ${assignments}`,
    );
    this.selectOne = db.prepare('SELECT * FROM executions WHERE id = ?');
    this.rowidOf = db.prepare('SELECT rowid FROM executions WHERE id = ?').pluck();
    // The index's entry for a record has the record's rowid (migrations.ts, version 18).
    // Read from the rows just written (in SQLite's page cache), so no text crosses from
    // JavaScript twice; one statement for a whole transaction's rows (a JSON array of rowids).
    this.insertSearch = db.prepare(
      `INSERT INTO executions_fts (rowid, command, description, output, user_prompt)
         SELECT rowid, command, description, output, user_prompt FROM executions
         WHERE rowid IN (SELECT value FROM json_each(?))`,
    );
    this.deleteSearch = db.prepare('DELETE FROM executions_fts WHERE rowid = ?');
    this.statements.clear();
  }

  /**
   * Open (creating and upgrading as needed) the store at `path`. A damaged file is an `Io`
   * error saying the store is corrupt, with SQLite's code (SQLITE_CORRUPT, SQLITE_NOTADB).
   */
  static open(path: string): HistoryStore {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      restrictStoreFiles(path);
      db = new Database(path);
      migrate(db, path);
      return new HistoryStore(path, db);
    } catch (err) {
      try {
        db?.close();
      } catch {
        // Closing a store that failed to open: the first error is the one to report.
      }
      if (err instanceof ExecutionError) throw err;
      if (corruptionCode(err))
        throw ExecutionError.io(`${corruptionReason(path, err)}; move it aside to start a new store`, err);
      throw ExecutionError.io(`cannot open history store ${path}: ${(err as Error).message}`, err);
    }
  }

  /**
   * A store in memory standing in for the one at `path`, which could not be used (`reason`):
   * it answers for what is written to it from now on and forgets it all at exit.
   */
  static inMemory(path: string, reason: string): HistoryStore {
    const db = new Database(':memory:');
    migrate(db, ':memory:');
    return new HistoryStore(path, db, reason);
  }

  /** Why this store is in memory instead of its file (corrupt, or unopenable), or null while it uses the file. */
  get lost(): string | null {
    return this.lostReason;
  }

  /**
   * From now on a corrupt file does not fail calls: on the first SQLITE_CORRUPT or
   * SQLITE_NOTADB, the store drops the file, moves to memory (starting from `fallback.onCorrupt`),
   * and answers the call, and every later one, from there. Without this, such a call throws an
   * `Io` error naming the file.
   */
  keepRunningInMemory(fallback: MemoryFallback): void {
    this.fallback = fallback;
  }

  /** Run one public operation; a corrupt file becomes an in-memory store (if asked for) or an error naming the file. */
  private guarded<T>(op: () => T): T {
    if (this.depth > 0) return op();
    let failure: unknown;
    this.depth++;
    try {
      return op();
    } catch (err) {
      if (!corruptionCode(err)) throw err;
      if (!this.fallback || this.lostReason !== null) throw ExecutionError.io(corruptionReason(this.path, err), err);
      failure = err;
    } finally {
      this.depth--;
    }
    this.moveToMemory(corruptionReason(this.path, failure));
    return this.guarded(op);
  }

  private moveToMemory(reason: string): void {
    try {
      this.db.close();
    } catch {
      // The file is beyond use either way.
    }
    this.db = new Database(':memory:');
    migrate(this.db, ':memory:');
    this.prepare();
    this.lostReason = reason;
    const records = this.fallback!.onCorrupt(reason);
    this.storeMany(records);
  }

  /** In memory, keep the newest `maxRecords` finished top-level records (and their plans' commands). */
  private pruneMemory(): void {
    if (this.lostReason === null || !this.fallback) return;
    const max = this.fallback.maxRecords;
    if (++this.writesSincePrune < Math.max(64, max >> 4)) return;
    this.writesSincePrune = 0;
    this.writing(() => {
      const old = this.sql(
        `SELECT id FROM executions WHERE plan_id IS NULL AND status NOT IN (${ACTIVE_SQL}) ORDER BY rowid DESC LIMIT -1 OFFSET ?`,
      )
        .pluck()
        .all(max) as string[];
      const rowids = this.sql('SELECT rowid FROM executions WHERE id = ? OR plan_id = ?').pluck();
      for (const id of old) {
        for (const rowid of rowids.all(id, id) as number[]) this.remove(rowid);
      }
    });
  }

  get schemaVersion(): number {
    return this.guarded(() => this.db.pragma('user_version', { simple: true }) as number);
  }

  /** A prepared statement, compiled once per connection. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  close(): void {
    if (!this.db.open) return;
    try {
      // Refresh the planner's statistics from what the store now holds (cheap when nothing changed).
      this.db.pragma('optimize');
    } catch (err) {
      if (!corruptionCode(err)) throw err; // a corrupt file still gets closed
    }
    this.db.close();
  }

  /** Gather the planner's statistics now (after a bulk import, say). */
  analyze(): void {
    this.guarded(() => this.db.exec('ANALYZE'));
  }

  /**
   * Run `write` in one IMMEDIATE transaction (the write lock taken first: `put` reads a row
   * before it writes it), then write the search index for every row it changed, last. Calls
   * inside it join it.
   *
   * Why last: once FTS5 has been written in a transaction, every later statement that opens a
   * statement savepoint (any write to `executions`, a table with several indexes and a CHECK)
   * makes FTS5 write its pending entries to disk as a new segment. Written row by row, a
   * batch of a thousand records made a thousand segments, merged again and again (five times
   * the CPU of the rows themselves); written after the rows, it makes one.
   */
  private writing<T>(write: () => T): T {
    if (this.inWrite) return write();
    this.inWrite = true;
    try {
      return this.db
        .transaction(() => {
          const result = write();
          if (this.searchWrites.size > 0) {
            for (const [rowid, indexed] of this.searchWrites) if (indexed) this.deleteSearch.run(rowid);
            this.insertSearch.run(JSON.stringify([...this.searchWrites.keys()]));
          }
          return result;
        })
        .immediate();
    } finally {
      this.inWrite = false;
      this.searchWrites.clear();
    }
  }

  /** Insert or replace a row, and note its search entry to write (inside `writing`). */
  private put(row: Row): void {
    const existing = this.rowidOf.get(row.id) as number | undefined;
    // Bound by position (in COLUMNS order): binding 31 named parameters costs more than the row's indexes.
    const info = this.upsert.run(COLUMNS.map((c) => row[c]));
    const rowid = existing ?? Number(info.lastInsertRowid);
    if (!this.searchWrites.has(rowid)) this.searchWrites.set(rowid, existing !== undefined);
  }

  /** Delete a row, and note its search entry to remove (inside `writing`); the rowid may be used again. */
  private remove(rowid: number): void {
    this.sql('DELETE FROM executions WHERE rowid = ?').run(rowid);
    // A rowid freed here may be given to a row inserted later in the same transaction: `put`
    // then finds this note, and the old entry is still removed before the new one is written.
    if (!this.searchWrites.has(rowid)) this.searchWrites.set(rowid, true);
  }

  /** Insert or replace a record (and its search entry). */
  store(record: ExecutionRecord): void {
    const row = toRow(record);
    this.guarded(() => {
      this.writing(() => this.put(row));
      if (this.depth === 1) this.pruneMemory();
    });
  }

  /** Store many records in one transaction (imports, benchmarks). */
  storeMany(records: readonly ExecutionRecord[]): void {
    this.guarded(() => {
      this.writing(() => {
        for (const record of records) this.put(toRow(record));
      });
      if (this.depth === 1) this.pruneMemory();
    });
  }

  /** Change some fields of a record; false if there is no such record. */
  update(id: string, patch: Partial<Omit<ExecutionRecord, 'id'>>): boolean {
    return this.guarded(() => {
      // Text fields change the search entry: rewrite the whole record. Status and timings (the
      // engine's frequent updates) touch only their columns.
      if ('command' in patch || 'description' in patch || 'output' in patch || 'user_prompt' in patch) {
        return this.writing(() => {
          const current = this.get(id);
          if (!current) return false;
          this.put(toRow({ ...current, ...patch }));
          return true;
        });
      }
      const row = toRow({ ...EMPTY_RECORD, ...patch, id } as ExecutionRecord);
      const columns = COLUMNS.filter((c) => c !== 'id' && Object.hasOwn(patch, FIELD_OF[c]));
      if (columns.length === 0) return this.get(id) !== null;
      const sql = `UPDATE executions SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`;
      const params = Object.fromEntries([['id', id], ...columns.map((c) => [c, row[c]])]);
      return this.sql(sql).run(params).changes > 0;
    });
  }

  /** Several writes in one transaction: whole records, or changes to existing ones. */
  writeBatch(
    writes: ReadonlyArray<{ record: ExecutionRecord } | { id: string; patch: Partial<Omit<ExecutionRecord, 'id'>> }>,
  ): void {
    this.guarded(() => {
      this.writing(() => {
        for (const write of writes) {
          if ('record' in write) this.put(toRow(write.record));
          else this.update(write.id, write.patch);
        }
      });
      if (this.depth === 1) this.pruneMemory();
    });
  }

  /** Whether an execution record has this id (nothing of it is read). */
  has(id: string): boolean {
    return this.guarded(() => this.sql('SELECT 1 FROM executions WHERE id = ?').pluck().get(id) !== undefined);
  }

  get(id: string): ExecutionRecord | null {
    return this.guarded(() => {
      const row = this.selectOne.get(id) as Row | undefined;
      return row ? fromRow(row) : null;
    });
  }

  /** The plan run that resumes `planId` (claimed with `claimResume`), if one does. */
  resumesOf(planId: string): string[] {
    return this.guarded(() =>
      (this.sql('SELECT plan_id FROM resumes WHERE from_plan = ?').all(planId) as Array<{ plan_id: string }>).map(
        (row) => row.plan_id,
      ),
    );
  }

  /**
   * Claims the one resume of `fromPlan` for `planId`, at once (not batched with the records):
   * two engines on this store resuming the same run cannot both start. False when another run
   * has it.
   */
  claimResume(fromPlan: string, planId: string, now = new Date()): boolean {
    return this.guarded(() => {
      this.sql('INSERT OR IGNORE INTO resumes (from_plan, plan_id, claimed_at) VALUES (?, ?, ?)').run(
        fromPlan,
        planId,
        now.toISOString(),
      );
      return this.resumesOf(fromPlan)[0] === planId;
    });
  }

  /** Records matching `filter`, newest first. */
  list(filter: ExecutionFilter = {}): ExecutionRecord[] {
    const { where, params } = this.whereOf(filter);
    const limit = filter.limit ?? DEFAULT_LIMIT;
    const offset = filter.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIST_LIMIT)
      throw ValidationError.of('InvalidField', 'filter.limit', `must be an integer from 0 to ${MAX_LIST_LIMIT}`);
    if (!Number.isInteger(offset) || offset < 0)
      throw ValidationError.of('InvalidField', 'filter.offset', 'must be a non-negative integer');
    return this.guarded(() => {
      const rows = this.sql(
        `SELECT * FROM executions ${where} ORDER BY submitted_at DESC, rowid DESC LIMIT @limit OFFSET @offset`,
      ).all({
        ...params,
        limit,
        offset,
      }) as Row[];
      return rows.map(fromRow);
    });
  }

  count(filter: ExecutionFilter = {}): number {
    const { where, params } = this.whereOf(filter);
    return this.guarded(
      () => (this.sql(`SELECT count(*) AS n FROM executions ${where}`).get(params) as { n: number }).n,
    );
  }

  /**
   * Records whose command, description, output or user prompt contain every word of `query`,
   * best match first, narrowed by the filters `list` takes (status, risk level, error code,
   * conversation, kind, plan, top level, dates). At most MAX_SEARCH_WORDS words and
   * MAX_SEARCH_CHARS characters (else a ValidationError on `query`); the newest matches that
   * pass the filters are the ones ranked (see RANK_BUDGET). `limit` (default 50) and `offset`
   * page through the ranked matches: together at most MAX_SEARCH_LIMIT.
   */
  search(query: string, options: ExecutionFilter = {}): ExecutionRecord[] {
    const limit = options.limit ?? 50;
    const offset = options.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_SEARCH_LIMIT)
      throw ValidationError.of('InvalidField', 'limit', `must be an integer from 0 to ${MAX_SEARCH_LIMIT}`);
    if (!Number.isInteger(offset) || offset < 0 || offset > MAX_SEARCH_LIMIT - limit) {
      throw ValidationError.of(
        'InvalidField',
        'offset',
        `must be an integer from 0 to ${MAX_SEARCH_LIMIT - limit} (a search pages through its first ${MAX_SEARCH_LIMIT} matches)`,
      );
    }
    const { where, params } = this.whereOf(options, 'e.');
    const { words, tokens } = searchTerms(query);
    if (words.length === 0) return [];
    const match = matchOf(words);
    // Per token, not per word: a word of several tokens is a phrase of them, each one ranked.
    const ranked = Math.max(limit + offset, Math.floor(RANK_BUDGET / tokens));
    // FTS5 walks matches newest first (by rowid: records are stored as they are submitted), and
    // only the walk's first `ranked` matches that pass the filters are scored. Without filters
    // the walk reads the search index alone; with some, each match's row is looked up by rowid
    // (the outer loop stays FTS5's: CROSS JOIN) and checked, which costs no ranking. Only the
    // page asked for is read in full. Equal scores: the most recently stored first.
    const filtered = where !== '';
    const join = filtered ? 'CROSS JOIN executions AS e ON e.rowid = f.rowid' : '';
    const filters = filtered ? `AND ${where.slice('WHERE '.length)}` : '';
    return this.guarded(() => {
      const rows = this.sql(
        `SELECT e.* FROM (
           SELECT match_rowid, score FROM (
             SELECT f.rowid AS match_rowid, bm25(executions_fts) AS score
             FROM executions_fts AS f ${join}
             WHERE executions_fts MATCH @match ${filters} ORDER BY f.rowid DESC LIMIT @ranked
           ) ORDER BY score, match_rowid DESC LIMIT @limit OFFSET @offset
         ) m CROSS JOIN executions e ON e.rowid = m.match_rowid
         ORDER BY m.score, m.match_rowid DESC`,
      ).all({ ...params, match, ranked, limit, offset }) as Row[];
      return rows.map(fromRow);
    });
  }

  /** Everything that ran for one conversation, oldest first. */
  getByConversation(conversationId: string): ExecutionRecord[] {
    return this.guarded(() => {
      const rows = this.sql('SELECT * FROM executions WHERE conversation_id = ? ORDER BY submitted_at, rowid').all(
        conversationId,
      ) as Row[];
      return rows.map(fromRow);
    });
  }

  /**
   * Delete finished records submitted before `olderThan`, and the log files they own.
   * Unfinished ones (pending, running) are kept whatever their age. Returns how many went.
   */
  cleanup(olderThan: string | Date): number {
    const before = isoOf(olderThan, 'older_than');
    return this.guarded(() => {
      const doomed = this.writing(() => {
        const rows = this.sql(
          `SELECT rowid, log_path FROM executions WHERE submitted_at < ? AND status NOT IN (${ACTIVE_SQL})`,
        ).all(before) as Array<{
          rowid: number;
          log_path: string;
        }>;
        for (const { rowid } of rows) this.remove(rowid);
        return rows;
      });
      // A log file is only ours to delete when no remaining record uses it (requests may share one).
      const stillUsed = this.sql('SELECT 1 FROM executions WHERE log_path = ? LIMIT 1').pluck();
      for (const { log_path } of doomed) {
        if (stillUsed.get(log_path) !== undefined) continue;
        try {
          rmSync(log_path, { force: true });
        } catch {
          // Not a file we can remove (a directory, no permission): the record is gone all the same.
        }
      }
      return doomed.length;
    });
  }

  /**
   * Mark what a dead engine left pending or running as `interrupted` (error code `interrupted`);
   * returns those records. Records of engines still alive are left as they are.
   */
  markInterrupted(isAlive: (pid: number) => boolean, now = new Date()): ExecutionRecord[] {
    return this.guarded(() =>
      this.db
        .transaction(() => {
          const open = (this.sql(`SELECT * FROM executions WHERE status IN (${ACTIVE_SQL})`).all() as Row[]).map(
            fromRow,
          );
          const updated = open
            .filter((r) => r.engine_pid === null || !isAlive(r.engine_pid))
            .map((r) => ({
              ...r,
              status: 'interrupted' as const,
              completed_at: now.toISOString(),
              ...resultError('interrupted', {
                detail: `the engine process${r.engine_pid !== null ? ` (pid ${r.engine_pid})` : ''} ended before this execution finished`,
              }),
            }));
          const mark = this.sql(
            `UPDATE executions SET status = 'interrupted', completed_at = ?, error = ?, error_code = ?
           WHERE id = ? AND status IN (${ACTIVE_SQL})`,
          );
          for (const record of updated) mark.run(record.completed_at, record.error, record.error_code, record.id);
          return updated;
        })
        .immediate(),
    );
  }

  /**
   * Record a new approval. A plain INSERT: an id the table already holds (another engine's
   * approval, or one decided long ago) is refused with `DuplicateId`, never overwritten.
   */
  insertApproval(approval: QueuedApproval, config: ApprovalStorage = {}): void {
    const row = approvalRow(approval, config);
    this.guarded(() => {
      try {
        this.sql(
          `INSERT INTO approvals (id, state, plan_json, request_json, decision_json, execution_id, submitted_at,
             submitted_by, required, votes_json, plan_sha256, expires_at, dry_run_at, edit_json)
           VALUES (@id, @state, @plan_json, @request_json, @decision_json, @execution_id, @submitted_at,
             @submitted_by, @required, @votes_json, @plan_sha256, @expires_at, @dry_run_at, @edit_json)`,
        ).run(row);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
        throw ExecutionError.create('DuplicateId', { id: approval.id, reason: 'approval_history' }, { cause: err });
      }
    });
  }

  /**
   * Record what changed on a waiting approval: its votes, an edit, a new dry run, or its decision
   * (state, decision, execution). Only a row still pending changes: a decision already recorded
   * (by another engine on this store) is kept. False when no pending row has this id.
   */
  updateApproval(approval: QueuedApproval, config: ApprovalStorage = {}): boolean {
    const row = approvalRow(approval, config);
    return this.guarded(
      () =>
        this.sql(
          `UPDATE approvals SET state = @state, plan_json = @plan_json, request_json = @request_json,
             decision_json = @decision_json, execution_id = @execution_id, required = @required,
             votes_json = @votes_json, plan_sha256 = @plan_sha256, expires_at = @expires_at,
             dry_run_at = @dry_run_at, edit_json = @edit_json
           WHERE id = @id AND state = 'pending'`,
        ).run(row).changes > 0,
    );
  }

  /** Record a decision (updateApproval), or, when no pending row has this id, a new approval (insertApproval). */
  saveApproval(approval: QueuedApproval, config: ApprovalStorage = {}): void {
    this.guarded(() => {
      if (!this.updateApproval(approval, config)) this.insertApproval(approval, config);
    });
  }

  /** Whether an approval (waiting or decided) has this id. */
  hasApproval(id: string): boolean {
    return this.guarded(() => this.sql('SELECT 1 FROM approvals WHERE id = ?').pluck().get(id) !== undefined);
  }

  /** Approvals, newest first; `state` narrows them. */
  approvals(state?: ApprovalState | null, limit = DEFAULT_LIMIT): QueuedApproval[] {
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIST_LIMIT)
      throw ValidationError.of('InvalidField', 'limit', `must be an integer from 0 to ${MAX_LIST_LIMIT}`);
    return this.guarded(() => {
      const rows = (
        state
          ? this.sql('SELECT * FROM approvals WHERE state = ? ORDER BY submitted_at DESC, rowid DESC LIMIT ?').all(
              state,
              limit,
            )
          : this.sql('SELECT * FROM approvals ORDER BY submitted_at DESC, rowid DESC LIMIT ?').all(limit)
      ) as ApprovalRow[];
      return rows.map(fromApprovalRow);
    });
  }

  /** Remove approvals decided before `olderThan`; pending ones stay. */
  cleanupApprovals(olderThan: string | Date): number {
    const before = isoOf(olderThan, 'olderThan');
    return this.guarded(
      () => this.sql("DELETE FROM approvals WHERE state != 'pending' AND submitted_at < ?").run(before).changes,
    );
  }

  /** The WHERE clause for `filter`; `table` prefixes each column (`e.`) where the query joins another table. */
  private whereOf(filter: ExecutionFilter, table = ''): { where: string; params: Record<string, string> } {
    const clauses: string[] = [];
    const params: Record<string, string> = {};
    const add = (sql: string, name: string, value: string) => {
      clauses.push(`${table}${sql}`);
      params[name] = value;
    };
    if (filter.status && !STATUSES.has(filter.status))
      throw ValidationError.of('InvalidField', 'filter.status', `unknown status "${filter.status}"`);
    if (filter.risk_level && !RISKS.has(filter.risk_level))
      throw ValidationError.of('InvalidField', 'filter.risk_level', `unknown risk level "${filter.risk_level}"`);
    if (filter.error_code && !ERROR_CODES.has(filter.error_code)) {
      throw ValidationError.of('InvalidField', 'filter.error_code', `unknown error code "${filter.error_code}"`);
    }
    if (filter.kind && !KINDS.has(filter.kind)) {
      throw ValidationError.of('InvalidField', 'filter.kind', `must be one of ${[...KINDS].join(', ')}`);
    }
    if (filter.status) add('status = @status', 'status', filter.status);
    if (filter.risk_level) add('risk_level = @risk_level', 'risk_level', filter.risk_level);
    if (filter.error_code) add('error_code = @error_code', 'error_code', filter.error_code);
    if (filter.conversation_id) add('conversation_id = @conversation_id', 'conversation_id', filter.conversation_id);
    if (filter.kind) add('kind = @kind', 'kind', filter.kind);
    if (filter.plan_id) add('plan_id = @plan_id', 'plan_id', filter.plan_id);
    if (filter.top_level) clauses.push(`${table}plan_id IS NULL`);
    if (filter.from_date) add('submitted_at >= @from_date', 'from_date', isoOf(filter.from_date, 'from_date'));
    if (filter.to_date) add('submitted_at <= @to_date', 'to_date', isoOf(filter.to_date, 'to_date'));
    return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  // --- Principals: named identities with one role each (see src/services/principals.ts). ---

  /** Add a principal; a name already taken (revoked ones keep theirs) is `DuplicateId`, never overwritten. */
  insertPrincipal(row: PrincipalRow): void {
    this.guarded(() => {
      try {
        this.sql(
          `INSERT INTO principals (name, role, token_id, token_hash, created_at, created_by, revoked_at)
           VALUES (@name, @role, @token_id, @token_hash, @created_at, @created_by, @revoked_at)`,
        ).run(row);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code !== 'SQLITE_CONSTRAINT_PRIMARYKEY' && code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
        throw ExecutionError.create('DuplicateId', { id: row.name, reason: 'principal' }, { cause: err });
      }
    });
  }

  /** Every principal, revoked ones too, oldest first. */
  principals(): PrincipalRow[] {
    return this.guarded(() => this.sql('SELECT * FROM principals ORDER BY created_at, name').all() as PrincipalRow[]);
  }

  principal(name: string): PrincipalRow | null {
    return this.guarded(
      () => (this.sql('SELECT * FROM principals WHERE name = ?').get(name) as PrincipalRow | undefined) ?? null,
    );
  }

  /** The principal a token's public id names (revoked or not), or null. */
  principalByTokenId(tokenId: string): PrincipalRow | null {
    return this.guarded(
      () => (this.sql('SELECT * FROM principals WHERE token_id = ?').get(tokenId) as PrincipalRow | undefined) ?? null,
    );
  }

  /** Mark a principal revoked at `at`; false when there is no such principal or it was revoked already. */
  revokePrincipal(name: string, at: string): boolean {
    return this.guarded(
      () =>
        this.sql('UPDATE principals SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(at, name).changes >
        0,
    );
  }

  // --- Audit trail: append-only, each entry chained to the one before (see src/services/audit.ts). ---

  /**
   * Append an audit entry. The last hash is read and the entry written in one IMMEDIATE
   * transaction (the write lock is taken before the read), so two processes appending at once
   * never both chain to the same entry. The number comes from SQLite's AUTOINCREMENT counter, not
   * from the last row: a deleted last entry keeps its number used, so the next one shows the gap.
   */
  appendAudit(input: AuditInput, now: Date = new Date()): AuditEntry {
    return this.guarded(() =>
      this.db
        .transaction((): AuditEntry => {
          const last = this.sql('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
            | Pick<AuditRow, 'seq' | 'hash'>
            | undefined;
          const used = this.sql("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").pluck().get() as
            | number
            | undefined;
          const content: AuditContent = {
            seq: Math.max(last?.seq ?? 0, used ?? 0) + 1,
            at: now.toISOString(),
            principal: input.principal,
            action: input.action,
            object: input.object ?? null,
            source: input.source ?? null,
            // Stored as it is hashed, and read back to the same value (a Date becomes its ISO text, both times).
            detail: JSON.parse(canonicalJson(input.detail ?? {})) as Record<string, unknown>,
          };
          const prev_hash = last?.hash ?? GENESIS_HASH;
          const entry: AuditEntry = { ...content, prev_hash, hash: auditHash(prev_hash, content) };
          this.sql(
            `INSERT INTO audit_log (seq, at, principal, action, object, source, detail_json, prev_hash, hash)
             VALUES (@seq, @at, @principal, @action, @object, @source, @detail_json, @prev_hash, @hash)`,
          ).run({
            seq: entry.seq,
            at: entry.at,
            principal: entry.principal,
            action: entry.action,
            object: entry.object,
            source: entry.source,
            detail_json: canonicalJson(entry.detail),
            prev_hash: entry.prev_hash,
            hash: entry.hash,
          } satisfies AuditRow);
          return entry;
        })
        .immediate(),
    );
  }

  /**
   * Audit entries in order. With `after`, the first `limit` entries numbered above it (to page
   * forward, or to read the whole log); without, the latest `limit` entries.
   */
  auditEntries(filter: { limit?: number; after?: number } = {}): AuditEntry[] {
    const limit = filter.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIST_LIMIT)
      throw ValidationError.of('InvalidField', 'limit', `must be an integer from 0 to ${MAX_LIST_LIMIT}`);
    if (filter.after !== undefined && (!Number.isInteger(filter.after) || filter.after < 0))
      throw ValidationError.of('InvalidField', 'after', 'must be an entry number (an integer from 0)');
    return this.guarded(() => {
      const rows = (
        filter.after !== undefined
          ? this.sql('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?').all(filter.after, limit)
          : this.sql('SELECT * FROM (SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?) ORDER BY seq').all(limit)
      ) as AuditRow[];
      return rows.map(fromAuditRow);
    });
  }

  /** The latest entry recording `action` on `object`, or null when there is none. */
  lastAuditOf(object: string, action: AuditAction): AuditEntry | null {
    return this.guarded(() => {
      const row = this.sql('SELECT * FROM audit_log WHERE object = ? AND action = ? ORDER BY seq DESC LIMIT 1').get(
        object,
        action,
      ) as AuditRow | undefined;
      return row ? fromAuditRow(row) : null;
    });
  }

  /**
   * The highest entry number ever given (SQLite's AUTOINCREMENT counter for audit_log), 0 when
   * none was: deleting the last entries or every entry leaves it above the highest number left.
   */
  auditSequence(): number {
    return this.guarded(
      () =>
        (this.sql("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").pluck().get() as number | undefined) ?? 0,
    );
  }
}

/** Connection settings, then the schema brought up to date (each migration once, in its own transaction). */
function migrate(db: Database.Database, path: string): void {
  db.pragma('journal_mode = WAL');
  // Under WAL, NORMAL syncs at checkpoints, not at each commit: a crash of the process loses
  // nothing committed; a power loss or OS crash may lose the last transactions (never corrupts
  // the file). Acceptable for the history: what ran is also in each command's log file.
  db.pragma('synchronous = NORMAL');
  // Copy the log into the database every ~40 MiB of it (SQLite's default: 4 MiB): a busy
  // store's index pages, written again and again, are copied once per checkpoint, not ten times.
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('busy_timeout = 5000');
  // Rows rewritten without their secrets (decided approvals) leave nothing behind in free pages.
  db.pragma('secure_delete = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > LATEST_VERSION) {
    throw ExecutionError.io(
      `history store ${path} has schema version ${version}; this version of cloudops-execution-engine supports up to ${LATEST_VERSION}`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= version) continue;
    db.transaction(() => {
      // Read again under the write lock: another process opening the same store at the same
      // moment may have applied this migration since the version was read above.
      if ((db.pragma('user_version', { simple: true }) as number) >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  // No `PRAGMA optimize` here: on a new, empty store it would record "no rows" statistics and
  // steer the planner to table scans for every later write. It runs at close instead.
}
