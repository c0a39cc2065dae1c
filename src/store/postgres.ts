// The server driver: a pool of connections to PostgreSQL through `pg`.
import pg from 'pg';

import { type Database, type Queryable, parseBigint, typeOids } from './database.js';

export interface PostgresOptions {
  connectionString: string;
  /** Connections in the pool; the pool opens them as load needs. */
  maxConnections?: number;
  /** Schema to create the tables in and to read them from, for isolated tests. */
  searchPath?: string;
  onError?: (error: Error) => void;
}

const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === typeOids.int8) return parseBigint;
    if (oid === typeOids.numeric) return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export async function openPostgres(options: PostgresOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    types: typeParsers,
    connectionTimeoutMillis: 5000,
    options: options.searchPath === undefined ? undefined : `-c search_path=${options.searchPath}`,
  });
  // An idle connection that the server drops must not crash the process; the pool replaces it.
  pool.on('error', (error) => options.onError?.(error));
  // Fail at start-up, with the server's own message, rather than on the first request.
  const probe = await pool.connect();
  probe.release();

  const queryOn = (target: pg.Pool | pg.PoolClient): Queryable['query'] => {
    return async (sql, params) => {
      const result = await target.query(sql, params as unknown[] | undefined);
      return result.rows;
    };
  };

  return {
    kind: 'postgres',
    query: queryOn(pool),
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({ query: queryOn(client) });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onNotify) {
      const client = await pool.connect();
      const handler = (message: pg.Notification) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      };
      client.on('notification', handler);
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return async () => {
        client.off('notification', handler);
        await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
        client.release();
      };
    },
    async close() {
      await pool.end();
    },
  };
}
