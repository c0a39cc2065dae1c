// Builds the HTTP server: the API under /api/thunderlink, health and metrics, and the web page.
import { existsSync } from 'node:fs';

import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';

import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { Database } from '../store/database.js';
import { parseJsonBody } from './json-body.js';
import { rejectUnstorableText } from './unstorable.js';
import {
  handleClientError,
  registerProblemHandlers,
  sendProblem,
  writeRawProblem,
} from './problem.js';
import { capabilityRoutes } from './routes/capabilities.js';
import { graphRoutes } from './routes/graph.js';
import { groupRoutes } from './routes/groups.js';
import { createMetrics, healthRoutes } from './routes/health.js';
import { linkRoutes } from './routes/links.js';
import { nodeRoutes } from './routes/nodes.js';
import { sharedSchemas } from './schemas.js';

export const apiPrefix = '/api/thunderlink';
/** Longest path segment routed, in characters. */
const maxPathSegment = 1024;

export interface AppOptions {
  registry: Registry;
  db: Database;
  logger: Logger;
  /** The built web page (dist/web); without it, `/` returns instructions to build it. */
  webRoot?: string;
  /** Request body limit in bytes for routes without their own. */
  bodyLimit?: number;
  version?: string;
}

/**
 * Two validators: request bodies are checked exactly as sent, while query strings and path
 * parameters, which arrive as text, are coerced to the schema's numbers and booleans.
 */
function createValidators() {
  const options = { allErrors: true, strict: false, useDefaults: false } as const;
  const strict = addFormats.default(new Ajv({ ...options, coerceTypes: false }));
  const coercing = addFormats.default(new Ajv({ ...options, coerceTypes: true }));
  for (const schema of sharedSchemas) {
    strict.addSchema(schema);
    coercing.addSchema(schema);
  }
  return { strict, coercing };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Each response is logged once by logResponses, at a level that follows its status.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: {
      // Names are up to 253 characters, so a path segment of that length must reach its route.
      maxParamLength: maxPathSegment,
      onMaxParamLength: (_path, _request, response) =>
        writeRawProblem(
          response,
          'TL_ERR_URI_TOO_LONG',
          `a path segment is longer than ${maxPathSegment} characters; no id or name is that long`,
        ),
    },
    clientErrorHandler: handleClientError,
    frameworkErrors: (error, _request, reply) => {
      if (error.code === 'FST_ERR_BAD_URL') {
        return sendProblem(
          reply,
          'TL_ERR_VALIDATION',
          'the URL is not validly percent-encoded; encode reserved characters as %XX',
        );
      }
      return sendProblem(reply, 'TL_ERR_VALIDATION', error.message);
    },
  });
  // Only JSON bodies are accepted; without this parser a text/plain body would reach validation.
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  const validators = createValidators();
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? validators.strict : validators.coercing).compile(schema),
  );
  for (const schema of sharedSchemas) app.addSchema(schema);
  registerProblemHandlers(app);
  logResponses(app);

  // A POST without a body is an empty object, so routes whose fields are all optional accept it.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && ['POST', 'PUT', 'PATCH'].includes(request.method)) {
      request.body = {};
    }
    rejectUnstorableText(request);
    rejectUnexpectedQuery(request);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Thunderlink registry API',
        version: options.version ?? '0.0.0',
        description:
          'Nodes register, heartbeat, link, advertise capabilities and sit in groups. Errors are application/problem+json with a TL_ERR_ code.',
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`),
    },
  });

  await app.register(
    async (api) => {
      await api.register(nodeRoutes(options.registry));
      await api.register(linkRoutes(options.registry));
      await api.register(capabilityRoutes(options.registry));
      await api.register(groupRoutes(options.registry));
      await api.register(graphRoutes(options.registry));
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: apiPrefix },
  );

  healthRoutes(app, options.db, createMetrics(options.db));
  await registerWebPage(app, options.webRoot);
  return app;
}

/** Rejects a query string on API routes that take none, as unknown parameters are rejected. */
function rejectUnexpectedQuery(request: FastifyRequest): void {
  // The web page and its assets take any query string: the page reads its own options from it.
  if (!request.routeOptions.url?.startsWith(apiPrefix)) return;
  if (request.routeOptions.schema?.querystring !== undefined) return;
  const names = Object.keys(request.query as object);
  if (names.length === 0) return;
  throw new RegistryError(
    'TL_ERR_VALIDATION',
    `${names[0]} is not a known query parameter; this route takes none`,
    { invalidParams: names.map((name) => ({ name, reason: 'is not a known query parameter' })) },
  );
}

function logResponses(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const entry = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) request.log.error(entry, 'request failed');
    else if (reply.statusCode >= 400) request.log.info(entry, 'request rejected');
    else request.log.debug(entry, 'request completed');
  });
}

async function registerWebPage(app: FastifyInstance, webRoot: string | undefined): Promise<void> {
  if (webRoot !== undefined && existsSync(webRoot)) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', wildcard: false });
    return;
  }
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/plain')
      .send('The web page is not built. Run `npm run build`, then restart the server.\n'),
  );
}
