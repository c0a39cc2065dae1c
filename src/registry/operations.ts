// Inputs and results of the registry's operations. Node and group references accept a UUID or a
// name, as every route that takes a node or group id does.
import type {
  CapabilityRecord,
  ClusterType,
  GroupRecord,
  GroupType,
  HeartbeatRecord,
  HeartbeatStatus,
  LinkRecord,
  LinkStatus,
  Meta,
  NodeRecord,
  NodeRole,
  NodeStatus,
  OpenLinkStatus,
  OutboxEvent,
  RollupRecord,
  SessionType,
} from './model.js';

export interface EnsureNodeInput {
  name: string;
  role?: NodeRole;
  domain?: string;
  cluster_type?: ClusterType;
  hotline_peer_id?: string | null;
  did?: string | null;
  meta?: Meta;
  heartbeat_interval_ms?: number;
  instance_id?: string | null;
}

export interface LinkAttributes {
  session_type?: SessionType;
  weight?: number;
  latency_ms?: number | null;
  bandwidth_mbps?: number | null;
  meta?: Meta;
}

export interface EstablishLinkInput extends LinkAttributes {
  node_id: string;
  remote_node_id: string;
  status?: 'establishing' | 'established';
}

export interface UpdateLinkInput {
  status?: OpenLinkStatus;
  weight?: number;
  latency_ms?: number | null;
  bandwidth_mbps?: number | null;
  meta?: Meta;
}

export interface HeartbeatInput {
  status?: HeartbeatStatus;
  cpu_load?: number | null;
  mem_used_mb?: number | null;
  latency_ms?: number | null;
  meta?: Meta;
  instance_id?: string | null;
}

export interface HeartbeatResult {
  node_id: string;
  ok: boolean;
  code?: string;
  /** Why the item failed, naming the field. */
  detail?: string;
}

export interface NodeFilter {
  status?: NodeStatus;
  role?: NodeRole;
  domain?: string;
  cluster_type?: ClusterType;
  capability?: { key: string; value?: string };
  group?: string;
  limit?: number;
  cursor?: string;
}

export interface NodePage {
  nodes: NodeRecord[];
  next_cursor: string | null;
}

export interface HeartbeatSummary {
  minutes: number;
  count: number;
  last_at: string | null;
  cpu_load_mean: number | null;
  cpu_load_max: number | null;
  mem_used_mb_mean: number | null;
  mem_used_mb_max: number | null;
  latency_ms_mean: number | null;
  latency_ms_max: number | null;
}

export interface NodeDetails extends NodeRecord {
  capabilities: CapabilityRecord[];
  groups: Pick<GroupRecord, 'id' | 'name' | 'group_type'>[];
  links: LinkRecord[];
  heartbeat_summary: HeartbeatSummary;
}

export interface HeartbeatHistory {
  heartbeats: HeartbeatRecord[];
  rollups: RollupRecord[];
}

export interface LinkFilter {
  node_id?: string;
  status?: LinkStatus | 'open';
  session_type?: SessionType;
  limit?: number;
}

export interface CapabilityInput {
  value?: string | null;
  enabled?: boolean;
  meta?: Meta;
}

export interface CreateGroupInput {
  name: string;
  group_type?: GroupType;
  parent_group_id?: string | null;
  meta?: Meta;
}

export interface UpdateGroupInput {
  name?: string;
  group_type?: GroupType;
  parent_group_id?: string | null;
  meta?: Meta;
}

export interface GroupFilter {
  type?: GroupType;
  parent?: string;
  roots?: boolean;
}

export interface GroupDetails extends GroupRecord {
  children: GroupRecord[];
  members: Pick<NodeRecord, 'id' | 'name' | 'role' | 'status'>[];
}

export interface GroupTreeNode extends GroupRecord {
  children: GroupTreeNode[];
}

export interface GraphFilter {
  include_offline?: boolean;
  group?: string;
}

export interface EventPage {
  events: OutboxEvent[];
  next_seq: number;
}
