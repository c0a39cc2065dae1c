// SQL for thunderlink_node_groups and thunderlink_node_group_memberships.
import type { GroupRecord, NodeRecord } from '../registry/model.js';
import type { CreateGroupInput, GroupFilter, UpdateGroupInput } from '../registry/operations.js';
import type { Queryable } from './database.js';
import { isUuid, toRecord, toRecords } from './rows.js';
import { lockSql } from './locks.js';

/** Advisory lock key that serialises changes to the group tree: the bytes of "tlgr". */
const groupTreeLockKey = 0x746c6772;

export async function lockGroupTree(q: Queryable): Promise<void> {
  await q.query(lockSql, [groupTreeLockKey]);
}

export async function findGroup(q: Queryable, ref: string): Promise<GroupRecord | null> {
  const column = isUuid(ref) ? 'id' : 'name';
  const rows = await q.query(`SELECT * FROM thunderlink_node_groups WHERE ${column} = $1`, [ref]);
  return rows[0] ? toRecord<GroupRecord>(rows[0]) : null;
}

/** Inserts a group; returns null when the name is taken. */
export async function insertGroup(
  q: Queryable,
  input: CreateGroupInput & { parent_group_id: string | null },
  now: Date,
): Promise<GroupRecord | null> {
  const rows = await q.query(
    `INSERT INTO thunderlink_node_groups (name, group_type, parent_group_id, meta, inserted_at,
       updated_at)
     VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    [
      input.name,
      input.group_type ?? 'custom',
      input.parent_group_id,
      JSON.stringify(input.meta ?? {}),
      now,
    ],
  );
  return rows[0] ? toRecord<GroupRecord>(rows[0]) : null;
}

export async function updateGroup(
  q: Queryable,
  id: string,
  patch: UpdateGroupInput,
  now: Date,
): Promise<GroupRecord> {
  const values: unknown[] = [id, now];
  const assignments = ['updated_at = $2'];
  for (const column of ['name', 'group_type', 'parent_group_id', 'meta'] as const) {
    if (patch[column] === undefined) continue;
    values.push(column === 'meta' ? JSON.stringify(patch.meta) : patch[column]);
    assignments.push(`${column} = $${values.length}`);
  }
  const rows = await q.query(
    `UPDATE thunderlink_node_groups SET ${assignments.join(', ')} WHERE id = $1 RETURNING *`,
    values,
  );
  return toRecord<GroupRecord>(rows[0]!);
}

export async function deleteGroup(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM thunderlink_node_groups WHERE id = $1', [id]);
}

export async function listGroups(q: Queryable, filter: GroupFilter): Promise<GroupRecord[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (filter.type !== undefined) {
    values.push(filter.type);
    conditions.push(`group_type = $${values.length}`);
  }
  if (filter.parent !== undefined) {
    values.push(filter.parent);
    conditions.push(`parent_group_id = $${values.length}`);
  }
  if (filter.roots) conditions.push('parent_group_id IS NULL');
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const rows = await q.query(
    `SELECT * FROM thunderlink_node_groups ${where} ORDER BY name`,
    values,
  );
  return toRecords<GroupRecord>(rows);
}

/** The ids of a group and of every group below it. UNION stops at a cycle, should one exist. */
export async function subtreeIds(q: Queryable, groupId: string): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `WITH RECURSIVE subtree AS (
       SELECT id FROM thunderlink_node_groups WHERE id = $1
       UNION
       SELECT g.id FROM thunderlink_node_groups g JOIN subtree s ON g.parent_group_id = s.id
     )
     SELECT id FROM subtree`,
    [groupId],
  );
  return rows.map((row) => row.id);
}

export async function countChildren(q: Queryable, groupId: string): Promise<number> {
  const [row] = await q.query<{ count: number }>(
    'SELECT count(*)::bigint AS count FROM thunderlink_node_groups WHERE parent_group_id = $1',
    [groupId],
  );
  return row?.count ?? 0;
}

export async function addMember(
  q: Queryable,
  groupId: string,
  nodeId: string,
  now: Date,
): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO thunderlink_node_group_memberships (node_id, group_id, inserted_at)
     VALUES ($1, $2, $3) ON CONFLICT (node_id, group_id) DO NOTHING RETURNING id`,
    [nodeId, groupId, now],
  );
  return rows.length > 0;
}

export async function removeMember(
  q: Queryable,
  groupId: string,
  nodeId: string,
): Promise<boolean> {
  const rows = await q.query(
    `DELETE FROM thunderlink_node_group_memberships WHERE node_id = $1 AND group_id = $2
     RETURNING id`,
    [nodeId, groupId],
  );
  return rows.length > 0;
}

export async function listMembers(
  q: Queryable,
  groupId: string,
): Promise<Pick<NodeRecord, 'id' | 'name' | 'role' | 'status'>[]> {
  return q.query(
    `SELECT n.id, n.name, n.role, n.status FROM thunderlink_node_group_memberships m
     JOIN thunderlink_nodes n ON n.id = m.node_id WHERE m.group_id = $1 ORDER BY n.name`,
    [groupId],
  );
}

export async function countMembers(q: Queryable, groupId: string): Promise<number> {
  const [row] = await q.query<{ count: number }>(
    `SELECT count(*)::bigint AS count FROM thunderlink_node_group_memberships
     WHERE group_id = $1`,
    [groupId],
  );
  return row?.count ?? 0;
}

export async function groupsOfNode(
  q: Queryable,
  nodeId: string,
): Promise<Pick<GroupRecord, 'id' | 'name' | 'group_type'>[]> {
  return q.query(
    `SELECT g.id, g.name, g.group_type FROM thunderlink_node_group_memberships m
     JOIN thunderlink_node_groups g ON g.id = m.group_id WHERE m.node_id = $1 ORDER BY g.name`,
    [nodeId],
  );
}
