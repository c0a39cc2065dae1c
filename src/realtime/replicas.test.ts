// Tests of two registry servers on one PostgreSQL schema, each with its own connection pool and
// stream: changes made concurrently through both reach the clients of both in the same seq order,
// and a replica whose LISTEN connection drops listens again and catches up. The replicas wake on
// NOTIFY alone here: their fallback poll is set far beyond the tests' timeouts.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

import { FakeClock } from '../clock.js';
import { silentLogger } from '../log.js';
import type { OutboxEvent } from '../registry/model.js';
import { Registry } from '../registry/registry.js';
import type { Database } from '../store/database.js';
import { openPostgres } from '../store/postgres.js';
import { type TestDatabase, openTestDatabase } from '../testing/databases.js';
import { testClockStart } from '../testing/http.js';
import {
  type StreamApp,
  StreamClient,
  canonicalGraph,
  fetchGraph,
  startStreamApp,
} from '../testing/stream.js';
import { planEvent } from './pushes.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Replica {
  db: Database;
  registry: Registry;
  stream: StreamApp;
  client: StreamClient;
}

async function startReplica(db: Database): Promise<Replica> {
  const registry = new Registry(db, new FakeClock(testClockStart), silentLogger());
  const stream = await startStreamApp({ db, registry, fallbackPollMs: 10 * 60_000 });
  cleanups.push(() => stream.close());
  const client = new StreamClient(stream.url);
  cleanups.push(() => client.close());
  await client.connect();
  return { db, registry, stream, client };
}

/** Opens a second pool on the test database's schema, as another server process would. */
async function secondPool(database: TestDatabase): Promise<Database> {
  const db = await openPostgres({
    connectionString: database.url ?? '',
    searchPath: database.schema,
  });
  cleanups.push(() => db.close());
  return db;
}

async function openDatabase(): Promise<TestDatabase | null> {
  const database = await openTestDatabase('postgres');
  if (database) cleanups.push(() => database.close());
  return database;
}

async function sequencedPushes(registry: Registry, since: number) {
  const { events } = await registry.events(since, 1000);
  return events.flatMap((event: OutboxEvent) =>
    planEvent(event)
      .filter((plan) => plan.kind !== 'resync')
      .map(() => event.seq),
  );
}

async function churn(registry: Registry, prefix: string, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i += 1) {
    const a = (await registry.ensureNode({ name: `${prefix}-a${i}` })).node;
    const b = (await registry.ensureNode({ name: `${prefix}-b${i}` })).node;
    await registry.markOnline(a.id, { remote_node_id: b.id });
    await registry.markStatus(b.id, 'degraded');
    await registry.setCapability(a.id, 'zone', { value: prefix });
  }
}

describe('replicas on PostgreSQL', () => {
  it('deliver concurrent changes in one order', async (context) => {
    const database = await openDatabase();
    if (!database) return context.skip();
    const one = await startReplica(database.db);
    const two = await startReplica(await secondPool(database));

    await Promise.all([
      churn(one.registry, 'one', 8),
      churn(two.registry, 'two', 8),
      churn(one.registry, 'uno', 8),
      churn(two.registry, 'dos', 8),
    ]);

    const expected = canonicalGraph(await fetchGraph(one.stream.url));
    expect(canonicalGraph(await fetchGraph(two.stream.url))).toEqual(expected);
    await one.client.waitForSeq(expected.seq);
    await two.client.waitForSeq(expected.seq);
    const seqs = await sequencedPushes(one.registry, 0);
    expect(one.client.sequenced.map((push) => push.seq)).toEqual(seqs);
    expect(two.client.sequenced.map((push) => push.seq)).toEqual(seqs);
    expect(one.client.model.visible()).toEqual(expected);
    expect(two.client.model.visible()).toEqual(expected);
  });

  it('listen again after a lost connection', async (context) => {
    const database = await openDatabase();
    if (!database) return context.skip();
    const listeners: pg.Client[] = [];
    // The pool driver's LISTEN cannot report a dropped connection, so this replica listens on a
    // client of its own that does.
    const listening: Database = {
      ...database.db,
      async listen(channel, onNotify, onLost?: (error: Error) => void) {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        listeners.push(client);
        let lost = false;
        const reportLost = (error: Error) => {
          if (lost) return;
          lost = true;
          onLost?.(error);
        };
        client.on('error', reportLost);
        client.on('end', () => reportLost(new Error('the LISTEN connection ended')));
        client.on('notification', (message) => {
          if (message.channel === channel) onNotify(message.payload ?? '');
        });
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        return async () => {
          lost = true;
          await client.end().catch(() => undefined);
        };
      },
    };
    const one = await startReplica(listening);
    const two = await startReplica(await secondPool(database));
    expect(listeners).toHaveLength(1);

    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    const [first] = listeners;
    const pid = (first as unknown as { processID: number }).processID;
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    // Written through the other replica while the first one has no LISTEN connection.
    await churn(two.registry, 'outage', 2);

    const expected = canonicalGraph(await fetchGraph(two.stream.url));
    await one.client.waitForSeq(expected.seq);
    expect(listeners).toHaveLength(2);
    await churn(two.registry, 'after', 1);
    const after = canonicalGraph(await fetchGraph(two.stream.url));
    await one.client.waitForSeq(after.seq);
    expect(one.client.model.visible()).toEqual(after);
    expect(one.client.sequenced.map((push) => push.seq)).toEqual(
      await sequencedPushes(two.registry, 0),
    );
  });
});
