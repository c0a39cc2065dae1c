// SQL for retention: folding expired heartbeat partitions into rollups, deleting old rollups and
// outbox events, and finding offline nodes to deregister.
import type { RetentionSettings } from '../liveness/settings.js';
import type { Database, Queryable } from './database.js';
import { lockSql } from './locks.js';

/**
 * Advisory lock key that serialises folding across replicas: the bytes of "tlrt". It is held until
 * each fold transaction ends, so a replica that waited for it finds the partition dropped and
 * skips it.
 */
const foldLockKey = 0x746c7274;

export interface FoldResult {
  /** Hourly partitions folded into rollups and dropped, oldest first. */
  partitions: string[];
  /** Heartbeat rows folded from those partitions. */
  partitionRows: number;
  /** Rows folded from the default partition and deleted there. */
  defaultRows: number;
}

interface ExpiredPartition {
  /** Schema-qualified and quoted, ready to put into SQL. */
  qualified: string;
  name: string;
}

/**
 * Folds heartbeat partitions whose whole range ends at or before `now - heartbeatRetentionMs` into
 * minute and hour rollups and drops them, then does the same for the default partition's rows older
 * than that, which it deletes instead. Each partition is one transaction, so a crash leaves it
 * either folded and dropped or untouched.
 */
export async function foldExpiredPartitions(
  db: Database,
  now: Date,
  settings: RetentionSettings,
): Promise<FoldResult> {
  const cutoff = new Date(now.getTime() - settings.heartbeatRetentionMs);
  const result: FoldResult = { partitions: [], partitionRows: 0, defaultRows: 0 };
  for (const partition of await expiredPartitions(db, cutoff)) {
    const rows = await foldPartition(db, partition);
    if (rows === null) continue;
    result.partitions.push(partition.name);
    result.partitionRows += rows;
  }
  result.defaultRows = await foldDefaultPartition(db, cutoff);
  return result;
}

/**
 * Returns the expired range partitions of the `thunderlink_heartbeats` table that the search_path
 * resolves to, so that databases in other schemas of the same server are never touched. The range
 * comes from the partition bound, which PostgreSQL prints as timestamps in the session's own
 * format, so casting them back in the same statement reads them correctly.
 */
async function expiredPartitions(q: Queryable, cutoff: Date): Promise<ExpiredPartition[]> {
  return q.query<ExpiredPartition>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS qualified, c.relname AS name
     FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     CROSS JOIN LATERAL regexp_match(
       pg_get_expr(c.relpartbound, c.oid), $re$FROM \\('([^']+)'\\) TO \\('([^']+)'\\)$re$
     ) AS bound
     WHERE i.inhparent = 'thunderlink_heartbeats'::regclass
       AND bound[2]::timestamptz <= $1
     ORDER BY bound[1]::timestamptz`,
    [cutoff],
  );
}

/** Folds and drops one partition. Returns its row count, or null when another replica did it. */
async function foldPartition(db: Database, partition: ExpiredPartition): Promise<number | null> {
  return db.transaction(async (tx) => {
    await tx.query(lockSql, [foldLockKey]);
    const [found] = await tx.query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [partition.qualified],
    );
    if (!found?.exists) return null;
    await lockNodes(tx, `SELECT node_id FROM ${partition.qualified}`, []);
    // No heartbeat is written into an expired hour, but a SHARE lock makes sure that no row lands
    // in the partition between reading it and dropping it.
    await tx.query(`LOCK TABLE ${partition.qualified} IN SHARE MODE`);
    const rows = await fold(tx, `SELECT ${metricColumns} FROM ${partition.qualified}`, []);
    await tx.query(`DROP TABLE ${partition.qualified}`);
    return rows;
  });
}

/** Folds the default partition's rows older than `cutoff` and deletes them in one transaction. */
async function foldDefaultPartition(db: Database, cutoff: Date): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query(lockSql, [foldLockKey]);
    const [found] = await tx.query<{ qualified: string | null }>(
      `SELECT CASE WHEN p.partdefid = 0 THEN NULL ELSE p.partdefid::regclass::text END AS qualified
       FROM pg_partitioned_table p WHERE p.partrelid = 'thunderlink_heartbeats'::regclass`,
    );
    const table = found?.qualified;
    if (!table) return 0;
    await lockNodes(tx, `SELECT node_id FROM ${table} WHERE inserted_at < $1`, [cutoff]);
    return fold(tx, `DELETE FROM ${table} WHERE inserted_at < $1 RETURNING ${metricColumns}`, [
      cutoff,
    ]);
  });
}

/**
 * Takes a KEY SHARE lock on every node that has rows in `source`. Without it, a node deregistered
 * while its rows are being folded makes the rollup insert fail its foreign key. With it, the
 * deregistration waits for the fold and then deletes the new rollups with the node.
 */
async function lockNodes(tx: Queryable, source: string, params: unknown[]): Promise<void> {
  await tx.query(
    `WITH locked AS MATERIALIZED (
       SELECT id FROM thunderlink_nodes WHERE id IN (${source}) ORDER BY id FOR KEY SHARE
     )
     SELECT count(*) FROM locked`,
    params,
  );
}

const metricColumns = 'node_id, inserted_at, cpu_load, mem_used_mb, latency_ms';
const metrics = ['cpu_load', 'mem_used_mb', 'latency_ms'] as const;

/**
 * Adds the heartbeats that `source` returns to the minute and hour rollups in one statement and
 * returns how many it folded. `source` may be a DELETE … RETURNING: PostgreSQL runs it once and
 * both inserts read its rows.
 */
async function fold(tx: Queryable, source: string, params: unknown[]): Promise<number> {
  const [row] = await tx.query<{ rows: number }>(
    `WITH source AS (${source}),
     minute_rollups AS (${mergeRollups('minute')}),
     hour_rollups AS (${mergeRollups('hour')})
     SELECT count(*)::bigint AS rows FROM source`,
    params,
  );
  return row?.rows ?? 0;
}

/**
 * Builds the INSERT that aggregates `source` into one bucket size and merges each bucket with the
 * rollup already stored for it. Buckets are cut in UTC, whatever the session's time zone.
 */
function mergeRollups(bucket: 'minute' | 'hour'): string {
  const start = `date_trunc('${bucket}', inserted_at, 'UTC')`;
  const aggregates = metrics.map((metric) => `avg(${metric}), max(${metric})`).join(', ');
  const merged = metrics
    .map(
      (metric) =>
        `${metric}_mean = ${mergedMean(`${metric}_mean`)}, ` +
        `${metric}_max = GREATEST(r.${metric}_max, excluded.${metric}_max)`,
    )
    .join(',\n');
  return `INSERT INTO thunderlink_heartbeat_rollups AS r
      (node_id, bucket, bucket_start, count, cpu_load_mean, cpu_load_max,
       mem_used_mb_mean, mem_used_mb_max, latency_ms_mean, latency_ms_max)
    SELECT node_id, '${bucket}', ${start}, count(*), ${aggregates}
    FROM source GROUP BY node_id, ${start}
    ON CONFLICT (node_id, bucket, bucket_start) DO UPDATE SET
      count = r.count + excluded.count,
      ${merged}`;
}

/**
 * Combines the stored mean and the new one, each weighted by its heartbeat count. A side whose mean
 * is NULL had no value for the metric and carries no weight. GREATEST already skips NULL maxima.
 *
 * NOTE: a rollup stores one count for all its metrics, so a metric that only some heartbeats
 * carried is weighted as if all had. The merged mean is exact when every heartbeat of both sides
 * carried it.
 */
function mergedMean(column: string): string {
  const weight = (side: string) =>
    `CASE WHEN ${side}.${column} IS NULL THEN 0 ELSE ${side}.count END`;
  return `(COALESCE(r.${column} * r.count, 0) + COALESCE(excluded.${column} * excluded.count, 0))
    / NULLIF(${weight('r')} + ${weight('excluded')}, 0)`;
}

/**
 * Deletes minute and hour rollups whose whole bucket is older than their retention, and returns how
 * many of each it deleted.
 */
export async function deleteExpiredRollups(
  db: Queryable,
  now: Date,
  settings: RetentionSettings,
): Promise<{ minute: number; hour: number }> {
  const [row] = await db.query<{ minute: number; hour: number }>(
    `WITH gone AS (
       DELETE FROM thunderlink_heartbeat_rollups
       WHERE (bucket = 'minute' AND bucket_start <= $1)
          OR (bucket = 'hour' AND bucket_start <= $2)
       RETURNING bucket
     )
     SELECT count(*) FILTER (WHERE bucket = 'minute')::bigint AS minute,
            count(*) FILTER (WHERE bucket = 'hour')::bigint AS hour
     FROM gone`,
    [
      new Date(now.getTime() - settings.minuteRollupRetentionMs - 60_000),
      new Date(now.getTime() - settings.hourRollupRetentionMs - 3_600_000),
    ],
  );
  return { minute: row?.minute ?? 0, hour: row?.hour ?? 0 };
}

export interface PruneResult {
  deleted: number;
  /** The outbox state's `pruned_through` after the prune. */
  prunedThrough: number;
}

/**
 * Deletes outbox events older than the resume window and raises `pruned_through` to the highest
 * deleted seq, in one statement. The newest event is always kept, because readers compare their
 * position with the newest seq to detect a registry that was reset.
 */
export async function pruneEvents(
  db: Queryable,
  now: Date,
  settings: RetentionSettings,
): Promise<PruneResult> {
  const [row] = await db.query<PruneResult>(
    `WITH gone AS (
       DELETE FROM thunderlink_events
       WHERE inserted_at < $1 AND seq < (SELECT max(seq) FROM thunderlink_events)
       RETURNING seq
     ),
     summary AS (SELECT count(*)::bigint AS deleted, max(seq) AS through FROM gone),
     raised AS (
       UPDATE thunderlink_outbox_state s SET pruned_through = summary.through
       FROM summary WHERE summary.through > s.pruned_through
       RETURNING s.pruned_through
     )
     SELECT summary.deleted,
            COALESCE((SELECT pruned_through FROM raised),
                     (SELECT pruned_through FROM thunderlink_outbox_state))::bigint
              AS "prunedThrough"
     FROM summary`,
    [new Date(now.getTime() - settings.eventRetentionMs)],
  );
  return { deleted: row?.deleted ?? 0, prunedThrough: row?.prunedThrough ?? 0 };
}

/** Returns the highest seq that retention has deleted, or 0 when none was. */
export async function readPrunedThrough(q: Queryable): Promise<number> {
  const [row] = await q.query<{ pruned_through: number }>(
    'SELECT pruned_through FROM thunderlink_outbox_state',
  );
  return row?.pruned_through ?? 0;
}

/**
 * Returns the ids of up to `limit` nodes that have been offline for longer than `reapAfterMs`,
 * longest offline first. Nodes in maintenance are left alone: an operator who put a node into
 * maintenance expects it to stay registered while it is down.
 */
export async function offlineNodesToReap(
  db: Queryable,
  now: Date,
  settings: RetentionSettings,
  limit: number,
): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM thunderlink_nodes
     WHERE status = 'offline' AND NOT maintenance AND status_changed_at < $1
     ORDER BY status_changed_at, id
     LIMIT $2`,
    [new Date(now.getTime() - settings.reapAfterMs), limit],
  );
  return rows.map((row) => row.id);
}
