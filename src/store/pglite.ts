// The embedded driver: PGlite (PostgreSQL compiled to WebAssembly) in a data directory or in memory.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

import { type Database, type Queryable, parseBigint, typeOids } from './database.js';

const parsers = {
  [typeOids.int8]: parseBigint,
  [typeOids.numeric]: (text: string) => Number(text),
};

export async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir, { parsers });
  const queryOn = (target: Pick<PGlite, 'query'>): Queryable['query'] => {
    return async (sql, params) => {
      const result = await target.query(sql, params as unknown[] | undefined);
      return result.rows as never[];
    };
  };

  return {
    kind: 'pglite',
    query: queryOn(pg),
    async exec(sql) {
      await pg.exec(sql);
    },
    transaction(work) {
      return pg.transaction((tx) => work({ query: queryOn(tx) }));
    },
    async listen(channel, onNotify) {
      const unsubscribe = await pg.listen(channel, onNotify);
      return async () => unsubscribe();
    },
    async close() {
      await pg.close();
    },
  };
}
