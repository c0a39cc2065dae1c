// The `thunderlink:node:<id>` topics: every heartbeat of one node, in full and undamped, for a
// details view. Heartbeat rows are read from the shared table, so a heartbeat sent to any replica
// reaches the clients of every replica.
import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OutboxEvent } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import type { Channel, ChannelHandler, JoinResult, TopicRoute } from './connection.js';
import { type NodeJoinReply, type NodeRemovedPush, nodeTopicPrefix } from './messages.js';
import type { RealtimeReads } from '../store/stream.js';

export interface NodeTopicOptions {
  registry: Pick<Registry, 'getNode'>;
  reads: Pick<RealtimeReads, 'latestHeartbeatOf' | 'heartbeatsSince'>;
  logger: Logger;
  /** Milliseconds between reads of new heartbeat rows while any node topic is joined. */
  pollIntervalMs?: number;
  /**
   * How far before the newest row seen each read looks again, in milliseconds. A heartbeat row's
   * time is taken before its statement commits, so rows can become visible out of time order.
   */
  overlapMs?: number;
}

/** Rows read at most per poll; the rest follow in the next one. */
const rowsPerPoll = 5000;

interface Watch {
  nodeId: string;
  channels: Set<Channel>;
  /** The newest `inserted_at` seen, in epoch milliseconds. */
  watermark: number;
  /** Rows already pushed that are still inside the overlap window, with their times. */
  seen: Map<number, number>;
}

export class NodeTopic implements TopicRoute {
  private readonly watches = new Map<string, Watch>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private failures = 0;
  private stopped = false;

  constructor(private readonly options: NodeTopicOptions) {}

  matches(topic: string): boolean {
    return topic.startsWith(nodeTopicPrefix) && topic.length > nodeTopicPrefix.length;
  }

  async join(channel: Channel, params: Record<string, unknown>): Promise<JoinResult> {
    if (Object.keys(params).length > 0) {
      return { ok: false, reason: `unknown join parameter ${Object.keys(params).join(', ')}` };
    }
    const ref = channel.topic.slice(nodeTopicPrefix.length);
    let node;
    try {
      node = await this.options.registry.getNode(ref);
    } catch (error) {
      // Not found, or a reference that is neither a UUID nor a valid name.
      if (error instanceof RegistryError) return { ok: false, reason: error.message };
      throw error;
    }
    await this.watch(node.id, channel);
    const reply: NodeJoinReply = { node };
    const handler: ChannelHandler = { stop: () => this.unwatch(node.id, channel) };
    return { ok: true, responseJson: JSON.stringify(reply), handler };
  }

  /** Ends the topics of deregistered nodes with a node_removed push and phx_close. */
  deliver(events: OutboxEvent[]): void {
    for (const event of events) {
      if (event.name !== 'cluster.node.deregistered') continue;
      const { node, links } = event.payload as {
        node: { id: string; name: string };
        links: string[];
      };
      const watch = this.watches.get(node.id);
      if (!watch) continue;
      const push: NodeRemovedPush = { id: node.id, name: node.name, links, seq: event.seq };
      const json = JSON.stringify(push);
      for (const channel of [...watch.channels]) {
        channel.pushAlways('node_removed', json);
        channel.close();
      }
    }
  }

  /** Stops reading heartbeats; the socket server closes the sockets themselves. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watches.clear();
  }

  private async watch(nodeId: string, channel: Channel): Promise<void> {
    const existing = this.watches.get(nodeId);
    if (existing) {
      existing.channels.add(channel);
      return;
    }
    // Rows that exist at the join are history, which GET /nodes/:id/heartbeats serves.
    const latest = await this.options.reads.latestHeartbeatOf(nodeId);
    const watermark = latest?.getTime() ?? 0;
    const seen = new Map<number, number>();
    if (latest) {
      const since = new Date(watermark - this.overlapMs);
      for (const row of await this.options.reads.heartbeatsSince(
        [{ nodeId, since }],
        rowsPerPoll,
      )) {
        seen.set(row.id, Date.parse(row.inserted_at));
      }
    }
    if (channel.ended) return;
    const raced = this.watches.get(nodeId);
    if (raced) {
      raced.channels.add(channel);
      return;
    }
    this.watches.set(nodeId, { nodeId, channels: new Set([channel]), watermark, seen });
    this.schedule();
  }

  private unwatch(nodeId: string, channel: Channel): void {
    const watch = this.watches.get(nodeId);
    if (!watch) return;
    watch.channels.delete(channel);
    if (watch.channels.size === 0) this.watches.delete(nodeId);
  }

  private get overlapMs(): number {
    return this.options.overlapMs ?? 5000;
  }

  private schedule(): void {
    if (this.polling || this.stopped || this.watches.size === 0) return;
    this.polling = true;
    this.timer = setTimeout(() => {
      this.poll()
        .catch((error: unknown) => {
          this.failures += 1;
          if (this.failures === 1 || this.failures % 100 === 0) {
            this.options.logger.error(
              { err: error, failures: this.failures },
              'reading heartbeats failed',
            );
          }
        })
        .finally(() => {
          this.polling = false;
          this.schedule();
        });
    }, this.options.pollIntervalMs ?? 250);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const watches = [...this.watches.values()];
    const cursors = watches.map((watch) => ({
      nodeId: watch.nodeId,
      since: new Date(watch.watermark - this.overlapMs),
    }));
    const rows = await this.options.reads.heartbeatsSince(cursors, rowsPerPoll);
    this.failures = 0;
    for (const row of rows) {
      const watch = this.watches.get(row.node_id);
      if (!watch || watch.seen.has(row.id)) continue;
      const at = Date.parse(row.inserted_at);
      watch.seen.set(row.id, at);
      if (at > watch.watermark) watch.watermark = at;
      const json = JSON.stringify(row);
      for (const channel of watch.channels) channel.push('heartbeat', json);
    }
    for (const watch of watches) {
      const floor = watch.watermark - this.overlapMs;
      for (const [id, at] of watch.seen) if (at < floor) watch.seen.delete(id);
    }
  }
}
