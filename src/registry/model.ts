// The records the registry stores and returns, with the enumerations the tables allow. Field
// names are snake_case because they are the wire format of the HTTP API and the event payloads.

export const nodeRoles = ['controller', 'worker', 'edge', 'gateway', 'relay'] as const;
export const nodeStatuses = [
  'connecting',
  'online',
  'degraded',
  'disconnected',
  'offline',
] as const;
export const clusterTypes = ['in_cluster', 'out_of_cluster'] as const;
export const heartbeatStatuses = ['online', 'degraded', 'offline'] as const;
export const sessionTypes = ['cluster', 'hotline', 'service', 'tocp'] as const;
export const linkStatuses = [
  'establishing',
  'established',
  'degraded',
  'closed',
  'failed',
] as const;
export const openLinkStatuses = ['establishing', 'established', 'degraded'] as const;
export const groupTypes = ['zone', 'shard', 'region', 'role', 'project', 'custom'] as const;

export type NodeRole = (typeof nodeRoles)[number];
export type NodeStatus = (typeof nodeStatuses)[number];
export type ClusterType = (typeof clusterTypes)[number];
export type HeartbeatStatus = (typeof heartbeatStatuses)[number];
export type SessionType = (typeof sessionTypes)[number];
export type LinkStatus = (typeof linkStatuses)[number];
export type OpenLinkStatus = (typeof openLinkStatuses)[number];
export type GroupType = (typeof groupTypes)[number];

export type Meta = Record<string, unknown>;

/** A row of thunderlink_nodes. Times are ISO 8601 strings on the wire. */
export interface NodeRecord {
  id: string;
  name: string;
  role: NodeRole;
  domain: string;
  status: NodeStatus;
  status_changed_at: string;
  cluster_type: ClusterType;
  hotline_peer_id: string | null;
  did: string | null;
  meta: Meta;
  heartbeat_interval_ms: number;
  flapping: boolean;
  maintenance: boolean;
  instance_id: string | null;
  last_cpu_load: number | null;
  last_mem_used_mb: number | null;
  last_latency_ms: number | null;
  last_seen_at: string | null;
  last_heartbeat_at: string | null;
  inserted_at: string;
  updated_at: string;
}

export interface LinkRecord {
  id: string;
  node_id: string;
  remote_node_id: string;
  session_type: SessionType;
  status: LinkStatus;
  weight: number;
  latency_ms: number | null;
  bandwidth_mbps: number | null;
  established_at: string | null;
  last_activity_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  meta: Meta;
  inserted_at: string;
  updated_at: string;
}

export interface CapabilityRecord {
  id: string;
  node_id: string;
  capability_key: string;
  capability_value: string | null;
  enabled: boolean;
  meta: Meta;
  inserted_at: string;
  updated_at: string;
}

export interface GroupRecord {
  id: string;
  name: string;
  group_type: GroupType;
  parent_group_id: string | null;
  meta: Meta;
  inserted_at: string;
  updated_at: string;
  /** When the group's current mass failure started, or null when it has none. */
  disrupted_since: string | null;
  /** Members the current mass failure keeps as disconnected, or null when it has none. */
  disrupted_affected: number | null;
}

export interface HeartbeatRecord {
  id: number;
  node_id: string;
  status: HeartbeatStatus;
  cpu_load: number | null;
  mem_used_mb: number | null;
  latency_ms: number | null;
  meta: Meta;
  inserted_at: string;
}

export interface RollupRecord {
  node_id: string;
  bucket: 'minute' | 'hour';
  bucket_start: string;
  count: number;
  cpu_load_mean: number | null;
  cpu_load_max: number | null;
  mem_used_mb_mean: number | null;
  mem_used_mb_max: number | null;
  latency_ms_mean: number | null;
  latency_ms_max: number | null;
}

/** A node as the graph and the event payloads show it. */
export interface GraphNode {
  id: string;
  name: string;
  role: NodeRole;
  domain: string;
  status: NodeStatus;
  status_changed_at: string;
  cluster_type: ClusterType;
  flapping: boolean;
  maintenance: boolean;
  isolated: boolean;
  val: number;
  cpu_load: number | null;
  mem_used_mb: number | null;
  latency_ms: number | null;
  groups: string[];
  capabilities: Record<string, string | null>;
  meta: Meta;
}

/** An open link as the graph shows it: `source` is node_id and `target` is remote_node_id. */
export interface GraphLink {
  id: string;
  source: string;
  target: string;
  value: number;
  session_type: SessionType;
  status: LinkStatus;
  latency_ms: number | null;
  bandwidth_mbps: number | null;
}

export interface Graph {
  seq: number;
  nodes: GraphNode[];
  links: GraphLink[];
}

export interface OutboxEvent {
  seq: number;
  name: EventName;
  payload: Record<string, unknown>;
  inserted_at: string;
}

export const eventNames = [
  'cluster.node.registered',
  'cluster.node.online',
  'cluster.node.offline',
  'cluster.node.status_changed',
  'cluster.node.deregistered',
  'cluster.link.established',
  'cluster.link.updated',
  'cluster.link.closed',
  'cluster.link.failed',
  'cluster.capability.changed',
  'cluster.group.changed',
  'cluster.group.disrupted',
] as const;
export type EventName = (typeof eventNames)[number];
