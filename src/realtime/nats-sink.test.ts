// Tests of the NATS JetStream sink against the NATS server at 127.0.0.1:4222, skipped when it is
// not reachable. Each outbox event is published once, with its name as the subject and its seq as
// Nats-Msg-Id, also when another replica takes over the publishing.
import { randomBytes } from 'node:crypto';

import { jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';

import { FakeClock } from '../clock.js';
import { silentLogger } from '../log.js';
import { Registry } from '../registry/registry.js';
import type { Database } from '../store/database.js';
import { openPostgres } from '../store/postgres.js';
import { type TestDatabase, openTestDatabase } from '../testing/databases.js';
import { testClockStart } from '../testing/http.js';
import { Changes } from '../testing/stream.js';
import { NatsSink } from './nats-sink.js';

const natsUrl = process.env.THUNDERLINK_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Observer {
  nats: NatsConnection;
  streamName: string;
  prefix: string;
  /** `Nats-Msg-Id` of every message published on the test's subjects, in arrival order. */
  publishedIds: string[];
  changes: Changes;
}

/** Connects an observer subscribed to a fresh subject prefix; null when NATS is unreachable. */
async function observe(): Promise<Observer | null> {
  let nats: NatsConnection;
  try {
    nats = await connect({ servers: natsUrl, timeout: 2000 });
  } catch {
    console.warn(`\n*** NATS tests SKIPPED: ${natsUrl} is unreachable ***\n`);
    return null;
  }
  const suffix = randomBytes(4).toString('hex');
  const observer: Observer = {
    nats,
    streamName: `TL_TEST_${suffix}`,
    prefix: `tltest_${suffix}.`,
    publishedIds: [],
    changes: new Changes(),
  };
  const subscription = nats.subscribe(`${observer.prefix}cluster.>`, {
    callback: (_error, message) => {
      observer.publishedIds.push(message.headers?.get('Nats-Msg-Id') ?? '');
      observer.changes.notify();
    },
  });
  cleanups.push(async () => {
    subscription.unsubscribe();
    const manager = await jetstreamManager(nats);
    await manager.streams.delete(observer.streamName).catch(() => undefined);
    await nats.close();
  });
  return observer;
}

async function startSink(observer: Observer, registry: Registry, db: Database) {
  const sink = await NatsSink.start({
    url: natsUrl,
    registry,
    db,
    logger: silentLogger(),
    streamName: observer.streamName,
    subjectPrefix: observer.prefix,
  });
  cleanups.push(() => sink.stop());
  return sink;
}

/** The subject and Nats-Msg-Id of every message in the stream, in stream order. */
async function streamContents(observer: Observer) {
  const manager = await jetstreamManager(observer.nats);
  const info = await manager.streams.info(observer.streamName);
  const messages = [];
  for (let seq = 1; seq <= info.state.last_seq; seq += 1) {
    const message = await manager.streams.getMessage(observer.streamName, { seq });
    messages.push({ subject: message?.subject, id: message?.header.get('Nats-Msg-Id') });
  }
  return messages;
}

async function expectedContents(registry: Registry, observer: Observer) {
  const { events } = await registry.events(0, 1000);
  return events.map((event) => ({ subject: observer.prefix + event.name, id: String(event.seq) }));
}

async function churn(registry: Registry, prefix: string, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i += 1) {
    const a = (await registry.ensureNode({ name: `${prefix}-a${i}` })).node;
    const b = (await registry.ensureNode({ name: `${prefix}-b${i}` })).node;
    await registry.markOnline(a.id, { remote_node_id: b.id });
    await registry.markStatus(b.id, 'offline');
  }
}

function registryOn(db: Database): Registry {
  return new Registry(db, new FakeClock(testClockStart), silentLogger());
}

describe('NATS sink', () => {
  it('publishes each event once', async (context) => {
    const observer = await observe();
    if (!observer) return context.skip();
    const database = (await openTestDatabase('pglite')) as TestDatabase;
    cleanups.push(() => database.close());
    const registry = registryOn(database.db);
    await churn(registry, 'early', 1);
    await startSink(observer, registry, database.db);
    await churn(registry, 'late', 2);

    const expected = await expectedContents(registry, observer);
    await observer.changes.waitFor('every event', () => {
      return observer.publishedIds.length >= expected.length;
    });
    expect(await streamContents(observer)).toEqual(expected);
    expect(observer.publishedIds).toEqual(expected.map((message) => message.id));
  });

  it('never repeats an event across a takeover', async (context) => {
    const observer = await observe();
    if (!observer) return context.skip();
    const database = await openTestDatabase('postgres');
    if (!database) return context.skip();
    cleanups.push(() => database.close());
    const other = await openPostgres({
      connectionString: database.url ?? '',
      searchPath: database.schema,
    });
    cleanups.push(() => other.close());
    const one = registryOn(database.db);
    const two = registryOn(other);

    const first = await startSink(observer, one, database.db);
    await churn(one, 'first', 2);
    const afterFirst = (await expectedContents(one, observer)).length;
    await observer.changes.waitFor('the first events', () => {
      return observer.publishedIds.length >= afterFirst;
    });
    await first.stop();

    // The second replica continues from the stream's last message, then both compete.
    const second = await startSink(observer, two, other);
    await churn(two, 'second', 2);
    const third = await startSink(observer, one, database.db);
    await Promise.all([churn(one, 'third-one', 3), churn(two, 'third-two', 3)]);

    const expected = await expectedContents(one, observer);
    await observer.changes.waitFor('every event', () => {
      return observer.publishedIds.length >= expected.length;
    });
    expect(await streamContents(observer)).toEqual(expected);
    expect(observer.publishedIds).toEqual(expected.map((message) => message.id));
    expect(second.published + third.published).toBe(expected.length - afterFirst);
  });
});
