// SQL for the realtime stream: the queries it makes besides the registry's own: current graph nodes and links
// for the ends of a change, the heartbeat data that metrics pushes and node topics follow, and the
// lock that lets one replica publish to NATS.
import type { GraphLink, GraphNode, HeartbeatRecord } from '../registry/model.js';
import type { Queryable } from './database.js';
import { graphNodesById } from './graph.js';
import { latestSeq } from './outbox.js';
import { tryLockSql } from './locks.js';
import { toRecords } from './rows.js';

export interface MetricsRow {
  id: string;
  cpu_load: number | null;
  mem_used_mb: number | null;
  latency_ms: number | null;
  last_heartbeat_at: Date;
}

export interface HeartbeatCursor {
  nodeId: string;
  /** Rows inserted at or after this time are returned. */
  since: Date;
}

export interface RealtimeReads {
  latestSeq(): Promise<number>;
  /** Graph nodes by id, whatever their status; ids that no longer exist are left out. */
  graphNodes(ids: string[]): Promise<GraphNode[]>;
  /** Open links with either end among `nodeIds`, in the graph's shape. */
  openLinksOf(nodeIds: string[]): Promise<GraphLink[]>;
  /** The newest `last_heartbeat_at` of any node, or null before the first heartbeat. */
  latestHeartbeatAt(): Promise<Date | null>;
  /** The last metrics of every node whose `last_heartbeat_at` is at or after `since`. */
  metricsSince(since: Date): Promise<MetricsRow[]>;
  /** The newest heartbeat time of one node, or null when it has none. */
  latestHeartbeatOf(nodeId: string): Promise<Date | null>;
  /** Heartbeat rows of the given nodes, each from its cursor on, oldest first, at most `limit`. */
  heartbeatsSince(cursors: HeartbeatCursor[], limit: number): Promise<HeartbeatRecord[]>;
}

export function databaseReads(db: Queryable): RealtimeReads {
  return {
    latestSeq: () => latestSeq(db),
    graphNodes: (ids) => graphNodesById(db, ids),
    openLinksOf: (nodeIds) => openLinksOf(db, nodeIds),
    async latestHeartbeatAt() {
      const [row] = await db.query<{ at: Date | null }>(
        'SELECT max(last_heartbeat_at) AS at FROM thunderlink_nodes',
      );
      return row?.at ?? null;
    },
    metricsSince: (since) =>
      db.query<MetricsRow>(
        `SELECT id, last_cpu_load AS cpu_load, last_mem_used_mb AS mem_used_mb,
                last_latency_ms AS latency_ms, last_heartbeat_at
         FROM thunderlink_nodes WHERE last_heartbeat_at >= $1`,
        [since],
      ),
    async latestHeartbeatOf(nodeId) {
      const [row] = await db.query<{ at: Date | null }>(
        'SELECT max(inserted_at) AS at FROM thunderlink_heartbeats WHERE node_id = $1',
        [nodeId],
      );
      return row?.at ?? null;
    },
    heartbeatsSince: (cursors, limit) => heartbeatsSince(db, cursors, limit),
  };
}

async function openLinksOf(db: Queryable, nodeIds: string[]): Promise<GraphLink[]> {
  if (nodeIds.length === 0) return [];
  return db.query<GraphLink>(
    `SELECT id, node_id AS source, remote_node_id AS target, weight AS value, session_type,
            status, latency_ms, bandwidth_mbps
     FROM thunderlink_link_sessions
     WHERE status IN ('establishing', 'established', 'degraded')
       AND (node_id = ANY($1::uuid[]) OR remote_node_id = ANY($1::uuid[]))
     ORDER BY inserted_at, id`,
    [nodeIds],
  );
}

async function heartbeatsSince(
  db: Queryable,
  cursors: HeartbeatCursor[],
  limit: number,
): Promise<HeartbeatRecord[]> {
  if (cursors.length === 0) return [];
  const earliest = new Date(Math.min(...cursors.map((cursor) => cursor.since.getTime())));
  // The bound on the earliest cursor lets PostgreSQL skip the older hourly partitions.
  const rows = await db.query(
    `SELECT h.id, h.node_id, h.status, h.cpu_load, h.mem_used_mb, h.latency_ms, h.meta,
            h.inserted_at
     FROM thunderlink_heartbeats h
     JOIN unnest($1::uuid[], $2::timestamptz[]) AS c(node_id, since)
       ON h.node_id = c.node_id AND h.inserted_at >= c.since
     WHERE h.inserted_at >= $3
     ORDER BY h.inserted_at, h.id
     LIMIT $4`,
    [
      cursors.map((cursor) => cursor.nodeId),
      cursors.map((cursor) => cursor.since),
      earliest,
      limit,
    ],
  );
  return toRecords<HeartbeatRecord>(rows);
}

/** Advisory lock key that lets one replica publish to NATS at a time: the bytes of "tlns". */
const natsPublisherLockKey = 0x746c6e73;

/** Takes the NATS publisher lock for this transaction, or returns false when another holds it. */
export async function tryNatsPublisherLock(tx: Queryable): Promise<boolean> {
  const [row] = await tx.query<{ locked: boolean }>(tryLockSql, [natsPublisherLockKey]);
  return row?.locked === true;
}
