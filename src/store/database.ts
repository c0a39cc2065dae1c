// The database interface that the store's queries run on, with one driver for embedded PGlite and
// one for a PostgreSQL server. Both return bigint columns as JavaScript numbers, timestamps as Date
// objects and jsonb as parsed values, so the same queries behave the same on either.

export interface Queryable {
  /** Runs one parameterised statement and returns its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs several statements without parameters, as migrations need. */
  exec(sql: string): Promise<void>;
  /** Runs `work` in one transaction, committing when it resolves and rolling back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel; returns a function that unsubscribes. `onLost` is called if the
   * listening connection drops, after which nothing more is delivered until the caller listens
   * again.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost?: (error: Error) => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** PostgreSQL's type OIDs for the values both drivers must parse alike. */
export const typeOids = { int8: 20, numeric: 1700 } as const;

/**
 * Parses a bigint column to a number. Sequences and row counts stay far below 2^53, and a value
 * above it would be a corruption worth failing loudly on rather than rounding.
 */
export function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`bigint value ${text} does not fit in a JavaScript number`);
  }
  return value;
}
