// `thunderlink migrate`: applies the schema migrations and exits.
import { parseArgs } from 'node:util';

import { parseServerConfig } from '../config.js';
import { createLogger } from '../log.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open.js';

export async function runMigrate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, 'log-level': { type: 'string' } },
    strict: true,
  });
  const config = parseServerConfig({ dataDir: values['data-dir'], logLevel: values['log-level'] });
  const logger = createLogger({ level: config.logLevel });
  const store = await openStore(config.store, logger);
  try {
    const { applied, currentVersion } = await migrate(store.db);
    for (const migration of applied) {
      logger.info({ version: migration.version, name: migration.name }, 'migration applied');
    }
    logger.info(
      { store: store.location, schema_version: currentVersion, applied: applied.length },
      applied.length === 0 ? 'schema already current' : 'schema migrated',
    );
  } finally {
    await store.close();
  }
  return 0;
}
