// Tests of the agent against the real registry server on 127.0.0.1, with PGlite in memory or in a
// temporary data directory. Every wait is for an agent event, never for a fixed time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parseServerConfig, type ServerOptions } from '../config.js';
import { silentLogger } from '../log.js';
import { startServer, type RunningServer } from '../server.js';
import { Agent, type AgentEvents, type AgentOptions } from './agent.js';

interface GraphNode {
  id: string;
  name: string;
  status: string;
  cpu_load: number | null;
  mem_used_mb: number | null;
  groups: string[];
  capabilities: Record<string, string | null>;
}

interface GraphLink {
  source: string;
  target: string;
  session_type: string;
  status: string;
}

interface Graph {
  nodes: GraphNode[];
  links: GraphLink[];
}

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Starts a registry server on 127.0.0.1. The environment is left out on purpose, so that a
 * DATABASE_URL or PORT set for other tests cannot change which store or port this one uses.
 */
async function startRegistry(
  store: ServerOptions = { memory: true },
  port = '0',
): Promise<RunningServer> {
  const config = parseServerConfig({ ...store, port }, {});
  const server = await startServer(config, silentLogger());
  cleanups.push(() => server.close());
  return server;
}

async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'thunderlink-agent-e2e-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts an agent with a short interval and short back-off, and stops it after the test. */
function startAgent(server: RunningServer, options: Partial<AgentOptions> = {}): Agent {
  const agent = new Agent({
    serverUrl: server.url,
    name: 'agent-e2e',
    intervalMs: 100,
    backoff: { baseMs: 20, capMs: 100 },
    ...options,
  });
  const running = agent.start();
  running.catch(() => undefined);
  cleanups.push(async () => {
    await agent.stop();
    await running.catch(() => undefined);
  });
  return agent;
}

/**
 * Resolves with the arguments of the next `count` emissions of `event`, and rejects when the agent
 * stops on a fatal error first, so that a broken agent fails the test at once.
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
    agent.on('error', fail);
  });
}

async function request(
  server: RunningServer,
  method: string,
  path: string,
  body?: object,
): Promise<Response> {
  return fetch(`${server.url}/api/thunderlink${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function readGraph(server: RunningServer): Promise<Graph> {
  const response = await request(server, 'GET', '/graph');
  expect(response.status).toBe(200);
  return (await response.json()) as Graph;
}

function graphNode(graph: Graph, name: string): GraphNode | undefined {
  return graph.nodes.find((node) => node.name === name);
}

describe('Agent against the registry', () => {
  it('registers and heartbeats online', async () => {
    const server = await startRegistry();
    const agent = startAgent(server);
    const heartbeats = await nextEvents(agent, 'heartbeat', 2);
    const [[first], [second]] = heartbeats as [AgentEvents['heartbeat'], AgentEvents['heartbeat']];

    expect(first?.node_id).toBe(agent.nodeId);
    expect(second?.latency_ms).toBe(first?.round_trip_ms);
    const node = graphNode(await readGraph(server), 'agent-e2e');
    expect(node?.id).toBe(agent.nodeId);
    expect(node?.status).toBe('online');
    expect(node?.mem_used_mb).toBeGreaterThan(0);
    expect(typeof node?.cpu_load).toBe('number');

    const response = await request(server, 'GET', '/nodes/agent-e2e');
    expect(response.status).toBe(200);
    const stored = (await response.json()) as {
      heartbeat_interval_ms: number;
      instance_id: string;
    };
    expect(stored.heartbeat_interval_ms).toBe(100);
    expect(stored.instance_id).toBe(agent.instanceId);
  });

  it('advertises capabilities, groups and links', async () => {
    const server = await startRegistry();
    const created = await request(server, 'POST', '/nodes', { name: 'db-1' });
    expect(created.status).toBe(201);
    const remote = (await created.json()) as { id: string };
    const agent = startAgent(server, {
      role: 'edge',
      links: ['db-1'],
      capabilities: { gpu: 'true', zone: 'a' },
      groups: ['us-west'],
    });
    await nextEvents(agent, 'heartbeat');

    const graph = await readGraph(server);
    const node = graphNode(graph, 'agent-e2e');
    expect(node?.status).toBe('online');
    expect(node?.capabilities).toEqual({ gpu: 'true', zone: 'a' });
    expect(node?.groups).toEqual(['us-west']);
    expect(graph.links).toHaveLength(1);
    const [link] = graph.links;
    expect([link?.source, link?.target].sort()).toEqual([agent.nodeId, remote.id].sort());
    expect(link?.session_type).toBe('cluster');
    expect(link?.status).toBe('established');
  });

  it('joins a group that exists', async () => {
    const server = await startRegistry();
    const group = await request(server, 'POST', '/groups', { name: 'us-west' });
    expect(group.status).toBe(201);
    const agent = startAgent(server, { groups: ['us-west'] });
    await nextEvents(agent, 'heartbeat');

    const node = graphNode(await readGraph(server), 'agent-e2e');
    expect(node?.groups).toEqual(['us-west']);
  });

  it('keeps heartbeating across a restart', async () => {
    const dataDir = await temporaryDirectory();
    const first = await startRegistry({ dataDir });
    const agent = startAgent(first);
    let registrations = 0;
    agent.on('registered', () => void (registrations += 1));
    await nextEvents(agent, 'heartbeat');
    const nodeId = agent.nodeId;

    const retried = nextEvents(agent, 'retry');
    await first.close();
    const [[retry]] = (await retried) as [AgentEvents['retry']];
    expect(retry?.operation).toBe('heartbeat');

    const second = await startRegistry({ dataDir }, String(first.port));
    expect(second.port).toBe(first.port);
    const heartbeats = await nextEvents(agent, 'heartbeat', 2);

    expect(heartbeats.map(([heartbeat]) => heartbeat?.node_id)).toEqual([nodeId, nodeId]);
    expect(registrations).toBe(1);
    const node = graphNode(await readGraph(second), 'agent-e2e');
    expect(node?.id).toBe(nodeId);
    expect(node?.status).toBe('online');
  });

  it('stop leaves the node disconnected', async () => {
    const server = await startRegistry();
    const agent = startAgent(server);
    const stopped = nextEvents(agent, 'stopped');
    await nextEvents(agent, 'heartbeat');
    await agent.stop();
    await stopped;

    const node = graphNode(await readGraph(server), 'agent-e2e');
    expect(node?.id).toBe(agent.nodeId);
    expect(node?.status).toBe('disconnected');
  });

  it('registers again after deregistration', async () => {
    const server = await startRegistry();
    const agent = startAgent(server);
    await nextEvents(agent, 'heartbeat');
    const firstId = agent.nodeId;

    const registered = nextEvents(agent, 'registered');
    const deleted = await request(server, 'DELETE', `/nodes/${firstId}`);
    expect(deleted.status).toBe(204);
    const [[node, created]] = (await registered) as [AgentEvents['registered']];
    const [[heartbeat]] = (await nextEvents(agent, 'heartbeat')) as [AgentEvents['heartbeat']];

    expect(created).toBe(true);
    expect(node.id).not.toBe(firstId);
    expect(heartbeat?.node_id).toBe(node.id);
    const graph = await readGraph(server);
    expect(graph.nodes.map((n) => n.id)).not.toContain(firstId);
    expect(graphNode(graph, 'agent-e2e')?.id).toBe(node.id);
    expect(graphNode(graph, 'agent-e2e')?.status).toBe('online');
  });
});
