// SQL for thunderlink_link_sessions.
import type { LinkRecord, LinkStatus, SessionType } from '../registry/model.js';
import type { EstablishLinkInput, LinkFilter, UpdateLinkInput } from '../registry/operations.js';
import type { Queryable } from './database.js';
import { isUuid, toRecord, toRecords } from './rows.js';

const openStatuses = `('establishing', 'established', 'degraded')`;

export async function findLink(q: Queryable, id: string, lock = false): Promise<LinkRecord | null> {
  if (!isUuid(id)) return null;
  const rows = await q.query(
    `SELECT * FROM thunderlink_link_sessions WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toRecord<LinkRecord>(rows[0]) : null;
}

/** Finds the open link between two nodes, in either direction, and locks it. */
export async function findOpenLink(
  q: Queryable,
  nodeId: string,
  remoteNodeId: string,
): Promise<LinkRecord | null> {
  const rows = await q.query(
    `SELECT * FROM thunderlink_link_sessions
     WHERE LEAST(node_id, remote_node_id) = LEAST($1::uuid, $2::uuid)
       AND GREATEST(node_id, remote_node_id) = GREATEST($1::uuid, $2::uuid)
       AND status IN ${openStatuses}
     FOR UPDATE`,
    [nodeId, remoteNodeId],
  );
  return rows[0] ? toRecord<LinkRecord>(rows[0]) : null;
}

/** Inserts a link; returns null when the pair already has an open one. */
export async function insertLink(
  q: Queryable,
  input: EstablishLinkInput & { status: 'establishing' | 'established' },
  now: Date,
): Promise<LinkRecord | null> {
  const rows = await q.query(
    `INSERT INTO thunderlink_link_sessions
       (node_id, remote_node_id, session_type, status, weight, latency_ms, bandwidth_mbps,
        established_at, last_activity_at, meta, inserted_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $4 = 'established' THEN $8::timestamptz END,
             $8, $9, $8, $8)
     ON CONFLICT DO NOTHING
     RETURNING *`,
    [
      input.node_id,
      input.remote_node_id,
      input.session_type ?? 'cluster',
      input.status,
      input.weight ?? 1,
      input.latency_ms ?? null,
      input.bandwidth_mbps ?? null,
      now,
      JSON.stringify(input.meta ?? {}),
    ],
  );
  return rows[0] ? toRecord<LinkRecord>(rows[0]) : null;
}

/** Applies the given fields to an open link and marks it active now. */
export async function updateLink(
  q: Queryable,
  id: string,
  patch: UpdateLinkInput & { session_type?: SessionType },
  now: Date,
): Promise<LinkRecord> {
  const values: unknown[] = [id, now];
  const assignments = ['last_activity_at = $2', 'updated_at = $2'];
  const columns = [
    'status',
    'session_type',
    'weight',
    'latency_ms',
    'bandwidth_mbps',
    'meta',
  ] as const;
  for (const column of columns) {
    if (patch[column] === undefined) continue;
    values.push(column === 'meta' ? JSON.stringify(patch.meta) : patch[column]);
    assignments.push(`${column} = $${values.length}`);
  }
  if (patch.status === 'established') {
    assignments.push('established_at = COALESCE(established_at, $2)');
  }
  const rows = await q.query(
    `UPDATE thunderlink_link_sessions SET ${assignments.join(', ')} WHERE id = $1 RETURNING *`,
    values,
  );
  return toRecord<LinkRecord>(rows[0]!);
}

/** Ends an open link as closed or failed; returns null when it was not open. */
export async function endLink(
  q: Queryable,
  id: string,
  status: Extract<LinkStatus, 'closed' | 'failed'>,
  reason: string | null,
  now: Date,
): Promise<LinkRecord | null> {
  const rows = await q.query(
    `UPDATE thunderlink_link_sessions
     SET status = $2, end_reason = $3, ended_at = $4, updated_at = $4
     WHERE id = $1 AND status IN ${openStatuses} RETURNING *`,
    [id, status, reason, now],
  );
  return rows[0] ? toRecord<LinkRecord>(rows[0]) : null;
}

export async function listLinks(
  q: Queryable,
  filter: LinkFilter & { limit: number },
): Promise<LinkRecord[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const bind = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.node_id !== undefined) {
    const node = bind(filter.node_id);
    conditions.push(`(node_id = ${node} OR remote_node_id = ${node})`);
  }
  if (filter.status === 'open') conditions.push(`status IN ${openStatuses}`);
  else if (filter.status !== undefined) conditions.push(`status = ${bind(filter.status)}`);
  if (filter.session_type !== undefined) {
    conditions.push(`session_type = ${bind(filter.session_type)}`);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const rows = await q.query(
    `SELECT * FROM thunderlink_link_sessions ${where}
     ORDER BY inserted_at DESC, id LIMIT ${bind(filter.limit)}`,
    values,
  );
  return toRecords<LinkRecord>(rows);
}

/** The open links of one node, ids only, for the event that removes the node. */
export async function openLinkIds(q: Queryable, nodeId: string): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `SELECT id FROM thunderlink_link_sessions
     WHERE (node_id = $1 OR remote_node_id = $1) AND status IN ${openStatuses}`,
    [nodeId],
  );
  return rows.map((row) => row.id);
}
