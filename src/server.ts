// Starts a registry server: opens and migrates the store, then serves the API and the web page.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { DatabaseClock } from './clock.js';
import type { ServerConfig } from './config.js';
import { buildApp } from './http/app.js';
import type { Logger } from './log.js';
import { LivenessSweeper } from './liveness/sweeper.js';
import { Registry } from './registry/registry.js';
import { runRetention } from './registry/retention.js';
import { migrate } from './store/migrate.js';
import { openStore } from './store/open.js';
import { ensureHeartbeatPartitions } from './store/partitions.js';
import { version } from './version.js';

/** How often heartbeat partitions are created ahead of time. */
const partitionIntervalMs = 10 * 60_000;

export interface RunningServer {
  url: string;
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

/** The built web page: dist/web beside the compiled server, or under dist/ when run from source. */
export function findWebRoot(): string | undefined {
  const candidates = ['./web', '../dist/web'].map((path) =>
    fileURLToPath(new URL(path, import.meta.url)),
  );
  return candidates.find((path) => existsSync(`${path}/index.html`));
}

export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const store = await openStore(config.store, logger);
  try {
    const { applied, currentVersion } = await migrate(store.db);
    logger.info(
      {
        store: store.location,
        driver: store.db.kind,
        schema_version: currentVersion,
        applied: applied.length,
      },
      'store ready',
    );
    const clock = await DatabaseClock.start(store.db);
    const createPartitions = async () => {
      const result = await ensureHeartbeatPartitions(store.db, clock.now());
      if (result.skipped.length > 0) {
        logger.warn(
          { partitions: result.skipped },
          'heartbeat partitions skipped: rows for those hours are in the default partition',
        );
      }
    };
    await createPartitions();
    const partitionTimer = setInterval(() => {
      createPartitions().catch((error: unknown) =>
        logger.error({ err: error }, 'partition maintenance failed'),
      );
    }, partitionIntervalMs);
    partitionTimer.unref();

    const registry = new Registry(store.db, clock, logger);
    const sweeper = new LivenessSweeper(registry.context, config.liveness);
    await sweeper.start();
    sweeper.run();
    let retentionRun: Promise<unknown> = Promise.resolve();
    const retentionTimer = setInterval(() => {
      retentionRun = runRetention(registry.context, config.retention).catch((error: unknown) =>
        logger.error({ err: error }, 'retention pass failed'),
      );
    }, config.retention.retentionIntervalMs);
    retentionTimer.unref();
    const webRoot = findWebRoot();
    if (!webRoot) logger.warn('the web page is not built; run npm run build to serve it at /');
    const app = await buildApp({
      registry,
      db: store.db,
      logger,
      webRoot,
      bodyLimit: config.bodyLimit,
      version,
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    store.advertise(url);
    logger.info({ url, store: store.location }, `thunderlink is listening: open ${url}/`);

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      registry,
      close() {
        closing ??= (async () => {
          clearInterval(partitionTimer);
          clearInterval(retentionTimer);
          await app.close();
          await sweeper.stop();
          await retentionRun;
          clock.stop();
          await store.close();
          logger.info('server stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}
