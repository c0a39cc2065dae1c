import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type TestDatabase, drivers, openTestDatabase } from '../testing/databases.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations/index.js';
import { ensureHeartbeatPartitions, partitionName } from './partitions.js';

const tables = [
  'thunderlink_nodes',
  'thunderlink_heartbeats',
  'thunderlink_heartbeat_rollups',
  'thunderlink_link_sessions',
  'thunderlink_node_capabilities',
  'thunderlink_node_groups',
  'thunderlink_node_group_memberships',
  'thunderlink_events',
  'thunderlink_schema_migrations',
];

describe.each(drivers)('store on %s', (driver) => {
  let database: TestDatabase | null;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
  });
  afterAll(async () => {
    await database?.close();
  });

  function db() {
    if (!database) throw new Error('no database');
    return database.db;
  }

  it('creates every table', async (context) => {
    if (!database) return context.skip();
    const rows = await db().query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p')
         AND pg_table_is_visible(c.oid)`,
      [tables],
    );
    expect(rows.map((row) => row.name).sort()).toEqual([...tables].sort());
  });

  it('re-runs migrations as a no-op', async (context) => {
    if (!database) return context.skip();
    const again = await migrate(db());
    expect(again.applied).toEqual([]);
    expect(again.currentVersion).toBe(migrations[migrations.length - 1]!.version);
    const applied = await db().query<{ version: number }>(
      'SELECT version FROM thunderlink_schema_migrations ORDER BY version',
    );
    expect(applied.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
  });

  it('rejects a schema newer than the build', async (context) => {
    if (!database) return context.skip();
    const future = [...migrations, { version: 999, name: 'from the future', sql: 'SELECT 1;' }];
    await migrate(db(), future);
    await expect(migrate(db())).rejects.toThrow(/version 999/);
    await db().query('DELETE FROM thunderlink_schema_migrations WHERE version = 999');
  });

  it('returns bigint and numeric as numbers', async (context) => {
    if (!database) return context.skip();
    const [row] = await db().query<{ big: unknown; exact: unknown; time: unknown }>(
      `SELECT 9007199254740991::bigint AS big, 1.25::numeric AS exact, now() AS time`,
    );
    expect(row?.big).toBe(Number.MAX_SAFE_INTEGER);
    expect(row?.exact).toBe(1.25);
    expect(row?.time).toBeInstanceOf(Date);
    await expect(db().query('SELECT 9007199254740993::bigint AS big')).rejects.toThrow(
      /does not fit/,
    );
  });

  it('enforces the table constraints', async (context) => {
    if (!database) return context.skip();
    const insertNode = (name: string, extra = '') =>
      db().query(
        `INSERT INTO thunderlink_nodes (name, status_changed_at, inserted_at, updated_at${extra ? ', role' : ''})
         VALUES ($1, now(), now(), now()${extra ? `, '${extra}'` : ''}) RETURNING id`,
        [name],
      );
    const [a] = await insertNode('constraint-a');
    const [b] = await insertNode('constraint-b');
    await expect(insertNode('constraint-a')).rejects.toMatchObject({ code: '23505' });
    await expect(insertNode('bad name')).rejects.toMatchObject({ code: '23514' });
    await expect(insertNode('constraint-c', 'boss')).rejects.toMatchObject({ code: '23514' });

    const link = (from: unknown, to: unknown) =>
      db().query(
        `INSERT INTO thunderlink_link_sessions (node_id, remote_node_id, inserted_at, updated_at)
         VALUES ($1, $2, now(), now())`,
        [from, to],
      );
    await expect(link(a?.id, a?.id)).rejects.toMatchObject({ code: '23514' });
    await link(a?.id, b?.id);
    await expect(link(b?.id, a?.id)).rejects.toMatchObject({ code: '23505' });

    await db().query(
      `INSERT INTO thunderlink_heartbeats (node_id, status, inserted_at)
                      VALUES ($1, 'online', now())`,
      [a?.id],
    );
    await db().query('DELETE FROM thunderlink_nodes WHERE id = $1', [a?.id]);
    const left = await db().query<{ count: number }>(
      `SELECT (SELECT count(*) FROM thunderlink_heartbeats WHERE node_id = $1)
            + (SELECT count(*) FROM thunderlink_link_sessions WHERE node_id = $1) AS count`,
      [a?.id],
    );
    expect(Number(left[0]?.count)).toBe(0);
  });

  it('reports a dropped listen connection', async (context) => {
    if (!database || driver !== 'postgres') return context.skip();
    const channel = `tl_lost_${Date.now()}`;
    const lost = new Promise<Error>((resolve) => {
      void db().listen(channel, () => undefined, resolve);
    });
    // Wait until the LISTEN statement is visible, then end that backend as a server restart would.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const [row] = await db().query<{ ended: boolean }>(
        `SELECT bool_or(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity
         WHERE query = $1`,
        [`LISTEN "${channel}"`],
      );
      if (row?.ended) break;
    }
    expect(await lost).toBeInstanceOf(Error);
    const [alive] = await db().query<{ one: number }>('SELECT 1 AS one');
    expect(alive?.one).toBe(1);
  });

  it('creates heartbeat partitions ahead', async (context) => {
    if (!database) return context.skip();
    const now = new Date('2030-06-01T10:30:00Z');
    const first = await ensureHeartbeatPartitions(db(), now, 2);
    expect(first.created).toEqual([
      'thunderlink_heartbeats_p2030060110',
      'thunderlink_heartbeats_p2030060111',
      'thunderlink_heartbeats_p2030060112',
    ]);
    const second = await ensureHeartbeatPartitions(db(), now, 2);
    expect(second.created).toEqual([]);
    expect(partitionName(new Date('2030-06-01T10:00:00Z'))).toBe(
      'thunderlink_heartbeats_p2030060110',
    );

    const [node] = await db().query<{ id: string }>(
      `INSERT INTO thunderlink_nodes (name, status_changed_at, inserted_at, updated_at)
       VALUES ('partitioned', now(), now(), now()) RETURNING id`,
    );
    await db().query(
      `INSERT INTO thunderlink_heartbeats (node_id, status, inserted_at)
       VALUES ($1, 'online', '2030-06-01T11:15:00Z')`,
      [node?.id],
    );
    const [row] = await db().query<{ partition: string }>(
      `SELECT tableoid::regclass::text AS partition FROM thunderlink_heartbeats WHERE node_id = $1`,
      [node?.id],
    );
    expect(row?.partition).toMatch(/thunderlink_heartbeats_p2030060111$/);

    await db().query(
      `INSERT INTO thunderlink_heartbeats (node_id, status, inserted_at)
       VALUES ($1, 'online', '2031-01-01T05:10:00Z')`,
      [node?.id],
    );
    const clash = await ensureHeartbeatPartitions(db(), new Date('2031-01-01T05:00:00Z'), 0);
    expect(clash.skipped).toEqual(['thunderlink_heartbeats_p2031010105']);
  });
});
