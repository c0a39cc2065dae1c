// Request and response schemas of the HTTP API, in TypeBox. Fastify validates requests and
// serialises responses with them, and the OpenAPI document is generated from them, so the
// documentation cannot drift from what the server does.
import { type TSchema, Type } from '@sinclair/typebox';

import {
  clusterTypes,
  eventNames,
  groupTypes,
  linkStatuses,
  nodeRoles,
  nodeStatuses,
  openLinkStatuses,
  sessionTypes,
} from '../registry/model.js';

/** A string restricted to the given values, written as a JSON Schema enum. */
const literalUnion = <const T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const time = Type.String({ format: 'date-time' });
const uuid = Type.String({ format: 'uuid' });

export const Meta = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'Free-form JSON: at most 64 keys per object, keys up to 128 characters, strings up to 512, nesting depth 4',
});

export const NodeRef = Type.String({
  minLength: 1,
  maxLength: 253,
  description: 'A node id (UUID) or name',
});
export const GroupRef = Type.String({
  minLength: 1,
  maxLength: 253,
  description: 'A group id (UUID) or name',
});
const Name = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$',
  description: "Letters, digits, '.', '_', '-' and '@', starting with a letter or digit",
});

export const Role = literalUnion(nodeRoles);
export const NodeStatus = literalUnion(nodeStatuses);
export const ClusterType = literalUnion(clusterTypes);
export const SessionType = literalUnion(sessionTypes);
export const LinkStatus = literalUnion(linkStatuses);
export const GroupType = literalUnion(groupTypes);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'A code from the error catalog, TL_ERR_…' }),
    invalid_params: Type.Optional(
      Type.Array(Type.Object({ name: Type.String(), reason: Type.String() })),
    ),
  },
  { $id: 'Problem', description: 'An RFC 9457 problem document' },
);

export const Node = Type.Object(
  {
    id: uuid,
    name: Type.String(),
    role: Role,
    domain: Type.String(),
    status: NodeStatus,
    status_changed_at: time,
    cluster_type: ClusterType,
    hotline_peer_id: nullable(Type.String()),
    did: nullable(Type.String()),
    meta: Meta,
    heartbeat_interval_ms: Type.Integer(),
    flapping: Type.Boolean(),
    maintenance: Type.Boolean(),
    instance_id: nullable(Type.String()),
    last_cpu_load: nullable(Type.Number()),
    last_mem_used_mb: nullable(Type.Number()),
    last_latency_ms: nullable(Type.Number()),
    last_seen_at: nullable(time),
    last_heartbeat_at: nullable(time),
    inserted_at: time,
    updated_at: time,
  },
  { $id: 'Node' },
);

export const EnsureNodeBody = Type.Object(
  {
    name: Name,
    role: Type.Optional(Role),
    domain: Type.Optional(
      Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', description: 'A short lowercase word' }),
    ),
    cluster_type: Type.Optional(ClusterType),
    hotline_peer_id: Type.Optional(nullable(Type.String({ maxLength: 512 }))),
    did: Type.Optional(nullable(Type.String({ maxLength: 512 }))),
    meta: Type.Optional(Meta),
    heartbeat_interval_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
    instance_id: Type.Optional(nullable(Type.String({ maxLength: 128 }))),
  },
  { additionalProperties: false },
);

const Metric = (description: string) =>
  Type.Optional(nullable(Type.Number({ minimum: 0, description })));

const heartbeatFields = {
  status: Type.Optional(literalUnion(['online', 'degraded'] as const)),
  cpu_load: Metric('Load average divided by the number of cores'),
  mem_used_mb: Metric('Memory in use, MiB'),
  latency_ms: Metric('Round-trip time to the registry, milliseconds'),
  meta: Type.Optional(Meta),
  instance_id: Type.Optional(nullable(Type.String({ maxLength: 128 }))),
};

export const HeartbeatBody = Type.Object(heartbeatFields, { additionalProperties: false });

export const HeartbeatReply = Type.Object({
  node_id: uuid,
  status: NodeStatus,
  heartbeat_interval_ms: Type.Integer(),
});

export const HeartbeatItem = Type.Object(
  { node_id: NodeRef, ...heartbeatFields },
  { additionalProperties: false },
);

export const HeartbeatBatchBody = Type.Object(
  {
    heartbeats: Type.Array(HeartbeatItem, {
      maxItems: 1000,
      description:
        'Each item is checked alone: an invalid item fails in its result, not the request',
    }),
  },
  { additionalProperties: false },
);

/** The shape the batch route enforces on the whole request; items are checked one by one. */
export const HeartbeatBatchEnvelope = Type.Object(
  { heartbeats: Type.Array(Type.Unknown(), { maxItems: 1000 }) },
  { additionalProperties: false },
);

export const HeartbeatBatchReply = Type.Object({
  results: Type.Array(
    Type.Object({
      node_id: Type.String(),
      ok: Type.Boolean(),
      code: Type.Optional(Type.String()),
      detail: Type.Optional(Type.String({ description: 'Why the item failed' })),
    }),
  ),
});

const linkAttributeFields = {
  session_type: Type.Optional(SessionType),
  weight: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  latency_ms: Type.Optional(nullable(Type.Number({ minimum: 0 }))),
  bandwidth_mbps: Type.Optional(nullable(Type.Number({ minimum: 0 }))),
  meta: Type.Optional(Meta),
};

export const MarkOnlineBody = Type.Object(
  { remote_node_id: Type.Optional(NodeRef), ...linkAttributeFields },
  { additionalProperties: false },
);

export const Link = Type.Object(
  {
    id: uuid,
    node_id: uuid,
    remote_node_id: uuid,
    session_type: SessionType,
    status: LinkStatus,
    weight: Type.Number(),
    latency_ms: nullable(Type.Number()),
    bandwidth_mbps: nullable(Type.Number()),
    established_at: nullable(time),
    last_activity_at: nullable(time),
    ended_at: nullable(time),
    end_reason: nullable(Type.String()),
    meta: Meta,
    inserted_at: time,
    updated_at: time,
  },
  { $id: 'Link' },
);

export const MarkOnlineReply = Type.Object({
  node: Type.Ref(Node),
  link: nullable(Type.Ref(Link)),
});

export const StatusBody = Type.Object({ status: NodeStatus }, { additionalProperties: false });
export const MaintenanceBody = Type.Object(
  { enabled: Type.Boolean({ description: 'true puts the node in maintenance' }) },
  { additionalProperties: false },
);

export const EstablishLinkBody = Type.Object(
  {
    node_id: NodeRef,
    remote_node_id: NodeRef,
    status: Type.Optional(literalUnion(['establishing', 'established'] as const)),
    ...linkAttributeFields,
  },
  { additionalProperties: false },
);

export const UpdateLinkBody = Type.Object(
  {
    status: Type.Optional(literalUnion(openLinkStatuses)),
    weight: linkAttributeFields.weight,
    latency_ms: linkAttributeFields.latency_ms,
    bandwidth_mbps: linkAttributeFields.bandwidth_mbps,
    meta: linkAttributeFields.meta,
  },
  { additionalProperties: false },
);

export const EndLinkBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 512 })) },
  { additionalProperties: false },
);

export const Capability = Type.Object(
  {
    id: uuid,
    node_id: uuid,
    capability_key: Type.String(),
    capability_value: nullable(Type.String()),
    enabled: Type.Boolean(),
    meta: Meta,
    inserted_at: time,
    updated_at: time,
  },
  { $id: 'Capability' },
);

export const CapabilityBody = Type.Object(
  {
    value: Type.Optional(nullable(Type.String({ maxLength: 512 }))),
    enabled: Type.Optional(Type.Boolean()),
    meta: Type.Optional(Meta),
  },
  { additionalProperties: false },
);

export const Group = Type.Object(
  {
    id: uuid,
    name: Type.String(),
    group_type: GroupType,
    parent_group_id: nullable(uuid),
    meta: Meta,
    inserted_at: time,
    updated_at: time,
    disrupted_since: Type.Union([time, Type.Null()], {
      description: "Start of the group's current mass failure, or null when it has none",
    }),
    disrupted_affected: Type.Union([Type.Integer(), Type.Null()], {
      description:
        'Members the current mass failure keeps as disconnected, or null when it has none',
    }),
  },
  { $id: 'Group' },
);

const groupFields = {
  group_type: Type.Optional(GroupType),
  parent_group_id: Type.Optional(nullable(GroupRef)),
  meta: Type.Optional(Meta),
};

export const CreateGroupBody = Type.Object(
  { name: Name, ...groupFields },
  { additionalProperties: false },
);
export const UpdateGroupBody = Type.Object(
  { name: Type.Optional(Name), ...groupFields },
  { additionalProperties: false },
);

const MemberSummary = Type.Object({
  id: uuid,
  name: Type.String(),
  role: Role,
  status: NodeStatus,
});

export const GroupDetails = Type.Intersect([
  Type.Ref(Group),
  Type.Object({ children: Type.Array(Type.Ref(Group)), members: Type.Array(MemberSummary) }),
]);

export const GraphNode = Type.Object({
  id: uuid,
  name: Type.String(),
  role: Role,
  domain: Type.String(),
  status: NodeStatus,
  status_changed_at: time,
  cluster_type: ClusterType,
  flapping: Type.Boolean(),
  maintenance: Type.Boolean(),
  isolated: Type.Boolean({ description: 'Every link the node had has failed' }),
  val: Type.Number({ description: 'Size hint from the role and the number of open links' }),
  cpu_load: nullable(Type.Number()),
  mem_used_mb: nullable(Type.Number()),
  latency_ms: nullable(Type.Number()),
  groups: Type.Array(Type.String()),
  capabilities: Type.Record(Type.String(), nullable(Type.String())),
  meta: Meta,
});

export const GraphLink = Type.Object({
  id: uuid,
  source: uuid,
  target: uuid,
  value: Type.Number({ description: 'The link weight, 0 to 1' }),
  session_type: SessionType,
  status: LinkStatus,
  latency_ms: nullable(Type.Number()),
  bandwidth_mbps: nullable(Type.Number()),
});

export const Graph = Type.Object({
  seq: Type.Integer({ description: 'The outbox position this graph reflects' }),
  nodes: Type.Array(GraphNode),
  links: Type.Array(GraphLink),
});

export const EventList = Type.Object({
  events: Type.Array(
    Type.Object({
      seq: Type.Integer(),
      name: literalUnion(eventNames),
      payload: Type.Record(Type.String(), Type.Unknown()),
      inserted_at: time,
    }),
  ),
  next_seq: Type.Integer({ description: 'Pass as since to read the events after these' }),
});

/** Every schema with an $id, registered once so routes can refer to them by reference. */
export const sharedSchemas = [Problem, Node, Link, Capability, Group];
