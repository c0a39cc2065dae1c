// Tests that the OpenAPI document served at /api/thunderlink/openapi.json lists every route, that
// every route documents its errors as Problem documents, and that docs/errors.md and the error
// catalog in src/errors.ts name the same codes.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { errorCatalog } from '../errors.js';
import { type TestServer, startTestServer } from '../testing/http.js';

interface Operation {
  summary?: string;
  responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, { properties?: object; required?: string[] }> };
}

/** Every route under /api/thunderlink, as `METHOD /path` with OpenAPI's `{param}` syntax. */
const routes = [
  'POST /nodes',
  'GET /nodes',
  'GET /nodes/{id}',
  'DELETE /nodes/{id}',
  'POST /nodes/{id}/heartbeat',
  'POST /heartbeats',
  'POST /nodes/{id}/online',
  'PUT /nodes/{id}/status',
  'PUT /nodes/{id}/maintenance',
  'GET /nodes/{id}/heartbeats',
  'POST /links',
  'GET /links',
  'GET /links/{id}',
  'PATCH /links/{id}',
  'POST /links/{id}/close',
  'POST /links/{id}/fail',
  'PUT /nodes/{id}/capabilities/{key}',
  'DELETE /nodes/{id}/capabilities/{key}',
  'GET /capabilities/{key}/nodes',
  'POST /groups',
  'GET /groups',
  'GET /groups/{id}',
  'PATCH /groups/{id}',
  'DELETE /groups/{id}',
  'PUT /groups/{id}/members/{node_id}',
  'DELETE /groups/{id}/members/{node_id}',
  'GET /graph',
  'GET /events',
];

const prefix = '/api/thunderlink';
const problemRef = '#/components/schemas/Problem';
const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const errorsDocPath = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));
const catalogCodes = Object.keys(errorCatalog).sort();

let testServer: TestServer | undefined;
let document: OpenApiDocument;

beforeAll(async () => {
  testServer = await startTestServer();
  const response = await testServer.request('GET', `${prefix}/openapi.json`);
  expect(response.status).toBe(200);
  document = response.body as OpenApiDocument;
});
afterAll(async () => {
  await testServer?.close();
});

/** Lists every operation in the document as `METHOD /path`, without the prefix. */
function documentedRoutes(): string[] {
  const found: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of Object.keys(item).filter((key) => httpMethods.includes(key))) {
      found.push(`${method.toUpperCase()} ${path.slice(prefix.length)}`);
    }
  }
  return found;
}

function operation(route: string): Operation | undefined {
  const [method = '', path = ''] = route.split(' ');
  return document.paths[`${prefix}${path}`]?.[method.toLowerCase()];
}

/** Returns the responses of an operation that have a 4xx or 5xx status. */
function errorResponses(route: string) {
  const responses = operation(route)?.responses ?? {};
  return Object.entries(responses).filter(([status]) => /^[45]/.test(status));
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.info.title).toEqual(expect.any(String));
    expect(document.info.version).toEqual(expect.any(String));
  });

  it.each(routes)('documents %s', (route) => {
    const documented = operation(route);
    expect(documented, `${route} is missing from the document`).toBeDefined();
    expect(documented?.summary).toEqual(expect.any(String));
  });

  it('lists no other API routes', () => {
    expect(documentedRoutes().sort()).toEqual([...routes].sort());
  });

  it.each(routes)('%s errors reference Problem', (route) => {
    const errors = errorResponses(route);
    expect(errors.map(([status]) => status)).toContain('400');
    for (const [status, response] of errors) {
      const schemas = Object.values(response.content ?? {}).map((media) => media.schema?.$ref);
      expect(schemas, `${route} ${status}`).not.toHaveLength(0);
      for (const ref of schemas) expect(ref, `${route} ${status}`).toBe(problemRef);
    }
  });

  it('error responses are problem+json', () => {
    const mismatches: string[] = [];
    for (const route of routes) {
      for (const [status, response] of errorResponses(route)) {
        const types = Object.keys(response.content ?? {}).join(', ');
        if (types !== 'application/problem+json') mismatches.push(`${route} ${status}: ${types}`);
      }
    }
    expect(mismatches, 'error responses documented with another content type').toEqual([]);
  });

  it('Problem schema has the catalog fields', () => {
    const problem = document.components?.schemas?.Problem;
    expect(problem).toBeDefined();
    expect(Object.keys(problem?.properties ?? {}).sort()).toEqual([
      'code',
      'detail',
      'invalid_params',
      'status',
      'title',
      'type',
    ]);
    expect([...(problem?.required ?? [])].sort()).toEqual([
      'code',
      'detail',
      'status',
      'title',
      'type',
    ]);
  });
});

describe('docs/errors.md', () => {
  function readErrorsDoc(): string {
    if (!existsSync(errorsDocPath)) {
      throw new Error(`${errorsDocPath} is missing. It must describe every code in src/errors.ts`);
    }
    return readFileSync(errorsDocPath, 'utf8');
  }

  it('names every catalog code', () => {
    const named = new Set(readErrorsDoc().match(/TL_ERR_[A-Z0-9_]+/g) ?? []);
    const missing = catalogCodes.filter((code) => !named.has(code));
    expect(missing, 'codes in src/errors.ts that docs/errors.md does not name').toEqual([]);
  });

  it('names no unknown code', () => {
    const named = new Set(readErrorsDoc().match(/TL_ERR_[A-Z0-9_]+/g) ?? []);
    const unknown = [...named].filter((code) => !catalogCodes.includes(code));
    expect(unknown, 'codes in docs/errors.md that src/errors.ts does not define').toEqual([]);
  });

  it('gives each code its status', () => {
    const doc = readErrorsDoc();
    // The catalog table has one row per code: | `TL_ERR_…` | status | meaning and fix |
    const rows = new Map<string, number>();
    for (const match of doc.matchAll(/^\|\s*`(TL_ERR_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
      rows.set(match[1] ?? '', Number(match[2]));
    }
    for (const [code, entry] of Object.entries(errorCatalog)) {
      expect(rows.get(code), `the status of ${code} in the docs/errors.md table`).toBe(
        entry.status,
      );
    }
  });
});
