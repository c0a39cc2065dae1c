// Routes for nodes: registration, reads, status, maintenance, heartbeats and deregistration.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import { RegistryError } from '../../errors.js';
import type { Registry } from '../../registry/registry.js';
import {
  ClusterType,
  EnsureNodeBody,
  HeartbeatBatchBody,
  HeartbeatBatchReply,
  HeartbeatBody,
  HeartbeatReply,
  MaintenanceBody,
  MarkOnlineBody,
  MarkOnlineReply,
  Meta,
  Node,
  NodeRef,
  NodeStatus,
  Role,
  StatusBody,
} from '../schemas.js';
import { errorResponses } from './common.js';
import { checkEnvelope, recordBatch } from './heartbeat-batch.js';

const NodeParams = Type.Object({ id: NodeRef });

const NodeDetails = Type.Intersect([
  Type.Ref(Node),
  Type.Object({
    capabilities: Type.Array(Type.Ref('Capability')),
    groups: Type.Array(
      Type.Object({ id: Type.String(), name: Type.String(), group_type: Type.String() }),
    ),
    links: Type.Array(Type.Ref('Link')),
    heartbeat_summary: Type.Object({
      minutes: Type.Integer(),
      count: Type.Integer(),
      last_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      cpu_load_mean: Type.Union([Type.Number(), Type.Null()]),
      cpu_load_max: Type.Union([Type.Number(), Type.Null()]),
      mem_used_mb_mean: Type.Union([Type.Number(), Type.Null()]),
      mem_used_mb_max: Type.Union([Type.Number(), Type.Null()]),
      latency_ms_mean: Type.Union([Type.Number(), Type.Null()]),
      latency_ms_max: Type.Union([Type.Number(), Type.Null()]),
    }),
  }),
]);

const rollupNumber = Type.Union([Type.Number(), Type.Null()]);
const HeartbeatHistory = Type.Object({
  heartbeats: Type.Array(
    Type.Object({
      id: Type.Integer(),
      node_id: Type.String(),
      status: Type.String(),
      cpu_load: rollupNumber,
      mem_used_mb: rollupNumber,
      latency_ms: rollupNumber,
      meta: Meta,
      inserted_at: Type.String({ format: 'date-time' }),
    }),
  ),
  rollups: Type.Array(
    Type.Object({
      bucket: Type.Union([Type.Literal('minute'), Type.Literal('hour')]),
      bucket_start: Type.String({ format: 'date-time' }),
      count: Type.Integer(),
      cpu_load_mean: rollupNumber,
      cpu_load_max: rollupNumber,
      mem_used_mb_mean: rollupNumber,
      mem_used_mb_max: rollupNumber,
      latency_ms_mean: rollupNumber,
      latency_ms_max: rollupNumber,
    }),
  ),
});

const ListQuery = Type.Object(
  {
    status: Type.Optional(NodeStatus),
    role: Type.Optional(Role),
    domain: Type.Optional(Type.String()),
    cluster_type: Type.Optional(ClusterType),
    capability: Type.Optional(
      Type.String({ minLength: 1, description: 'A capability key, or key=value' }),
    ),
    group: Type.Optional(Type.String({ minLength: 1, description: 'A group id or name' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);

/** Parses a capability filter, `key` or `key=value`. */
function parseCapabilityFilter(text: string): { key: string; value?: string } {
  const separator = text.indexOf('=');
  if (separator < 0) return { key: text };
  return { key: text.slice(0, separator), value: text.slice(separator + 1) };
}

export function nodeRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/nodes',
      {
        schema: {
          summary: 'Register a node, or update the given fields of the node with this name',
          tags: ['nodes'],
          body: EnsureNodeBody,
          response: { 200: Type.Ref(Node), 201: Type.Ref(Node), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { node, created } = await registry.ensureNode(request.body);
        return reply.code(created ? 201 : 200).send(node);
      },
    );

    app.get(
      '/nodes',
      {
        schema: {
          summary: 'List nodes in name order, filtered',
          tags: ['nodes'],
          querystring: ListQuery,
          response: {
            200: Type.Object({
              nodes: Type.Array(Type.Ref(Node)),
              next_cursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { capability, ...filter } = request.query;
        return registry.listNodes({
          ...filter,
          capability: capability === undefined ? undefined : parseCapabilityFilter(capability),
        });
      },
    );

    app.get(
      '/nodes/:id',
      {
        schema: {
          summary: 'One node with its capabilities, groups, open links and recent heartbeats',
          tags: ['nodes'],
          params: NodeParams,
          response: { 200: NodeDetails, ...errorResponses },
        },
      },
      async (request) => registry.getNode(request.params.id),
    );

    app.delete(
      '/nodes/:id',
      {
        schema: {
          summary: 'Deregister a node and everything that belongs to it',
          tags: ['nodes'],
          params: NodeParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await registry.deregisterNode(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/nodes/:id/heartbeat',
      {
        schema: {
          summary: 'Record one heartbeat; never registers an unknown node',
          tags: ['heartbeats'],
          params: NodeParams,
          body: HeartbeatBody,
          response: { 200: HeartbeatReply, ...errorResponses },
        },
      },
      async (request) => {
        const touched = await registry.heartbeat(request.params.id, request.body);
        return {
          node_id: touched.id,
          status: touched.status,
          heartbeat_interval_ms: touched.heartbeat_interval_ms,
        };
      },
    );

    app.post(
      '/heartbeats',
      {
        bodyLimit: 1024 * 1024,
        config: { checksItemsAlone: true },
        // The documented schema describes each item; the request is only checked for its
        // envelope here, and recordBatch checks each item on its own.
        validatorCompiler: () => checkEnvelope,
        schema: {
          summary: 'Record heartbeats for many nodes, with a result per item',
          tags: ['heartbeats'],
          body: HeartbeatBatchBody,
          response: { 200: HeartbeatBatchReply, ...errorResponses },
        },
      },
      async (request) => ({ results: await recordBatch(registry, request.body.heartbeats) }),
    );

    app.get(
      '/nodes/:id/heartbeats',
      {
        schema: {
          summary: 'Recent raw heartbeats and the rollups of the same window',
          tags: ['heartbeats'],
          params: NodeParams,
          querystring: Type.Object(
            { minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 43_200, default: 60 })) },
            { additionalProperties: false },
          ),
          response: { 200: HeartbeatHistory, ...errorResponses },
        },
      },
      async (request) => registry.heartbeatHistory(request.params.id, request.query.minutes ?? 60),
    );

    app.post(
      '/nodes/:id/online',
      {
        schema: {
          summary: 'Mark a node online; with remote_node_id, establish or refresh that link',
          tags: ['nodes'],
          params: NodeParams,
          body: MarkOnlineBody,
          response: { 200: MarkOnlineReply, ...errorResponses },
        },
      },
      async (request) => {
        const { remote_node_id: remote, ...attributes } = request.body;
        const linkFields = Object.keys(attributes);
        if (remote === undefined && linkFields.length > 0) {
          throw new RegistryError(
            'TL_ERR_VALIDATION',
            `${linkFields.join(', ')} describe a link and need remote_node_id`,
            {
              invalidParams: linkFields.map((name) => ({
                name,
                reason: 'needs remote_node_id, the node at the other end of the link',
              })),
            },
          );
        }
        return registry.markOnline(
          request.params.id,
          remote === undefined ? undefined : { ...attributes, remote_node_id: remote },
        );
      },
    );

    app.put(
      '/nodes/:id/status',
      {
        schema: {
          summary: 'Set a node status',
          tags: ['nodes'],
          params: NodeParams,
          body: StatusBody,
          response: { 200: Type.Ref(Node), ...errorResponses },
        },
      },
      async (request) => registry.markStatus(request.params.id, request.body.status),
    );

    app.put(
      '/nodes/:id/maintenance',
      {
        schema: {
          summary: 'Turn maintenance on or off; a node in maintenance keeps its status',
          tags: ['nodes'],
          params: NodeParams,
          body: MaintenanceBody,
          response: { 200: Type.Ref(Node), ...errorResponses },
        },
      },
      async (request) => registry.setMaintenance(request.params.id, request.body.enabled),
    );
  };
}
