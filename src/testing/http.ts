// A test server: the real HTTP app on an embedded PGlite database, listening on 127.0.0.1 at an
// ephemeral port, with a fake clock that the test drives. Requests go over a real socket through
// Node's fetch.
import type { FastifyInstance } from 'fastify';

import { FakeClock } from '../clock.js';
import { buildApp } from '../http/app.js';
import { silentLogger } from '../log.js';
import { Registry } from '../registry/registry.js';
import { type TestDatabase, openTestDatabase, emptyRegistry } from './databases.js';

export interface TestResponse {
  status: number;
  headers: Headers;
  /** The body parsed as JSON when the content type is JSON or problem+json, otherwise the text. */
  body: unknown;
}

/** A response with a 5xx status, recorded by the server as it sends it. */
export interface ServerError {
  method: string;
  url: string;
  status: number;
}

export interface TestServer {
  /** The server's base URL, `http://127.0.0.1:PORT`. */
  url: string;
  app: FastifyInstance;
  database: TestDatabase;
  registry: Registry;
  clock: FakeClock;
  /** Every 5xx response the server has sent since the start or the last `reset`. */
  serverErrors: ServerError[];
  /** Returns the full URL of a path on this server. */
  api(path: string): string;
  /**
   * Sends a request. A string body is sent as it is and any other body as JSON, both with
   * `content-type: application/json` unless `headers` give another content type.
   */
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse>;
  /** Deletes every row, restarts the event seq at 1, and sets the clock back to its start. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The start of registry time in test servers. */
export const testClockStart = '2026-03-01T12:00:00.000Z';

function isJson(contentType: string | null): boolean {
  return contentType !== null && /^application\/([a-z.+-]*\+)?json\b/i.test(contentType);
}

async function readResponse(response: Response): Promise<TestResponse> {
  const text = await response.text();
  const json = isJson(response.headers.get('content-type')) && text !== '';
  return {
    status: response.status,
    headers: response.headers,
    body: json ? JSON.parse(text) : text,
  };
}

function hasContentType(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
}

/**
 * Starts a test server. Register `close` as cleanup before anything can fail, for example
 * `afterAll(() => server?.close())`, so a failed test still stops it.
 */
export async function startTestServer(): Promise<TestServer> {
  const database = await openTestDatabase('pglite');
  if (!database) throw new Error('openTestDatabase returned no PGlite database');
  const clock = new FakeClock(testClockStart);
  const registry = new Registry(database.db, clock, silentLogger());
  const app = await buildApp({ registry, db: database.db, logger: silentLogger() });

  const serverErrors: ServerError[] = [];
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 500) {
      serverErrors.push({ method: request.method, url: request.url, status: reply.statusCode });
    }
  });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await database.close();
  };

  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await close();
    throw error;
  }
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) {
    await close();
    throw new Error(`the test server has no TCP address (got ${String(address)})`);
  }
  const url = `http://127.0.0.1:${address.port}`;
  const api = (path: string) => `${url}${path}`;

  const request: TestServer['request'] = async (method, path, body, headers = {}) => {
    const sent: Record<string, string> = { ...headers };
    const init: RequestInit = { method, headers: sent };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      if (!hasContentType(headers)) sent['content-type'] = 'application/json';
    }
    return readResponse(await fetch(api(path), init));
  };

  const reset = async () => {
    await emptyRegistry(database.db);
    clock.set(testClockStart);
    serverErrors.length = 0;
  };

  return { url, app, database, registry, clock, serverErrors, api, request, reset, close };
}
