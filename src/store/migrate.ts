// Applies the schema migrations that a database lacks, all in one transaction, under an advisory
// lock so that replicas starting together apply each migration once.
import type { Database } from './database.js';
import { type Migration, migrations as allMigrations } from './migrations/index.js';
import { lockSql } from './locks.js';

/** Advisory lock key for migrations: the bytes of "tlmg". */
const migrationLockKey = 0x746c6d67;

export interface MigrationResult {
  applied: Migration[];
  currentVersion: number;
}

export async function migrate(
  db: Database,
  migrations: readonly Migration[] = allMigrations,
): Promise<MigrationResult> {
  return db.transaction(async (tx) => {
    await tx.query(lockSql, [migrationLockKey]);
    await tx.query(`
      CREATE TABLE IF NOT EXISTS thunderlink_schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const rows = await tx.query<{ version: number }>(
      'SELECT version FROM thunderlink_schema_migrations',
    );
    const done = new Set(rows.map((row) => row.version));
    const newest = Math.max(0, ...done);
    const known = Math.max(0, ...migrations.map((migration) => migration.version));
    if (newest > known) {
      throw new Error(
        `the database schema is at version ${newest} but this build knows only up to ${known}; ` +
          'run a newer thunderlink',
      );
    }

    const applied: Migration[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO thunderlink_schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      applied.push(migration);
    }
    return { applied, currentVersion: Math.max(newest, ...applied.map((m) => m.version)) };
  });
}

/**
 * Splits a migration into statements at semicolons that end a line. Migrations are written with
 * one statement per such semicolon and no function bodies, so this simple rule is enough.
 */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
}
