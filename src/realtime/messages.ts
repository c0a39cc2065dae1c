// The realtime wire format: Phoenix Channels V2 frames, the topics, and every payload that the
// server replies or pushes. The server and the web page both import these types, so a change here
// is a change of the contract with every stream client.
import type { Graph, GraphLink, GraphNode, HeartbeatRecord } from '../registry/model.js';
import type { NodeDetails } from '../registry/operations.js';

/** The WebSocket endpoint. The `phoenix` client appends `/websocket` to the `/socket` it gets. */
export const socketPath = '/socket/websocket';
/** The serializer version this server speaks; a client sends it as the `vsn` query parameter. */
export const protocolVersion = '2.0.0';

export const graphTopic = 'thunderlink:graph';
/** A node's topic is this prefix followed by the node's id or name. */
export const nodeTopicPrefix = 'thunderlink:node:';
/** The topic of the socket-level heartbeat that Phoenix clients send. */
export const heartbeatTopic = 'phoenix';

export const channelEvents = {
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  close: 'phx_close',
  error: 'phx_error',
  heartbeat: 'heartbeat',
} as const;

/**
 * Every frame in either direction: a JSON text array. Refs are strings from one counter per client
 * socket; a push to a joined channel carries that channel's join_ref and a null ref.
 */
export type Frame = [
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payload: Record<string, unknown>,
];

export type ReplyPayload<Response> =
  { status: 'ok'; response: Response } | { status: 'error'; response: ErrorResponse };

export interface ErrorResponse {
  reason: string;
}

/** Join parameters of `thunderlink:graph`. */
export interface GraphJoinParams {
  /** The seq the client's copy of the graph reflects; omit it to receive a snapshot. */
  since?: number;
  /** Include offline nodes (and their links) in snapshots, as `GET /graph?include_offline=true`. */
  include_offline?: boolean;
}

/** The whole graph, exactly as `GET /graph` returns it for the same `include_offline`. */
export interface SnapshotReply extends Graph {
  mode: 'snapshot';
}

/** The pushes the client missed after `since`, in seq order; `seq` is the position it reaches. */
export interface EventsReply {
  mode: 'events';
  seq: number;
  events: SequencedPush[];
}

export type GraphJoinReply = SnapshotReply | EventsReply;

/** A node change. `links` comes with a node that stops being offline: its open links now. */
export type NodePush = GraphNode & { seq: number; links?: GraphLink[] };

/**
 * A link change. `nodes` holds the current graph nodes at the link's ends, because opening or
 * ending a link changes their `val` and `isolated`.
 */
export type LinkPush = GraphLink & { seq: number; nodes: GraphNode[] };

export interface LinkDownPush {
  id: string;
  source: string;
  target: string;
  status: 'closed' | 'failed';
  reason: string | null;
  seq: number;
  nodes: GraphNode[];
}

/** A deregistered node; `links` are the ids of the open links deleted with it. */
export interface NodeRemovedPush {
  id: string;
  name: string;
  links: string[];
  seq: number;
}

export interface GroupDisruptedPush {
  group: string;
  disrupted: boolean;
  affected: number;
  seq: number;
}

/** A node's last heartbeat metrics: best effort, no seq, at most once a second per node. */
export interface NodeMetricsPush {
  id: string;
  cpu_load: number | null;
  mem_used_mb: number | null;
  latency_ms: number | null;
}

/** Every push on `thunderlink:graph`, by event name. */
export interface GraphPushes {
  node_up: NodePush;
  node_down: NodePush;
  node_updated: NodePush;
  node_removed: NodeRemovedPush;
  link_up: LinkPush;
  link_updated: LinkPush;
  link_down: LinkDownPush;
  group_disrupted: GroupDisruptedPush;
  topology_update: Graph;
  node_metrics: NodeMetricsPush;
}

export type GraphPushEvent = keyof GraphPushes;

/** The pushes that stand for one outbox event and carry its seq. */
export type SequencedPushEvent = Exclude<GraphPushEvent, 'topology_update' | 'node_metrics'>;

export type GraphPush<Event extends GraphPushEvent = GraphPushEvent> = {
  [Name in Event]: { event: Name; payload: GraphPushes[Name] };
}[Event];

export type SequencedPush = GraphPush<SequencedPushEvent>;

export const sequencedPushEvents: readonly SequencedPushEvent[] = [
  'node_up',
  'node_down',
  'node_updated',
  'node_removed',
  'link_up',
  'link_updated',
  'link_down',
  'group_disrupted',
];

/** Every push of the graph topic, which a client subscribes to on its channel. */
export const graphPushEvents: readonly GraphPushEvent[] = [
  ...sequencedPushEvents,
  'topology_update',
  'node_metrics',
];

/** The reply to a join of `thunderlink:node:<id>`: the node as `GET /nodes/:id` returns it. */
export interface NodeJoinReply {
  node: NodeDetails;
}

/** Every push on `thunderlink:node:<id>`, by event name. */
export interface NodePushes {
  /** One heartbeat row in full, for every heartbeat the node sends. */
  heartbeat: HeartbeatRecord;
  /** The node was deregistered; a `phx_close` follows and ends the channel. */
  node_removed: NodeRemovedPush;
}
