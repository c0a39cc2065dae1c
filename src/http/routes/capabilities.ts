// Routes for capabilities.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import type { Registry } from '../../registry/registry.js';
import { Capability, CapabilityBody, Node, NodeRef } from '../schemas.js';
import { errorResponses } from './common.js';

const CapabilityKey = Type.String({ minLength: 1, maxLength: 128 });
const CapabilityParams = Type.Object({ id: NodeRef, key: CapabilityKey });

export function capabilityRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.put(
      '/nodes/:id/capabilities/:key',
      {
        schema: {
          summary: 'Set a capability: its value, whether it is enabled, and its meta',
          tags: ['capabilities'],
          params: CapabilityParams,
          body: CapabilityBody,
          response: { 200: Type.Ref(Capability), 201: Type.Ref(Capability), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { id, key } = request.params;
        const { capability, created } = await registry.setCapability(id, key, request.body);
        return reply.code(created ? 201 : 200).send(capability);
      },
    );

    app.delete(
      '/nodes/:id/capabilities/:key',
      {
        schema: {
          summary: 'Delete a capability',
          tags: ['capabilities'],
          params: CapabilityParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await registry.deleteCapability(request.params.id, request.params.key);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/capabilities/:key/nodes',
      {
        schema: {
          summary: 'Nodes with this capability enabled, and with this value when given',
          tags: ['capabilities'],
          params: Type.Object({ key: CapabilityKey }),
          querystring: Type.Object(
            { value: Type.Optional(Type.String({ maxLength: 512 })) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              nodes: Type.Array(
                Type.Intersect([
                  Type.Ref(Node),
                  Type.Object({ capability_value: Type.Union([Type.String(), Type.Null()]) }),
                ]),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => ({
        nodes: await registry.findNodesByCapability(request.params.key, request.query.value),
      }),
    );
  };
}
