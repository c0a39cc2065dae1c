// Server settings: parsed and checked once, at start-up, then frozen. A bad setting stops the
// start with a message that names it.
import { isIP } from 'node:net';

import { ConfigError } from './config-error.js';

import {
  type LivenessSettings,
  type RetentionSettings,
  defaultLivenessSettings,
  defaultRetentionSettings,
} from './liveness/settings.js';
import type { StoreConfig } from './store/open.js';

export interface ServerConfig {
  host: string;
  port: number;
  store: StoreConfig;
  logLevel: string;
  /** Request body limit in bytes for routes without their own. */
  bodyLimit: number;
  liveness: LivenessSettings;
  retention: RetentionSettings;
  /** NATS server to publish every outbox event to, through JetStream; none when unset. */
  natsUrl?: string;
}

export { ConfigError };

export const defaultDataDir = '.thunderlink/data';
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ServerOptions {
  host?: string;
  port?: string;
  dataDir?: string;
  memory?: boolean;
  databaseUrl?: string;
  logLevel?: string;
  natsUrl?: string;
}

/** Addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function parsePort(setting: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new ConfigError(
      setting,
      `must be a port number from 0 to 65535 (got ${JSON.stringify(text)})`,
    );
  }
  return port;
}

export function parseServerConfig(options: ServerOptions, env = process.env): ServerConfig {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) {
    throw new ConfigError(
      '--host',
      `${host} is not a loopback address. This version has no API tokens, so it listens only on ` +
        '127.0.0.1, ::1 or localhost; put a reverse proxy with authentication in front to expose it',
    );
  }
  const port = parsePort(
    options.port === undefined ? 'PORT' : '--port',
    options.port ?? env.PORT ?? '4000',
  );
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    if (options.memory || options.dataDir !== undefined) {
      throw new ConfigError(
        'DATABASE_URL',
        'is set, so --memory and --data-dir do not apply; unset one or the other',
      );
    }
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
    }
  }
  if (options.memory && options.dataDir !== undefined) {
    throw new ConfigError('--memory', 'keeps nothing on disk, so it cannot go with --data-dir');
  }
  const logLevel = options.logLevel ?? env.LOG_LEVEL ?? 'info';
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${logLevels.join(', ')} (got ${logLevel})`);
  }

  const natsUrl = options.natsUrl ?? env.NATS_URL;
  if (natsUrl !== undefined && natsUrl !== '' && !/^(nats|tls):\/\/\S+$/.test(natsUrl)) {
    throw new ConfigError(
      options.natsUrl === undefined ? 'NATS_URL' : '--nats-url',
      `must be a URL such as nats://127.0.0.1:4222 (got ${JSON.stringify(natsUrl)})`,
    );
  }

  let store: StoreConfig;
  if (databaseUrl) store = { kind: 'postgres', url: databaseUrl };
  else if (options.memory) store = { kind: 'memory' };
  else
    store = {
      kind: 'pglite',
      dataDir: options.dataDir ?? env.THUNDERLINK_DATA_DIR ?? defaultDataDir,
    };

  return Object.freeze({
    host,
    port,
    store,
    logLevel,
    bodyLimit: 64 * 1024,
    liveness: defaultLivenessSettings,
    retention: defaultRetentionSettings,
    natsUrl: natsUrl === '' ? undefined : natsUrl,
  });
}
