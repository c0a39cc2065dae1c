// `thunderlink serve`: the registry server, optionally with an agent for this machine.
import { parseArgs } from 'node:util';

import { Agent } from '../agent/agent.js';
import { type ServerOptions, parseServerConfig } from '../config.js';
import { type Logger, createLogger } from '../log.js';
import { type RunningServer, startServer } from '../server.js';
import { onShutdownSignal } from './signals.js';

export const serveOptions = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  memory: { type: 'boolean' },
  agent: { type: 'boolean' },
  'log-level': { type: 'string' },
  'nats-url': { type: 'string' },
} as const;

export function serverOptionsFrom(values: {
  host?: string;
  port?: string;
  'data-dir'?: string;
  memory?: boolean;
  'log-level'?: string;
  'nats-url'?: string;
}): ServerOptions {
  return {
    host: values.host,
    port: values.port,
    dataDir: values['data-dir'],
    memory: values.memory,
    logLevel: values['log-level'],
    natsUrl: values['nats-url'],
  };
}

/** Starts an agent for this machine against a server in this process. */
export function startLocalAgent(server: RunningServer, logger: Logger): Agent {
  const agent = new Agent({ serverUrl: server.url, logger: logger.child({ component: 'agent' }) });
  agent.start().catch((error: unknown) => logger.error({ err: error }, 'local agent stopped'));
  return agent;
}

/** Prints the address for a person at the terminal; the JSON logs on stdout are for machines. */
export function announce(url: string): void {
  process.stderr.write(`\nThunderlink is running. Open ${url}/ in a browser.\n\n`);
}

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: serveOptions, strict: true });
  const config = parseServerConfig(serverOptionsFrom(values));
  const logger = createLogger({ level: config.logLevel });
  const server = await startServer(config, logger);
  announce(server.url);
  const agent = values.agent ? startLocalAgent(server, logger) : undefined;
  await onShutdownSignal(logger, async () => {
    await agent?.stop();
    await server.close();
  });
  return 0;
}
