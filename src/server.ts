// Starts a registry server: opens and migrates the store, then serves the API and the web page.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { DatabaseClock } from './clock.js';
import type { ServerConfig } from './config.js';
import { buildApp } from './http/app.js';
import type { Logger } from './log.js';
import { LivenessSweeper } from './liveness/sweeper.js';
import { NatsSink } from './realtime/nats-sink.js';
import { startRealtime } from './realtime/realtime.js';
import { Registry } from './registry/registry.js';
import { runRetention } from './registry/retention.js';
import type { Database } from './store/database.js';
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

/** Finds the built web page: dist/web beside the compiled server, or under dist/ from source. */
export function findWebRoot(): string | undefined {
  const candidates = ['./web', '../dist/web'].map((path) =>
    fileURLToPath(new URL(path, import.meta.url)),
  );
  return candidates.find((path) => existsSync(`${path}/index.html`));
}

export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const store = await openStore(config.store, logger);
  // Each part that starts pushes its stop function. Stopping runs them newest first, on close and
  // when a later part fails to start.
  const stops: (() => Promise<void>)[] = [() => store.close()];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
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
    stops.push(async () => clock.stop());
    await startMaintenance(store.db, clock, logger, stops);

    const registry = new Registry(store.db, clock, logger);
    const sweeper = new LivenessSweeper(registry.context, config.liveness);
    await sweeper.start();
    sweeper.run();
    stops.push(() => sweeper.stop());
    startRetention(registry, config, logger, stops);

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
    stops.push(() => app.close());
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    store.advertise(url);
    logger.info({ url, store: store.location }, `thunderlink is listening: open ${url}/`);

    if (config.natsUrl) {
      const natsSink = await NatsSink.start({
        url: config.natsUrl,
        registry,
        db: store.db,
        logger,
      });
      stops.push(() => natsSink.stop());
    }
    // The stream shares the HTTP port: Phoenix clients connect to /socket/websocket. It stops
    // first, closing sockets with 1001, so clients reconnect instead of waiting on a closing server.
    const realtime = await startRealtime(app.server, { registry, db: store.db, logger });
    stops.push(() => realtime.close());

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      registry,
      close() {
        closing ??= stopAll().then(() => logger.info('server stopped'));
        return closing;
      },
    };
  } catch (error) {
    await stopAll().catch((stopError: unknown) =>
      logger.error({ err: stopError }, 'cleanup after a failed start failed'),
    );
    throw error;
  }
}

/** Creates heartbeat partitions now and every ten minutes. */
async function startMaintenance(
  db: Database,
  clock: DatabaseClock,
  logger: Logger,
  stops: (() => Promise<void>)[],
): Promise<void> {
  const createPartitions = async () => {
    const result = await ensureHeartbeatPartitions(db, clock.now());
    if (result.skipped.length > 0) {
      logger.warn(
        { partitions: result.skipped },
        'heartbeat partitions skipped: rows for those hours are in the default partition',
      );
    }
  };
  await createPartitions();
  const timer = setInterval(() => {
    createPartitions().catch((error: unknown) =>
      logger.error({ err: error }, 'partition maintenance failed'),
    );
  }, partitionIntervalMs);
  timer.unref();
  stops.push(async () => clearInterval(timer));
}

/** Runs a retention pass every retention interval; stopping waits for a pass in progress. */
function startRetention(
  registry: Registry,
  config: ServerConfig,
  logger: Logger,
  stops: (() => Promise<void>)[],
): void {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = runRetention(registry.context, config.retention).catch((error: unknown) =>
      logger.error({ err: error }, 'retention pass failed'),
    );
  }, config.retention.retentionIntervalMs);
  timer.unref();
  stops.push(async () => {
    clearInterval(timer);
    await running;
  });
}
