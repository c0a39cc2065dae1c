// SQL for liveness: the nodes a sweep must judge, group counts for mass-failure detection, and
// the bookkeeping columns the sweep writes.
import type { NodeStatus } from '../registry/model.js';
import type { Queryable } from './database.js';
import { tryLockSql } from './locks.js';

/** Advisory lock key that lets one replica sweep at a time: the bytes of "tlsw". */
const sweepLockKey = 0x746c7377;

export interface LivenessCandidate {
  id: string;
  name: string;
  status: NodeStatus;
  flapping: boolean;
  interval_ms: number;
  /** The last heartbeat, or the registration when there was none. */
  base: Date;
  crossings: Date[];
  crossing_seen_at: Date | null;
  disrupted_group_id: string | null;
  group_ids: string[];
}

export interface DisruptedGroup {
  id: string;
  name: string;
  disrupted_since: Date;
  disrupted_affected: number;
  held: number;
}

/** Takes the sweep lock for this transaction, or returns false when another replica holds it. */
export async function trySweepLock(tx: Queryable): Promise<boolean> {
  const [row] = await tx.query<{ locked: boolean }>(tryLockSql, [sweepLockKey]);
  return row?.locked === true;
}

/**
 * Locks and returns the nodes a sweep must look at: those liveness judges (not offline, not in
 * maintenance, not gracefully disconnected) that are past their suspect deadline, are flapping,
 * or are held by a group disruption. Silence is counted from `latestBase` at the latest, which
 * matters for heartbeats stamped before the clock was stepped back.
 */
export async function lockCandidates(
  tx: Queryable,
  now: Date,
  suspectAfterIntervals: number,
  latestBase: Date,
): Promise<LivenessCandidate[]> {
  return tx.query<LivenessCandidate>(
    `SELECT n.id, n.name, n.status, n.flapping, n.heartbeat_interval_ms AS interval_ms,
            GREATEST(COALESCE(n.last_heartbeat_at, n.inserted_at), n.liveness_resumed_at) AS base,
            n.liveness_crossings AS crossings, n.crossing_seen_at, n.disrupted_group_id,
            COALESCE((SELECT array_agg(m.group_id) FROM thunderlink_node_group_memberships m
                      WHERE m.node_id = n.id), '{}'::uuid[]) AS group_ids
     FROM thunderlink_nodes n
     WHERE NOT n.maintenance AND n.status <> 'offline'
       AND (n.status <> 'disconnected' OR n.disrupted_group_id IS NOT NULL)
       AND (n.flapping OR n.disrupted_group_id IS NOT NULL
            OR LEAST(GREATEST(COALESCE(n.last_heartbeat_at, n.inserted_at), n.liveness_resumed_at),
                     $3::timestamptz)
               + n.heartbeat_interval_ms * $2::float8 * interval '1 millisecond' <= $1)
     ORDER BY n.id
     FOR NO KEY UPDATE OF n`,
    [now, suspectAfterIntervals, latestBase],
  );
}

/** Online members per group, for the groups given, not counting nodes in maintenance. */
export async function onlineMembers(
  tx: Queryable,
  groupIds: string[],
): Promise<Map<string, number>> {
  if (groupIds.length === 0) return new Map();
  const rows = await tx.query<{ group_id: string; count: number }>(
    `SELECT m.group_id, count(*)::bigint AS count FROM thunderlink_node_group_memberships m
     JOIN thunderlink_nodes n ON n.id = m.node_id
     WHERE m.group_id = ANY($1::uuid[]) AND n.status = 'online' AND NOT n.maintenance
     GROUP BY m.group_id`,
    [groupIds],
  );
  return new Map(rows.map((row) => [row.group_id, row.count]));
}

export async function writeCrossings(
  tx: Queryable,
  updates: { id: string; crossings: Date[]; crossingSeenAt: Date | null; flapping: boolean }[],
): Promise<void> {
  if (updates.length === 0) return;
  await tx.query(
    `UPDATE thunderlink_nodes n
     SET liveness_crossings = COALESCE(
           (SELECT array_agg(value::timestamptz) FROM jsonb_array_elements_text(u.crossings) value),
           '{}'),
         crossing_seen_at = u.seen, flapping = u.flapping
     FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[], $4::boolean[])
       AS u(id, crossings, seen, flapping)
     WHERE n.id = u.id`,
    [
      updates.map((update) => update.id),
      updates.map((update) => JSON.stringify(update.crossings.map((time) => time.toISOString()))),
      updates.map((update) => update.crossingSeenAt),
      updates.map((update) => update.flapping),
    ],
  );
}

/** Ids of the nodes a group's disruption holds. */
export async function heldBy(tx: Queryable, groupId: string): Promise<string[]> {
  const rows = await tx.query<{ id: string }>(
    `SELECT id FROM thunderlink_nodes WHERE disrupted_group_id = $1 AND status = 'disconnected'`,
    [groupId],
  );
  return rows.map((row) => row.id);
}

export async function setDisruptionHold(
  tx: Queryable,
  nodeIds: string[],
  groupId: string | null,
): Promise<void> {
  if (nodeIds.length === 0) return;
  await tx.query(
    'UPDATE thunderlink_nodes SET disrupted_group_id = $2 WHERE id = ANY($1::uuid[])',
    [nodeIds, groupId],
  );
}

export async function markGroupDisrupted(
  tx: Queryable,
  groupId: string,
  since: Date | null,
  affected: number | null,
): Promise<void> {
  await tx.query(
    `UPDATE thunderlink_node_groups SET disrupted_since = $2, disrupted_affected = $3
     WHERE id = $1`,
    [groupId, since, affected],
  );
}

/** Disrupted groups with the number of their members still held disconnected, by any group. */
export async function disruptedGroups(tx: Queryable): Promise<DisruptedGroup[]> {
  return tx.query<DisruptedGroup>(
    `SELECT g.id, g.name, g.disrupted_since, g.disrupted_affected,
            (SELECT count(*) FROM thunderlink_nodes n
             WHERE n.status = 'disconnected' AND n.disrupted_group_id IS NOT NULL
               AND (n.disrupted_group_id = g.id
                    OR n.id IN (SELECT m.node_id FROM thunderlink_node_group_memberships m
                                WHERE m.group_id = g.id)))::bigint AS held
     FROM thunderlink_node_groups g WHERE g.disrupted_since IS NOT NULL
     ORDER BY g.name`,
  );
}

export async function readLastSweep(q: Queryable): Promise<Date | null> {
  const [row] = await q.query<{ last_sweep_at: Date | null }>(
    'SELECT last_sweep_at FROM thunderlink_liveness_state',
  );
  return row?.last_sweep_at ?? null;
}

export async function writeLastSweep(tx: Queryable, now: Date): Promise<void> {
  await tx.query('UPDATE thunderlink_liveness_state SET last_sweep_at = $1', [now]);
}

/** Moves the open links of offline nodes to degraded; liveness restores them when they return. */
export async function holdLinks(tx: Queryable, nodeIds: string[], now: Date): Promise<string[]> {
  if (nodeIds.length === 0) return [];
  const rows = await tx.query<{ id: string }>(
    `UPDATE thunderlink_link_sessions
     SET status = 'degraded', held_by_liveness = true, updated_at = $2
     WHERE (node_id = ANY($1::uuid[]) OR remote_node_id = ANY($1::uuid[]))
       AND status IN ('establishing', 'established')
     RETURNING id`,
    [nodeIds, now],
  );
  return rows.map((row) => row.id);
}

/** Restores the held links of nodes that came back, unless the other end is still offline. */
export async function releaseLinks(tx: Queryable, nodeIds: string[], now: Date): Promise<string[]> {
  if (nodeIds.length === 0) return [];
  const rows = await tx.query<{ id: string }>(
    `UPDATE thunderlink_link_sessions l
     SET status = 'established', held_by_liveness = false, updated_at = $2,
         last_activity_at = $2, established_at = COALESCE(l.established_at, $2)
     WHERE (l.node_id = ANY($1::uuid[]) OR l.remote_node_id = ANY($1::uuid[]))
       AND l.held_by_liveness AND l.status = 'degraded'
       AND NOT EXISTS (SELECT 1 FROM thunderlink_nodes other
                       WHERE other.id IN (l.node_id, l.remote_node_id)
                         AND other.status = 'offline')
     RETURNING l.id`,
    [nodeIds, now],
  );
  return rows.map((row) => row.id);
}
