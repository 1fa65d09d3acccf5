/** A history store file as an older version left it, for tests of the migrations that follow. */
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/history/migrations.js';

/** Create `path` with the schema of `version` (its migrations only) and return it open. */
export function storeAtVersion(path: string, version: number): Database.Database {
  const db = new Database(path);
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) db.exec(migration.sql);
  db.pragma(`user_version = ${version}`);
  return db;
}
