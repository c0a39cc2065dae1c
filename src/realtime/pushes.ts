// Turns outbox events into the pushes of `thunderlink:graph`. Node events already carry the node
// as the graph shows it at their commit. A link change also changes its ends' `val` and `isolated`,
// and a node that stops being offline brings back links that clients without offline nodes never
// saw, so those pushes are completed with a current read. Such a read may be newer than the event's
// seq, but every later change of the same node has a later event whose push follows. A client that
// applies the pushes in order therefore ends with the current graph.
import type { GraphLink, GraphNode, OutboxEvent } from '../registry/model.js';
import type {
  GraphPushes,
  LinkDownPush,
  NodePush,
  SequencedPush,
  SequencedPushEvent,
} from './messages.js';
import type { RealtimeReads } from '../store/stream.js';

/** One push, with its payload serialised once for every socket it goes to. */
export interface PushItem {
  kind: 'push';
  seq: number;
  push: SequencedPush;
  json: string;
}

/**
 * A change that the pushes cannot describe, such as a group rename that changes the `groups` of
 * all its members: every client gets a fresh `topology_update` instead.
 */
export interface ResyncItem {
  kind: 'resync';
  seq: number;
}

export type StreamItem = PushItem | ResyncItem;

/** The stream form of one outbox event, before the reads that complete it. */
export type Plan =
  | {
      kind: 'node';
      event: 'node_up' | 'node_down' | 'node_updated';
      node: GraphNode;
      withLinks: boolean;
    }
  | { kind: 'link'; event: 'link_up' | 'link_updated'; link: GraphLink }
  | { kind: 'link_down'; link: Omit<LinkDownPush, 'seq' | 'nodes'> }
  | { kind: 'direct'; push: SequencedPush }
  | { kind: 'resync' };

interface NodeEventPayload {
  node: GraphNode;
  from?: string;
}

/** Maps one outbox event to what it becomes on the stream, in order; most become one push. */
export function planEvent(event: OutboxEvent): Plan[] {
  const payload = event.payload;
  switch (event.name) {
    case 'cluster.node.registered':
    case 'cluster.capability.changed':
      return [nodePlan('node_updated', payload as unknown as NodeEventPayload)];
    case 'cluster.node.status_changed': {
      const { node, from } = payload as unknown as NodeEventPayload;
      // A move to online or offline is followed, in the same transaction, by its own event.
      const followed =
        (node.status === 'online' || node.status === 'offline') && from !== node.status;
      return followed ? [] : [nodePlan('node_updated', { node, from })];
    }
    case 'cluster.node.online':
      return [nodePlan('node_up', payload as unknown as NodeEventPayload)];
    case 'cluster.node.offline':
      return [nodePlan('node_down', payload as unknown as NodeEventPayload)];
    case 'cluster.node.deregistered':
      return planDeregistered(event);
    case 'cluster.link.established':
      return [{ kind: 'link', event: 'link_up', link: (payload as { link: GraphLink }).link }];
    case 'cluster.link.updated':
      return [{ kind: 'link', event: 'link_updated', link: (payload as { link: GraphLink }).link }];
    case 'cluster.link.closed':
    case 'cluster.link.failed':
      return [{ kind: 'link_down', link: (payload as { link: LinkDownPush }).link }];
    case 'cluster.group.changed':
      return planGroupChange(payload);
    case 'cluster.group.disrupted': {
      const { group, disrupted, affected } = payload as {
        group: string;
        disrupted: boolean;
        affected: number;
      };
      const push = { group, disrupted, affected, seq: event.seq };
      return [{ kind: 'direct', push: { event: 'group_disrupted', payload: push } }];
    }
  }
}

function nodePlan(
  event: 'node_up' | 'node_down' | 'node_updated',
  payload: NodeEventPayload,
): Plan {
  const { node, from } = payload;
  return { kind: 'node', event, node, withLinks: from === 'offline' && node.status !== 'offline' };
}

/**
 * Plans a deregistration as its push followed by a fresh graph, because deleting the node's link
 * sessions changes the `val` and `isolated` of nodes that its event does not name.
 */
function planDeregistered(event: OutboxEvent): Plan[] {
  const { node, links } = event.payload as { node: { id: string; name: string }; links: string[] };
  const push = { id: node.id, name: node.name, links, seq: event.seq };
  return [{ kind: 'direct', push: { event: 'node_removed', payload: push } }, { kind: 'resync' }];
}

function planGroupChange(payload: Record<string, unknown>): Plan[] {
  const action = payload.action as string;
  if (action === 'member_added' || action === 'member_removed') {
    return [nodePlan('node_updated', payload as unknown as NodeEventPayload)];
  }
  // A rename changes the `groups` of every member, and a deletion removes the group from them.
  const members = typeof payload.member_count === 'number' ? payload.member_count : 0;
  if ((action === 'updated' || action === 'deleted') && members > 0) return [{ kind: 'resync' }];
  return [];
}

/** Builds the stream items of a page of events, reading what link and node pushes need. */
export async function toStreamItems(
  events: OutboxEvent[],
  reads: RealtimeReads,
): Promise<StreamItem[]> {
  const planned = events.map((event) => ({ seq: event.seq, plans: planEvent(event) }));
  const endIds = new Set<string>();
  const returningIds = new Set<string>();
  for (const { plans } of planned) {
    for (const plan of plans) {
      if (plan.kind === 'link' || plan.kind === 'link_down') {
        endIds.add(plan.link.source);
        endIds.add(plan.link.target);
      }
      if (plan.kind === 'node' && plan.withLinks) returningIds.add(plan.node.id);
    }
  }
  const [ends, returningLinks] = await Promise.all([
    reads.graphNodes([...endIds]),
    reads.openLinksOf([...returningIds]),
  ]);
  const nodesById = new Map(ends.map((node) => [node.id, node]));
  const endsOf = (link: { source: string; target: string }) =>
    [nodesById.get(link.source), nodesById.get(link.target)].filter(
      (node): node is GraphNode => node !== undefined,
    );

  const items: StreamItem[] = [];
  for (const { seq, plans } of planned) {
    for (const plan of plans) {
      if (plan.kind === 'resync') {
        items.push({ kind: 'resync', seq });
        continue;
      }
      const push = toPush(plan, seq, endsOf, returningLinks);
      items.push({ kind: 'push', seq, push, json: JSON.stringify(push.payload) });
    }
  }
  return items;
}

function toPush(
  plan: Exclude<Plan, { kind: 'resync' }>,
  seq: number,
  endsOf: (link: { source: string; target: string }) => GraphNode[],
  returningLinks: GraphLink[],
): SequencedPush {
  switch (plan.kind) {
    case 'node': {
      const payload: NodePush = { ...plan.node, seq };
      if (plan.withLinks) {
        payload.links = returningLinks.filter(
          (link) => link.source === plan.node.id || link.target === plan.node.id,
        );
      }
      return sequenced(plan.event, payload);
    }
    case 'link':
      return sequenced(plan.event, { ...plan.link, seq, nodes: endsOf(plan.link) });
    case 'link_down':
      return sequenced('link_down', { ...plan.link, seq, nodes: endsOf(plan.link) });
    case 'direct':
      return plan.push;
  }
}

function sequenced<Event extends SequencedPushEvent>(
  event: Event,
  payload: GraphPushes[Event],
): SequencedPush {
  return { event, payload } as SequencedPush;
}
