// Routes for link sessions.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import { type LinkStatus, linkStatuses } from '../../registry/model.js';
import type { Registry } from '../../registry/registry.js';
import {
  EndLinkBody,
  EstablishLinkBody,
  Link,
  NodeRef,
  SessionType,
  UpdateLinkBody,
} from '../schemas.js';
import { errorResponses } from './common.js';

const LinkParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export function linkRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/links',
      {
        schema: {
          summary: 'Establish a link; a pair of nodes has at most one open link',
          tags: ['links'],
          body: EstablishLinkBody,
          response: { 201: Type.Ref(Link), ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await registry.establishLink(request.body)),
    );

    app.get(
      '/links',
      {
        schema: {
          summary: 'List links, newest first',
          tags: ['links'],
          querystring: Type.Object(
            {
              node_id: Type.Optional(NodeRef),
              status: Type.Optional(
                Type.Unsafe<LinkStatus | 'open'>({
                  type: 'string',
                  enum: [...linkStatuses, 'open'],
                  description: 'A link status, or open for establishing, established and degraded',
                }),
              ),
              session_type: Type.Optional(SessionType),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ links: Type.Array(Type.Ref(Link)) }), ...errorResponses },
        },
      },
      async (request) => ({ links: await registry.listLinks(request.query) }),
    );

    app.get(
      '/links/:id',
      {
        schema: {
          summary: 'One link',
          tags: ['links'],
          params: LinkParams,
          response: { 200: Type.Ref(Link), ...errorResponses },
        },
      },
      async (request) => registry.getLink(request.params.id),
    );

    app.patch(
      '/links/:id',
      {
        schema: {
          summary: 'Update an open link: status among the open ones, weight and metrics',
          tags: ['links'],
          params: LinkParams,
          body: UpdateLinkBody,
          response: { 200: Type.Ref(Link), ...errorResponses },
        },
      },
      async (request) => registry.updateLink(request.params.id, request.body),
    );

    app.post(
      '/links/:id/close',
      {
        schema: {
          summary: 'Close an open link',
          tags: ['links'],
          params: LinkParams,
          body: EndLinkBody,
          response: { 200: Type.Ref(Link), ...errorResponses },
        },
      },
      async (request) => registry.closeLink(request.params.id, request.body.reason),
    );

    app.post(
      '/links/:id/fail',
      {
        schema: {
          summary: 'Mark an open link failed',
          tags: ['links'],
          params: LinkParams,
          body: EndLinkBody,
          response: { 200: Type.Ref(Link), ...errorResponses },
        },
      },
      async (request) => registry.failLink(request.params.id, request.body.reason),
    );
  };
}
