// Tests of heartbeat data on the stream: node_metrics pushes on `thunderlink:graph`, at most one a
// second per node and never a structural push, and every heartbeat in full on the node's topic.
import { type Channel, Socket } from 'phoenix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import type { HeartbeatRecord } from '../registry/model.js';
import { Changes, type StreamServer, StreamClient, startStreamServer } from '../testing/stream.js';
import type { NodeJoinReply, NodeRemovedPush } from './messages.js';

let testServer: StreamServer | undefined;

function server(): StreamServer {
  if (!testServer) throw new Error('the stream server did not start; see the beforeAll error');
  return testServer;
}

beforeAll(async () => {
  testServer = await startStreamServer();
});
afterAll(async () => {
  await testServer?.close();
});

/** Joins a node's topic with the phoenix client and records its heartbeat pushes. */
async function joinNodeTopic(ref: string) {
  const socket = new Socket(`${server().url.replace(/^http/, 'ws')}/socket`, {
    transport: WebSocket,
  } as never);
  socket.connect();
  const channel: Channel = socket.channel(`thunderlink:node:${ref}`, {});
  const heartbeats: HeartbeatRecord[] = [];
  const removed: NodeRemovedPush[] = [];
  const changes = new Changes();
  channel.on('heartbeat', (row: HeartbeatRecord) => {
    heartbeats.push(row);
    changes.notify();
  });
  channel.on('node_removed', (push: NodeRemovedPush) => {
    removed.push(push);
    changes.notify();
  });
  const reply = await new Promise<NodeJoinReply>((resolve, reject) => {
    channel
      .join()
      .receive('ok', resolve)
      .receive('error', (error: unknown) => reject(new Error(JSON.stringify(error))));
  });
  const close = () => new Promise<void>((resolve) => socket.disconnect(() => resolve()));
  return { socket, channel, reply, heartbeats, removed, changes, close };
}

describe('node_metrics', () => {
  it('30 heartbeats a second push metrics only', async () => {
    const { registry, clock } = server();
    const { node } = await registry.ensureNode({ name: 'busy@host' });
    await registry.markOnline(node.id);
    const client = new StreamClient(server().url);
    await client.connect();
    const topic = await joinNodeTopic('busy@host');
    const arrivals: number[] = [];
    client.channel.on('node_metrics', () => {
      arrivals.push(performance.now());
    });

    // 75 heartbeats paced at 33 ms, about 2.5 seconds; registry time moves with them.
    const count = 75;
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      clock.advance(33);
      await registry.heartbeat(node.id, { cpu_load: i / 100, mem_used_mb: i, latency_ms: 2 });
      const next = started + (i + 1) * 33;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    await client.waitFor('the last metrics', () => {
      return client.model.nodes.get(node.id)?.mem_used_mb === count - 1;
    });
    await topic.changes.waitFor('every heartbeat', () => topic.heartbeats.length === count);

    expect(client.pushes.every((push) => push.event === 'node_metrics')).toBe(true);
    expect(client.pushes.length).toBeGreaterThanOrEqual(2);
    expect(client.pushes.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 2);
    const gaps = arrivals.slice(1).map((time, i) => time - (arrivals[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThan(900);
    expect(topic.heartbeats.map((row) => row.mem_used_mb)).toEqual([...Array(count).keys()]);
    expect(topic.reply.node.name).toBe('busy@host');
    await topic.close();
    await client.close();
  });
});

describe('node topic', () => {
  it('rejects an unknown node', async () => {
    await expect(joinNodeTopic('nobody')).rejects.toThrow(/nobody/);
  });

  it('closes on deregistration', async () => {
    const { registry } = server();
    await registry.ensureNode({ name: 'leaving' });
    const topic = await joinNodeTopic('leaving');
    const closed = new Promise<void>((resolve) => topic.channel.onClose(() => resolve()));
    await registry.deregisterNode('leaving');
    await closed;
    expect(topic.removed.map((push) => push.name)).toEqual(['leaving']);
    await topic.close();
  });
});
