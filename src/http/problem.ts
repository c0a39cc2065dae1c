// Turns every error into an application/problem+json response, in this one place.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { type ErrorCode, type InvalidParam, RegistryError, errorCatalog } from '../errors.js';
import { pgConstraint, pgErrorCode } from '../store/rows.js';

export const problemContentType = 'application/problem+json';
/** Seconds a client should wait before retrying while the store is unreachable. */
const storeRetryAfterSeconds = 2;

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** The body of a problem document for a catalog code. */
export function problemBody(
  code: ErrorCode,
  detail: string,
  invalidParams?: InvalidParam[],
): Record<string, unknown> {
  const { status, title } = errorCatalog[code];
  const body: Record<string, unknown> = {
    type: `https://thunderlink.dev/errors/${code}`,
    title,
    status,
    detail,
    code,
  };
  if (invalidParams && invalidParams.length > 0) body.invalid_params = invalidParams;
  return body;
}

/** Writes a problem on a raw response, for the router's errors that come before Fastify's reply. */
export function writeRawProblem(response: ServerResponse, code: ErrorCode, detail: string): void {
  const body = JSON.stringify(problemBody(code, detail));
  response.writeHead(errorCatalog[code].status, {
    'content-type': problemContentType,
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  invalidParams?: InvalidParam[],
): FastifyReply {
  const body = problemBody(code, detail, invalidParams);
  if (code === 'TL_ERR_STORE_UNAVAILABLE') reply.header('retry-after', storeRetryAfterSeconds);
  return reply
    .code(errorCatalog[code].status)
    .type(problemContentType)
    .serializer(JSON.stringify)
    .send(body);
}

/** Names a JSON path the way the API's field names read: `meta.zone`, `heartbeats[3].cpu_load`. */
function fieldName(part: string, instancePath: string, child?: unknown): string {
  const segments = instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (typeof child === 'string') segments.push(child);
  let name = '';
  for (const segment of segments) {
    name += /^\d+$/.test(segment) ? `[${segment}]` : name === '' ? segment : `.${segment}`;
  }
  return name === '' ? part : name;
}

function describeAjvError(error: AjvError): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return 'is not a known field; remove it';
    case 'required':
      return 'is required';
    case 'anyOf':
      return 'does not match any allowed type or value';
    case 'enum':
      return `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(error.params.allowedValue)}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/**
 * Lists each invalid field once. A value that matches none of a union's branches yields one error
 * per branch; a literal branch failing alongside its siblings becomes one "must be one of" entry.
 */
export function invalidParamsFromAjv(part: string, errors: AjvError[]): InvalidParam[] {
  const byField = new Map<string, { literals: unknown[]; reasons: string[] }>();
  for (const error of errors) {
    const child = error.params.missingProperty ?? error.params.additionalProperty;
    const name = fieldName(part, error.instancePath, child);
    const entry = byField.get(name) ?? { literals: [], reasons: [] };
    byField.set(name, entry);
    if (error.keyword === 'const') entry.literals.push(error.params.allowedValue);
    else if (error.keyword !== 'anyOf' || entry.reasons.length === 0) {
      entry.reasons.push(describeAjvError(error));
    }
  }
  return [...byField].map(([name, entry]) => {
    if (entry.literals.length > 0) {
      const allowed = entry.literals.map((value) => JSON.stringify(value)).join(', ');
      return { name, reason: `must be one of: ${allowed}` };
    }
    const reasons = entry.reasons.filter((reason) => !reason.startsWith('does not match'));
    return { name, reason: (reasons.length > 0 ? reasons : entry.reasons).join('; ') };
  });
}

function isStoreUnavailable(error: unknown): boolean {
  const code = pgErrorCode(error);
  if (code?.startsWith('08') || code === '57P01' || code === '57P03' || code === 'ECONNREFUSED') {
    return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|PGlite is closed|Client has encountered a connection error/i.test(
    message,
  );
}

/**
 * Answers connection-level errors that happen before Fastify has a request, such as headers over
 * Node.js's size limit, with a problem document, then closes the connection.
 */
export function handleClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [code, detail]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['TL_ERR_HEADERS_TOO_LARGE', 'the request line and headers are over 16 KiB; send less']
      : ['TL_ERR_VALIDATION', `the request is not valid HTTP: ${error.message}`];
  const body = JSON.stringify(problemBody(code, detail));
  socket.end(
    `HTTP/1.1 ${errorCatalog[code].status} ${errorCatalog[code].title}\r\n` +
      `Content-Type: ${problemContentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      'TL_ERR_ROUTE_NOT_FOUND',
      `no route for ${request.method} ${request.url.split('?')[0]}; see /api/thunderlink/openapi.json`,
    ),
  );

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof RegistryError) {
      return sendProblem(reply, error.code, error.message, error.invalidParams);
    }
    if (error.validation) {
      const part = error.validationContext ?? 'body';
      const invalidParams = invalidParamsFromAjv(part, error.validation as AjvError[]);
      const first = invalidParams[0];
      const detail = first ? `${first.name} ${first.reason}` : `the ${part} is invalid`;
      return sendProblem(reply, 'TL_ERR_VALIDATION', detail, invalidParams);
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(
          reply,
          'TL_ERR_BODY_TOO_LARGE',
          `the request body is larger than this route's limit of ${request.routeOptions.bodyLimit} bytes`,
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(
          reply,
          'TL_ERR_UNSUPPORTED_MEDIA_TYPE',
          `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; send application/json`,
        );
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        if (/prototype/i.test(String((error.cause as Error | undefined)?.message))) {
          return sendProblem(
            reply,
            'TL_ERR_VALIDATION',
            'the body has a __proto__ or constructor.prototype key, which is not allowed; rename it',
          );
        }
        return sendProblem(
          reply,
          'TL_ERR_MALFORMED_JSON',
          `the body is not valid JSON: ${error.message}`,
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendProblem(
          reply,
          'TL_ERR_MALFORMED_JSON',
          `the body is not valid JSON: ${error.message}`,
        );
    }
    if (error instanceof SyntaxError && error.statusCode === 400) {
      return sendProblem(
        reply,
        'TL_ERR_MALFORMED_JSON',
        `the body is not valid JSON: ${error.message}`,
      );
    }
    if (pgErrorCode(error) === '23503') {
      // A row this request refers to was deleted by a concurrent request after it was looked up.
      const constraint = pgConstraint(error) ?? '';
      return constraint.includes('group_id')
        ? sendProblem(
            reply,
            'TL_ERR_GROUP_NOT_FOUND',
            'the group was deleted while this request ran',
          )
        : sendProblem(reply, 'TL_ERR_NODE_NOT_FOUND', 'a node was deleted while this request ran');
    }
    if (['23514', '22P02', '22021', '22P05', '22P04'].includes(pgErrorCode(error) ?? '')) {
      // The registry checks every value before it writes, so reaching here means a check is
      // missing there: report the constraint as invalid input rather than a server error.
      request.log.warn({ err: error }, 'database rejected a value the registry accepted');
      return sendProblem(reply, 'TL_ERR_VALIDATION', `a value is invalid: ${error.message}`, [
        { name: pgConstraint(error) ?? 'body', reason: error.message },
      ]);
    }
    if (isStoreUnavailable(error)) {
      request.log.error({ err: error }, 'store unavailable');
      return sendProblem(
        reply,
        'TL_ERR_STORE_UNAVAILABLE',
        'the registry cannot reach its database; retry after the Retry-After delay',
      );
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, 'TL_ERR_VALIDATION', error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, 'TL_ERR_INTERNAL', 'an internal error occurred; see the server log');
  });
}
