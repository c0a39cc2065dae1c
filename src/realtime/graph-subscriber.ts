// One socket's subscription to `thunderlink:graph`. It owns the rule that makes the stream
// gap-free. From the moment it is registered, every stream item is either sent, or buffered until
// the subscriber has a baseline (a snapshot or a replay) and then sent when newer than it.
import type { Logger } from '../log.js';
import type { Channel, ChannelHandler } from './connection.js';
import type { MetricsBatch } from './metrics.js';
import type { StreamItem } from './pushes.js';
import type { Snapshot, SnapshotReader } from './snapshots.js';

/** Items held while a subscriber waits for a snapshot; past this it waits for another snapshot. */
const maxBufferedItems = 10_000;

type State =
  /** Waiting for the join's replay or snapshot: items are buffered. */
  | 'joining'
  /** Waiting for a snapshot for a topology_update: items are buffered. */
  | 'pending'
  /** Items are sent as they come. */
  | 'live'
  /** A push was dropped because the socket's queue is full: items are ignored until it drains. */
  | 'stale'
  | 'stopped';

export interface SubscriberHost {
  snapshots: SnapshotReader;
  logger: Logger;
  remove(subscriber: GraphSubscriber): void;
}

export class GraphSubscriber implements ChannelHandler {
  private state: State = 'joining';
  /** The seq the client's graph reflects after its join reply or last topology_update. */
  private baseline = 0;
  private baselineStartedAt = 0;
  private buffer: StreamItem[] = [];
  private metricsBuffer: MetricsBatch[] = [];
  private overflowed = false;
  /** A topology_update was requested while the join was still running. */
  private resyncAfterJoin = false;

  constructor(
    private readonly host: SubscriberHost,
    readonly channel: Channel,
    readonly includeOffline: boolean,
  ) {}

  /** Sets the position the join reply brings the client to; items up to it are not sent again. */
  setBaseline(seq: number, startedAt: number): void {
    this.baseline = seq;
    this.baselineStartedAt = startedAt;
  }

  /** Runs once the join reply is queued: the buffered items follow it. */
  start(): void {
    if (this.state !== 'joining') return;
    if (this.overflowed || this.resyncAfterJoin) {
      this.requestSnapshot();
      return;
    }
    this.goLive();
  }

  stop(): void {
    this.state = 'stopped';
    this.buffer = [];
    this.metricsBuffer = [];
    this.host.remove(this);
  }

  offer(item: StreamItem): void {
    switch (this.state) {
      case 'joining':
      case 'pending':
        if (this.buffer.length >= maxBufferedItems) {
          this.overflowed = true;
          this.buffer = [];
        }
        if (!this.overflowed) this.buffer.push(item);
        return;
      case 'live':
        this.send(item);
        return;
      case 'stale':
      case 'stopped':
        return;
    }
  }

  offerMetrics(batch: MetricsBatch): void {
    if (this.state === 'joining' || this.state === 'pending') {
      if (this.metricsBuffer.length < 60) this.metricsBuffer.push(batch);
      return;
    }
    if (this.state !== 'live') return;
    for (const { json } of batch.metrics) {
      if (!this.channel.push('node_metrics', json)) {
        this.becomeStale();
        return;
      }
    }
  }

  /**
   * Sends the client a fresh topology_update and continues from its seq. While one is on its way,
   * or while a stale client's queue drains, this does nothing: the update that follows covers it.
   */
  resync(): void {
    if (this.state === 'stopped' || this.state === 'pending' || this.state === 'stale') return;
    if (this.state === 'joining') {
      this.resyncAfterJoin = true;
      return;
    }
    this.requestSnapshot();
  }

  private requestSnapshot(): void {
    this.state = 'pending';
    this.buffer = [];
    this.metricsBuffer = [];
    this.overflowed = false;
    this.host.snapshots.read(this.includeOffline).then(
      (snapshot) => this.resynced(snapshot),
      (error: unknown) => {
        if (this.state === 'stopped') return;
        this.host.logger.error({ err: error }, 'reading the graph for a stream client failed');
        // phx_error makes the client rejoin with its last seq.
        this.channel.fail();
      },
    );
  }

  private resynced(snapshot: Snapshot): void {
    if (this.state !== 'pending') return;
    if (this.overflowed) {
      this.requestSnapshot();
      return;
    }
    this.setBaseline(snapshot.graph.seq, snapshot.startedAt);
    this.channel.pushAlways('topology_update', snapshot.json());
    this.goLive();
  }

  private goLive(): void {
    this.state = 'live';
    const items = this.buffer;
    const metrics = this.metricsBuffer;
    this.buffer = [];
    this.metricsBuffer = [];
    // offer, not send: an item can start another resync, and the rest then wait for it.
    for (const item of items) this.offer(item);
    for (const batch of metrics) {
      if (batch.readStartedAt > this.baselineStartedAt) this.offerMetrics(batch);
    }
  }

  private send(item: StreamItem): void {
    if (item.seq <= this.baseline) return;
    if (item.kind === 'resync') {
      this.requestSnapshot();
      return;
    }
    if (!this.channel.push(item.push.event, item.json)) this.becomeStale();
  }

  private becomeStale(): void {
    if (this.state !== 'live') return;
    this.state = 'stale';
    this.channel.onDrain(() => {
      if (this.state === 'stale') this.requestSnapshot();
    });
  }
}
