// Follows the outbox in seq order and hands each page of new events to a consumer. Outbox writers
// take seq in commit order, so reading `seq > position` after a wake-up never skips an event that
// commits later: nothing is lost and nothing is delivered twice, whichever replica wrote it.
import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OutboxEvent } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { outboxChannel } from '../store/outbox.js';

/**
 * The database as the tailer needs it. A driver calls `onLost` when the LISTEN connection drops, so
 * the tailer can listen again. With a driver that cannot report it, the fallback poll catches up.
 */
export interface NotifySource {
  readonly kind: 'pglite' | 'postgres';
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost?: (error: Error) => void,
  ): Promise<() => Promise<void>>;
}

export interface TailerOptions {
  registry: Registry;
  db: NotifySource;
  logger: Logger;
  /** Receives each page of events in seq order; the next page is read after it resolves. */
  deliver(events: OutboxEvent[]): Promise<void>;
  /**
   * Called when the outbox no longer contains the events after the position, because retention
   * deleted them or the registry was reset. The tailer continues from `position`.
   */
  onGap(position: number): Promise<void>;
  /**
   * How often the outbox is read without a wake-up, in milliseconds. It bounds the delay of an
   * event whose notification was lost with a dropped connection. Default 5000.
   */
  fallbackPollMs?: number;
}

/** Events read per page; the event feed's own maximum. */
const pageSize = 1000;
const retryDelaysMs = [100, 250, 500, 1000, 2000, 5000];

export class OutboxTailer {
  private position = 0;
  private running = false;
  private again = false;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private relistenTimer: NodeJS.Timeout | undefined;
  private unsubscribeCommits: (() => void) | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private relistenAttempts = 0;

  constructor(private readonly options: TailerOptions) {}

  /** The seq of the last event delivered. */
  get seq(): number {
    return this.position;
  }

  /** Starts after `position`, waking on local commits and, on PostgreSQL, on NOTIFY. */
  async start(position: number): Promise<void> {
    this.position = position;
    // Every commit wakes the tailer, even one below the position: that means the registry was
    // reset, which the read after the wake detects.
    this.unsubscribeCommits = this.options.registry.onCommitted(() => this.wake());
    if (this.options.db.kind === 'postgres') {
      await this.listen();
      this.pollTimer = setInterval(() => this.wake(), this.options.fallbackPollMs ?? 5000);
      this.pollTimer.unref();
    }
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeCommits?.();
    clearTimeout(this.retryTimer);
    clearTimeout(this.relistenTimer);
    clearInterval(this.pollTimer);
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
  }

  /** Reads every event after the position. Calls made while a read runs join that read. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
    });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.readAll();
        this.failures = 0;
      } catch (error) {
        this.scheduleRetry(error);
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async readAll(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      let events: OutboxEvent[];
      try {
        ({ events } = await this.options.registry.events(this.position, pageSize));
      } catch (error) {
        if (!(error instanceof RegistryError) || error.code !== 'TL_ERR_SINCE_EXPIRED') throw error;
        await this.skipGap();
        continue;
      }
      const last = events[events.length - 1];
      if (!last) return;
      await this.options.deliver(events);
      this.position = last.seq;
      if (events.length < pageSize) return;
    }
  }

  private async skipGap(): Promise<void> {
    const graph = await this.options.registry.graph({ include_offline: true });
    this.options.logger.warn(
      { from_seq: this.position, to_seq: graph.seq },
      'outbox events after the stream position are gone; stream clients get a fresh graph',
    );
    this.position = graph.seq;
    await this.options.onGap(graph.seq);
  }

  private scheduleRetry(error: unknown): void {
    const delay = retryDelaysMs[Math.min(this.failures, retryDelaysMs.length - 1)] ?? 5000;
    this.failures += 1;
    // One line per failure streak keeps an outage from flooding the log.
    if (this.failures === 1 || this.failures % 20 === 0) {
      this.options.logger.error(
        { err: error, seq: this.position, failures: this.failures, retry_ms: delay },
        'reading the outbox failed, retrying',
      );
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.wake(), delay);
    this.retryTimer.unref();
  }

  private async listen(): Promise<void> {
    const unlisten = await this.options.db.listen(
      outboxChannel,
      () => this.wake(),
      (error) => this.lost(error),
    );
    if (this.stopped) await unlisten().catch(() => undefined);
    else this.unlisten = unlisten;
  }

  /** Listens again after the LISTEN connection dropped, then catches up from the position. */
  private lost(error: Error): void {
    if (this.stopped) return;
    this.options.logger.warn({ err: error, seq: this.position }, 'outbox LISTEN connection lost');
    this.unlisten = undefined;
    const delay = retryDelaysMs[Math.min(this.relistenAttempts, retryDelaysMs.length - 1)] ?? 5000;
    this.relistenAttempts += 1;
    clearTimeout(this.relistenTimer);
    this.relistenTimer = setTimeout(() => {
      this.listen().then(
        () => {
          this.relistenAttempts = 0;
          this.options.logger.info({ seq: this.position }, 'outbox LISTEN restored, catching up');
          this.wake();
        },
        (listenError: unknown) => this.lost(listenError as Error),
      );
    }, delay);
    this.relistenTimer.unref();
  }
}
