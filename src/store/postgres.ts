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
    async listen(channel, onNotify, onLost) {
      const client = await pool.connect();
      const handler = (message: pg.Notification) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      };
      let active = true;
      const detach = () => {
        active = false;
        client.off('notification', handler);
        client.off('error', lost);
      };
      // A dropped connection emits 'error' on the client; without a listener that would end the
      // process. The broken client goes back to the pool to be destroyed, and onLost is called.
      const lost = (error: Error) => {
        if (!active) return;
        detach();
        client.release(error);
        onLost?.(error);
      };
      client.on('error', lost);
      client.on('notification', handler);
      try {
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (error) {
        detach();
        client.release(error as Error);
        throw error;
      }
      return async () => {
        if (!active) return;
        detach();
        await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
        client.release();
      };
    },
    async close() {
      await pool.end();
    },
  };
}
