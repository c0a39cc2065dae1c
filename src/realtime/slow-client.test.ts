// Tests that a client which stops reading cannot grow the server's memory or hold back others. Its
// pushes are dropped past the send buffer bound, and it gets one fresh topology_update once it
// reads again, or is closed when it never does.
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import type { GraphNode } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import {
  Changes,
  type StreamServer,
  StreamClient,
  canonicalGraph,
  fetchGraph,
  startStreamServer,
} from '../testing/stream.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(limits: Parameters<typeof startStreamServer>[0]): Promise<StreamServer> {
  const server = await startStreamServer(limits);
  cleanups.push(() => server.close());
  return server;
}

async function connect(server: StreamServer): Promise<StreamClient> {
  const client = new StreamClient(server.url);
  cleanups.push(() => client.close());
  await client.connect();
  return client;
}

/** Registers `count` nodes whose meta makes each node push about 8 KB. */
async function registerHeavyNodes(registry: Registry, count: number): Promise<GraphNode[]> {
  const meta = Object.fromEntries(
    Array.from({ length: 16 }, (_, i) => [`key${i}`, String(i % 10).repeat(500)]),
  );
  for (let i = 0; i < count; i += 1) await registry.ensureNode({ name: `heavy-${i}`, meta });
  return (await registry.graph({})).nodes;
}

/**
 * Writes `total` node_updated events, 100 per transaction, each naming a node exactly as it is,
 * so the graph the stream leads to stays equal to GET /graph.
 */
async function writeEvents(
  registry: Registry,
  nodes: GraphNode[],
  total: number,
  afterBatch: () => void,
): Promise<void> {
  for (let written = 0; written < total; written += 100) {
    await registry.context.change(async (_tx, emit) => {
      for (let i = 0; i < 100; i += 1) {
        const node = nodes[(written + i) % nodes.length];
        emit('cluster.node.registered', { node, created: false });
      }
    });
    afterBatch();
  }
}

describe('slow client', () => {
  it('stays bounded, then catches up', async () => {
    const maxBufferedBytes = 1024 * 1024;
    const server = await start({ limits: { maxBufferedBytes, slowClientTimeoutMs: 120_000 } });
    const nodes = await registerHeavyNodes(server.registry, 20);
    const fast = await connect(server);
    const slow = await connect(server);
    const startSeq = fast.model.seq;
    slow.transport.pause();

    let maxBuffered = 0;
    await writeEvents(server.registry, nodes, 10_000, () => {
      maxBuffered = Math.max(maxBuffered, server.realtime.bufferedBytes);
    });
    const expected = canonicalGraph(await fetchGraph(server.url));
    await fast.waitForSeq(expected.seq, 60_000);
    maxBuffered = Math.max(maxBuffered, server.realtime.bufferedBytes);

    // Every event reached the reading client, in order, once.
    const seqs = fast.sequenced.map((push) => push.seq);
    expect(seqs).toHaveLength(10_000);
    expect(seqs[0]).toBe(startSeq + 1);
    expect(seqs.every((seq, i) => seq === startSeq + 1 + i)).toBe(true);
    // The paused client's queue stopped near the bound: one push (about 8 KB) may pass it.
    expect(maxBuffered).toBeLessThan(maxBufferedBytes + 64 * 1024);

    slow.transport.resume();
    await slow.waitFor('a topology_update', () =>
      slow.pushes.some((push) => push.event === 'topology_update'),
    );
    await slow.waitForSeq(expected.seq);
    expect(slow.model.visible()).toEqual(expected);
    expect(slow.sequenced.length).toBeLessThan(10_000);
  }, 180_000);

  it('is closed when it never reads', async () => {
    const logs: { msg?: string; socket?: number }[] = [];
    const changes = new Changes();
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logs.push(JSON.parse(chunk.toString()) as { msg?: string });
          changes.notify();
          done();
        },
      }),
    );
    const server = await start({
      logger,
      limits: { maxBufferedBytes: 64 * 1024, slowClientTimeoutMs: 300 },
    });
    const nodes = await registerHeavyNodes(server.registry, 5);
    const other = await connect(server);
    // A raw socket, because the phoenix client would reconnect after the close.
    const slow = new WebSocket(`${server.url.replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0`);
    cleanups.push(async () => slow.terminate());
    await new Promise((resolve) => slow.once('open', resolve));
    const joined = new Promise((resolve) => slow.once('message', resolve));
    slow.send(JSON.stringify(['1', '1', 'thunderlink:graph', 'phx_join', {}]));
    await joined;
    slow.pause();

    const closedByServer = () =>
      logs.some(
        (line) => line.msg === 'realtime socket closed: the client did not read its messages',
      );
    // Enough for the kernel's socket buffers to fill and the server's queue to pass its bound.
    for (let written = 0; !closedByServer() && written < 20_000; written += 500) {
      await writeEvents(server.registry, nodes, 500, () => undefined);
    }
    await changes.waitFor('the slow socket to be closed', closedByServer);

    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      slow.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    slow.resume();
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/^send buffer full: the client did not read its messages for 0 s/);
    await other.waitForSeq((await fetchGraph(server.url)).seq, 60_000);
  }, 180_000);
});
