// Follows heartbeat metrics for `node_metrics` pushes by reading, once per interval, the nodes
// whose `last_heartbeat_at` moved. Every replica reads the shared table, so metrics reach the
// clients of all replicas without a notification per heartbeat. A node is pushed once per read.
import type { Logger } from '../log.js';
import type { NodeMetricsPush } from './messages.js';
import type { MetricsRow, RealtimeReads } from '../store/stream.js';

export interface MetricsBatch {
  /** Monotonic time at which the read started. */
  readStartedAt: number;
  metrics: { push: NodeMetricsPush; json: string }[];
}

export interface MetricsPollerOptions {
  reads: Pick<RealtimeReads, 'latestHeartbeatAt' | 'metricsSince'>;
  logger: Logger;
  deliver(batch: MetricsBatch): void;
  now: () => number;
  /** Milliseconds between reads; one read per second gives the one-per-second bound. */
  intervalMs?: number;
  /**
   * How far before the newest heartbeat time seen each read looks again, in milliseconds.
   * Heartbeat times are taken before their statement commits, so a batch can become visible after
   * a newer one did; rows re-read within the window are recognised and not pushed twice.
   */
  overlapMs?: number;
}

export class MetricsPoller {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** The newest `last_heartbeat_at` read, in epoch milliseconds; null before the first read. */
  private watermark: number | null = null;
  /** The heartbeat time pushed per node, for nodes inside the overlap window. */
  private readonly pushed = new Map<string, number>();
  private failures = 0;

  constructor(private readonly options: MetricsPollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.watermark = null;
    this.pushed.clear();
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.poll(), delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const interval = this.options.intervalMs ?? 1000;
    try {
      await this.read();
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      if (this.failures === 1 || this.failures % 60 === 0) {
        this.options.logger.error(
          { err: error, failures: this.failures },
          'reading heartbeat metrics failed',
        );
      }
    }
    this.schedule(interval);
  }

  private async read(): Promise<void> {
    const overlap = this.options.overlapMs ?? 2000;
    if (this.watermark === null) {
      // The first read only finds the starting point: snapshots already carry current metrics.
      // Heartbeats inside the overlap before it count as pushed, or the next read, which looks
      // back over the overlap, would push every node that heartbeated just before the start.
      const latest = await this.options.reads.latestHeartbeatAt();
      this.watermark = latest?.getTime() ?? 0;
      if (latest) {
        const recent = await this.options.reads.metricsSince(new Date(this.watermark - overlap));
        for (const row of recent) this.pushed.set(row.id, row.last_heartbeat_at.getTime());
      }
      return;
    }
    const readStartedAt = this.options.now();
    const rows = await this.options.reads.metricsSince(new Date(this.watermark - overlap));
    if (!this.running) return;
    const metrics = this.changed(rows);
    const floor = this.watermark - overlap;
    for (const [id, at] of this.pushed) if (at < floor) this.pushed.delete(id);
    if (metrics.length > 0) this.options.deliver({ readStartedAt, metrics });
  }

  private changed(rows: MetricsRow[]): MetricsBatch['metrics'] {
    const metrics: MetricsBatch['metrics'] = [];
    for (const row of rows) {
      const at = row.last_heartbeat_at.getTime();
      const previous = this.pushed.get(row.id);
      if (previous !== undefined && previous >= at) continue;
      this.pushed.set(row.id, at);
      if (this.watermark === null || at > this.watermark) this.watermark = at;
      const push: NodeMetricsPush = {
        id: row.id,
        cpu_load: row.cpu_load,
        mem_used_mb: row.mem_used_mb,
        latency_ms: row.latency_ms,
      };
      metrics.push({ push, json: JSON.stringify(push) });
    }
    return metrics;
  }
}
