// Lookups shared by the registry's operations: a reference to a node or group becomes its row or
// a not-found error that names the route to create it.
import { notFound } from '../errors.js';
import type { Queryable } from '../store/database.js';
import { findGroup } from '../store/groups.js';
import { graphNodesById } from '../store/graph.js';
import { findNode } from '../store/nodes.js';
import type { GraphNode, GroupRecord, NodeRecord } from './model.js';

export async function requireNode(q: Queryable, ref: string, lock = false): Promise<NodeRecord> {
  const node = await findNode(q, ref, lock);
  if (!node) {
    throw notFound(
      'TL_ERR_NODE_NOT_FOUND',
      `node ${JSON.stringify(ref)} not found; register it with POST /api/thunderlink/nodes`,
    );
  }
  return node;
}

export async function requireGroup(q: Queryable, ref: string): Promise<GroupRecord> {
  const group = await findGroup(q, ref);
  if (!group) {
    throw notFound(
      'TL_ERR_GROUP_NOT_FOUND',
      `group ${JSON.stringify(ref)} not found; create it with POST /api/thunderlink/groups`,
    );
  }
  return group;
}

/** The node as the graph shows it, for event payloads; read inside the writing transaction. */
export async function graphNodeOf(q: Queryable, id: string): Promise<GraphNode> {
  const [node] = await graphNodesById(q, [id]);
  if (!node) throw new Error(`node ${id} vanished inside its own transaction`);
  return node;
}
