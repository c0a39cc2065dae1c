// Tests of `thunderlink:graph` through the official `phoenix` client: the join reply in both
// modes, one test per push kind, and resuming. One server serves the file, and each test starts
// from an empty registry.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { defaultRetentionSettings } from '../liveness/settings.js';
import { runRetention } from '../registry/retention.js';

import type { Graph } from '../registry/model.js';
import {
  type StreamClient as Client,
  type StreamServer,
  StreamClient,
  canonicalGraph,
  fetchGraph,
  startStreamServer,
} from '../testing/stream.js';
import type { EventsReply, NodePush, SnapshotReply } from './messages.js';

let testServer: StreamServer | undefined;
const clients: Client[] = [];

function server(): StreamServer {
  if (!testServer) throw new Error('the stream server did not start; see the beforeAll error');
  return testServer;
}

async function connect(options: ConstructorParameters<typeof StreamClient>[1] = {}) {
  const client = new StreamClient(server().url, options);
  clients.push(client);
  const reply = await client.connect();
  return { client, reply };
}

/** Waits until the client's graph equals GET /graph, which also settles the seq it reached. */
async function expectInSync(client: Client, includeOffline = false): Promise<Graph> {
  const expected = canonicalGraph(await fetchGraph(server().url, includeOffline));
  await client.waitForSeq(expected.seq);
  expect(client.model.visible()).toEqual(expected);
  return expected;
}

function pushesAfter(client: Client, count: number) {
  return client.pushes.slice(count).map((push) => push.event);
}

beforeAll(async () => {
  testServer = await startStreamServer();
});
afterAll(async () => {
  await testServer?.close();
});
beforeEach(async () => {
  // The seq is not restarted, so the stream's position stays valid from one test to the next.
  await server().db.exec(
    'TRUNCATE thunderlink_nodes, thunderlink_node_groups, thunderlink_events CASCADE',
  );
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

/** Reads the seq of the newest outbox event. */
async function latestSeq(): Promise<number> {
  const [row] = await server().db.query<{ seq: number }>(
    'SELECT COALESCE(max(seq), 0)::bigint AS seq FROM thunderlink_events',
  );
  return row?.seq ?? 0;
}

describe('join', () => {
  it('snapshot equals GET /graph', async () => {
    const registry = server().registry;
    const a = await registry.ensureNode({ name: 'a@host', role: 'controller' });
    const b = await registry.ensureNode({ name: 'b@host' });
    await registry.markOnline('a@host', { remote_node_id: b.node.id });
    const { reply } = await connect();
    expect(reply.mode).toBe('snapshot');
    const { mode: _mode, ...graph } = reply as SnapshotReply;
    expect(canonicalGraph(graph)).toEqual(canonicalGraph(await fetchGraph(server().url)));
    expect(graph.nodes.map((node) => node.id).sort()).toEqual([a.node.id, b.node.id].sort());
  });

  it('snapshot omits offline nodes by default', async () => {
    const registry = server().registry;
    await registry.ensureNode({ name: 'up' });
    await registry.ensureNode({ name: 'gone' });
    await registry.markStatus('gone', 'offline');
    const without = (await connect()).reply as SnapshotReply;
    const withOffline = (await connect({ includeOffline: true })).reply as SnapshotReply;
    expect(without.nodes.map((node) => node.name)).toEqual(['up']);
    expect(withOffline.nodes.map((node) => node.name).sort()).toEqual(['gone', 'up']);
  });

  it('rejects an invalid since', async () => {
    const client = new StreamClient(server().url, { since: -1 });
    clients.push(client);
    await expect(client.connect()).rejects.toThrow(/since must be a whole number/);
  });
});

describe('pushes', () => {
  it('registration, node_up and node_down', async () => {
    const { client } = await connect();
    const registry = server().registry;
    await registry.ensureNode({ name: 'n1' });
    await registry.markOnline('n1');
    await registry.markStatus('n1', 'offline');
    await expectInSync(client);
    expect(pushesAfter(client, 0)).toEqual(['node_updated', 'node_up', 'node_down']);
  });

  it('node_updated for other node changes', async () => {
    const registry = server().registry;
    await registry.ensureNode({ name: 'n1' });
    await registry.markOnline('n1');
    const { client } = await connect();
    await registry.markStatus('n1', 'degraded');
    await registry.setMaintenance('n1', true);
    await registry.setCapability('n1', 'gpu', { value: 'a100' });
    await registry.createGroup({ name: 'zone-a', group_type: 'zone' });
    await registry.addMember('zone-a', 'n1');
    await registry.ensureNode({ name: 'n1', meta: { rack: '7' } });
    await expectInSync(client);
    expect(pushesAfter(client, 0)).toEqual(Array(5).fill('node_updated'));
    const node = client.model.nodes.values().next().value;
    expect(node).toMatchObject({
      status: 'degraded',
      maintenance: true,
      capabilities: { gpu: 'a100' },
      groups: ['zone-a'],
      meta: { rack: '7' },
    });
  });

  it('link pushes update both ends', async () => {
    const registry = server().registry;
    const a = (await registry.ensureNode({ name: 'a' })).node;
    const b = (await registry.ensureNode({ name: 'b' })).node;
    const { client } = await connect();
    const link = await registry.establishLink({ node_id: a.id, remote_node_id: b.id });
    await expectInSync(client);
    await registry.updateLink(link.id, { latency_ms: 12 });
    await expectInSync(client);
    await registry.failLink(link.id, 'cable cut');
    const graph = await expectInSync(client);
    expect(pushesAfter(client, 0)).toEqual(['link_up', 'link_updated', 'link_down']);
    // Both ends lost their only link, and it failed: their val and isolated changed with it.
    expect(graph.nodes.every((node) => node.isolated)).toBe(true);
  });

  it('node_removed then topology_update', async () => {
    const registry = server().registry;
    const a = (await registry.ensureNode({ name: 'a' })).node;
    const b = (await registry.ensureNode({ name: 'b' })).node;
    await registry.establishLink({ node_id: a.id, remote_node_id: b.id });
    const { client } = await connect();
    await registry.deregisterNode('a');
    await expectInSync(client);
    expect(pushesAfter(client, 0)).toEqual(['node_removed', 'topology_update']);
    expect([...client.model.nodes.keys()]).toEqual([b.id]);
  });

  it('group_disrupted carries its seq', async () => {
    const registry = server().registry;
    const { client } = await connect();
    await registry.context.change(async (_tx, emit) => {
      emit('cluster.group.disrupted', {
        group: 'rack-1',
        group_id: 'x',
        disrupted: true,
        affected: 4,
      });
    });
    await client.waitFor('group_disrupted', () => client.pushes.length === 1);
    expect(client.pushes[0]).toEqual({ event: 'group_disrupted', seq: await latestSeq() });
  });

  it('group rename sends topology_update', async () => {
    const registry = server().registry;
    await registry.ensureNode({ name: 'n1' });
    await registry.createGroup({ name: 'old', group_type: 'zone' });
    await registry.addMember('old', 'n1');
    const { client } = await connect();
    await registry.updateGroup('old', { name: 'new' });
    await expectInSync(client);
    expect(pushesAfter(client, 0)).toEqual(['topology_update']);
    expect([...client.model.nodes.values()][0]?.groups).toEqual(['new']);
  });

  it('node back from offline brings links', async () => {
    const registry = server().registry;
    const a = (await registry.ensureNode({ name: 'a' })).node;
    const b = (await registry.ensureNode({ name: 'b' })).node;
    await registry.markOnline('a');
    await registry.markOnline('b');
    await registry.establishLink({ node_id: a.id, remote_node_id: b.id });
    await registry.markStatus('b', 'offline');
    const { client } = await connect();
    expect(client.model.visible().links).toEqual([]);
    await registry.markOnline('b');
    const graph = await expectInSync(client);
    expect(graph.links).toHaveLength(1);
    const up = client.pushes.find((push) => push.event === 'node_up');
    expect(up).toBeDefined();
  });

  it('pushes carry increasing seqs', async () => {
    const registry = server().registry;
    const { client } = await connect();
    const a = (await registry.ensureNode({ name: 'a' })).node;
    const b = (await registry.ensureNode({ name: 'b' })).node;
    await registry.markOnline('a', { remote_node_id: b.id });
    await registry.markStatus('b', 'degraded');
    await registry.deregisterNode(a.id);
    await expectInSync(client);
    const seqs = client.pushes.map((push) => push.seq);
    expect(seqs.every((seq) => typeof seq === 'number')).toBe(true);
    expect([...seqs].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(seqs);
  });
});

describe('resume', () => {
  it('recent since replays the events', async () => {
    const registry = server().registry;
    await registry.ensureNode({ name: 'a' });
    const first = await connect();
    const seq = first.client.model.seq;
    await first.client.close();
    await registry.markOnline('a');
    await registry.ensureNode({ name: 'b' });
    const { client, reply } = await connect({ since: seq });
    expect(reply.mode).toBe('events');
    const events = (reply as EventsReply).events;
    expect(events.map((event) => event.event)).toEqual(['node_up', 'node_updated']);
    expect((events[0]?.payload as NodePush).seq).toBeGreaterThan(seq);
    // The resumed client started from an empty copy, so it contains only what the replay named.
    expect([...client.model.nodes.values()].map((node) => node.name).sort()).toEqual(['a', 'b']);
  });

  it('snapshot when 1,000 events behind', async () => {
    const registry = server().registry;
    await registry.ensureNode({ name: 'a' });
    const since = await latestSeq();
    await registry.context.change(async (_tx, emit) => {
      for (let i = 0; i < 1000; i += 1) {
        emit('cluster.group.changed', { group: { name: 'g' }, action: 'created' });
      }
    });
    const { reply } = await connect({ since });
    expect(reply.mode).toBe('snapshot');
  });

  it('snapshot when since is ahead', async () => {
    await server().registry.ensureNode({ name: 'a' });
    const seq = await latestSeq();
    const { reply } = await connect({ since: seq + 1000 });
    expect(reply.mode).toBe('snapshot');
    expect((reply as SnapshotReply).seq).toBe(seq);
  });

  it('snapshot when retention pruned since', async () => {
    const registry = server().registry;
    await registry.ensureNode({ name: 'a' });
    const since = (await latestSeq()) - 1;
    server().clock.advance(defaultRetentionSettings.eventRetentionMs + 60_000);
    await registry.ensureNode({ name: 'b' });
    const summary = await runRetention(registry.context, defaultRetentionSettings);
    expect(summary.events.prunedThrough).toBe(since + 1);
    const { reply } = await connect({ since });
    expect(reply.mode).toBe('snapshot');
  });

  it('snapshot when since is node_removed', async () => {
    const registry = server().registry;
    await registry.ensureNode({ name: 'a' });
    await registry.deregisterNode('a');
    const { reply } = await connect({ since: await latestSeq() });
    expect(reply.mode).toBe('snapshot');
  });
});
