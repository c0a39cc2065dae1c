// Tests of the HTTP API over a real socket: every route under /api/thunderlink, the problem
// documents that bad input produces, and the routes outside the prefix. One server serves the
// whole file and is emptied before each test, and after each test no response may have been a 5xx.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { type ErrorCode, errorCatalog } from '../errors.js';
import type {
  CapabilityRecord,
  Graph,
  GroupRecord,
  LinkRecord,
  NodeRecord,
} from '../registry/model.js';
import type {
  EventPage,
  GroupDetails,
  GroupTreeNode,
  HeartbeatHistory,
  HeartbeatResult,
  NodeDetails,
  NodePage,
} from '../registry/operations.js';
import { type TestResponse, type TestServer, startTestServer } from '../testing/http.js';

const prefix = '/api/thunderlink';
const unknownUuid = '0b3e7c4a-2f1d-4c5e-9a8b-7c6d5e4f3a2b';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  invalid_params?: { name: string; reason: string }[];
}

let testServer: TestServer | undefined;

function server(): TestServer {
  if (!testServer) throw new Error('the test server did not start; see the beforeAll error');
  return testServer;
}

beforeAll(async () => {
  testServer = await startTestServer();
});
afterAll(async () => {
  await testServer?.close();
});
beforeEach(async () => {
  await server().reset();
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(server().serverErrors, 'responses with a 5xx status').toEqual([]);
});

/** Sends a request to a path under the API prefix. */
function call(
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<TestResponse> {
  return server().request(method, `${prefix}${path}`, body, headers);
}

/** Returns the body of a response after checking its status. */
function expectStatus<T>(response: TestResponse, status: number): T {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  return response.body as T;
}

/**
 * Checks that a response is a problem document with the catalog's status for `code`, and, when
 * `field` is given, that `invalid_params` names it.
 */
function expectProblem(response: TestResponse, code: ErrorCode, field?: string | RegExp): Problem {
  const problem = response.body as Problem;
  expect(response.status, JSON.stringify(problem)).toBe(errorCatalog[code].status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(problem.code).toBe(code);
  expect(problem.status).toBe(response.status);
  expect(problem.type).toEqual(expect.any(String));
  expect(problem.title).toBe(errorCatalog[code].title);
  expect(problem.detail).toEqual(expect.any(String));
  expect(problem.detail.length).toBeGreaterThan(0);
  if (field !== undefined) {
    const names = (problem.invalid_params ?? []).map((param) => param.name);
    if (typeof field === 'string') expect(names).toContain(field);
    else expect(names).toContainEqual(expect.stringMatching(field));
    for (const param of problem.invalid_params ?? []) {
      expect(param.reason).toEqual(expect.any(String));
    }
  }
  return problem;
}

/** Checks that a response is a 4xx problem document with a catalog code and its status. */
function expectClientProblem(response: TestResponse): Problem {
  const problem = response.body as Problem;
  expect(response.status, JSON.stringify(problem)).toBeGreaterThanOrEqual(400);
  expect(response.status, JSON.stringify(problem)).toBeLessThan(500);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(Object.keys(errorCatalog)).toContain(problem.code);
  expect(problem.status).toBe(response.status);
  return problem;
}

async function register(name: string, fields: Record<string, unknown> = {}): Promise<NodeRecord> {
  return expectStatus<NodeRecord>(await call('POST', '/nodes', { name, ...fields }), 201);
}

async function link(nodeId: string, remoteNodeId: string, fields: Record<string, unknown> = {}) {
  const body = { node_id: nodeId, remote_node_id: remoteNodeId, ...fields };
  return expectStatus<LinkRecord>(await call('POST', '/links', body), 201);
}

async function createGroup(name: string, fields: Record<string, unknown> = {}) {
  return expectStatus<GroupRecord>(await call('POST', '/groups', { name, ...fields }), 201);
}

async function addMember(group: string, node: string): Promise<void> {
  expectStatus(await call('PUT', `/groups/${group}/members/${node}`), 204);
}

async function listNames(query: string): Promise<string[]> {
  const page = expectStatus<NodePage>(await call('GET', `/nodes${query}`), 200);
  return page.nodes.map((node) => node.name);
}

describe('nodes', () => {
  it('POST creates then updates by name', async () => {
    const created = await call('POST', '/nodes', { name: 'worker-1@host', role: 'worker' });
    const node = expectStatus<NodeRecord>(created, 201);
    expect(node.name).toBe('worker-1@host');
    expect(node.status).toBe('connecting');
    expect(node.domain).toBe('thunderlink');

    const updated = await call('POST', '/nodes', { name: 'worker-1@host', role: 'gateway' });
    const again = expectStatus<NodeRecord>(updated, 200);
    expect(again.id).toBe(node.id);
    expect(again.role).toBe('gateway');
    expect(await listNames('')).toEqual(['worker-1@host']);
  });

  it('concurrent duplicates create one row', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => call('POST', '/nodes', { name: 'same' })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(responses.map((response) => (response.body as NodeRecord).id));
    expect(ids.size).toBe(1);
    expect(await listNames('')).toEqual(['same']);
  });

  it('GET filters the list', async () => {
    const worker = await register('w1');
    await register('e1', { role: 'edge', domain: 'field', cluster_type: 'out_of_cluster' });
    await register('g1', { role: 'gateway' });
    expectStatus(await call('POST', `/nodes/${worker.id}/online`, {}), 200);
    expectStatus(await call('PUT', '/nodes/w1/capabilities/gpu', { value: 'true' }), 201);
    expectStatus(await call('PUT', '/nodes/e1/capabilities/gpu', { value: 'false' }), 201);
    await createGroup('west', { group_type: 'zone' });
    await createGroup('west-1', { parent_group_id: 'west' });
    await addMember('west', 'e1');
    await addMember('west-1', 'g1');

    const cases: [string, string[]][] = [
      ['', ['e1', 'g1', 'w1']],
      ['?status=online', ['w1']],
      ['?status=connecting', ['e1', 'g1']],
      ['?role=edge', ['e1']],
      ['?domain=field', ['e1']],
      ['?domain=thunderlink', ['g1', 'w1']],
      ['?cluster_type=out_of_cluster', ['e1']],
      ['?capability=gpu', ['e1', 'w1']],
      ['?capability=gpu%3Dtrue', ['w1']],
      ['?capability=gpu=false', ['e1']],
      ['?capability=fpga', []],
      ['?group=west', ['e1', 'g1']],
      ['?group=west-1', ['g1']],
      ['?role=worker&status=online', ['w1']],
      ['?role=worker&status=offline', []],
    ];
    for (const [query, names] of cases) {
      expect(await listNames(query), query).toEqual(names);
    }
  });

  it('GET pages with limit and cursor', async () => {
    for (const name of ['n5', 'n3', 'n1', 'n4', 'n2']) await register(name);
    const names: string[][] = [];
    let query = '?limit=2';
    for (let page = 0; page < 5; page += 1) {
      const body = expectStatus<NodePage>(await call('GET', `/nodes${query}`), 200);
      names.push(body.nodes.map((node) => node.name));
      if (body.next_cursor === null) break;
      query = `?limit=2&cursor=${encodeURIComponent(body.next_cursor)}`;
    }
    expect(names).toEqual([['n1', 'n2'], ['n3', 'n4'], ['n5']]);
  });

  it('GET one node by UUID and name', async () => {
    const node = await register('detail@host');
    await register('peer');
    await link('detail@host', 'peer');
    expectStatus(await call('PUT', '/nodes/peer/capabilities/gpu', {}), 201);
    expectStatus(await call('PUT', '/nodes/detail@host/capabilities/gpu', { value: '2' }), 201);
    await createGroup('zone-a', { group_type: 'zone' });
    await addMember('zone-a', 'detail@host');
    const beat = { cpu_load: 0.5, mem_used_mb: 256, latency_ms: 4 };
    expectStatus(await call('POST', '/nodes/detail@host/heartbeat', beat), 200);

    const byId = expectStatus<NodeDetails>(await call('GET', `/nodes/${node.id}`), 200);
    const byName = expectStatus<NodeDetails>(await call('GET', '/nodes/detail@host'), 200);
    expect(byName).toEqual(byId);
    expect(byId.id).toBe(node.id);
    expect(byId.capabilities.map((capability) => capability.capability_value)).toEqual(['2']);
    expect(byId.groups.map((group) => group.name)).toEqual(['zone-a']);
    expect(byId.links).toHaveLength(1);
    expect(byId.heartbeat_summary.count).toBe(1);
    expect(byId.heartbeat_summary.cpu_load_max).toBe(0.5);
  });

  it('GET by the longest valid name', async () => {
    const name = `a${'b'.repeat(252)}`;
    const node = await register(name);
    const found = expectStatus<NodeDetails>(await call('GET', `/nodes/${name}`), 200);
    expect(found.id).toBe(node.id);
    expectStatus(await call('POST', `/nodes/${name}/heartbeat`, {}), 200);
  });

  it('GET unknown node is 404', async () => {
    expectProblem(await call('GET', '/nodes/ghost'), 'TL_ERR_NODE_NOT_FOUND');
    expectProblem(await call('GET', `/nodes/${unknownUuid}`), 'TL_ERR_NODE_NOT_FOUND');
  });

  it('DELETE answers 204 then 404', async () => {
    const node = await register('leaving');
    await register('stays');
    const session = await link('leaving', 'stays');

    const deleted = await call('DELETE', `/nodes/${node.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expectProblem(await call('GET', '/nodes/leaving'), 'TL_ERR_NODE_NOT_FOUND');
    expectProblem(await call('GET', `/links/${session.id}`), 'TL_ERR_LINK_NOT_FOUND');
    expectProblem(await call('DELETE', '/nodes/leaving'), 'TL_ERR_NODE_NOT_FOUND');
    expect(await listNames('')).toEqual(['stays']);
  });
});

describe('heartbeats', () => {
  it('single heartbeat returns node status', async () => {
    const node = await register('beat', { heartbeat_interval_ms: 2000 });
    const beat = { status: 'online', cpu_load: 0.25, mem_used_mb: 1024, latency_ms: 3.5 };
    const reply = expectStatus<Record<string, unknown>>(
      await call('POST', '/nodes/beat/heartbeat', beat),
      200,
    );
    expect(reply).toEqual({ node_id: node.id, status: 'online', heartbeat_interval_ms: 2000 });

    const details = expectStatus<NodeDetails>(await call('GET', '/nodes/beat'), 200);
    expect(details.last_cpu_load).toBe(0.25);
    expect(details.last_mem_used_mb).toBe(1024);
    expect(details.last_latency_ms).toBe(3.5);
    expect(details.last_heartbeat_at).toBe(server().clock.now().toISOString());
  });

  it('heartbeat without a body is accepted', async () => {
    await register('bare');
    const reply = await server().request('POST', `${prefix}/nodes/bare/heartbeat`);
    expect(expectStatus<{ status: string }>(reply, 200).status).toBe('online');
  });

  it('degraded heartbeat sets degraded', async () => {
    await register('tired');
    const reply = await call('POST', '/nodes/tired/heartbeat', { status: 'degraded' });
    expect(expectStatus<{ status: string }>(reply, 200).status).toBe('degraded');
  });

  it('unknown node is 404, never created', async () => {
    expectProblem(await call('POST', '/nodes/ghost/heartbeat', {}), 'TL_ERR_NODE_NOT_FOUND');
    const byId = await call('POST', `/nodes/${unknownUuid}/heartbeat`, { cpu_load: 1 });
    expectProblem(byId, 'TL_ERR_NODE_NOT_FOUND');
    expect(await listNames('')).toEqual([]);
    expectProblem(await call('GET', '/nodes/ghost'), 'TL_ERR_NODE_NOT_FOUND');
  });

  it('batch fails invalid items alone', async () => {
    await register('b1');
    const body = {
      heartbeats: [
        { node_id: 'b1', cpu_load: 0.5 },
        { node_id: 'b1', colour: 1 },
        { cpu_load: 1 },
        { node_id: 'b1', cpu_load: -1 },
        { node_id: 'b1', cpu_load: 'x' },
        { node_id: 'b1', status: 'offline' },
        { node_id: 'b1', meta: { note: 'a\u0000b' } },
        'not an object',
      ],
    };
    const reply = expectStatus<{ results: HeartbeatResult[] }>(
      await call('POST', '/heartbeats', body),
      200,
    );
    expect(reply.results.map((result) => result.ok)).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    const details = reply.results.map((result) => result.detail ?? '');
    expect(details[1]).toMatch(/^heartbeats\[1\]\.colour /);
    expect(details[2]).toMatch(/^heartbeats\[2\]\.node_id is required/);
    expect(details[3]).toMatch(/^heartbeats\[3\]\.cpu_load /);
    expect(details[4]).toMatch(/^heartbeats\[4\]\.cpu_load /);
    expect(details[5]).toMatch(/^heartbeats\[5\]\.status /);
    expect(details[6]).toMatch(/^heartbeats\[6\]\.meta\.note contains a NUL/);
    expect(details[7]).toMatch(/^heartbeats\[7\] /);
    for (const result of reply.results.slice(1)) expect(result.code).toBe('TL_ERR_VALIDATION');
    const history = await testServer!.registry.heartbeatHistory('b1', 60);
    expect(history.heartbeats).toHaveLength(1);
  });

  it('batch returns a result per item', async () => {
    const byId = await register('b1');
    await register('b2');
    const deep = { a: { b: { c: { d: { e: 1 } } } } };
    const body = {
      heartbeats: [
        { node_id: 'b2', cpu_load: 0.1 },
        { node_id: 'ghost' },
        { node_id: byId.id, status: 'degraded' },
        { node_id: unknownUuid },
        { node_id: 'b2', meta: deep },
      ],
    };
    const reply = expectStatus<{ results: HeartbeatResult[] }>(
      await call('POST', '/heartbeats', body),
      200,
    );
    expect(reply.results).toMatchObject([
      { node_id: 'b2', ok: true },
      { node_id: 'ghost', ok: false, code: 'TL_ERR_NODE_NOT_FOUND' },
      { node_id: byId.id, ok: true },
      { node_id: unknownUuid, ok: false, code: 'TL_ERR_NODE_NOT_FOUND' },
      { node_id: 'b2', ok: false, code: 'TL_ERR_VALIDATION' },
    ]);
    expect(expectStatus<NodeDetails>(await call('GET', '/nodes/b2'), 200).status).toBe('online');
    expect(expectStatus<NodeDetails>(await call('GET', '/nodes/b1'), 200).status).toBe('degraded');
    expect(await listNames('')).toEqual(['b1', 'b2']);
  });

  it('batch of 1000 items is accepted', async () => {
    await register('many');
    // About 230 KB: above the 64 KiB default, below this route's 1 MiB limit.
    const item = { node_id: 'many', meta: { pad: 'x'.repeat(200) } };
    const body = { heartbeats: Array.from({ length: 1000 }, () => item) };
    const reply = expectStatus<{ results: HeartbeatResult[] }>(
      await call('POST', '/heartbeats', body),
      200,
    );
    expect(reply.results).toHaveLength(1000);
    expect(reply.results.every((result) => result.ok)).toBe(true);
  });

  it('batch over 1000 items is 400', async () => {
    await register('many');
    const body = { heartbeats: Array.from({ length: 1001 }, () => ({ node_id: 'many' })) };
    expectProblem(await call('POST', '/heartbeats', body), 'TL_ERR_VALIDATION', 'heartbeats');
    const history = expectStatus<HeartbeatHistory>(
      await call('GET', '/nodes/many/heartbeats'),
      200,
    );
    expect(history.heartbeats).toEqual([]);
  });

  it('batch body over 1 MiB is 413', async () => {
    const json = '{"heartbeats":[]}';
    const body = json + ' '.repeat(1024 * 1024 + 1 - json.length);
    expectProblem(await call('POST', '/heartbeats', body), 'TL_ERR_BODY_TOO_LARGE');
  });

  it('history returns the requested window', async () => {
    await register('hist');
    expectStatus(await call('POST', '/nodes/hist/heartbeat', { cpu_load: 0.1 }), 200);
    server().clock.advance(90 * 60_000);
    expectStatus(await call('POST', '/nodes/hist/heartbeat', { cpu_load: 0.2 }), 200);

    const recent = expectStatus<HeartbeatHistory>(await call('GET', '/nodes/hist/heartbeats'), 200);
    expect(recent.heartbeats.map((beat) => beat.cpu_load)).toEqual([0.2]);
    expect(recent.rollups).toEqual([]);
    const longer = await call('GET', '/nodes/hist/heartbeats?minutes=120');
    const all = expectStatus<HeartbeatHistory>(longer, 200);
    expect(all.heartbeats.map((beat) => beat.cpu_load).sort()).toEqual([0.1, 0.2]);
  });

  it('history of unknown node is 404', async () => {
    expectProblem(await call('GET', '/nodes/ghost/heartbeats'), 'TL_ERR_NODE_NOT_FOUND');
  });
});

describe('node status', () => {
  it('online without link attributes', async () => {
    await register('solo');
    const reply = await call('POST', '/nodes/solo/online', {});
    const body = expectStatus<{ node: NodeRecord; link: LinkRecord | null }>(reply, 200);
    expect(body.node.status).toBe('online');
    expect(body.link).toBeNull();
  });

  it('online with link attributes links', async () => {
    const node = await register('left');
    const remote = await register('right');
    const attributes = {
      remote_node_id: 'right',
      session_type: 'hotline',
      weight: 0.4,
      latency_ms: 7,
      bandwidth_mbps: 100,
      meta: { path: 'direct' },
    };
    const first = expectStatus<{ node: NodeRecord; link: LinkRecord }>(
      await call('POST', '/nodes/left/online', attributes),
      200,
    );
    expect(first.node.status).toBe('online');
    expect(first.link).toMatchObject({
      node_id: node.id,
      remote_node_id: remote.id,
      session_type: 'hotline',
      status: 'established',
      weight: 0.4,
      latency_ms: 7,
      bandwidth_mbps: 100,
      meta: { path: 'direct' },
    });

    const refresh = { remote_node_id: remote.id, weight: 0.9 };
    const second = expectStatus<{ link: LinkRecord }>(
      await call('POST', `/nodes/${node.id}/online`, refresh),
      200,
    );
    expect(second.link.id).toBe(first.link.id);
    expect(second.link.weight).toBe(0.9);
  });

  it('online for unknown nodes is 404', async () => {
    await register('known');
    expectProblem(await call('POST', '/nodes/ghost/online', {}), 'TL_ERR_NODE_NOT_FOUND');
    const remote = await call('POST', '/nodes/known/online', { remote_node_id: 'ghost' });
    expectProblem(remote, 'TL_ERR_NODE_NOT_FOUND');
    const self = await call('POST', '/nodes/known/online', { remote_node_id: 'known' });
    expectProblem(self, 'TL_ERR_SELF_LINK', 'remote_node_id');
  });

  it('status change keeps links open', async () => {
    await register('a');
    await register('b');
    const session = await link('a', 'b');
    const node = expectStatus<NodeRecord>(
      await call('PUT', '/nodes/a/status', { status: 'offline' }),
      200,
    );
    expect(node.status).toBe('offline');
    const after = expectStatus<LinkRecord>(await call('GET', `/links/${session.id}`), 200);
    expect(after.status).toBe('established');
    expectProblem(
      await call('PUT', '/nodes/ghost/status', { status: 'online' }),
      'TL_ERR_NODE_NOT_FOUND',
    );
  });

  it('maintenance holds status through heartbeats', async () => {
    await register('m');
    const on = await call('PUT', '/nodes/m/maintenance', { enabled: true });
    expect(expectStatus<NodeRecord>(on, 200).maintenance).toBe(true);
    const duringMaintenance = await call('POST', '/nodes/m/heartbeat', {});
    expect(expectStatus<{ status: string }>(duringMaintenance, 200).status).toBe('connecting');

    const off = await call('PUT', '/nodes/m/maintenance', { enabled: false });
    expect(expectStatus<NodeRecord>(off, 200).maintenance).toBe(false);
    const back = await call('POST', '/nodes/m/heartbeat', {});
    expect(expectStatus<{ status: string }>(back, 200).status).toBe('online');
    expectProblem(
      await call('PUT', '/nodes/ghost/maintenance', { enabled: true }),
      'TL_ERR_NODE_NOT_FOUND',
    );
  });
});

describe('links', () => {
  it('POST creates and GET reads', async () => {
    const a = await register('a');
    const b = await register('b');
    const created = await link('a', b.id, { session_type: 'service', weight: 0.5 });
    expect(created).toMatchObject({
      node_id: a.id,
      remote_node_id: b.id,
      session_type: 'service',
      status: 'established',
      weight: 0.5,
      ended_at: null,
    });
    expect(expectStatus<LinkRecord>(await call('GET', `/links/${created.id}`), 200)).toEqual(
      created,
    );
  });

  it('link to itself is 400', async () => {
    const node = await register('a');
    for (const remote of ['a', node.id]) {
      const reply = await call('POST', '/links', { node_id: 'a', remote_node_id: remote });
      expectProblem(reply, 'TL_ERR_SELF_LINK', 'remote_node_id');
    }
  });

  it('second open link is 409', async () => {
    const a = await register('a');
    await register('b');
    await link('a', 'b', { status: 'establishing' });
    const pairs = [
      ['a', 'b'],
      ['b', 'a'],
      ['b', a.id],
    ];
    for (const [node, remote] of pairs) {
      const reply = await call('POST', '/links', { node_id: node, remote_node_id: remote });
      expectProblem(reply, 'TL_ERR_LINK_EXISTS');
    }
    const open = expectStatus<{ links: LinkRecord[] }>(await call('GET', '/links'), 200);
    expect(open.links).toHaveLength(1);
  });

  it('unknown node is 404', async () => {
    await register('a');
    for (const body of [
      { node_id: 'ghost', remote_node_id: 'a' },
      { node_id: 'a', remote_node_id: 'ghost' },
      { node_id: 'a', remote_node_id: unknownUuid },
    ]) {
      expectProblem(await call('POST', '/links', body), 'TL_ERR_NODE_NOT_FOUND');
    }
  });

  it('GET lists with filters', async () => {
    await register('a');
    await register('b');
    await register('c');
    const ab = await link('a', 'b', { session_type: 'cluster' });
    const bc = await link('b', 'c', { session_type: 'tocp' });
    expectStatus(await call('POST', `/links/${bc.id}/close`, {}), 200);

    const cases: [string, string[]][] = [
      ['', [ab.id, bc.id]],
      ['?node_id=c', [bc.id]],
      ['?node_id=a', [ab.id]],
      ['?status=open', [ab.id]],
      ['?status=closed', [bc.id]],
      ['?status=failed', []],
      ['?session_type=tocp', [bc.id]],
      ['?node_id=b&status=open', [ab.id]],
    ];
    for (const [query, ids] of cases) {
      const list = expectStatus<{ links: LinkRecord[] }>(await call('GET', `/links${query}`), 200);
      expect(list.links.map((session) => session.id).sort(), query).toEqual([...ids].sort());
    }
    expectProblem(await call('GET', '/links?node_id=ghost'), 'TL_ERR_NODE_NOT_FOUND');
  });

  it('PATCH updates an open link', async () => {
    await register('a');
    await register('b');
    const session = await link('a', 'b');
    const patch = { status: 'degraded', weight: 0.25, latency_ms: 12, bandwidth_mbps: 50 };
    const updated = expectStatus<LinkRecord>(
      await call('PATCH', `/links/${session.id}`, patch),
      200,
    );
    expect(updated).toMatchObject({ id: session.id, ...patch });
  });

  it('close twice is 409', async () => {
    await register('a');
    await register('b');
    const session = await link('a', 'b');
    const closed = expectStatus<LinkRecord>(
      await call('POST', `/links/${session.id}/close`, { reason: 'drained' }),
      200,
    );
    expect(closed.status).toBe('closed');
    expect(closed.end_reason).toBe('drained');

    expectProblem(await call('POST', `/links/${session.id}/close`, {}), 'TL_ERR_LINK_ENDED');
    expectProblem(await call('POST', `/links/${session.id}/fail`, {}), 'TL_ERR_LINK_ENDED');
    const patch = await call('PATCH', `/links/${session.id}`, { weight: 0.5 });
    expectProblem(patch, 'TL_ERR_LINK_ENDED');
    const reopened = await link('b', 'a');
    expect(reopened.id).not.toBe(session.id);
  });

  it('fail marks a link failed', async () => {
    await register('a');
    await register('b');
    const session = await link('a', 'b');
    const failed = expectStatus<LinkRecord>(
      await server().request('POST', `${prefix}/links/${session.id}/fail`),
      200,
    );
    expect(failed.status).toBe('failed');
    expect(failed.end_reason).toBeNull();
    expectProblem(await call('POST', `/links/${session.id}/fail`, {}), 'TL_ERR_LINK_ENDED');
  });

  it('non-UUID link id is 400', async () => {
    const requests: [string, string, unknown][] = [
      ['GET', '/links/not-a-uuid', undefined],
      ['PATCH', '/links/not-a-uuid', { weight: 0.5 }],
      ['POST', '/links/not-a-uuid/close', {}],
      ['POST', '/links/not-a-uuid/fail', {}],
    ];
    for (const [method, path, body] of requests) {
      expectProblem(await call(method, path, body), 'TL_ERR_VALIDATION', 'id');
    }
  });

  it('unknown link id is 404', async () => {
    const requests: [string, string, unknown][] = [
      ['GET', `/links/${unknownUuid}`, undefined],
      ['PATCH', `/links/${unknownUuid}`, { weight: 0.5 }],
      ['POST', `/links/${unknownUuid}/close`, {}],
      ['POST', `/links/${unknownUuid}/fail`, {}],
    ];
    for (const [method, path, body] of requests) {
      expectProblem(await call(method, path, body), 'TL_ERR_LINK_NOT_FOUND');
    }
  });
});

describe('capabilities', () => {
  it('PUT creates then updates', async () => {
    const node = await register('a');
    const created = expectStatus<CapabilityRecord>(
      await call('PUT', '/nodes/a/capabilities/gpu', { value: 'a100', meta: { count: 2 } }),
      201,
    );
    expect(created).toMatchObject({
      node_id: node.id,
      capability_key: 'gpu',
      capability_value: 'a100',
      enabled: true,
      meta: { count: 2 },
    });
    const updated = expectStatus<CapabilityRecord>(
      await call('PUT', `/nodes/${node.id}/capabilities/gpu`, { value: 'h100', enabled: false }),
      200,
    );
    expect(updated.id).toBe(created.id);
    expect(updated.capability_value).toBe('h100');
    expect(updated.enabled).toBe(false);
    const unknown = await call('PUT', '/nodes/ghost/capabilities/gpu', {});
    expectProblem(unknown, 'TL_ERR_NODE_NOT_FOUND');
  });

  it('DELETE answers 204 then 404', async () => {
    await register('a');
    expectStatus(await call('PUT', '/nodes/a/capabilities/gpu', {}), 201);
    const deleted = await call('DELETE', '/nodes/a/capabilities/gpu');
    expect(deleted.status).toBe(204);
    const again = await call('DELETE', '/nodes/a/capabilities/gpu');
    expectProblem(again, 'TL_ERR_CAPABILITY_NOT_FOUND');
    const details = expectStatus<NodeDetails>(await call('GET', '/nodes/a'), 200);
    expect(details.capabilities).toEqual([]);
  });

  it('nodes by capability and value', async () => {
    await register('a');
    await register('b');
    await register('c');
    expectStatus(await call('PUT', '/nodes/a/capabilities/gpu', { value: 'true' }), 201);
    expectStatus(await call('PUT', '/nodes/b/capabilities/gpu', { value: 'false' }), 201);
    const disabled = { value: 'true', enabled: false };
    expectStatus(await call('PUT', '/nodes/c/capabilities/gpu', disabled), 201);

    const cases: [string, [string, string | null][]][] = [
      [
        '/capabilities/gpu/nodes',
        [
          ['a', 'true'],
          ['b', 'false'],
        ],
      ],
      ['/capabilities/gpu/nodes?value=true', [['a', 'true']]],
      ['/capabilities/gpu/nodes?value=maybe', []],
      ['/capabilities/fpga/nodes', []],
    ];
    for (const [path, expected] of cases) {
      const reply = expectStatus<{ nodes: (NodeRecord & { capability_value: string | null })[] }>(
        await call('GET', path),
        200,
      );
      const found = reply.nodes.map((node) => [node.name, node.capability_value]);
      expect(found.sort(), path).toEqual(expected);
    }
  });
});

describe('groups', () => {
  it('POST creates, duplicate is 409', async () => {
    const group = await createGroup('us', { group_type: 'region', meta: { owner: 'ops' } });
    expect(group).toMatchObject({
      name: 'us',
      group_type: 'region',
      parent_group_id: null,
      meta: { owner: 'ops' },
    });
    const duplicate = await call('POST', '/groups', { name: 'us', group_type: 'zone' });
    expectProblem(duplicate, 'TL_ERR_GROUP_EXISTS', 'name');
  });

  it('parent given by name or id', async () => {
    const us = await createGroup('us');
    const byName = await createGroup('us-west', { parent_group_id: 'us' });
    const byId = await createGroup('us-east', { parent_group_id: us.id });
    expect(byName.parent_group_id).toBe(us.id);
    expect(byId.parent_group_id).toBe(us.id);
    const orphan = await call('POST', '/groups', { name: 'lost', parent_group_id: 'ghost' });
    expectProblem(orphan, 'TL_ERR_GROUP_NOT_FOUND', 'parent_group_id');
  });

  it('GET lists by type, parent, roots', async () => {
    await createGroup('us', { group_type: 'region' });
    await createGroup('eu', { group_type: 'region' });
    await createGroup('us-west', { group_type: 'zone', parent_group_id: 'us' });
    await createGroup('us-west-1', { group_type: 'shard', parent_group_id: 'us-west' });
    await createGroup('eu-central', { group_type: 'zone', parent_group_id: 'eu' });

    const cases: [string, string[]][] = [
      ['', ['eu', 'eu-central', 'us', 'us-west', 'us-west-1']],
      ['?type=zone', ['eu-central', 'us-west']],
      ['?type=project', []],
      ['?parent=us', ['us-west']],
      ['?parent=us-west', ['us-west-1']],
      ['?roots=true', ['eu', 'us']],
      ['?roots=true&type=region', ['eu', 'us']],
    ];
    for (const [query, names] of cases) {
      const list = expectStatus<{ groups: GroupRecord[] }>(
        await call('GET', `/groups${query}`),
        200,
      );
      expect(list.groups.map((group) => group.name).sort(), query).toEqual(names);
    }
    expectProblem(await call('GET', '/groups?parent=ghost'), 'TL_ERR_GROUP_NOT_FOUND');
  });

  it('tree nests children under roots', async () => {
    await createGroup('us');
    await createGroup('eu');
    await createGroup('us-west', { parent_group_id: 'us' });
    await createGroup('us-west-1', { parent_group_id: 'us-west' });

    const tree = expectStatus<{ groups: GroupTreeNode[] }>(
      await call('GET', '/groups?tree=true'),
      200,
    );
    const shape = (nodes: GroupTreeNode[]): unknown[] =>
      nodes
        .map((node) => ({ name: node.name, children: shape(node.children) }))
        .sort((left, right) => left.name.localeCompare(right.name));
    expect(shape(tree.groups)).toEqual([
      { name: 'eu', children: [] },
      {
        name: 'us',
        children: [{ name: 'us-west', children: [{ name: 'us-west-1', children: [] }] }],
      },
    ]);
  });

  it('GET one group with children and members', async () => {
    const zone = await createGroup('zone-a', { group_type: 'zone' });
    await createGroup('rack-1', { parent_group_id: 'zone-a' });
    const node = await register('n1', { role: 'edge' });
    await addMember('zone-a', 'n1');

    for (const ref of ['zone-a', zone.id]) {
      const details = expectStatus<GroupDetails>(await call('GET', `/groups/${ref}`), 200);
      expect(details.id).toBe(zone.id);
      expect(details.children.map((child) => child.name)).toEqual(['rack-1']);
      expect(details.members).toEqual([
        { id: node.id, name: 'n1', role: 'edge', status: 'connecting' },
      ]);
    }
    expectProblem(await call('GET', '/groups/ghost'), 'TL_ERR_GROUP_NOT_FOUND');
  });

  it('PATCH renames and moves a group', async () => {
    await createGroup('us');
    await createGroup('eu');
    const moved = expectStatus<GroupRecord>(
      await call('PATCH', '/groups/eu', { name: 'europe', parent_group_id: 'us' }),
      200,
    );
    expect(moved.name).toBe('europe');
    const parent = expectStatus<GroupDetails>(await call('GET', '/groups/us'), 200);
    expect(moved.parent_group_id).toBe(parent.id);
    const detached = await call('PATCH', '/groups/europe', { parent_group_id: null });
    expect(expectStatus<GroupRecord>(detached, 200).parent_group_id).toBeNull();
    const renameTaken = await call('PATCH', '/groups/europe', { name: 'us' });
    expectProblem(renameTaken, 'TL_ERR_GROUP_EXISTS', 'name');
  });

  it('PATCH into own subtree is 409', async () => {
    await createGroup('us');
    await createGroup('us-west', { parent_group_id: 'us' });
    await createGroup('us-west-1', { parent_group_id: 'us-west' });
    for (const parent of ['us', 'us-west', 'us-west-1']) {
      const reply = await call('PATCH', '/groups/us', { parent_group_id: parent });
      expectProblem(reply, 'TL_ERR_GROUP_CYCLE', 'parent_group_id');
    }
    const us = expectStatus<GroupRecord>(await call('GET', '/groups/us'), 200);
    expect(us.parent_group_id).toBeNull();
  });

  it('DELETE with children is 409', async () => {
    await createGroup('us');
    await createGroup('us-west', { parent_group_id: 'us' });
    expectProblem(await call('DELETE', '/groups/us'), 'TL_ERR_GROUP_HAS_CHILDREN');
    expect((await call('DELETE', '/groups/us-west')).status).toBe(204);
    expect((await call('DELETE', '/groups/us')).status).toBe(204);
    expectProblem(await call('DELETE', '/groups/us'), 'TL_ERR_GROUP_NOT_FOUND');
  });

  it('members PUT and DELETE', async () => {
    const group = await createGroup('zone-a');
    const node = await register('n1');
    expect((await call('PUT', `/groups/zone-a/members/${node.id}`)).status).toBe(204);
    expect((await call('PUT', `/groups/${group.id}/members/n1`)).status).toBe(204);
    const details = expectStatus<GroupDetails>(await call('GET', '/groups/zone-a'), 200);
    expect(details.members.map((member) => member.name)).toEqual(['n1']);

    expect((await call('DELETE', '/groups/zone-a/members/n1')).status).toBe(204);
    const again = await call('DELETE', '/groups/zone-a/members/n1');
    expectProblem(again, 'TL_ERR_MEMBERSHIP_NOT_FOUND');
    const missingGroup = await call('PUT', '/groups/ghost/members/n1');
    expectProblem(missingGroup, 'TL_ERR_GROUP_NOT_FOUND');
    const missingNode = await call('PUT', '/groups/zone-a/members/ghost');
    expectProblem(missingNode, 'TL_ERR_NODE_NOT_FOUND');
  });
});

describe('graph', () => {
  async function readGraph(query = ''): Promise<Graph> {
    return expectStatus<Graph>(await call('GET', `/graph${query}`), 200);
  }

  it('shows nodes and open links', async () => {
    const a = await register('a', { role: 'controller' });
    const b = await register('b');
    await register('c');
    const ab = await link('a', 'b', { weight: 0.5, latency_ms: 15 });
    const bc = await link('b', 'c');
    expectStatus(await call('POST', `/links/${bc.id}/fail`, {}), 200);
    expectStatus(await call('PUT', '/nodes/a/capabilities/gpu', { value: 'true' }), 201);

    const graph = await readGraph();
    const events = expectStatus<EventPage>(await call('GET', '/events?since=0'), 200);
    expect(graph.seq).toBe(events.next_seq);
    expect(graph.nodes.map((node) => node.name)).toEqual(['a', 'b', 'c']);
    expect(graph.nodes[0]).toMatchObject({
      id: a.id,
      role: 'controller',
      status: 'connecting',
      capabilities: { gpu: 'true' },
      groups: [],
      isolated: false,
    });
    expect(graph.nodes[2]?.isolated).toBe(true);
    expect(graph.links).toEqual([
      {
        id: ab.id,
        source: a.id,
        target: b.id,
        value: 0.5,
        session_type: 'cluster',
        status: 'established',
        latency_ms: 15,
        bandwidth_mbps: null,
      },
    ]);
  });

  it('links need both ends shown', async () => {
    await register('a');
    await register('b');
    await register('c');
    await link('a', 'b');
    const bc = await link('b', 'c');
    expectStatus(await call('PUT', '/nodes/c/status', { status: 'offline' }), 200);

    const online = await readGraph();
    expect(online.nodes.map((node) => node.name)).toEqual(['a', 'b']);
    expect(online.links.map((edge) => edge.id)).not.toContain(bc.id);
    expect(online.links).toHaveLength(1);

    const everything = await readGraph('?include_offline=true');
    expect(everything.nodes.map((node) => node.name)).toEqual(['a', 'b', 'c']);
    expect(everything.links.map((edge) => edge.id)).toContain(bc.id);
    expect(everything.links).toHaveLength(2);
  });

  it('group filter limits nodes and links', async () => {
    await register('a');
    await register('b');
    await register('c');
    const ab = await link('a', 'b');
    await link('b', 'c');
    await createGroup('us');
    await createGroup('us-west', { parent_group_id: 'us' });
    await addMember('us', 'a');
    await addMember('us-west', 'b');

    const graph = await readGraph('?group=us');
    expect(graph.nodes.map((node) => node.name)).toEqual(['a', 'b']);
    expect(graph.nodes.map((node) => node.groups)).toEqual([['us'], ['us-west']]);
    expect(graph.links.map((edge) => edge.id)).toEqual([ab.id]);
    const west = await readGraph('?group=us-west');
    expect(west.nodes.map((node) => node.name)).toEqual(['b']);
    expect(west.links).toEqual([]);
    expectProblem(await call('GET', '/graph?group=ghost'), 'TL_ERR_GROUP_NOT_FOUND');
  });

  it('ETag answers 304 when unchanged', async () => {
    await register('a');
    const first = await call('GET', '/graph');
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);

    const unchanged = await call('GET', '/graph', undefined, { 'if-none-match': etag });
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBe('');

    await register('b');
    const changed = await call('GET', '/graph', undefined, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((changed.body as Graph).nodes).toHaveLength(2);
  });
});

describe('events', () => {
  it('pages with since and limit', async () => {
    await register('a');
    await register('b');
    await register('c');

    const first = expectStatus<EventPage>(await call('GET', '/events?since=0&limit=2'), 200);
    expect(first.events.map((event) => event.seq)).toEqual([1, 2]);
    expect(first.events.map((event) => event.name)).toEqual([
      'cluster.node.registered',
      'cluster.node.registered',
    ]);
    expect(first.events[0]?.payload).toMatchObject({ node: { name: 'a' } });
    expect(first.next_seq).toBe(2);

    const rest = await call('GET', `/events?since=${first.next_seq}`);
    const second = expectStatus<EventPage>(rest, 200);
    expect(second.events.map((event) => event.seq)).toEqual([3]);
    expect(second.next_seq).toBe(3);

    const caughtUp = expectStatus<EventPage>(await call('GET', '/events?since=3'), 200);
    expect(caughtUp).toEqual({ events: [], next_seq: 3 });
  });

  it('since ahead of newest is 410', async () => {
    await register('a');
    expectProblem(await call('GET', '/events?since=2'), 'TL_ERR_SINCE_EXPIRED');
  });

  it('wait returns an event written meanwhile', async () => {
    await register('a');
    const registry = server().registry;
    const subscribe = registry.onCommitted.bind(registry);
    // The route subscribes only after its first read found nothing, so the write below lands
    // while the request is waiting.
    const waiting = new Promise<void>((resolve) => {
      vi.spyOn(registry, 'onCommitted').mockImplementation((listener) => {
        const unsubscribe = subscribe(listener);
        resolve();
        return unsubscribe;
      });
    });

    const poll = call('GET', '/events?since=1&wait=20');
    await waiting;
    await register('b');
    const page = expectStatus<EventPage>(await poll, 200);
    expect(page.events.map((event) => event.seq)).toEqual([2]);
    expect(page.events[0]?.payload).toMatchObject({ node: { name: 'b' } });
    expect(page.next_seq).toBe(2);
  });

  it('wait expires with no events', async () => {
    await register('a');
    const page = expectStatus<EventPage>(await call('GET', '/events?since=1&wait=0.05'), 200);
    expect(page).toEqual({ events: [], next_seq: 1 });
  });
});

describe('outside the prefix', () => {
  it('healthz answers ok', async () => {
    const reply = await server().request('GET', '/healthz');
    expect(expectStatus(reply, 200)).toEqual({ status: 'ok' });
  });

  it('readyz answers ready', async () => {
    const reply = await server().request('GET', '/readyz');
    expect(expectStatus<{ status: string }>(reply, 200).status).toBe('ready');
  });

  it('metrics count nodes by status', async () => {
    await register('a');
    await register('b');
    expectStatus(await call('POST', '/nodes/a/heartbeat', {}), 200);
    const reply = await server().request('GET', '/metrics');
    const text = expectStatus<string>(reply, 200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toContain('# TYPE thunderlink_nodes gauge');
    expect(text).toMatch(/^thunderlink_nodes\{status="online"\} 1$/m);
    expect(text).toMatch(/^thunderlink_nodes\{status="connecting"\} 1$/m);
  });

  it('web root answers 200', async () => {
    const reply = await server().request('GET', '/');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\//);
  });
});

describe('bad input', () => {
  /** A test name, the request as `METHOD /path`, the body, and the field invalid_params names. */
  type InvalidCase = [string, string, unknown, string | RegExp];
  /** A test name, the request as `METHOD /path`, the body and the request headers. */
  type RejectedCase = [string, string, unknown, Record<string, string>?];

  const meta65 = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`k${index}`, index]));
  const deepMeta = { a: { b: { c: { d: { e: 1 } } } } };
  const pair = { node_id: 'n', remote_node_id: 'm' };
  const jsonType = { 'content-type': 'application/json' };

  const invalidCases: InvalidCase[] = [
    // Unknown fields, in the body and in the query string.
    ['unknown body field', 'POST /nodes', { name: 'n', colour: 1 }, 'colour'],
    ['unknown link field', 'POST /links', { ...pair, colour: 1 }, 'colour'],
    ['unknown group field', 'POST /groups', { name: 'g', colour: 1 }, 'colour'],
    ['unknown heartbeat field', 'POST /nodes/n/heartbeat', { cpu: 1 }, 'cpu'],
    ['unknown nodes query parameter', 'GET /nodes?colour=red', undefined, 'colour'],
    ['unknown links query parameter', 'GET /links?colour=red', undefined, 'colour'],
    ['unknown groups query parameter', 'GET /groups?colour=red', undefined, 'colour'],
    ['unknown graph query parameter', 'GET /graph?colour=red', undefined, 'colour'],
    ['unknown events query parameter', 'GET /events?colour=red', undefined, 'colour'],
    ['unknown history query parameter', 'GET /nodes/n/heartbeats?colour=red', undefined, 'colour'],
    [
      'unknown capability query parameter',
      'GET /capabilities/gpu/nodes?colour=red',
      undefined,
      'colour',
    ],

    // Wrong types.
    ['name as number', 'POST /nodes', { name: 5 }, 'name'],
    ['meta as string', 'POST /nodes', { name: 'n', meta: 'zone-a' }, 'meta'],
    ['meta as array', 'POST /groups', { name: 'g', meta: [] }, 'meta'],
    ['enabled as string', 'PUT /nodes/n/maintenance', { enabled: 'yes' }, 'enabled'],
    ['capability value as number', 'PUT /nodes/n/capabilities/gpu', { value: 5 }, 'value'],
    ['heartbeats as object', 'POST /heartbeats', { heartbeats: {} }, 'heartbeats'],
    ['body as array', 'POST /nodes', [{ name: 'n' }], 'body'],
    [
      'interval as fraction',
      'POST /nodes',
      { name: 'n', heartbeat_interval_ms: 1500.5 },
      'heartbeat_interval_ms',
    ],
    ['limit as text', 'GET /nodes?limit=ten', undefined, 'limit'],
    ['include_offline as text', 'GET /graph?include_offline=yes', undefined, 'include_offline'],

    // Missing required fields.
    ['node without name', 'POST /nodes', {}, 'name'],
    ['link without remote node', 'POST /links', { node_id: 'n' }, 'remote_node_id'],
    ['status without status', 'PUT /nodes/n/status', {}, 'status'],
    ['maintenance without enabled', 'PUT /nodes/n/maintenance', {}, 'enabled'],
    ['batch without heartbeats', 'POST /heartbeats', {}, 'heartbeats'],
    ['group without name', 'POST /groups', { group_type: 'zone' }, 'name'],

    // Values outside an enumeration.
    ['unknown role', 'POST /nodes', { name: 'n', role: 'boss' }, 'role'],
    ['unknown cluster type', 'POST /nodes', { name: 'n', cluster_type: 'nearby' }, 'cluster_type'],
    ['unknown node status', 'PUT /nodes/n/status', { status: 'sleeping' }, 'status'],
    ['offline heartbeat status', 'POST /nodes/n/heartbeat', { status: 'offline' }, 'status'],
    ['unknown session type', 'POST /links', { ...pair, session_type: 'udp' }, 'session_type'],
    ['closed status on create', 'POST /links', { ...pair, status: 'closed' }, 'status'],
    ['closed status on patch', `PATCH /links/${unknownUuid}`, { status: 'closed' }, 'status'],
    ['unknown group type', 'POST /groups', { name: 'g', group_type: 'planet' }, 'group_type'],
    ['unknown status filter', 'GET /nodes?status=sleeping', undefined, 'status'],
    ['unknown role filter', 'GET /nodes?role=boss', undefined, 'role'],
    ['unknown link status filter', 'GET /links?status=half-open', undefined, 'status'],
    ['unknown group type filter', 'GET /groups?type=planet', undefined, 'type'],

    // Names, domains and capability keys.
    ['name with space', 'POST /nodes', { name: 'has space' }, 'name'],
    ['name starting with dash', 'POST /nodes', { name: '-lead' }, 'name'],
    ['name shaped like UUID', 'POST /nodes', { name: unknownUuid }, 'name'],
    ['name of 254 characters', 'POST /nodes', { name: 'a'.repeat(254) }, 'name'],
    ['empty name', 'POST /nodes', { name: '' }, 'name'],
    ['name with slash', 'POST /nodes', { name: 'a/b' }, 'name'],
    ['group name with space', 'POST /groups', { name: 'us west' }, 'name'],
    ['group name shaped like UUID', 'POST /groups', { name: unknownUuid }, 'name'],
    ['group rename with dash', 'PATCH /groups/g', { name: '-g' }, 'name'],
    ['uppercase domain', 'POST /nodes', { name: 'n', domain: 'Upper' }, 'domain'],
    ['uppercase domain filter', 'GET /nodes?domain=Upper', undefined, 'domain'],
    ['capability key with space', 'PUT /nodes/n/capabilities/has%20space', {}, 'key'],

    // Meta limits.
    ['meta over 64 keys', 'POST /nodes', { name: 'n', meta: meta65 }, 'meta'],
    [
      'meta key over 128 characters',
      'POST /nodes',
      { name: 'n', meta: { ['k'.repeat(129)]: 1 } },
      /^meta\.k+/,
    ],
    [
      'meta string over 512 characters',
      'POST /nodes',
      { name: 'n', meta: { zone: 'z'.repeat(513) } },
      'meta.zone',
    ],
    ['meta deeper than 4', 'POST /nodes', { name: 'n', meta: deepMeta }, 'meta.a.b.c.d'],
    ['heartbeat meta too deep', 'POST /nodes/n/heartbeat', { meta: deepMeta }, 'meta.a.b.c.d'],
    ['link meta over 64 keys', 'POST /links', { ...pair, meta: meta65 }, 'meta'],
    [
      'group meta string too long',
      'POST /groups',
      { name: 'g', meta: { note: 'x'.repeat(513) } },
      'meta.note',
    ],
    [
      'capability meta too deep',
      'PUT /nodes/n/capabilities/gpu',
      { meta: deepMeta },
      'meta.a.b.c.d',
    ],

    // Numbers out of range, and strings where numbers belong.
    ['negative cpu load', 'POST /nodes/n/heartbeat', { cpu_load: -0.1 }, 'cpu_load'],
    ['negative memory', 'POST /nodes/n/heartbeat', { mem_used_mb: -1 }, 'mem_used_mb'],
    ['negative latency', 'POST /nodes/n/heartbeat', { latency_ms: -5 }, 'latency_ms'],
    ['negative link bandwidth', 'POST /links', { ...pair, bandwidth_mbps: -1 }, 'bandwidth_mbps'],
    ['NaN cpu load', 'POST /nodes/n/heartbeat', { cpu_load: 'NaN' }, 'cpu_load'],
    ['Infinity as memory', 'POST /nodes/n/heartbeat', { mem_used_mb: 'Infinity' }, 'mem_used_mb'],
    ['numeric string latency', 'POST /nodes/n/heartbeat', { latency_ms: '3' }, 'latency_ms'],
    [
      'NaN heartbeat interval',
      'POST /nodes',
      { name: 'n', heartbeat_interval_ms: 'NaN' },
      'heartbeat_interval_ms',
    ],
    ['overflowing cpu load', 'POST /nodes/n/heartbeat', '{"cpu_load": 1e400}', 'cpu_load'],
    ['NaN link weight', 'POST /links', { ...pair, weight: 'NaN' }, 'weight'],
    ['weight 1.5 on create', 'POST /links', { ...pair, weight: 1.5 }, 'weight'],
    ['weight 1.5 on patch', `PATCH /links/${unknownUuid}`, { weight: 1.5 }, 'weight'],
    [
      'weight 1.5 when online',
      'POST /nodes/n/online',
      { remote_node_id: 'm', weight: 1.5 },
      'weight',
    ],
    [
      'interval under 100 ms',
      'POST /nodes',
      { name: 'n', heartbeat_interval_ms: 99 },
      'heartbeat_interval_ms',
    ],
    [
      'interval over an hour',
      'POST /nodes',
      { name: 'n', heartbeat_interval_ms: 3_600_001 },
      'heartbeat_interval_ms',
    ],
    [
      'close reason too long',
      `POST /links/${unknownUuid}/close`,
      { reason: 'r'.repeat(513) },
      'reason',
    ],

    // Query parameters out of range.
    ['limit of 0', 'GET /nodes?limit=0', undefined, 'limit'],
    ['limit of 1001', 'GET /nodes?limit=1001', undefined, 'limit'],
    ['links limit of 0', 'GET /links?limit=0', undefined, 'limit'],
    ['events limit of 1001', 'GET /events?limit=1001', undefined, 'limit'],
    ['negative since', 'GET /events?since=-1', undefined, 'since'],
    ['fractional since', 'GET /events?since=1.5', undefined, 'since'],
    ['wait over 60 seconds', 'GET /events?wait=61', undefined, 'wait'],
    ['history of 0 minutes', 'GET /nodes/n/heartbeats?minutes=0', undefined, 'minutes'],
    ['cursor not from API', 'GET /nodes?cursor=not-a-cursor', undefined, 'cursor'],
    ['empty capability filter', 'GET /nodes?capability=', undefined, 'capability'],
  ];

  const rejectedCases: [ErrorCode, RejectedCase[]][] = [
    [
      'TL_ERR_MALFORMED_JSON',
      [
        ['truncated JSON', 'POST /nodes', '{"name": "n",'],
        ['single-quoted JSON', 'POST /links', "{'node_id': 'n'}"],
        ['empty JSON body', 'POST /nodes', '', jsonType],
        ['empty JSON batch body', 'POST /heartbeats', '', jsonType],
      ],
    ],
    [
      'TL_ERR_BODY_TOO_LARGE',
      [
        ['body over 64 KiB', 'POST /nodes', `{"name":"n"}${' '.repeat(64 * 1024)}`],
        ['meta over 64 KiB', 'POST /groups', { name: 'g', meta: { blob: 'b'.repeat(70_000) } }],
      ],
    ],
    [
      'TL_ERR_UNSUPPORTED_MEDIA_TYPE',
      [
        ['plain text body', 'POST /nodes', 'name=n', { 'content-type': 'text/plain' }],
        [
          'form body',
          'POST /nodes',
          'name=n',
          { 'content-type': 'application/x-www-form-urlencoded' },
        ],
        [
          'octet-stream body',
          'POST /heartbeats',
          'x',
          { 'content-type': 'application/octet-stream' },
        ],
        ['XML body', 'PUT /nodes/n/status', '<status/>', { 'content-type': 'application/xml' }],
      ],
    ],
    [
      'TL_ERR_ROUTE_NOT_FOUND',
      [
        ['unknown API path', 'GET /widgets', undefined],
        ['unknown method on nodes', 'PATCH /nodes', {}],
        ['DELETE on graph', 'DELETE /graph', undefined],
        ['unknown nested path', 'GET /nodes/n/widgets', undefined],
      ],
    ],
  ];

  /**
   * Registers nodes n and m and group g, sends a request line such as `POST /nodes`, and checks
   * that the request wrote no event.
   */
  async function sendRejected(
    request: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse> {
    await register('n');
    await register('m');
    await createGroup('g');
    const [method = '', path = ''] = request.split(' ');
    const reply = await call(method, path, body, headers);
    const events = expectStatus<EventPage>(await call('GET', '/events?since=0'), 200);
    expect(events.next_seq).toBe(3);
    return reply;
  }

  it.each(invalidCases)('%s', async (_name, request, body, field) => {
    expectProblem(await sendRejected(request, body), 'TL_ERR_VALIDATION', field);
  });

  for (const [code, rejected] of rejectedCases) {
    it.each(rejected)(`%s is ${code}`, async (_name, request, body, headers) => {
      expectProblem(await sendRejected(request, body, headers), code);
    });
  }

  it('unknown path outside prefix', async () => {
    expectProblem(await server().request('GET', '/widgets'), 'TL_ERR_ROUTE_NOT_FOUND');
    expectProblem(await server().request('POST', '/api/other', {}), 'TL_ERR_ROUTE_NOT_FOUND');
  });

  it('invalid params name each field', async () => {
    const body = { name: 'has space', role: 'boss', meta: 'zone-a', colour: 1 };
    const problem = expectProblem(await call('POST', '/nodes', body), 'TL_ERR_VALIDATION');
    const names = (problem.invalid_params ?? []).map((param) => param.name).sort();
    expect(names).toEqual(['colour', 'meta', 'name', 'role']);
  });

  it('malformed percent-encoding is a problem', async () => {
    expectClientProblem(await call('GET', '/nodes/%E0%A4%A'));
  });

  const nulCases: [string, string, unknown][] = [
    ['node meta value', 'POST /nodes', { name: 'x', meta: { zone: 'a\u0000b' } }],
    ['node meta key', 'POST /nodes', { name: 'x', meta: { 'k\u0000': 'v' } }],
    ['node did', 'POST /nodes', { name: 'x', did: 'did\u0000' }],
    ['node instance_id', 'POST /nodes', { name: 'x', instance_id: 'i\u0000' }],
    ['heartbeat meta', 'POST /nodes/n/heartbeat', { meta: { note: '\u0000' } }],
    ['link node_id', 'POST /links', { node_id: 'n\u0000', remote_node_id: 'm' }],
    ['node path', 'GET /nodes/n%00', undefined],
    ['group path', 'GET /groups/g%00', undefined],
    ['capability filter', 'GET /nodes?capability=gpu%00', undefined],
    ['links node filter', 'GET /links?node_id=n%00', undefined],
    ['graph group filter', 'GET /graph?group=g%00', undefined],
  ];

  it.each(nulCases)('NUL character in %s', async (_where, request, body) => {
    expectClientProblem(await sendRejected(request, body));
  });

  it('NUL character fails batch item', async () => {
    await register('n');
    const body = { heartbeats: [{ node_id: 'n\u0000' }, { node_id: 'n' }] };
    const reply = expectStatus<{ results: HeartbeatResult[] }>(
      await call('POST', '/heartbeats', body),
      200,
    );
    expect(reply.results.map((result) => result.ok)).toEqual([false, true]);
  });
});

describe('request hardening', () => {
  it('rejects lone surrogates in text', async () => {
    const body = '{"name": "sur", "did": "\\udfff"}';
    expectProblem(await call('POST', '/nodes', body), 'TL_ERR_VALIDATION', 'did');
    const cursor = Buffer.from('{"after": "\\ud800"}').toString('base64url');
    expectProblem(await call('GET', `/nodes?cursor=${cursor}`), 'TL_ERR_VALIDATION', 'cursor');
  });

  it('rejects prototype keys by name', async () => {
    const body = '{"name": "x", "meta": {"__proto__": {"polluted": true}}}';
    expectProblem(await call('POST', '/nodes', body), 'TL_ERR_VALIDATION', '__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers oversized headers with a problem', async () => {
    const response = await call('GET', `/nodes?x=${'a'.repeat(20_000)}`);
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((response.body as Problem).code).toBe('TL_ERR_HEADERS_TOO_LARGE');
  });

  it('rejects a query on routes without one', async () => {
    await register('kept');
    expectProblem(await call('DELETE', '/nodes/kept?force=1'), 'TL_ERR_VALIDATION', 'force');
    expectStatus(await call('GET', '/nodes/kept'), 200);
  });

  it('serves the page with a query string', async () => {
    const response = await testServer!.request('GET', '/?node=worker-1&debug=1');
    expect(response.status).toBe(200);
  });

  it('rejects tree with other filters', async () => {
    expectProblem(await call('GET', '/groups?tree=true&type=zone'), 'TL_ERR_VALIDATION', 'type');
  });

  it('rejects link fields without a remote', async () => {
    await register('lonely');
    const response = await call('POST', '/nodes/lonely/online', { weight: 0.5 });
    expectProblem(response, 'TL_ERR_VALIDATION', 'weight');
  });

  it('writes no event for an empty group patch', async () => {
    expectStatus(await call('POST', '/groups', { name: 'quiet' }), 201);
    const before = expectStatus<{ next_seq: number }>(await call('GET', '/events?since=0'), 200);
    expectStatus(await call('PATCH', '/groups/quiet', {}), 200);
    expectStatus(await call('PATCH', '/groups/quiet', { group_type: 'custom' }), 200);
    const after = expectStatus<{ events: unknown[] }>(
      await call('GET', `/events?since=${before.next_seq}`),
      200,
    );
    expect(after.events).toEqual([]);
  });

  it('ends long polls when the server closes', async () => {
    const own = await startTestServer();
    const poll = own.request('GET', `${prefix}/events?since=0&wait=60`);
    // The poll is waiting once the registry has a commit listener for it.
    await new Promise<void>((resolve) => {
      const check = () => {
        if (own.registry.context['commitListeners'].size > 0) resolve();
        else setImmediate(check);
      };
      check();
    });
    await own.close();
    const response = await poll;
    expect(response.status).toBe(200);
  });
});
