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

const graphNodeSelect = `
  SELECT n.id, n.name, n.role, n.domain, n.status, n.status_changed_at, n.cluster_type,
         n.flapping, n.maintenance, n.last_cpu_load AS cpu_load,
         n.last_mem_used_mb AS mem_used_mb, n.last_latency_ms AS latency_ms, n.meta,
         COALESCE((SELECT array_agg(g.name ORDER BY g.name)
                   FROM thunderlink_node_group_memberships m
                   JOIN thunderlink_node_groups g ON g.id = m.group_id
                   WHERE m.node_id = n.id), '{}'::text[]) AS groups,
         COALESCE((SELECT jsonb_object_agg(c.capability_key, c.capability_value)
                   FROM thunderlink_node_capabilities c
                   WHERE c.node_id = n.id AND c.enabled), '{}'::jsonb) AS capabilities,
         (SELECT count(*) FROM thunderlink_link_sessions l
          WHERE (l.node_id = n.id OR l.remote_node_id = n.id)
            AND l.status IN ('establishing', 'established', 'degraded'))::bigint AS open_links,
         (EXISTS (SELECT 1 FROM thunderlink_link_sessions l
                  WHERE (l.node_id = n.id OR l.remote_node_id = n.id) AND l.status = 'failed')
          AND NOT EXISTS (SELECT 1 FROM thunderlink_link_sessions l
                  WHERE (l.node_id = n.id OR l.remote_node_id = n.id)
                    AND l.status <> 'failed')) AS isolated
  FROM thunderlink_nodes n`;

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
  const rows = await q.query<GraphNodeRow>(
    `${graphNodeSelect} WHERE n.id = ANY($1::uuid[]) ORDER BY n.name`,
    [ids],
  );
  return rows.map(toGraphNode);
}

/** Graph nodes, without offline ones unless asked, and only those of the groups when given. */
export async function graphNodes(
  q: Queryable,
  options: { includeOffline: boolean; groupIds?: string[] },
): Promise<GraphNode[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (!options.includeOffline) conditions.push(`n.status <> 'offline'`);
  if (options.groupIds !== undefined) {
    values.push(options.groupIds);
    conditions.push(
      `n.id IN (SELECT node_id FROM thunderlink_node_group_memberships
                WHERE group_id = ANY($1::uuid[]))`,
    );
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const rows = await q.query<GraphNodeRow>(`${graphNodeSelect} ${where} ORDER BY n.name`, values);
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

export async function graphLinkById(q: Queryable, id: string): Promise<GraphLink | null> {
  const rows = await q.query<GraphLink>(
    `SELECT id, node_id AS source, remote_node_id AS target, weight AS value, session_type,
            status, latency_ms, bandwidth_mbps
     FROM thunderlink_link_sessions WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}
