// SQL for thunderlink_node_capabilities.
import type { CapabilityRecord, NodeRecord } from '../registry/model.js';
import type { CapabilityInput } from '../registry/operations.js';
import type { Queryable } from './database.js';
import { toRecord, toRecords } from './rows.js';

export async function findCapability(
  q: Queryable,
  nodeId: string,
  key: string,
): Promise<CapabilityRecord | null> {
  const rows = await q.query(
    `SELECT * FROM thunderlink_node_capabilities
     WHERE node_id = $1 AND capability_key = $2 FOR UPDATE`,
    [nodeId, key],
  );
  return rows[0] ? toRecord<CapabilityRecord>(rows[0]) : null;
}

/**
 * Inserts or updates a capability. Omitted fields keep their stored value, or take the column
 * default on insert; the caller has locked the node row, so the read-then-write cannot race.
 */
export async function upsertCapability(
  q: Queryable,
  nodeId: string,
  key: string,
  input: CapabilityInput,
  now: Date,
): Promise<CapabilityRecord> {
  const rows = await q.query(
    `INSERT INTO thunderlink_node_capabilities
       (node_id, capability_key, capability_value, enabled, meta, inserted_at, updated_at)
     VALUES ($1, $2, $3, COALESCE($4, true), COALESCE($5::jsonb, '{}'), $6, $6)
     ON CONFLICT (node_id, capability_key) DO UPDATE SET
       capability_value = CASE WHEN $7 THEN EXCLUDED.capability_value
                               ELSE thunderlink_node_capabilities.capability_value END,
       enabled = COALESCE($4, thunderlink_node_capabilities.enabled),
       meta = COALESCE($5::jsonb, thunderlink_node_capabilities.meta),
       updated_at = $6
     RETURNING *`,
    [
      nodeId,
      key,
      input.value ?? null,
      input.enabled ?? null,
      input.meta === undefined ? null : JSON.stringify(input.meta),
      now,
      input.value !== undefined,
    ],
  );
  return toRecord<CapabilityRecord>(rows[0]!);
}

export async function deleteCapability(
  q: Queryable,
  nodeId: string,
  key: string,
): Promise<CapabilityRecord | null> {
  const rows = await q.query(
    `DELETE FROM thunderlink_node_capabilities WHERE node_id = $1 AND capability_key = $2
     RETURNING *`,
    [nodeId, key],
  );
  return rows[0] ? toRecord<CapabilityRecord>(rows[0]) : null;
}

export async function listCapabilities(q: Queryable, nodeId: string): Promise<CapabilityRecord[]> {
  const rows = await q.query(
    `SELECT * FROM thunderlink_node_capabilities WHERE node_id = $1 ORDER BY capability_key`,
    [nodeId],
  );
  return toRecords<CapabilityRecord>(rows);
}

/** Nodes with the capability enabled, and with the value when one is given, in name order. */
export async function nodesWithCapability(
  q: Queryable,
  key: string,
  value: string | undefined,
  limit: number,
): Promise<(NodeRecord & { capability_value: string | null })[]> {
  const rows = await q.query(
    `SELECT n.*, c.capability_value FROM thunderlink_node_capabilities c
     JOIN thunderlink_nodes n ON n.id = c.node_id
     WHERE c.capability_key = $1 AND c.enabled AND ($2::text IS NULL OR c.capability_value = $2)
     ORDER BY n.name LIMIT $3`,
    [key, value ?? null, limit],
  );
  return toRecords(rows);
}
