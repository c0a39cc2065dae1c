// Test helpers for the realtime stream. They start an HTTP app with the stream attached, on a
// database the test owns. The client is built on the official `phoenix` package and keeps its own
// copy of the graph by applying every join reply and push, as the web page does.
import type { FastifyInstance } from 'fastify';
import { type Channel, Socket } from 'phoenix';
import { WebSocket } from 'ws';

import { FakeClock } from '../clock.js';
import { buildApp } from '../http/app.js';
import { silentLogger } from '../log.js';
import type { Graph, GraphLink, GraphNode } from '../registry/model.js';
import { Registry } from '../registry/registry.js';
import {
  type GraphJoinReply,
  type GraphPushEvent,
  type GraphPushes,
  graphPushEvents,
} from '../realtime/messages.js';
import { type RealtimeOptions, type RealtimeServer, startRealtime } from '../realtime/realtime.js';
import type { Database } from '../store/database.js';
import { openTestDatabase } from './databases.js';
import { testClockStart } from './http.js';

export interface StreamApp {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  app: FastifyInstance;
  realtime: RealtimeServer;
  registry: Registry;
  /** Closes the stream (sockets with 1001) and the app; the database stays open. */
  close(): Promise<void>;
}

export interface StreamAppOptions extends Partial<Omit<RealtimeOptions, 'registry' | 'db'>> {
  db: Database;
  registry?: Registry;
  /** Listen on this port, for a restart on the same address; default an ephemeral port. */
  port?: number;
}

/** Starts the HTTP app and the stream on `db`, listening on 127.0.0.1. */
export async function startStreamApp(options: StreamAppOptions): Promise<StreamApp> {
  const logger = options.logger ?? silentLogger();
  const registry =
    options.registry ?? new Registry(options.db, new FakeClock(testClockStart), logger);
  const app = await buildApp({ registry, db: options.db, logger });
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) {
    await app.close();
    throw new Error(`the stream app has no TCP address (got ${String(address)})`);
  }
  let realtime: RealtimeServer;
  try {
    realtime = await startRealtime(app.server, { ...options, registry, db: options.db, logger });
  } catch (error) {
    await app.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    app,
    realtime,
    registry,
    close() {
      closing ??= (async () => {
        await realtime.close();
        await app.close();
      })();
      return closing;
    },
  };
}

export interface StreamServer extends StreamApp {
  db: Database;
  clock: FakeClock;
}

/** Starts the app and the stream on a fresh in-memory PGlite database that closes with it. */
export async function startStreamServer(
  options: Partial<Omit<StreamAppOptions, 'db' | 'registry'>> = {},
): Promise<StreamServer> {
  const database = await openTestDatabase('pglite');
  if (!database) throw new Error('openTestDatabase returned no PGlite database');
  const clock = new FakeClock(testClockStart);
  const registry = new Registry(database.db, clock, silentLogger());
  let app: StreamApp;
  try {
    app = await startStreamApp({ ...options, db: database.db, registry });
  } catch (error) {
    await database.close();
    throw error;
  }
  return {
    ...app,
    db: database.db,
    clock,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/** GET /api/thunderlink/graph on a server, parsed. */
export async function fetchGraph(url: string, includeOffline = false): Promise<Graph> {
  const response = await fetch(`${url}/api/thunderlink/graph?include_offline=${includeOffline}`);
  if (response.status !== 200) throw new Error(`GET /graph returned ${response.status}`);
  return (await response.json()) as Graph;
}

/** Sorts a graph's nodes and links by id, for comparing a client's copy with GET /graph. */
export function canonicalGraph(graph: Graph): Graph {
  return {
    seq: graph.seq,
    nodes: [...graph.nodes].sort((a, b) => a.id.localeCompare(b.id)),
    links: [...graph.links].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/**
 * A client's copy of the graph. It keeps every node and open link it has heard of, offline ones
 * included, and shows only what GET /graph would.
 */
export class GraphModel {
  seq = 0;
  readonly nodes = new Map<string, GraphNode>();
  readonly links = new Map<string, GraphLink>();

  constructor(readonly includeOffline: boolean) {}

  reset(graph: Graph): void {
    this.nodes.clear();
    this.links.clear();
    for (const node of graph.nodes) this.nodes.set(node.id, node);
    for (const link of graph.links) this.links.set(link.id, link);
    this.seq = graph.seq;
  }

  applyReply(reply: GraphJoinReply): void {
    if (reply.mode === 'snapshot') {
      const { mode: _mode, ...graph } = reply;
      this.reset(graph);
      return;
    }
    for (const push of reply.events) this.apply(push.event, push.payload);
    this.seq = reply.seq;
  }

  apply<Event extends GraphPushEvent>(event: Event, payload: GraphPushes[Event]): void {
    const push = { event, payload } as {
      [E in GraphPushEvent]: { event: E; payload: GraphPushes[E] };
    }[GraphPushEvent];
    switch (push.event) {
      case 'node_up':
      case 'node_down':
      case 'node_updated': {
        const { seq, links, ...node } = push.payload;
        this.nodes.set(node.id, node);
        for (const link of links ?? []) this.links.set(link.id, link);
        this.seq = seq;
        return;
      }
      case 'node_removed': {
        this.nodes.delete(push.payload.id);
        for (const [id, link] of this.links) {
          if (link.source === push.payload.id || link.target === push.payload.id)
            this.links.delete(id);
        }
        this.seq = push.payload.seq;
        return;
      }
      case 'link_up':
      case 'link_updated': {
        const { seq, nodes, ...link } = push.payload;
        this.links.set(link.id, link);
        for (const node of nodes) this.nodes.set(node.id, node);
        this.seq = seq;
        return;
      }
      case 'link_down':
        this.links.delete(push.payload.id);
        for (const node of push.payload.nodes) this.nodes.set(node.id, node);
        this.seq = push.payload.seq;
        return;
      case 'group_disrupted':
        this.seq = push.payload.seq;
        return;
      case 'topology_update':
        this.reset(push.payload);
        return;
      case 'node_metrics': {
        const node = this.nodes.get(push.payload.id);
        if (node) this.nodes.set(node.id, { ...node, ...push.payload });
        return;
      }
    }
  }

  /** Returns what GET /graph would return for the same include_offline, sorted by id. */
  visible(): Graph {
    const nodes = [...this.nodes.values()].filter(
      (node) => this.includeOffline || node.status !== 'offline',
    );
    const present = new Set(nodes.map((node) => node.id));
    const links = [...this.links.values()].filter(
      (link) => present.has(link.source) && present.has(link.target),
    );
    return canonicalGraph({ seq: this.seq, nodes, links });
  }
}

export interface ReceivedPush {
  event: GraphPushEvent;
  seq: number | undefined;
}

export interface StreamClientOptions {
  includeOffline?: boolean;
  /** The first join's `since`; later joins send the seq the client has reached. */
  since?: number;
}

interface Waiter {
  check(): boolean;
  resolve(): void;
}

/** Lets a test await a condition on state that callbacks change, re-checked after each change. */
export class Changes {
  private waiters: Waiter[] = [];

  /** Re-checks the waiting conditions; call it after every change to the state they read. */
  notify(): void {
    const ready = this.waiters.filter((waiter) => waiter.check());
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves once `check` holds; rejects with `description` after the timeout. */
  waitFor(description: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        reject(new Error(`timed out waiting for ${description}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/** A `phoenix` client joined to `thunderlink:graph`, applying what it receives to a GraphModel. */
export class StreamClient {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly model: GraphModel;
  /** Every push in arrival order. */
  readonly pushes: ReceivedPush[] = [];
  /**
   * Every push that stands for an outbox event, whether pushed or replayed in an events-mode join
   * reply, in the order the client applied them.
   */
  readonly sequenced: ReceivedPush[] = [];
  /** Every join reply, the first and each rejoin's. */
  readonly replies: GraphJoinReply[] = [];
  /** Close codes of the socket's connections, in order. */
  readonly closeCodes: number[] = [];
  private joined = false;
  private readonly changes = new Changes();

  constructor(serverUrl: string, options: StreamClientOptions = {}) {
    this.model = new GraphModel(options.includeOffline ?? false);
    this.socket = new Socket(`${serverUrl.replace(/^http/, 'ws')}/socket`, {
      transport: WebSocket,
      // Tests reconnect at once rather than after the browser back-off.
      reconnectAfterMs: () => 20,
      rejoinAfterMs: () => 20,
    } as never);
    this.socket.onClose((event: unknown) => {
      this.closeCodes.push((event as { code: number }).code);
      this.notify();
    });
    const params = () => {
      const since = this.joined ? this.model.seq : options.since;
      return { since, include_offline: options.includeOffline };
    };
    this.channel = this.socket.channel('thunderlink:graph', params);
    for (const event of graphPushEvents) {
      this.channel.on(event, (payload: unknown) => {
        this.model.apply(event, payload as never);
        const received = { event, seq: (payload as { seq?: number }).seq };
        this.pushes.push(received);
        if (event !== 'topology_update' && event !== 'node_metrics') this.sequenced.push(received);
        this.notify();
      });
    }
  }

  /** Connects, joins and resolves with the first join reply. */
  connect(timeoutMs = 10_000): Promise<GraphJoinReply> {
    this.socket.connect();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the join timed out')), timeoutMs);
      this.channel
        .join()
        .receive('ok', (reply: GraphJoinReply) => {
          this.joined = true;
          this.model.applyReply(reply);
          if (reply.mode === 'events') {
            for (const push of reply.events) {
              this.sequenced.push({ event: push.event, seq: push.payload.seq });
            }
          }
          this.replies.push(reply);
          clearTimeout(timer);
          resolve(reply);
          this.notify();
        })
        .receive('error', (error: unknown) => {
          clearTimeout(timer);
          reject(new Error(`the join failed: ${JSON.stringify(error)}`));
        });
    });
  }

  /** Resolves once `check` holds, re-checking after every message; rejects after the timeout. */
  async waitFor(description: string, check: () => boolean, timeoutMs?: number): Promise<void> {
    try {
      await this.changes.waitFor(description, check, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message} (client at seq ${this.model.seq})`);
    }
  }

  /** Resolves once the client's graph reflects `seq`. */
  waitForSeq(seq: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(`seq ${seq}`, () => this.model.seq >= seq, timeoutMs);
  }

  /** The client's current WebSocket, from the `ws` package. */
  get transport(): WebSocket {
    return (this.socket as unknown as { conn: WebSocket }).conn;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.disconnect(() => resolve(), 1000));
  }

  private notify(): void {
    this.changes.notify();
  }
}
