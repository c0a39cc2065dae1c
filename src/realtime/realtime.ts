// Starts the realtime stream on an HTTP server: the Phoenix socket endpoint, its topics, and the
// outbox tailer that feeds them.
import type { Server } from 'node:http';

import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { Queryable } from '../store/database.js';
import type { ConnectionLimits } from './connection.js';
import { GraphTopic } from './graph-topic.js';
import { NodeTopic } from './node-topic.js';
import { databaseReads } from '../store/stream.js';
import { SnapshotReader } from './snapshots.js';
import { SocketServer } from './socket-server.js';
import { type NotifySource, OutboxTailer } from './tailer.js';

export interface RealtimeOptions {
  registry: Registry;
  db: NotifySource & Queryable;
  logger: Logger;
  limits?: Partial<ConnectionLimits>;
  /** Milliseconds between whole-graph `topology_update` pushes; default five minutes. */
  topologyIntervalMs?: number;
  /** Milliseconds between reads of changed heartbeat metrics; default one second. */
  metricsIntervalMs?: number;
  /** Milliseconds between reads of heartbeats for node topics; default 250. */
  nodePollIntervalMs?: number;
  /** Milliseconds between outbox reads without a wake-up, on PostgreSQL; default 5000. */
  fallbackPollMs?: number;
  /** See SocketServerOptions.checkOrigin; default true. */
  checkOrigin?: boolean;
}

export interface RealtimeServer {
  /** Open sockets. */
  readonly connectionCount: number;
  /** Bytes queued for all sockets and not yet handed to the operating system. */
  readonly bufferedBytes: number;
  /** Clients joined to `thunderlink:graph`. */
  readonly graphSubscriberCount: number;
  /** The seq of the last outbox event delivered to clients. */
  readonly seq: number;
  /** Closes every socket with 1001 (going away), then stops following the outbox. */
  close(): Promise<void>;
}

export async function startRealtime(
  httpServer: Server,
  options: RealtimeOptions,
): Promise<RealtimeServer> {
  const { registry, db, logger } = options;
  const now = () => performance.now();
  const reads = databaseReads(db);
  const snapshots = new SnapshotReader(registry, now);
  const graph = new GraphTopic({
    registry,
    reads,
    snapshots,
    logger,
    now,
    topologyIntervalMs: options.topologyIntervalMs ?? 5 * 60_000,
    metricsIntervalMs: options.metricsIntervalMs ?? 1000,
  });
  const nodes = new NodeTopic({
    registry,
    reads,
    logger,
    pollIntervalMs: options.nodePollIntervalMs,
  });
  const tailer = new OutboxTailer({
    registry,
    db,
    logger,
    fallbackPollMs: options.fallbackPollMs,
    async deliver(events) {
      await graph.deliver(events);
      nodes.deliver(events);
    },
    async onGap() {
      graph.resyncAll();
    },
  });
  await tailer.start(await reads.latestSeq());
  const sockets = new SocketServer({
    routes: [graph, nodes],
    logger,
    limits: options.limits,
    checkOrigin: options.checkOrigin,
    now,
  });
  sockets.attach(httpServer);

  let closing: Promise<void> | undefined;
  return {
    get connectionCount() {
      return sockets.connectionCount;
    },
    get bufferedBytes() {
      return sockets.bufferedBytes;
    },
    get graphSubscriberCount() {
      return graph.subscriberCount;
    },
    get seq() {
      return tailer.seq;
    },
    close() {
      closing ??= (async () => {
        await sockets.close();
        graph.stop();
        nodes.stop();
        await tailer.stop();
      })();
      return closing;
    },
  };
}
