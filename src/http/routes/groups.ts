// Routes for groups and their members.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import { RegistryError } from '../../errors.js';
import type { Registry } from '../../registry/registry.js';
import {
  CreateGroupBody,
  Group,
  GroupDetails,
  GroupRef,
  GroupType,
  NodeRef,
  UpdateGroupBody,
} from '../schemas.js';
import { errorResponses } from './common.js';

const GroupParams = Type.Object({ id: GroupRef });
const MemberParams = Type.Object({ id: GroupRef, node_id: NodeRef });

export function groupRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/groups',
      {
        schema: {
          summary: 'Create a group, optionally under a parent group',
          tags: ['groups'],
          body: CreateGroupBody,
          response: { 201: Type.Ref(Group), ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await registry.createGroup(request.body)),
    );

    app.get(
      '/groups',
      {
        schema: {
          summary: 'List groups, or with tree=true the whole tree nested under its roots',
          tags: ['groups'],
          querystring: Type.Object(
            {
              type: Type.Optional(GroupType),
              parent: Type.Optional(GroupRef),
              roots: Type.Optional(Type.Boolean({ description: 'Only groups without a parent' })),
              tree: Type.Optional(
                Type.Boolean({ description: 'Nest every group under its parent in `children`' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              groups: Type.Array(
                Type.Intersect([
                  Type.Ref(Group),
                  Type.Object({
                    children: Type.Optional(Type.Array(Type.Unknown())),
                  }),
                ]),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { tree, ...filter } = request.query;
        if (tree) {
          const combined = Object.keys(filter);
          if (combined.length > 0) {
            throw new RegistryError(
              'TL_ERR_VALIDATION',
              `tree=true returns every group and cannot be combined with ${combined.join(', ')}`,
              {
                invalidParams: combined.map((name) => ({
                  name,
                  reason: 'cannot go with tree=true',
                })),
              },
            );
          }
          return { groups: await registry.groupTree() };
        }
        return { groups: await registry.listGroups(filter) };
      },
    );

    app.get(
      '/groups/:id',
      {
        schema: {
          summary: 'One group with its child groups and members',
          tags: ['groups'],
          params: GroupParams,
          response: { 200: GroupDetails, ...errorResponses },
        },
      },
      async (request) => registry.getGroup(request.params.id),
    );

    app.patch(
      '/groups/:id',
      {
        schema: {
          summary: 'Rename a group, change its type or meta, or move it under another parent',
          tags: ['groups'],
          params: GroupParams,
          body: UpdateGroupBody,
          response: { 200: Type.Ref(Group), ...errorResponses },
        },
      },
      async (request) => registry.updateGroup(request.params.id, request.body),
    );

    app.delete(
      '/groups/:id',
      {
        schema: {
          summary: 'Delete a group that has no child groups; its memberships go with it',
          tags: ['groups'],
          params: GroupParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await registry.deleteGroup(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/groups/:id/members/:node_id',
      {
        schema: {
          summary: 'Add a node to a group; adding a member again changes nothing',
          tags: ['groups'],
          params: MemberParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await registry.addMember(request.params.id, request.params.node_id);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/groups/:id/members/:node_id',
      {
        schema: {
          summary: 'Remove a node from a group',
          tags: ['groups'],
          params: MemberParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await registry.removeMember(request.params.id, request.params.node_id);
        return reply.code(204).send(null);
      },
    );
  };
}
