// `thunderlink demo`: the server, a simulated cluster and an agent for this machine.
import { parseArgs } from 'node:util';

import { parseServerConfig } from '../config.js';
import { startDemoCluster } from '../demo/cluster.js';
import { createLogger } from '../log.js';
import { startServer } from '../server.js';
import { announce, serveOptions, serverOptionsFrom, startLocalAgent } from './serve.js';
import { onShutdownSignal } from './signals.js';

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: serveOptions, strict: true });
  const options = serverOptionsFrom(values);
  // The demo keeps nothing unless asked, so trying it leaves no simulated nodes behind.
  if (options.dataDir === undefined && !process.env.DATABASE_URL) options.memory = true;
  const config = parseServerConfig(options);
  const logger = createLogger({ level: config.logLevel });
  const server = await startServer(config, logger);
  const cluster = await startDemoCluster(server.registry, logger.child({ component: 'demo' }));
  const agent = startLocalAgent(server, logger);
  announce(server.url);
  await onShutdownSignal(logger, async () => {
    cluster.stop();
    await agent.stop();
    await server.close();
  });
  return 0;
}
