// Tests of the agent loop against a stand-in registry: a real HTTP server on 127.0.0.1 that keeps
// nodes, groups and links in memory, records every request and fails on request.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Agent,
  AgentFatalError,
  type AgentEvents,
  type AgentOptions,
  type HeartbeatSent,
} from './agent.js';

const prefix = '/api/thunderlink';

interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  authorization: string | undefined;
}

interface CannedReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** A raw body sent as text/plain in place of JSON. */
  text?: string;
}

interface StoredNode {
  id: string;
  name: string;
  role: string;
  status: string;
  heartbeat_interval_ms: number;
  instance_id: string | null;
}

/** A registry stand-in that implements just the routes that the agent calls. */
class FakeRegistry {
  readonly requests: RecordedRequest[] = [];
  readonly nodes = new Map<string, StoredNode>();
  readonly groups = new Map<string, Set<string>>();
  readonly links: Array<[string, string]> = [];
  url = '';
  private readonly cannedReplies: Array<{
    method: string;
    path: RegExp;
    remaining: number;
    reply: CannedReply;
  }> = [];
  private readonly server = http.createServer((request, response) => {
    void this.handle(request, response);
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Sends `reply` to the next `count` matching requests instead of routing them. */
  failNext(method: string, path: RegExp, count: number, reply: CannedReply): void {
    this.cannedReplies.push({ method, path, remaining: count, reply });
  }

  addNode(name: string): StoredNode {
    const node: StoredNode = {
      id: randomUUID(),
      name,
      role: 'worker',
      status: 'connecting',
      heartbeat_interval_ms: 5000,
      instance_id: null,
    };
    this.nodes.set(node.id, node);
    return node;
  }

  deregister(name: string): void {
    const node = this.findNode(name);
    if (node) this.nodes.delete(node.id);
  }

  findNode(reference: string): StoredNode | undefined {
    return this.nodes.get(reference) ?? [...this.nodes.values()].find((n) => n.name === reference);
  }

  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
    const method = request.method ?? '';
    const path = decodeURI((request.url ?? '').slice(prefix.length));
    const authorization = request.headers.authorization;
    this.requests.push({ method, path, body, authorization });

    const canned = this.cannedReplies.find(
      (c) => c.remaining > 0 && c.method === method && c.path.test(path),
    );
    if (canned) {
      canned.remaining -= 1;
      sendCanned(response, canned.reply);
      return;
    }
    const [status, reply] = this.route(method, path, body ?? {});
    send(response, status, reply);
  }

  private route(method: string, path: string, body: Record<string, unknown>): [number, unknown] {
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/nodes') return this.ensureNode(body);
    if ((match = /^\/nodes\/([^/]+)\/(heartbeat|online|status|capabilities\/.+)$/.exec(path))) {
      const node = this.findNode(match[1] ?? '');
      if (!node) return nodeNotFound(match[1]);
      if (match[2] === 'online') return this.markOnline(node, body);
      if (match[2] === 'status') node.status = String(body.status);
      return [200, { node_id: node.id, ...body }];
    }
    if (method === 'POST' && path === '/groups') {
      const name = String(body.name);
      if (this.groups.has(name)) {
        return problem(409, 'TL_ERR_GROUP_EXISTS', `group ${name} already exists`);
      }
      this.groups.set(name, new Set());
      return [201, { id: randomUUID(), name, group_type: 'custom' }];
    }
    if (method === 'PUT' && (match = /^\/groups\/([^/]+)\/members\/([^/]+)$/.exec(path))) {
      const members = this.groups.get(match[1] ?? '');
      const node = this.findNode(match[2] ?? '');
      if (!members) return problem(404, 'TL_ERR_GROUP_NOT_FOUND', `no group ${match[1]}`);
      if (!node) return nodeNotFound(match[2]);
      members.add(node.id);
      return [200, { node_id: node.id, group: match[1] }];
    }
    return problem(404, 'TL_ERR_ROUTE_NOT_FOUND', `no route ${method} ${path}`);
  }

  private ensureNode(body: Record<string, unknown>): [number, unknown] {
    const existing = this.findNode(String(body.name));
    const node = existing ?? this.addNode(String(body.name));
    node.role = typeof body.role === 'string' ? body.role : node.role;
    node.heartbeat_interval_ms = Number(body.heartbeat_interval_ms);
    node.instance_id = String(body.instance_id);
    return [existing ? 200 : 201, node];
  }

  private markOnline(node: StoredNode, body: Record<string, unknown>): [number, unknown] {
    if (body.remote_node_id !== undefined) {
      const remote = this.findNode(String(body.remote_node_id));
      if (!remote) return nodeNotFound(String(body.remote_node_id));
      this.links.push([node.name, remote.name]);
    }
    node.status = 'online';
    return [200, node];
  }
}

function problem(status: number, code: string, detail: string, extra = {}): [number, unknown] {
  return [status, { type: 'about:blank', title: code, status, detail, code, ...extra }];
}

function nodeNotFound(reference: string | undefined): [number, unknown] {
  return problem(404, 'TL_ERR_NODE_NOT_FOUND', `no node ${reference}`);
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const type = status >= 400 ? 'application/problem+json' : 'application/json';
  response.writeHead(status, { 'content-type': type });
  response.end(JSON.stringify(body));
}

function sendCanned(response: http.ServerResponse, reply: CannedReply): void {
  if (reply.text !== undefined) {
    response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
    response.end(reply.text);
    return;
  }
  response.writeHead(reply.status, {
    'content-type': 'application/problem+json',
    ...reply.headers,
  });
  response.end(JSON.stringify(reply.body ?? {}));
}

/** Creates a fake monotonic clock that moves only when the agent sleeps or a test moves it. */
function fakeTimers() {
  const timers = {
    nowMs: 0,
    sleeps: [] as number[],
    now: () => timers.nowMs,
    sleep: async (ms: number): Promise<void> => {
      timers.sleeps.push(ms);
      timers.nowMs += ms;
      // Yields to the event loop so that a test can stop the agent between two heartbeats.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return timers;
}

function captureLogs(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line)) };
  return { logger: pino({ level: 'debug' }, destination), lines };
}

/**
 * Resolves with the arguments of the next `count` emissions of `event`, and rejects when the agent
 * stops on a fatal error first, so that a broken agent fails the test at once instead of timing out.
 */
function nextEvents<K extends keyof AgentEvents>(
  agent: Agent,
  event: K,
  count = 1,
): Promise<AgentEvents[K][]> {
  return new Promise((resolve, reject) => {
    const seen: AgentEvents[K][] = [];
    const fail = (error: Error): void => reject(error);
    const listener = (...args: AgentEvents[K]): void => {
      seen.push(args);
      if (seen.length < count) return;
      agent.off(event, listener as never);
      agent.off('error', fail);
      resolve(seen);
    };
    agent.on(event, listener as never);
    if (event !== 'error') agent.on('error', fail);
  });
}

const metrics = { cpu_load: 0.25, mem_used_mb: 512 };
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startRegistry(): Promise<FakeRegistry> {
  const registry = new FakeRegistry();
  await registry.start();
  cleanups.push(() => registry.close());
  return registry;
}

function createAgent(registry: FakeRegistry, options: Partial<AgentOptions> = {}) {
  const timers = fakeTimers();
  const logs = captureLogs();
  const agent = new Agent({
    serverUrl: registry.url,
    name: 'worker-1',
    intervalMs: 1000,
    logger: logs.logger,
    sleep: timers.sleep,
    now: timers.now,
    random: () => 0.5,
    readMetrics: async () => metrics,
    ...options,
  });
  const run = () => {
    const running = agent.start();
    running.catch(() => undefined);
    return running;
  };
  cleanups.push(() => agent.stop());
  return { agent, timers, logs, run };
}

function messages(lines: Array<Record<string, unknown>>, level: number): string[] {
  return lines.filter((line) => line.level === level).map((line) => String(line.msg));
}

const debug = 20;
const info = 30;
const warn = 40;
const error = 50;

describe('Agent registration', () => {
  it('registers with capabilities and groups', async () => {
    const registry = await startRegistry();
    const { agent, run } = createAgent(registry, {
      role: 'edge',
      capabilities: { gpu: 'true', zone: 'a' },
      groups: ['us-west'],
    });
    const registered = nextEvents(agent, 'registered');
    void run();
    const [[node, created]] = (await registered) as [AgentEvents['registered']];

    expect(created).toBe(true);
    expect(agent.nodeId).toBe(node.id);
    const paths = registry.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual([
      'POST /nodes',
      `PUT /nodes/${node.id}/capabilities/gpu`,
      `PUT /nodes/${node.id}/capabilities/zone`,
      'POST /groups',
      `PUT /groups/us-west/members/${node.id}`,
      `POST /nodes/${node.id}/online`,
    ]);
    expect(registry.requests[0]?.body).toEqual({
      name: 'worker-1',
      role: 'edge',
      heartbeat_interval_ms: 1000,
      instance_id: agent.instanceId,
    });
    expect(agent.instanceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
    expect(registry.requests[1]?.body).toEqual({ value: 'true' });
    expect(registry.requests[2]?.body).toEqual({ value: 'a' });
    expect(registry.requests[3]?.body).toEqual({ name: 'us-west' });
    expect(registry.requests[5]?.body).toEqual({});
    expect(registry.groups.get('us-west')?.has(node.id)).toBe(true);
  });

  it('omits the role when none is set', async () => {
    const registry = await startRegistry();
    const { agent, run } = createAgent(registry);
    const registered = nextEvents(agent, 'registered');
    void run();
    await registered;
    expect(registry.requests[0]?.body).not.toHaveProperty('role');
  });

  it('accepts a group that already exists', async () => {
    const registry = await startRegistry();
    registry.groups.set('us-west', new Set());
    const { agent, run } = createAgent(registry, { groups: ['us-west'] });
    const registered = nextEvents(agent, 'registered');
    void run();
    const [[node]] = (await registered) as [AgentEvents['registered']];

    expect(registry.requestsTo('POST', /^\/groups$/)).toHaveLength(1);
    expect(registry.requestsTo('PUT', /^\/groups\/us-west\/members\//)).toHaveLength(1);
    expect(registry.groups.get('us-west')?.has(node.id)).toBe(true);
  });

  it('reports an update as not created', async () => {
    const registry = await startRegistry();
    registry.addNode('worker-1');
    const { agent, run } = createAgent(registry);
    const registered = nextEvents(agent, 'registered');
    void run();
    const [[, created]] = (await registered) as [AgentEvents['registered']];
    expect(created).toBe(false);
  });

  it('links to known nodes without an empty online', async () => {
    const registry = await startRegistry();
    registry.addNode('db-1');
    const { agent, run } = createAgent(registry, { links: ['db-1'] });
    const registered = nextEvents(agent, 'registered');
    void run();
    const [[node]] = (await registered) as [AgentEvents['registered']];

    const online = registry.requestsTo('POST', /\/online$/);
    expect(online.map((r) => r.body)).toEqual([{ remote_node_id: 'db-1' }]);
    expect(registry.links).toEqual([['worker-1', 'db-1']]);
    expect(registry.findNode(node.id)?.status).toBe('online');
  });

  it('defers a link to an unknown node', async () => {
    const registry = await startRegistry();
    const { agent, logs, run } = createAgent(registry, { links: ['db-1'], linkRetryMs: 2000 });
    const registered = nextEvents(agent, 'registered');
    void run();
    await registered;

    const online = registry.requestsTo('POST', /\/online$/);
    expect(online.map((r) => r.body)).toEqual([{ remote_node_id: 'db-1' }, {}]);
    expect(messages(logs.lines, warn)).toEqual(['remote node not found, will retry the link']);

    registry.addNode('db-1');
    await nextEvents(agent, 'heartbeat', 4);
    expect(registry.links).toEqual([['worker-1', 'db-1']]);
    expect(messages(logs.lines, info)).toContain('link established');
  });

  it('sends the bearer token and never logs it', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /^\/nodes$/, 1, { status: 503, body: { detail: 'busy' } });
    const { agent, logs, run } = createAgent(registry, { token: 'tl_secret_token_value' });
    const heartbeats = nextEvents(agent, 'heartbeat');
    void run();
    await heartbeats;
    await agent.stop();

    for (const request of registry.requests) {
      expect(request.authorization).toBe('Bearer tl_secret_token_value');
    }
    expect(JSON.stringify(logs.lines)).not.toContain('tl_secret_token_value');
  });

  it('registers again when a capability 404s', async () => {
    const registry = await startRegistry();
    registry.failNext('PUT', /\/capabilities\//, 1, {
      status: 404,
      body: { code: 'TL_ERR_NODE_NOT_FOUND', detail: 'no node' },
    });
    const { agent, logs, run } = createAgent(registry, { capabilities: { gpu: 'true' } });
    const registered = nextEvents(agent, 'registered');
    void run();
    await registered;

    expect(registry.requestsTo('POST', /^\/nodes$/)).toHaveLength(2);
    expect(registry.requestsTo('PUT', /\/capabilities\/gpu$/)).toHaveLength(2);
    expect(messages(logs.lines, warn)).toEqual(['registration lost, registering again']);
  });
});

describe('Agent heartbeats', () => {
  it('heartbeats metrics and the previous round trip', async () => {
    const registry = await startRegistry();
    const { agent, run } = createAgent(registry);
    const heartbeats = nextEvents(agent, 'heartbeat', 3);
    void run();
    const events = (await heartbeats).map(([heartbeat]) => heartbeat as HeartbeatSent);

    const bodies = registry.requestsTo('POST', /\/heartbeat$/).map((r) => r.body);
    expect(bodies[0]).toEqual({
      status: 'online',
      cpu_load: 0.25,
      mem_used_mb: 512,
      instance_id: agent.instanceId,
    });
    expect(bodies[1]).toMatchObject({ status: 'online', instance_id: agent.instanceId });
    expect(bodies[1]?.latency_ms).toBe(events[0]?.round_trip_ms);
    expect(bodies[2]?.latency_ms).toBe(events[1]?.round_trip_ms);
    expect(events[0]).not.toHaveProperty('latency_ms');
    expect(events[1]?.latency_ms).toBe(events[0]?.round_trip_ms);
  });

  it('keeps a fixed cadence', async () => {
    const registry = await startRegistry();
    const timers = fakeTimers();
    // Heartbeat round trips take 300, 2500, 300, … milliseconds of the fake clock.
    const roundTrips = [300, 2500];
    const slowFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).endsWith('/heartbeat')) timers.nowMs += roundTrips.shift() ?? 300;
      return response;
    };
    const { agent, run } = createAgent(registry, {
      fetch: slowFetch,
      now: timers.now,
      sleep: timers.sleep,
    });
    const heartbeats = nextEvents(agent, 'heartbeat', 3);
    void run();
    const events = (await heartbeats).map(([heartbeat]) => heartbeat as HeartbeatSent);
    await agent.stop();

    // After 2500 ms the slots at 1000 and 2000 ms are gone, so the next heartbeat waits for 4000.
    expect(timers.sleeps.slice(0, 3)).toEqual([700, 500, 700]);
    expect(events.map((event) => event.round_trip_ms)).toEqual([300, 2500, 300]);
    expect(events[2]?.latency_ms).toBe(2500);
  });

  it('registers again after a 404', async () => {
    const registry = await startRegistry();
    const { agent, logs, run } = createAgent(registry, { groups: ['edge'] });
    const first = nextEvents(agent, 'registered');
    void run();
    const [[firstNode]] = (await first) as [AgentEvents['registered']];
    await nextEvents(agent, 'heartbeat', 2);

    const second = nextEvents(agent, 'registered');
    registry.deregister('worker-1');
    const [[secondNode, created]] = (await second) as [AgentEvents['registered']];
    await nextEvents(agent, 'heartbeat');

    expect(created).toBe(true);
    expect(secondNode.id).not.toBe(firstNode.id);
    expect(agent.nodeId).toBe(secondNode.id);
    expect(registry.requestsTo('POST', /^\/nodes$/)).toHaveLength(2);
    expect(registry.groups.get('edge')?.has(secondNode.id)).toBe(true);
    expect(
      registry.requestsTo('POST', new RegExp(`^/nodes/${secondNode.id}/heartbeat$`)).length,
    ).toBeGreaterThan(0);
    expect(messages(logs.lines, warn)).toContain('node not found on heartbeat, registering again');
  });

  it('stops on a 403 heartbeat', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /\/heartbeat$/, 1, {
      status: 403,
      body: { code: 'TL_ERR_FORBIDDEN', detail: 'the token may not heartbeat worker-1' },
    });
    const { agent, run } = createAgent(registry);
    const failure = await run().catch((caught: unknown) => caught);

    expect(failure).toBeInstanceOf(AgentFatalError);
    expect((failure as AgentFatalError).status).toBe(403);
    expect((failure as AgentFatalError).message).toContain('Use a token whose role');
    await agent.stop();
    expect(registry.requestsTo('PUT', /\/status$/)).toHaveLength(0);
  });
});

describe('Agent retries', () => {
  it('waits for Retry-After on 503 and recovers', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /^\/nodes$/, 3, {
      status: 503,
      headers: { 'retry-after': '1' },
      body: { code: 'TL_ERR_STORE_UNAVAILABLE', detail: 'the store is unavailable' },
    });
    const { agent, timers, logs, run } = createAgent(registry);
    const retries = nextEvents(agent, 'retry', 3);
    const registered = nextEvents(agent, 'registered');
    void run();
    const retryEvents = (await retries).map(([retry]) => retry);
    await registered;

    // The jittered back-off (250, 500, 1000 ms with random 0.5) is below the 1 s Retry-After.
    expect(timers.sleeps.slice(0, 3)).toEqual([1000, 1000, 1000]);
    expect(retryEvents.map((retry) => retry?.delay_ms)).toEqual([1000, 1000, 1000]);
    expect(retryEvents.map((retry) => retry?.attempt)).toEqual([0, 1, 2]);
    expect(retryEvents[0]?.error.message).toContain('503 TL_ERR_STORE_UNAVAILABLE');
    expect(registry.requestsTo('POST', /^\/nodes$/)).toHaveLength(4);

    expect(messages(logs.lines, warn)).toEqual(['registry request failed, retrying']);
    const repeats = messages(logs.lines, debug).filter((msg) => msg === 'request failed again');
    expect(repeats).toHaveLength(2);
    const recovery = logs.lines.find((line) => line.msg === 'registry reachable again');
    expect(recovery?.failures).toBe(3);
    const failure = logs.lines.find((line) => line.level === warn);
    expect((failure?.err as { message?: string }).message).toContain('503');
  });

  it('measures a Retry-After date from the Date header', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /^\/nodes$/, 1, {
      status: 503,
      headers: {
        date: 'Thu, 01 Jan 2026 12:00:00 GMT',
        'retry-after': 'Thu, 01 Jan 2026 12:00:05 GMT',
      },
    });
    const { agent, timers, run } = createAgent(registry);
    const registered = nextEvents(agent, 'registered');
    void run();
    await registered;
    expect(timers.sleeps[0]).toBe(5000);
  });

  it('backs off on 429 without Retry-After', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /\/heartbeat$/, 2, { status: 429, body: { detail: 'slow down' } });
    const { agent, timers, run } = createAgent(registry);
    const heartbeat = nextEvents(agent, 'heartbeat');
    void run();
    await heartbeat;
    expect(timers.sleeps.slice(0, 2)).toEqual([250, 500]);
    expect(registry.requestsTo('POST', /\/heartbeat$/)).toHaveLength(3);
  });

  it('retries connection errors', async () => {
    const registry = await startRegistry();
    const closed = new FakeRegistry();
    await closed.start();
    await closed.close();
    let redirected = 0;
    const flakyFetch: typeof fetch = (input, init) => {
      if (redirected >= 2) return fetch(input, init);
      redirected += 1;
      return fetch(String(input).replace(registry.url, closed.url), init);
    };
    const { agent, logs, run } = createAgent(registry, { fetch: flakyFetch });
    const retries = nextEvents(agent, 'retry', 2);
    const registered = nextEvents(agent, 'registered');
    void run();
    const retryEvents = (await retries).map(([retry]) => retry);
    await registered;

    expect(retryEvents[0]?.error.message).toContain('ECONNREFUSED');
    expect(messages(logs.lines, warn)).toEqual(['registry request failed, retrying']);
    expect(messages(logs.lines, info)).toContain('registry reachable again');
  });

  it('logs again when the failure changes', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /^\/nodes$/, 1, { status: 503, body: {} });
    registry.failNext('POST', /^\/nodes$/, 1, { status: 502, body: {} });
    const { agent, logs, run } = createAgent(registry);
    const registered = nextEvents(agent, 'registered');
    void run();
    await registered;

    const warnings = logs.lines.filter((line) => line.level === warn);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]?.previous_failures).toBe(1);
  });
});

describe('Agent fatal errors', () => {
  it('rejects start on a 400 registration', async () => {
    const registry = await startRegistry();
    const invalidParams = [{ name: 'name', reason: 'must not be shaped like a UUID' }];
    registry.failNext('POST', /^\/nodes$/, 1, {
      status: 400,
      body: {
        type: 'about:blank',
        title: 'Invalid request',
        status: 400,
        code: 'TL_ERR_VALIDATION',
        detail: 'name must not be shaped like a UUID',
        invalid_params: invalidParams,
      },
    });
    const { agent, logs, run } = createAgent(registry);
    const errors = nextEvents(agent, 'error');
    const failure = await run().catch((caught: unknown) => caught);

    expect(failure).toBeInstanceOf(AgentFatalError);
    const fatal = failure as AgentFatalError;
    expect(fatal.status).toBe(400);
    expect(fatal.code).toBe('TL_ERR_VALIDATION');
    expect(fatal.invalidParams).toEqual(invalidParams);
    expect(fatal.message).toContain('name must not be shaped like a UUID');
    expect(fatal.message).toContain('Fix the agent options');
    expect((await errors)[0]?.[0]).toBe(fatal);

    const logged = logs.lines.find((line) => line.level === error);
    expect(logged?.msg).toBe('agent stopped on a fatal error');
    expect(logged?.invalid_params).toEqual(invalidParams);
    expect(String((logged?.err as { message?: string }).message)).toContain('shaped like a UUID');
    expect(registry.requests).toHaveLength(1);
  });

  it('rejects start when the server is not a registry', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /^\/nodes$/, 1, { status: 200, text: '<html>hello</html>' });
    const { run } = createAgent(registry);
    await expect(run()).rejects.toThrow(/returned no node record/);
  });

  it('rejects a missing route on registration', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /^\/nodes$/, 1, {
      status: 404,
      body: { code: 'TL_ERR_ROUTE_NOT_FOUND', detail: 'no route POST /nodes' },
    });
    const { run } = createAgent(registry);
    await expect(run()).rejects.toThrow(/points at a Thunderlink registry/);
  });

  it('rejects a link to itself', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /\/online$/, 1, {
      status: 400,
      body: { code: 'TL_ERR_SELF_LINK', detail: 'a node cannot link to itself' },
    });
    const { run } = createAgent(registry, { links: ['worker-1'] });
    await expect(run()).rejects.toMatchObject({
      code: 'TL_ERR_SELF_LINK',
      operation: 'link to worker-1',
    });
  });
});

describe('Agent stop', () => {
  it('marks the node disconnected', async () => {
    const registry = await startRegistry();
    const { agent, logs, run } = createAgent(registry);
    const heartbeat = nextEvents(agent, 'heartbeat');
    const stopped = nextEvents(agent, 'stopped');
    const running = run();
    const [[sent]] = (await heartbeat) as [AgentEvents['heartbeat']];
    await agent.stop();
    await running;
    await stopped;

    const last = registry.requests.at(-1);
    expect(last?.method).toBe('PUT');
    expect(last?.path).toBe(`/nodes/${sent.node_id}/status`);
    expect(last?.body).toEqual({ status: 'disconnected' });
    expect(registry.findNode(sent.node_id)?.status).toBe('disconnected');
    expect(messages(logs.lines, info)).toContain('node marked disconnected');

    const count = registry.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(registry.requests).toHaveLength(count);
  });

  it('interrupts a back-off wait', async () => {
    const registry = await startRegistry();
    registry.failNext('POST', /^\/nodes$/, 100, {
      status: 503,
      headers: { 'retry-after': '120' },
    });
    // A sleep that only ends when the agent aborts it, as a two-minute wait would.
    const sleep = (_ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    const { agent, run } = createAgent(registry, { sleep });
    const retry = nextEvents(agent, 'retry');
    const running = run();
    const [[scheduled]] = (await retry) as [AgentEvents['retry']];
    expect(scheduled.delay_ms).toBe(120_000);

    await agent.stop();
    await running;
    expect(registry.requests).toHaveLength(1);
  });

  it('interrupts the default sleep', async () => {
    const registry = await startRegistry();
    const agent = new Agent({
      serverUrl: registry.url,
      name: 'worker-1',
      intervalMs: 3_600_000,
      readMetrics: async () => metrics,
    });
    cleanups.push(() => agent.stop());
    const heartbeat = nextEvents(agent, 'heartbeat');
    const running = agent.start();
    await heartbeat;

    const started = performance.now();
    await agent.stop();
    await running;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(registry.requestsTo('PUT', /\/status$/)).toHaveLength(1);
  });

  it('resolves when the disconnect fails', async () => {
    const registry = await startRegistry();
    registry.failNext('PUT', /\/status$/, 1, { status: 503 });
    const { agent, logs, run } = createAgent(registry);
    const heartbeat = nextEvents(agent, 'heartbeat');
    const running = run();
    await heartbeat;
    await agent.stop();
    await running;

    expect(registry.requestsTo('PUT', /\/status$/)).toHaveLength(1);
    expect(messages(logs.lines, warn)).toContain('failed to mark the node disconnected');
  });

  it('resolves before start', async () => {
    const registry = await startRegistry();
    const { agent, run } = createAgent(registry);
    await agent.stop();
    await expect(run()).rejects.toThrow(/already started or stopped/);
    expect(registry.requests).toHaveLength(0);
  });
});

describe('Agent options', () => {
  it('rejects an invalid server URL', () => {
    expect(() => new Agent({ serverUrl: 'ftp://127.0.0.1' })).toThrow(/invalid server URL/);
    expect(() => new Agent({ serverUrl: 'not a url' })).toThrow(/invalid server URL/);
    expect(() => new Agent({ serverUrl: 'http://user:pw@127.0.0.1' })).toThrow(/credentials/);
  });

  it('rejects an interval out of range', () => {
    const serverUrl = 'http://127.0.0.1:1';
    expect(() => new Agent({ serverUrl, intervalMs: 50 })).toThrow(RangeError);
    expect(() => new Agent({ serverUrl, intervalMs: 3_600_001 })).toThrow(RangeError);
    expect(() => new Agent({ serverUrl, intervalMs: 1.5 })).toThrow(RangeError);
  });

  it('defaults the name to the host name', async () => {
    const { hostname } = await import('node:os');
    expect(new Agent({ serverUrl: 'http://127.0.0.1:1' }).name).toBe(hostname());
  });

  it('keeps a path prefix of the server URL', async () => {
    const registry = await startRegistry();
    const urls: string[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(String(input).replace('/registry/', '/'), init);
    };
    const { agent, run } = createAgent(registry, {
      serverUrl: `${registry.url}/registry/`,
      fetch: recordingFetch,
    });
    const registered = nextEvents(agent, 'registered');
    void run();
    await registered;
    expect(urls[0]).toBe(`${registry.url}/registry/api/thunderlink/nodes`);
  });
});
