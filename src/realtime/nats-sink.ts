// Publishes every outbox event to NATS JetStream, with the event's name as the subject
// (`cluster.node.online`, …) and its seq as `Nats-Msg-Id`. One replica publishes at a time,
// because a pass runs in a transaction that holds a PostgreSQL advisory lock. A pass starts after
// the seq of the stream's last message, so a replica that takes over continues where the last
// publisher stopped.
// If a message reached the stream but its publisher died before it knew, the repeated publish
// carries the same `Nats-Msg-Id`, which JetStream drops within the stream's duplicate window.
import {
  type JetStreamManager,
  JetStreamApiCodes,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, connect, nanos } from '@nats-io/transport-node';

import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OutboxEvent } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import type { Database } from '../store/database.js';
import { outboxChannel } from '../store/outbox.js';
import { readPrunedThrough } from '../store/retention.js';
import { tryNatsPublisherLock } from '../store/stream.js';

export interface NatsSinkOptions {
  /** The NATS server, for example `nats://127.0.0.1:4222`. */
  url: string;
  registry: Registry;
  db: Database;
  logger: Logger;
  /** The JetStream stream, created when missing; default `THUNDERLINK_EVENTS`. */
  streamName?: string;
  /** Put before every subject, to keep test streams apart; default none. */
  subjectPrefix?: string;
  /** Milliseconds between passes without a wake-up; a standby replica takes over within it. */
  fallbackPollMs?: number;
}

/** Events read per page. */
const pageSize = 1000;
/** JetStream drops a repeated `Nats-Msg-Id` published within this window. */
const duplicateWindowMs = 2 * 60_000;
/** Age after which the stream that the sink creates discards messages. */
const maxAgeMs = 7 * 24 * 60 * 60_000;
const retryDelayMs = 2000;

export class NatsSink {
  private current: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failures = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribeCommits: (() => void) | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  /** Events this process published, for tests and logs. */
  published = 0;

  private constructor(
    private readonly options: NatsSinkOptions,
    private readonly nats: NatsConnection,
    private readonly manager: JetStreamManager,
    private readonly streamName: string,
    private readonly prefix: string,
  ) {}

  /** Connects to NATS, creates the stream when missing, and starts publishing. */
  static async start(options: NatsSinkOptions): Promise<NatsSink> {
    // Reconnect for as long as the server runs: a NATS restart must not end the publishing.
    const nats = await connect({
      servers: options.url,
      name: 'thunderlink',
      maxReconnectAttempts: -1,
    });
    try {
      const manager = await jetstreamManager(nats);
      const streamName = options.streamName ?? 'THUNDERLINK_EVENTS';
      const prefix = options.subjectPrefix ?? '';
      await ensureStream(manager, streamName, prefix);
      const sink = new NatsSink(options, nats, manager, streamName, prefix);
      await sink.subscribe();
      options.logger.info({ nats: options.url, stream: streamName }, 'publishing events to NATS');
      return sink;
    } catch (error) {
      await nats.close().catch(() => undefined);
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeCommits?.();
    for (const timer of this.timers) clearInterval(timer);
    await this.unlisten?.().catch(() => undefined);
    await this.current;
    await this.nats.drain().catch(() => undefined);
  }

  /** Runs a pass now, or right after the one that is running. */
  wake(): void {
    if (this.stopped) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.current = this.passes().finally(() => {
      this.current = undefined;
    });
  }

  private async subscribe(): Promise<void> {
    const { registry, db } = this.options;
    this.unsubscribeCommits = registry.onCommitted(() => this.wake());
    if (db.kind === 'postgres') {
      this.unlisten = await db.listen(outboxChannel, () => this.wake());
    }
    const poll = setInterval(() => this.wake(), this.options.fallbackPollMs ?? 5000);
    poll.unref();
    this.timers.push(poll);
    this.wake();
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.publishUnderLock();
        this.failures = 0;
      } catch (error) {
        this.failures += 1;
        if (this.failures === 1 || this.failures % 30 === 0) {
          this.options.logger.error(
            { err: error, failures: this.failures, retry_ms: retryDelayMs },
            'publishing events to NATS failed, retrying',
          );
        }
        const retry = setTimeout(() => this.wake(), retryDelayMs);
        retry.unref();
        return;
      }
    } while (this.again && !this.stopped);
  }

  /**
   * Publishes while holding the publisher lock. PGlite needs none, because only one process can
   * open its database, and a transaction there would block the reads the pass makes.
   */
  private async publishUnderLock(): Promise<void> {
    const { db } = this.options;
    if (db.kind === 'pglite') {
      await this.publishPending();
      return;
    }
    await db.transaction(async (tx) => {
      if (await tryNatsPublisherLock(tx)) await this.publishPending();
    });
  }

  /** Publishes every event after the last one in the stream, awaiting each acknowledgement. */
  private async publishPending(): Promise<void> {
    const client = jetstream(this.nats);
    let position = await this.lastPublishedSeq();
    for (;;) {
      if (this.stopped) return;
      const events = await this.readAfter(position);
      for (const event of events) {
        await client.publish(this.prefix + event.name, JSON.stringify(event), {
          msgID: String(event.seq),
        });
        this.published += 1;
        position = event.seq;
      }
      if (events.length < pageSize) return;
    }
  }

  private async readAfter(position: number): Promise<OutboxEvent[]> {
    try {
      return (await this.options.registry.events(position, pageSize)).events;
    } catch (error) {
      if (!(error instanceof RegistryError) || error.code !== 'TL_ERR_SINCE_EXPIRED') throw error;
      const prunedThrough = await readPrunedThrough(this.options.db);
      this.options.logger.warn(
        { from_seq: position, pruned_through: prunedThrough },
        'outbox events were deleted before they reached NATS; continuing after them',
      );
      return (await this.options.registry.events(prunedThrough, pageSize)).events;
    }
  }

  /** Reads the seq in the `Nats-Msg-Id` of the stream's last message; 0 when there is none. */
  private async lastPublishedSeq(): Promise<number> {
    const info = await this.manager.streams.info(this.streamName);
    if (info.state.last_seq === 0) return 0;
    const message = await this.manager.streams.getMessage(this.streamName, {
      seq: info.state.last_seq,
    });
    // NOTE: when the last message is gone (deleted, or past max_age), the sink publishes again
    // every event the outbox keeps. JetStream drops only the repeats within its duplicate window.
    const seq = Number(message?.header?.get('Nats-Msg-Id'));
    return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
  }
}

async function ensureStream(
  manager: JetStreamManager,
  name: string,
  prefix: string,
): Promise<void> {
  try {
    await manager.streams.info(name);
    return;
  } catch (error) {
    if ((error as { code?: number }).code !== JetStreamApiCodes.StreamNotFound) throw error;
  }
  await manager.streams.add({
    name,
    subjects: [`${prefix}cluster.>`],
    duplicate_window: nanos(duplicateWindowMs),
    max_age: nanos(maxAgeMs),
  });
}
