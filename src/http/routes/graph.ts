// Routes for the whole topology and for the outbox event feed.
import { createHash } from 'node:crypto';

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import type { Registry } from '../../registry/registry.js';
import { EventList, Graph, GroupRef } from '../schemas.js';
import { errorResponses } from './common.js';

/** Longest long-poll a client may ask for, in seconds. */
const maxWaitSeconds = 60;
/** While a long poll waits, the outbox is also read this often, to see other replicas' writes. */
const pollIntervalMs = 1000;

export function graphRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Long polls end at once when the server closes, instead of holding the stop for up to a
    // minute.
    const closing = new AbortController();
    app.addHook('preClose', async () => closing.abort());

    app.get(
      '/graph',
      {
        schema: {
          summary: 'The topology in 3d-force-graph format',
          tags: ['graph'],
          querystring: Type.Object(
            {
              include_offline: Type.Optional(Type.Boolean({ default: false })),
              group: Type.Optional(GroupRef),
            },
            { additionalProperties: false },
          ),
          response: { 200: Graph, 304: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        const graph = await registry.graph(request.query);
        const body = JSON.stringify(graph);
        // Heartbeat metrics change the graph without a new seq, so the tag hashes the body.
        const etag = `"${graph.seq}-${createHash('sha1').update(body).digest('base64url')}"`;
        reply.header('etag', etag).header('cache-control', 'no-cache');
        if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
        return reply
          .type('application/json')
          .serializer((payload) => payload as string)
          .send(body);
      },
    );

    app.get(
      '/events',
      {
        schema: {
          summary: 'Outbox events after a seq, in order; wait long-polls for the next ones',
          tags: ['events'],
          querystring: Type.Object(
            {
              since: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
              wait: Type.Optional(
                Type.Number({
                  minimum: 0,
                  maximum: maxWaitSeconds,
                  default: 0,
                  description: 'Seconds',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: EventList, ...errorResponses },
        },
      },
      async (request) => {
        const { since = 0, limit = 1000, wait = 0 } = request.query;
        const page = await registry.events(since, limit);
        if (page.events.length > 0 || wait === 0) return page;
        await waitForEvents(registry, since, wait * 1000, request.raw, closing.signal);
        return registry.events(since, limit);
      },
    );
  };
}

/**
 * Resolves when this process commits an event past `since`, when the outbox shows one written by
 * another process, when `timeoutMs` passes, when the client goes away, or when the server closes.
 */
function waitForEvents(
  registry: Registry,
  since: number,
  timeoutMs: number,
  request: NodeJS.EventEmitter,
  closing: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      unsubscribe();
      clearTimeout(timeout);
      clearInterval(poll);
      request.off('close', finish);
      closing.removeEventListener('abort', finish);
      resolve();
    };
    if (closing.aborted) return resolve();
    closing.addEventListener('abort', finish);
    const unsubscribe = registry.onCommitted((seq) => {
      if (seq > since) finish();
    });
    const timeout = setTimeout(finish, timeoutMs);
    const poll = setInterval(() => {
      registry.events(since, 1).then(
        (page) => page.events.length > 0 && finish(),
        () => finish(),
      );
    }, pollIntervalMs);
    request.once('close', finish);
  });
}
