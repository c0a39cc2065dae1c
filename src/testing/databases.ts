// Test helpers that open a migrated database on each driver: embedded PGlite in memory, and a
// real PostgreSQL server in a fresh schema per database so test files can run in parallel.
//
// PostgreSQL comes from THUNDERLINK_TEST_DATABASE_URL (default: the local server's `test`
// database). Without a reachable server those tests skip with a notice, unless
// THUNDERLINK_REQUIRE_PG=1, which makes them fail instead, as CI sets.
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import type { Database } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { openPglite } from '../store/pglite.js';
import { openPostgres } from '../store/postgres.js';

export const testDatabaseUrl =
  process.env.THUNDERLINK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const postgresRequired = process.env.THUNDERLINK_REQUIRE_PG === '1';

let reachable: Promise<boolean> | undefined;

/** Whether the test PostgreSQL server answers; asked once per test process. */
export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({
      connectionString: testDatabaseUrl,
      connectionTimeoutMillis: 3000,
    });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch (error) {
      if (postgresRequired) return false;
      console.warn(
        `\n*** PostgreSQL tests SKIPPED: ${testDatabaseUrl} is unreachable ` +
          `(${(error as Error).message}). Set THUNDERLINK_REQUIRE_PG=1 to make this a failure. ***\n`,
      );
      return false;
    }
  })();
  return reachable;
}

export type DriverName = 'pglite' | 'postgres';
export const drivers: DriverName[] = ['pglite', 'postgres'];

export interface TestDatabase {
  db: Database;
  /** Connection options for another process or pool to reach the same tables. */
  url?: string;
  schema?: string;
  close(): Promise<void>;
}

/**
 * Opens a migrated, empty database, or returns null when PostgreSQL is unreachable and not
 * required. With THUNDERLINK_REQUIRE_PG=1 an unreachable server throws.
 */
export async function openTestDatabase(driver: DriverName): Promise<TestDatabase | null> {
  if (driver === 'pglite') {
    const db = await openPglite(undefined);
    await migrate(db);
    return { db, close: () => db.close() };
  }
  if (!(await postgresReachable())) {
    if (postgresRequired) {
      throw new Error(
        `THUNDERLINK_REQUIRE_PG=1 but PostgreSQL at ${testDatabaseUrl} is unreachable`,
      );
    }
    return null;
  }
  const schema = `tl_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = await openPostgres({ connectionString: testDatabaseUrl, searchPath: schema });
  await migrate(db);
  return {
    db,
    url: testDatabaseUrl,
    schema,
    async close() {
      await db.close();
      const cleanup = new pg.Client({ connectionString: testDatabaseUrl });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.end();
    },
  };
}

/**
 * Empties a test database back to its state right after migration: no nodes, groups or events,
 * the event seq restarted, and no record of a liveness sweep or of pruned events.
 */
export async function emptyRegistry(db: Database): Promise<void> {
  await db.exec(`
    TRUNCATE thunderlink_nodes, thunderlink_node_groups, thunderlink_events CASCADE;
    ALTER SEQUENCE thunderlink_events_seq RESTART;
    UPDATE thunderlink_liveness_state SET last_sweep_at = NULL;
    UPDATE thunderlink_outbox_state SET pruned_through = 0`);
}
