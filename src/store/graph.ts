// SQL that reads nodes and links in the shape of the graph (see GraphNode and GraphLink).
import type { GraphLink, GraphNode, NodeRole } from '../registry/model.js';
import type { Queryable } from './database.js';

interface GraphNodeRow extends Omit<GraphNode, 'val' | 'status_changed_at'> {
  status_changed_at: Date;
  open_links: number;
}

/** Relative sphere sizes by role, so that controllers and gateways stand out in the 3D view. */
const roleSize: Record<NodeRole, number> = {
  controller: 8,
  gateway: 6,
  relay: 5,
  worker: 4,
  edge: 2,
};

/** A size hint from the role and the number of open links, capped so hubs stay readable. */
export function nodeSize(role: NodeRole, openLinks: number): number {
  return roleSize[role] + Math.min(openLinks, 20) * 0.25;
}

/**
 * Graph nodes for the node ids that `scope` (a subquery) yields. Groups, capabilities and link
 * counts are aggregated once per table, so the cost grows with the rows read, not with nodes
 * times links.
 */
function graphNodeQuery(scope: string): string {
  return `
  WITH scope AS (${scope}),
  node_groups AS (
    SELECT m.node_id, array_agg(g.name ORDER BY g.name) AS groups
    FROM thunderlink_node_group_memberships m
    JOIN thunderlink_node_groups g ON g.id = m.group_id
    WHERE m.node_id IN (SELECT id FROM scope)
    GROUP BY m.node_id
  ),
  node_capabilities AS (
    SELECT c.node_id, jsonb_object_agg(c.capability_key, c.capability_value) AS capabilities
    FROM thunderlink_node_capabilities c
    WHERE c.enabled AND c.node_id IN (SELECT id FROM scope)
    GROUP BY c.node_id
  ),
  link_ends AS (
    SELECT node_id AS end_id, status FROM thunderlink_link_sessions
    WHERE node_id IN (SELECT id FROM scope)
    UNION ALL
    SELECT remote_node_id, status FROM thunderlink_link_sessions
    WHERE remote_node_id IN (SELECT id FROM scope)
  ),
  node_links AS (
    SELECT end_id,
           count(*) FILTER (WHERE status IN ('establishing', 'established', 'degraded'))
             AS open_links,
           bool_and(status = 'failed') AS all_failed
    FROM link_ends GROUP BY end_id
  )
  SELECT n.id, n.name, n.role, n.domain, n.status, n.status_changed_at, n.cluster_type,
         n.flapping, n.maintenance, n.last_cpu_load AS cpu_load,
         n.last_mem_used_mb AS mem_used_mb, n.last_latency_ms AS latency_ms, n.meta,
         COALESCE(g.groups, '{}'::text[]) AS groups,
         COALESCE(c.capabilities, '{}'::jsonb) AS capabilities,
         COALESCE(l.open_links, 0)::bigint AS open_links,
         COALESCE(l.all_failed, false) AS isolated
  FROM thunderlink_nodes n
  JOIN scope s ON s.id = n.id
  LEFT JOIN node_groups g ON g.node_id = n.id
  LEFT JOIN node_capabilities c ON c.node_id = n.id
  LEFT JOIN node_links l ON l.end_id = n.id
  ORDER BY n.name`;
}

function toGraphNode(row: GraphNodeRow): GraphNode {
  const { open_links: openLinks, ...rest } = row;
  return {
    ...rest,
    status_changed_at: row.status_changed_at.toISOString(),
    val: nodeSize(row.role, openLinks),
  };
}

export async function graphNodesById(q: Queryable, ids: string[]): Promise<GraphNode[]> {
  if (ids.length === 0) return [];
  const rows = await q.query<GraphNodeRow>(graphNodeQuery('SELECT unnest($1::uuid[]) AS id'), [
    ids,
  ]);
  return rows.map(toGraphNode);
}

/** Graph nodes, without offline ones unless asked, and only those of the groups when given. */
export async function graphNodes(
  q: Queryable,
  options: { includeOffline: boolean; groupIds?: string[] },
): Promise<GraphNode[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (!options.includeOffline) conditions.push(`status <> 'offline'`);
  if (options.groupIds !== undefined) {
    values.push(options.groupIds);
    conditions.push(
      `id IN (SELECT node_id FROM thunderlink_node_group_memberships
              WHERE group_id = ANY($1::uuid[]))`,
    );
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const rows = await q.query<GraphNodeRow>(
    graphNodeQuery(`SELECT id FROM thunderlink_nodes ${where}`),
    values,
  );
  return rows.map(toGraphNode);
}

export async function openGraphLinks(q: Queryable): Promise<GraphLink[]> {
  return q.query<GraphLink>(
    `SELECT id, node_id AS source, remote_node_id AS target, weight AS value, session_type,
            status, latency_ms, bandwidth_mbps
     FROM thunderlink_link_sessions
     WHERE status IN ('establishing', 'established', 'degraded') ORDER BY inserted_at, id`,
  );
}

export async function graphLinksById(q: Queryable, ids: string[]): Promise<GraphLink[]> {
  if (ids.length === 0) return [];
  return q.query<GraphLink>(
    `SELECT id, node_id AS source, remote_node_id AS target, weight AS value, session_type,
            status, latency_ms, bandwidth_mbps
     FROM thunderlink_link_sessions WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [ids],
  );
}

export async function graphLinkById(q: Queryable, id: string): Promise<GraphLink | null> {
  const rows = await q.query<GraphLink>(
    `SELECT id, node_id AS source, remote_node_id AS target, weight AS value, session_type,
            status, latency_ms, bandwidth_mbps
     FROM thunderlink_link_sessions WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}
