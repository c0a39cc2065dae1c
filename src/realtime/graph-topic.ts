// The `thunderlink:graph` topic: joins with a snapshot or a replay of the missed events, the pushes
// of every outbox event in seq order, node metrics, and periodic whole-graph updates.
import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OutboxEvent } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import type { Channel, JoinResult, TopicRoute } from './connection.js';
import { GraphSubscriber } from './graph-subscriber.js';
import { graphTopic } from './messages.js';
import { type MetricsBatch, MetricsPoller } from './metrics.js';
import { type PushItem, toStreamItems } from './pushes.js';
import type { RealtimeReads } from '../store/stream.js';
import type { SnapshotReader } from './snapshots.js';

/** A join replays the missed events only when fewer than this many happened after its `since`. */
export const maxReplayEvents = 1000;
/** Payload bytes pushed to each subscriber before the delivery lets sockets flush. */
const deliverySliceBytes = 64 * 1024;

export interface GraphTopicOptions {
  registry: Pick<Registry, 'events'>;
  reads: RealtimeReads;
  snapshots: SnapshotReader;
  logger: Logger;
  now: () => number;
  /** Milliseconds between whole-graph `topology_update` pushes to every client. */
  topologyIntervalMs: number;
  /** Milliseconds between reads of changed heartbeat metrics. */
  metricsIntervalMs: number;
}

interface JoinParams {
  since: number | undefined;
  includeOffline: boolean;
}

interface Replay {
  seq: number;
  items: PushItem[];
  startedAt: number;
}

export class GraphTopic implements TopicRoute {
  readonly snapshots: SnapshotReader;
  readonly logger: Logger;
  private readonly subscribers = new Set<GraphSubscriber>();
  private readonly metrics: MetricsPoller;
  private readonly topologyTimer: NodeJS.Timeout;

  constructor(private readonly options: GraphTopicOptions) {
    this.snapshots = options.snapshots;
    this.logger = options.logger;
    this.metrics = new MetricsPoller({
      reads: options.reads,
      logger: options.logger,
      now: options.now,
      intervalMs: options.metricsIntervalMs,
      deliver: (batch) => this.deliverMetrics(batch),
    });
    this.topologyTimer = setInterval(() => this.resyncAll(), options.topologyIntervalMs);
    this.topologyTimer.unref();
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  matches(topic: string): boolean {
    return topic === graphTopic;
  }

  async join(channel: Channel, params: Record<string, unknown>): Promise<JoinResult> {
    const parsed = parseJoinParams(params);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    // Registered before anything is read, so every event delivered from now on reaches it.
    const subscriber = new GraphSubscriber(this, channel, parsed.includeOffline);
    this.add(subscriber);
    try {
      const replay = parsed.since === undefined ? null : await this.replay(parsed.since);
      if (replay) {
        subscriber.setBaseline(replay.seq, replay.startedAt);
        return { ok: true, responseJson: eventsReplyJson(replay), handler: subscriber };
      }
      const snapshot = await this.snapshots.read(parsed.includeOffline);
      subscriber.setBaseline(snapshot.graph.seq, snapshot.startedAt);
      const responseJson = `{"mode":"snapshot",${snapshot.json().slice(1)}`;
      return { ok: true, responseJson, handler: subscriber };
    } catch (error) {
      this.remove(subscriber);
      throw error;
    }
  }

  /**
   * Sends a page of outbox events, in order, to every subscriber. The page goes out in slices with
   * a turn of the event loop between them, so sockets can flush and a client that reads keeps its
   * queue under the bound during a burst. A subscriber that joins between slices loses nothing:
   * the earlier slices were committed before its snapshot or replay was read.
   */
  async deliver(events: OutboxEvent[]): Promise<void> {
    if (this.subscribers.size === 0) return;
    const items = await toStreamItems(events, this.options.reads);
    let sliceBytes = 0;
    for (const item of items) {
      for (const subscriber of this.subscribers) subscriber.offer(item);
      sliceBytes += item.kind === 'push' ? item.json.length : 0;
      if (sliceBytes >= deliverySliceBytes) {
        sliceBytes = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Moves every client to a fresh topology_update. */
  resyncAll(): void {
    for (const subscriber of this.subscribers) subscriber.resync();
  }

  remove(subscriber: GraphSubscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    if (this.subscribers.size === 0) this.metrics.stop();
  }

  /**
   * Stops the timers. The channels are not closed here: phx_close would tell clients not to rejoin,
   * while the socket server's close code 1001 makes them reconnect elsewhere.
   */
  stop(): void {
    clearInterval(this.topologyTimer);
    this.metrics.stop();
  }

  private add(subscriber: GraphSubscriber): void {
    this.subscribers.add(subscriber);
    if (this.subscribers.size === 1) this.metrics.start();
  }

  private deliverMetrics(batch: MetricsBatch): void {
    for (const subscriber of this.subscribers) subscriber.offerMetrics(batch);
  }

  /**
   * Builds the pushes after `since`, or returns null when the client needs a snapshot instead,
   * because the events are gone or too many, or one of them needs a fresh graph.
   */
  private async replay(since: number): Promise<Replay | null> {
    const startedAt = this.options.now();
    try {
      // A client whose last push was a node_removed may have missed the fresh graph after it.
      if (since > 0) {
        const [atSince] = (await this.options.registry.events(since - 1, 1)).events;
        if (atSince?.seq === since && atSince.name === 'cluster.node.deregistered') return null;
      }
      const { events } = await this.options.registry.events(since, maxReplayEvents);
      if (events.length >= maxReplayEvents) return null;
      const items = await toStreamItems(events, this.options.reads);
      const pushes: PushItem[] = [];
      for (const item of items) {
        if (item.kind === 'resync') return null;
        pushes.push(item);
      }
      return { seq: events[events.length - 1]?.seq ?? since, items: pushes, startedAt };
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'TL_ERR_SINCE_EXPIRED') return null;
      throw error;
    }
  }
}

function eventsReplyJson(replay: Replay): string {
  const events = replay.items.map(
    (item) => `{"event":"${item.push.event}","payload":${item.json}}`,
  );
  return `{"mode":"events","seq":${replay.seq},"events":[${events.join(',')}]}`;
}

/** Checks the join parameters; returns the reason when they are invalid. */
function parseJoinParams(params: Record<string, unknown>): JoinParams | string {
  const unknown = Object.keys(params).filter((key) => key !== 'since' && key !== 'include_offline');
  if (unknown.length > 0) {
    const names = unknown.join(', ');
    return `unknown join parameter ${names}; the parameters are since and include_offline`;
  }
  const { since, include_offline: includeOffline } = params;
  if (
    since !== undefined &&
    since !== null &&
    !(Number.isSafeInteger(since) && (since as number) >= 0)
  ) {
    return `since must be a whole number of at least 0 (got ${describeValue(since)})`;
  }
  if (includeOffline !== undefined && typeof includeOffline !== 'boolean') {
    return `include_offline must be true or false (got ${describeValue(includeOffline)})`;
  }
  return {
    since: since === undefined || since === null ? undefined : (since as number),
    includeOffline: includeOffline ?? false,
  };
}

/**
 * Describes a client's value for an error reply without serialising it: the value may be nested
 * deeply enough to overflow JSON.stringify, or large enough to make the reply huge.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(shown);
  }
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
