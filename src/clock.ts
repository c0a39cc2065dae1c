// Registry time. Every time the registry stores or compares comes from one Clock, so that tests
// can drive time with a FakeClock and production reads the database server's clock.
import type { Queryable } from './store/database.js';

export interface Clock {
  /** Registry time. */
  now(): Date;
  /** Milliseconds from an arbitrary origin that never jump, for measuring elapsed time. */
  monotonicMs(): number;
}

/** A clock that moves only when a test moves it. */
export class FakeClock implements Clock {
  private current: number;
  private monotonic = 0;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  monotonicMs(): number {
    return this.monotonic;
  }

  /** Lets time pass: registry time and monotonic time move together. */
  advance(milliseconds: number): void {
    this.current += milliseconds;
    this.monotonic += milliseconds;
  }

  /** Moves registry time alone, as when the system clock is stepped. */
  jump(milliseconds: number): void {
    this.current += milliseconds;
  }

  /** Sets registry time; monotonic time does not move. */
  set(time: Date | string): void {
    this.current = new Date(time).getTime();
  }
}

/**
 * The database server's clock, read once at start and again every `resyncMs`, and extrapolated in
 * between with the process's monotonic timer. A jump of this machine's wall clock therefore does
 * not move registry time. Replicas on one database agree to within a query's round trip, except
 * for up to `resyncMs` after the database server's own clock is stepped, which the one-interval
 * grace after a detected jump covers for heartbeat intervals of at least that long.
 */
export class DatabaseClock implements Clock {
  private baseDatabaseMs = 0;
  private baseMonotonicMs = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly db: Queryable) {}

  static async start(db: Queryable, resyncMs = 1000): Promise<DatabaseClock> {
    const clock = new DatabaseClock(db);
    await clock.sync();
    clock.timer = setInterval(() => void clock.sync().catch(() => undefined), resyncMs);
    clock.timer.unref();
    return clock;
  }

  now(): Date {
    return new Date(this.baseDatabaseMs + (performance.now() - this.baseMonotonicMs));
  }

  monotonicMs(): number {
    return performance.now();
  }

  async sync(): Promise<void> {
    const before = performance.now();
    const [row] = await this.db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const after = performance.now();
    if (!row) throw new Error('the database returned no time');
    this.baseDatabaseMs = row.now.getTime();
    this.baseMonotonicMs = (before + after) / 2;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
