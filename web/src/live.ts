// Applies the `thunderlink:graph` stream to the page's copy of the graph: the join reply and every
// push become merge operations on the kept node and link objects. The rules follow
// docs/realtime.md ("Applying pushes"), with offline nodes kept because the page joins with
// `include_offline: true`.
import type { GraphLink, GraphNode } from '../../src/registry/model.js';
import type {
  GraphJoinReply,
  GraphPush,
  GraphPushes,
  SequencedPush,
} from '../../src/realtime/messages.js';
import {
  mergeGraph,
  readGraph,
  removeLink,
  removeNode,
  upsertLink,
  upsertNode,
  type Changes,
  type GraphState,
} from './merge.js';

/** The metric fields that a `node_metrics` push copies onto a stored node. */
const METRIC_KEYS = ['cpu_load', 'mem_used_mb', 'latency_ms'] as const;

/** The page's position in the stream and the graph it applies pushes to. */
export interface LiveState {
  graph: GraphState;
  /** The seq the graph reflects, sent as `since` on the next join. Undefined before a snapshot. */
  seq: number | undefined;
  /**
   * How long a link that failed stays drawn, marked `failing`, before it is removed, in
   * milliseconds. 0 removes it at once.
   */
  failingLinkMs: number;
  /** Links that failed and are still drawn, with the time they are due to go, by link id. */
  failing: Map<string, number>;
  /** Group disruptions that pushes reported since the caller last read them, by group name. */
  disruptions: Map<string, { disrupted: boolean; affected: number }>;
  now(): number;
}

export function createLiveState(
  graph: GraphState,
  options: { failingLinkMs?: number; now?: () => number } = {},
): LiveState {
  return {
    graph,
    seq: undefined,
    failingLinkMs: options.failingLinkMs ?? 0,
    failing: new Map(),
    disruptions: new Map(),
    now: options.now ?? Date.now,
  };
}

/** Removes the failed links whose time to stay drawn is over. */
export function expireFailingLinks(live: LiveState): Changes {
  const changes = noChanges();
  const now = live.now();
  for (const [id, due] of live.failing) {
    if (due > now) continue;
    live.failing.delete(id);
    addChanges(changes, removeLink(live.graph, id));
  }
  return changes;
}

/** Returns when the next failed link is due to go, or undefined when none is drawn. */
export function nextFailingExpiry(live: LiveState): number | undefined {
  let next: number | undefined;
  for (const due of live.failing.values()) if (next === undefined || due < next) next = due;
  return next;
}

/** Returns the join parameters for the current position, so a rejoin resumes where it stopped. */
export function joinParams(live: LiveState): { include_offline: true; since?: number } {
  return live.seq === undefined
    ? { include_offline: true }
    : { include_offline: true, since: live.seq };
}

/**
 * Applies a join reply: a snapshot replaces the graph, and an events reply replays the missed
 * pushes in order. Throws a TypeError on a reply of neither shape.
 */
export function applyJoinReply(live: LiveState, reply: GraphJoinReply): Changes {
  if (!isRecord(reply)) throw new TypeError('invalid join reply: not a JSON object');

  if (reply.mode === 'snapshot') {
    return applyPush(live, { event: 'topology_update', payload: reply });
  }
  if (reply.mode === 'events' && Array.isArray(reply.events) && isSeq(reply.seq)) {
    const changes = noChanges();
    for (const push of reply.events as SequencedPush[]) addChanges(changes, applyPush(live, push));
    live.seq = reply.seq;
    return changes;
  }
  throw new TypeError(`invalid join reply: unknown mode ${JSON.stringify(reply.mode)}`);
}

/**
 * Applies one push to the graph and advances `seq` past it. A sequenced push at or before the
 * current `seq` is skipped, because the graph already reflects it. Events that do not change the
 * graph, such as unknown names, only advance `seq`, and `group_disrupted` is recorded in
 * `disruptions`. A failed link stays drawn as `failing` for `failingLinkMs`. Throws a TypeError on a
 * payload without the ids or seq it needs. Then `seq` stays where it was, but the push may already
 * have changed part of the graph, so the caller should fetch a fresh snapshot.
 */
export function applyPush(live: LiveState, push: GraphPush): Changes {
  const { event, payload } = push;
  if (!isRecord(payload)) throw new TypeError(`invalid ${event} push: payload is not an object`);

  if (event === 'topology_update') {
    const graph = readGraph(payload);
    // A snapshot has the final set of links, so failing links go with it or stay as open ones.
    for (const id of live.failing.keys()) {
      const link = live.graph.links.get(id);
      if (link) delete link.failing;
    }
    live.failing.clear();
    const { structureChanged, attributesChanged, linkAttributesChanged } = mergeGraph(
      live.graph,
      graph,
    );
    if (isSeq(graph.seq)) live.seq = graph.seq;
    return linkAttributesChanged
      ? { structureChanged, attributesChanged, linkAttributesChanged }
      : { structureChanged, attributesChanged };
  }
  if (event === 'node_metrics') return applyMetrics(live, payload as GraphPushes['node_metrics']);

  const seq = (payload as { seq?: unknown }).seq;
  if (!isSeq(seq)) throw new TypeError(`invalid ${event} push: seq is missing or not a number`);
  if (live.seq !== undefined && seq <= live.seq) return noChanges();

  const changes = applySequenced(live, push as SequencedPush);
  live.seq = seq;
  return changes;
}

function applySequenced(live: LiveState, push: SequencedPush): Changes {
  const changes = noChanges();
  const state = live.graph;

  switch (push.event) {
    case 'node_up':
    case 'node_down':
    case 'node_updated': {
      const { seq: _seq, links, ...node } = push.payload;
      addChanges(changes, upsertNode(state, checkNode(node, push.event)));
      for (const link of links ?? [])
        addChanges(changes, upsertLink(state, checkLink(link, push.event)));
      break;
    }
    case 'node_removed': {
      const { id, links } = push.payload;
      if (!isId(id)) throw new TypeError('invalid node_removed push: id is missing');
      for (const linkId of links ?? []) addChanges(changes, removeLink(state, linkId));
      addChanges(changes, removeNode(state, id));
      break;
    }
    case 'link_up':
    case 'link_updated': {
      const { seq: _seq, nodes, ...link } = push.payload;
      // The ends come first, so the link is drawn at once instead of held.
      for (const node of nodes ?? [])
        addChanges(changes, upsertNode(state, checkNode(node, push.event)));
      addChanges(changes, upsertLink(state, checkLink(link, push.event)));
      break;
    }
    case 'link_down': {
      const { id, nodes, status } = push.payload;
      if (!isId(id)) throw new TypeError('invalid link_down push: id is missing');
      const drawn = state.links.get(id);
      if (drawn && status === 'failed' && live.failingLinkMs > 0) {
        drawn.failing = true;
        live.failing.set(id, live.now() + live.failingLinkMs);
        changes.attributesChanged = true;
        changes.linkAttributesChanged = true;
      } else {
        addChanges(changes, removeLink(state, id));
      }
      for (const node of nodes ?? [])
        addChanges(changes, upsertNode(state, checkNode(node, push.event)));
      break;
    }
    case 'group_disrupted': {
      const { group, disrupted, affected } = push.payload;
      if (typeof group !== 'string') throw new TypeError('invalid group_disrupted push: no group');
      live.disruptions.set(group, {
        disrupted: disrupted === true,
        affected: typeof affected === 'number' ? affected : 0,
      });
      changes.attributesChanged = true;
      break;
    }
    default:
      break;
  }
  return changes;
}

function applyMetrics(live: LiveState, payload: GraphPushes['node_metrics']): Changes {
  const changes = noChanges();
  const node = isId(payload.id) ? live.graph.nodes.get(payload.id) : undefined;
  if (!node) return changes;

  // No accessor of the drawing reads the metrics, only tooltips when they open, so copying them
  // changes nothing drawn. A cluster heartbeating every few seconds sends many of these.
  for (const key of METRIC_KEYS) {
    const value = payload[key];
    if (value !== undefined) node[key] = value;
  }
  return changes;
}

function checkNode(node: unknown, event: string): GraphNode {
  if (!isRecord(node) || !isId(node.id)) {
    throw new TypeError(`invalid ${event} push: a node has no string id`);
  }
  return node as unknown as GraphNode;
}

function checkLink(link: unknown, event: string): GraphLink {
  if (!isRecord(link) || !isId(link.id) || !isId(link.source) || !isId(link.target)) {
    throw new TypeError(`invalid ${event} push: a link lacks a string id, source or target`);
  }
  return link as unknown as GraphLink;
}

function noChanges(): Changes {
  return { structureChanged: false, attributesChanged: false };
}

function addChanges(total: Changes, more: Changes): void {
  total.structureChanged ||= more.structureChanged;
  total.attributesChanged ||= more.attributesChanged;
  if (more.linkAttributesChanged) total.linkAttributesChanged = true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
