// Tests that a `phoenix` client recovers without losing or repeating an event: after its socket is
// killed, after the stream restarts while changes continue, and across a full server restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parseServerConfig } from '../config.js';
import { silentLogger } from '../log.js';
import type { OutboxEvent } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { type RunningServer, startServer } from '../server.js';
import { type TestDatabase, openTestDatabase } from '../testing/databases.js';
import {
  type ReceivedPush,
  StreamClient,
  canonicalGraph,
  fetchGraph,
  startStreamApp,
  startStreamServer,
} from '../testing/stream.js';
import { planEvent } from './pushes.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Lists the pushes that the outbox events after `since` stand for, in order. */
async function expectedPushes(registry: Registry, since: number): Promise<ReceivedPush[]> {
  const events: OutboxEvent[] = [];
  for (let cursor = since; ;) {
    const page = await registry.events(cursor, 1000);
    events.push(...page.events);
    if (page.events.length < 1000) break;
    cursor = page.next_seq;
  }
  return events.flatMap((event) =>
    planEvent(event)
      .filter((plan) => plan.kind !== 'resync')
      .map((plan) => ({
        event:
          plan.kind === 'direct'
            ? plan.push.event
            : plan.kind === 'link_down'
              ? 'link_down'
              : plan.event,
        seq: event.seq,
      })),
  );
}

/** Makes changes of every kind that pushes, without deregistrations or group renames. */
async function churn(registry: Registry, prefix: string, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i += 1) {
    const a = (await registry.ensureNode({ name: `${prefix}-a${i}` })).node;
    const b = (await registry.ensureNode({ name: `${prefix}-b${i}` })).node;
    await registry.markOnline(a.id, { remote_node_id: b.id });
    await registry.markStatus(b.id, 'degraded');
    await registry.setCapability(a.id, 'gpu', { value: String(i) });
    const [link] = await registry.listLinks({ node_id: a.id });
    if (link) await registry.closeLink(link.id, 'rotated');
    await registry.markStatus(a.id, 'offline');
  }
}

async function expectInSync(client: StreamClient, url: string, registry: Registry, since: number) {
  const expected = canonicalGraph(await fetchGraph(url));
  await client.waitForSeq(expected.seq);
  expect(client.model.visible()).toEqual(expected);
  expect(client.sequenced).toEqual(await expectedPushes(registry, since));
}

describe('recovery', () => {
  it('resumes after a killed socket', async () => {
    const server = await startStreamServer();
    cleanups.push(() => server.close());
    const client = new StreamClient(server.url);
    cleanups.push(() => client.close());
    const first = await client.connect();
    await churn(server.registry, 'before', 2);
    await client.waitForSeq((await fetchGraph(server.url)).seq);

    client.transport.terminate();
    await churn(server.registry, 'after', 3);
    await client.waitFor('a rejoin', () => client.replies.length === 2);
    await expectInSync(client, server.url, server.registry, first.seq);
    expect(client.replies[1]?.mode).toBe('events');
  });

  it('catches up after a stream restart', async () => {
    const database = (await openTestDatabase('pglite')) as TestDatabase;
    cleanups.push(() => database.close());
    let stream = await startStreamApp({ db: database.db });
    cleanups.push(() => stream.close());
    const registry = stream.registry;
    const client = new StreamClient(stream.url);
    cleanups.push(() => client.close());
    const first = await client.connect();
    await churn(registry, 'one', 2);

    await stream.close();
    await churn(registry, 'down', 2);
    stream = await startStreamApp({ db: database.db, registry, port: stream.port });
    cleanups.push(() => stream.close());
    await churn(registry, 'two', 2);

    await expectInSync(client, stream.url, registry, first.seq);
    expect(client.closeCodes).toContain(1001);
    expect(client.replies.at(-1)?.mode).toBe('events');
  });

  it('follows a full server restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'thunderlink-restart-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = (port: number) =>
      parseServerConfig({ port: String(port), dataDir, logLevel: 'silent' });
    let running: RunningServer = await startServer(config(0), silentLogger());
    cleanups.push(() => running.close());
    const client = new StreamClient(running.url);
    cleanups.push(() => client.close());
    const first = await client.connect();
    await churn(running.registry, 'one', 1);
    await client.waitForSeq((await fetchGraph(running.url)).seq);

    await running.close();
    running = await startServer(config(running.port), silentLogger());
    cleanups.push(() => running.close());
    await churn(running.registry, 'two', 1);

    await expectInSync(client, running.url, running.registry, first.seq);
    expect(client.closeCodes).toContain(1001);
    expect(client.replies.at(-1)?.mode).toBe('events');
  });
});
