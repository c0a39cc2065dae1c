// What every registry operation works with: the database, the clock, the settings, and `change`,
// the one way to write, which pairs each change with its outbox events in one transaction.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Database, Queryable } from '../store/database.js';
import { appendEvents, type PendingEvent } from '../store/outbox.js';
import { pgErrorCode, pgErrorCodes } from '../store/rows.js';
import type { EventName } from './model.js';
import { defaultMetaLimits, type MetaLimits } from './validation.js';

export interface RegistrySettings {
  metaLimits: MetaLimits;
  /** Page size of list routes when the request gives none, and the largest page allowed. */
  defaultPageSize: number;
  maxPageSize: number;
}

export const defaultRegistrySettings: RegistrySettings = {
  metaLimits: defaultMetaLimits,
  defaultPageSize: 100,
  maxPageSize: 1000,
};

export type Emit = (name: EventName, payload: Record<string, unknown>) => void;

/** Transactions that fail only because of another writer are tried this many times in all. */
const maxAttempts = 3;

export class RegistryContext {
  private readonly commitListeners = new Set<(seq: number) => void>();

  constructor(
    readonly db: Database,
    readonly clock: Clock,
    readonly logger: Logger,
    readonly settings: RegistrySettings = defaultRegistrySettings,
  ) {}

  /**
   * Runs `work` in a transaction and appends the events it emits as the transaction's last step.
   * A deadlock or serialization failure retries the whole transaction, events included.
   */
  async change<T>(work: (tx: Queryable, emit: Emit, now: Date) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const pending: PendingEvent[] = [];
      const now = this.clock.now();
      try {
        const { result, seqs } = await this.db.transaction(async (tx) => {
          const result = await work(tx, (name, payload) => pending.push({ name, payload }), now);
          return { result, seqs: await appendEvents(tx, pending, now) };
        });
        const newest = seqs[seqs.length - 1];
        if (newest !== undefined) this.notifyCommitted(newest);
        return result;
      } catch (error) {
        if (!isRetryable(error) || attempt >= maxAttempts) throw error;
        this.logger.warn({ err: error, attempt }, 'transaction conflict, retrying');
      }
    }
  }

  /** Registers a listener for the newest seq after each commit that wrote events. */
  onCommitted(listener: (seq: number) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  private notifyCommitted(seq: number): void {
    for (const listener of this.commitListeners) listener(seq);
  }
}

export function isRetryable(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code === pgErrorCodes.deadlockDetected || code === pgErrorCodes.serializationFailure;
}
