// SQL for thunderlink_heartbeats: the batched write path and the history reads.
import type { HeartbeatRecord, NodeStatus, RollupRecord } from '../registry/model.js';
import type { HeartbeatInput, HeartbeatSummary } from '../registry/operations.js';
import type { Queryable } from './database.js';
import { isUuid, toRecords } from './rows.js';

export interface HeartbeatRow extends HeartbeatInput {
  /** The node's id or name. */
  node_ref: string;
}

export interface TouchedNode {
  id: string;
  name: string;
  status: NodeStatus;
  maintenance: boolean;
  flapping: boolean;
  heartbeat_interval_ms: number;
}

/**
 * Records many heartbeats in one statement: it resolves each node reference (id or name), updates
 * the node's last metrics from its newest heartbeat in the batch, and appends one heartbeat row
 * per input. Heartbeats for unknown nodes are dropped, never create a node, and are absent from
 * the result. A node held by a group disruption is released. Status is left alone: status
 * changes go through the registry so that they write their outbox events.
 */
export async function recordHeartbeats(
  q: Queryable,
  heartbeats: HeartbeatRow[],
  now: Date,
): Promise<TouchedNode[]> {
  if (heartbeats.length === 0) return [];
  const column = <T>(pick: (row: HeartbeatRow) => T) => heartbeats.map(pick);
  return q.query<TouchedNode>(
    `WITH input AS (
       SELECT COALESCE(t.id, (SELECT n.id FROM thunderlink_nodes n WHERE n.name = t.name))
                AS node_id,
              t.*
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[],
                   $7::jsonb[], $8::text[])
         WITH ORDINALITY
         AS t(id, name, status, cpu_load, mem_used_mb, latency_ms, meta, instance_id, position)
     ),
     latest AS (
       SELECT DISTINCT ON (node_id) * FROM input WHERE node_id IS NOT NULL
       ORDER BY node_id, position DESC
     ),
     -- Rows are locked in id order, as the liveness sweep locks them, so the two cannot deadlock.
     locked AS (
       SELECT n.id FROM thunderlink_nodes n JOIN latest l ON l.node_id = n.id
       ORDER BY n.id FOR NO KEY UPDATE OF n
     ),
     touched AS (
       UPDATE thunderlink_nodes n
       SET last_cpu_load = l.cpu_load, last_mem_used_mb = l.mem_used_mb,
           last_latency_ms = l.latency_ms, last_seen_at = $9, last_heartbeat_at = $9,
           instance_id = COALESCE(l.instance_id, n.instance_id), disrupted_group_id = NULL
       FROM latest l WHERE n.id = l.node_id AND n.id IN (SELECT id FROM locked)
       RETURNING n.id, n.name, n.status, n.maintenance, n.flapping, n.heartbeat_interval_ms
     ),
     appended AS (
       INSERT INTO thunderlink_heartbeats
         (node_id, status, cpu_load, mem_used_mb, latency_ms, meta, inserted_at)
       SELECT i.node_id, i.status, i.cpu_load, i.mem_used_mb, i.latency_ms, i.meta, $9
       FROM input i JOIN touched t ON t.id = i.node_id
     )
     SELECT * FROM touched`,
    [
      column((row) => (isUuid(row.node_ref) ? row.node_ref : null)),
      column((row) => (isUuid(row.node_ref) ? null : row.node_ref)),
      column((row) => row.status ?? 'online'),
      column((row) => row.cpu_load ?? null),
      column((row) => row.mem_used_mb ?? null),
      column((row) => row.latency_ms ?? null),
      column((row) => JSON.stringify(row.meta ?? {})),
      column((row) => row.instance_id ?? null),
      now,
    ],
  );
}

export async function recentHeartbeats(
  q: Queryable,
  nodeId: string,
  since: Date,
  limit: number,
): Promise<HeartbeatRecord[]> {
  const rows = await q.query(
    `SELECT * FROM thunderlink_heartbeats WHERE node_id = $1 AND inserted_at >= $2
     ORDER BY inserted_at DESC, id DESC LIMIT $3`,
    [nodeId, since, limit],
  );
  return toRecords<HeartbeatRecord>(rows);
}

export async function rollupsSince(
  q: Queryable,
  nodeId: string,
  since: Date,
): Promise<RollupRecord[]> {
  const rows = await q.query(
    `SELECT * FROM thunderlink_heartbeat_rollups WHERE node_id = $1 AND bucket_start >= $2
     ORDER BY bucket, bucket_start`,
    [nodeId, since],
  );
  return toRecords<RollupRecord>(rows);
}

export async function summarizeHeartbeats(
  q: Queryable,
  nodeId: string,
  since: Date,
  minutes: number,
): Promise<HeartbeatSummary> {
  const [row] = await q.query<Omit<HeartbeatSummary, 'minutes' | 'last_at'> & { last_at: Date }>(
    `SELECT count(*)::bigint AS count, max(inserted_at) AS last_at,
            avg(cpu_load) AS cpu_load_mean, max(cpu_load) AS cpu_load_max,
            avg(mem_used_mb) AS mem_used_mb_mean, max(mem_used_mb) AS mem_used_mb_max,
            avg(latency_ms) AS latency_ms_mean, max(latency_ms) AS latency_ms_max
     FROM thunderlink_heartbeats WHERE node_id = $1 AND inserted_at >= $2`,
    [nodeId, since],
  );
  return { minutes, ...row!, last_at: row?.last_at ? row.last_at.toISOString() : null };
}
