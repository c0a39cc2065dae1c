// SQL for thunderlink_nodes.
import type { NodeRecord, NodeStatus } from '../registry/model.js';
import type { EnsureNodeInput, NodeFilter } from '../registry/operations.js';
import type { Queryable } from './database.js';
import { isUuid, toRecord, toRecords } from './rows.js';

/** The columns that registration may set, in the order of the insert statement. */
const registrationColumns = [
  'role',
  'domain',
  'cluster_type',
  'hotline_peer_id',
  'did',
  'meta',
  'heartbeat_interval_ms',
  'instance_id',
] as const satisfies readonly (keyof EnsureNodeInput)[];

export async function findNode(
  q: Queryable,
  ref: string,
  lock = false,
): Promise<NodeRecord | null> {
  const column = isUuid(ref) ? 'id' : 'name';
  const rows = await q.query(
    `SELECT * FROM thunderlink_nodes WHERE ${column} = $1${lock ? ' FOR NO KEY UPDATE' : ''}`,
    [ref],
  );
  return rows[0] ? toRecord<NodeRecord>(rows[0]) : null;
}

/** Inserts a node unless one with the name exists; returns null when it does. */
export async function insertNode(
  q: Queryable,
  input: EnsureNodeInput,
  now: Date,
): Promise<NodeRecord | null> {
  const given = registrationColumns.filter((column) => input[column] !== undefined);
  const columns = ['name', 'status', 'status_changed_at', 'inserted_at', 'updated_at', ...given];
  const values: unknown[] = [input.name, 'connecting', now, now, now];
  for (const column of given) values.push(columnValue(column, input[column]));
  const placeholders = values.map((_, index) => `$${index + 1}`);
  const rows = await q.query(
    `INSERT INTO thunderlink_nodes (${columns.join(', ')}) VALUES (${placeholders.join(', ')})
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    values,
  );
  return rows[0] ? toRecord<NodeRecord>(rows[0]) : null;
}

/** Sets the given registration fields; returns the row as it is afterwards. */
export async function updateRegistration(
  q: Queryable,
  id: string,
  input: EnsureNodeInput,
  now: Date,
): Promise<NodeRecord> {
  const given = registrationColumns.filter((column) => input[column] !== undefined);
  const values: unknown[] = [id, now];
  const assignments = given.map((column) => {
    values.push(columnValue(column, input[column]));
    return `${column} = $${values.length}`;
  });
  const rows = await q.query(
    `UPDATE thunderlink_nodes SET ${[...assignments, 'updated_at = $2'].join(', ')}
     WHERE id = $1 RETURNING *`,
    values,
  );
  return toRecord<NodeRecord>(rows[0]!);
}

function columnValue(column: string, value: unknown): unknown {
  return column === 'meta' ? JSON.stringify(value) : value;
}

/**
 * Moves each node to its target status unless it is already there or, when `respectMaintenance`
 * is set, in maintenance. Rows are locked in id order, so concurrent callers cannot deadlock, and
 * the condition makes them race safely: each change is made, and returned, once.
 */
export async function setStatuses(
  q: Queryable,
  changes: { id: string; status: NodeStatus }[],
  now: Date,
  respectMaintenance: boolean,
): Promise<{ node: NodeRecord; from: NodeStatus }[]> {
  if (changes.length === 0) return [];
  const rows = await q.query(
    `WITH target AS (
       SELECT * FROM unnest($1::uuid[], $2::text[]) AS t(id, status)
     ),
     previous AS (
       SELECT n.id, n.status FROM thunderlink_nodes n JOIN target t ON t.id = n.id
       WHERE n.status <> t.status ${respectMaintenance ? 'AND NOT n.maintenance' : ''}
       ORDER BY n.id
       FOR NO KEY UPDATE OF n
     )
     UPDATE thunderlink_nodes n
     SET status = t.status, status_changed_at = $3, updated_at = $3
     FROM target t, previous
     WHERE n.id = t.id AND previous.id = n.id AND n.status <> t.status
       ${respectMaintenance ? 'AND NOT n.maintenance' : ''}
     RETURNING n.*, previous.status AS previous_status`,
    [changes.map((change) => change.id), changes.map((change) => change.status), now],
  );
  return rows.map((row) => {
    const { previous_status: from, ...node } = row;
    return { node: toRecord<NodeRecord>(node), from: from as NodeStatus };
  });
}

export async function setMaintenance(
  q: Queryable,
  id: string,
  enabled: boolean,
  now: Date,
): Promise<NodeRecord | null> {
  const rows = await q.query(
    `UPDATE thunderlink_nodes SET maintenance = $2, updated_at = $3,
       liveness_resumed_at = CASE WHEN $2 THEN liveness_resumed_at ELSE $3 END
     WHERE id = $1 AND maintenance <> $2 RETURNING *`,
    [id, enabled, now],
  );
  return rows[0] ? toRecord<NodeRecord>(rows[0]) : null;
}

export async function deleteNode(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM thunderlink_nodes WHERE id = $1 RETURNING id', [id]);
  return rows.length > 0;
}

/** Lists nodes in name order, one page at a time; the cursor is the last name of the page before. */
export interface StoreNodeFilter extends Omit<NodeFilter, 'group' | 'cursor'> {
  /** Keep only members of these groups. */
  groupIds?: string[];
  /** Start after this name, for keyset paging. */
  afterName?: string;
  limit: number;
}

export async function listNodes(q: Queryable, filter: StoreNodeFilter): Promise<NodeRecord[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const bind = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  for (const column of ['status', 'role', 'domain', 'cluster_type'] as const) {
    if (filter[column] !== undefined) conditions.push(`n.${column} = ${bind(filter[column])}`);
  }
  if (filter.capability) {
    const valueCondition =
      filter.capability.value === undefined
        ? ''
        : ` AND c.capability_value = ${bind(filter.capability.value)}`;
    conditions.push(
      `EXISTS (SELECT 1 FROM thunderlink_node_capabilities c WHERE c.node_id = n.id AND c.enabled
       AND c.capability_key = ${bind(filter.capability.key)}${valueCondition})`,
    );
  }
  if (filter.groupIds !== undefined) {
    conditions.push(
      `n.id IN (SELECT m.node_id FROM thunderlink_node_group_memberships m
       WHERE m.group_id = ANY(${bind(filter.groupIds)}::uuid[]))`,
    );
  }
  if (filter.afterName !== undefined) conditions.push(`n.name > ${bind(filter.afterName)}`);
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const rows = await q.query(
    `SELECT n.* FROM thunderlink_nodes n ${where} ORDER BY n.name LIMIT ${bind(filter.limit)}`,
    values,
  );
  return toRecords<NodeRecord>(rows);
}
