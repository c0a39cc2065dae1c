// `thunderlink agent`: registers this machine with a server and heartbeats until stopped.
import { parseArgs } from 'node:util';

import { Agent } from '../agent/agent.js';
import { ConfigError } from '../config.js';
import { RegistryError } from '../errors.js';
import { createLogger } from '../log.js';
import { checkCapabilityKey, checkName } from '../registry/validation.js';
import { type NodeRole, nodeRoles } from '../registry/model.js';
import { parseDuration } from './duration.js';
import { onShutdownSignal } from './signals.js';

function parseCapabilities(entries: string[]): Record<string, string> {
  const capabilities: Record<string, string> = {};
  for (const entry of entries) {
    const separator = entry.indexOf('=');
    if (separator < 1) {
      throw new ConfigError(
        '--capability',
        `${JSON.stringify(entry)} is not KEY=VALUE, such as gpu=a100`,
      );
    }
    capabilities[entry.slice(0, separator)] = entry.slice(separator + 1);
  }
  return capabilities;
}

function checkServerUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(
      '--server',
      `${JSON.stringify(text)} is not a URL, such as http://127.0.0.1:4000`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('--server', `must be an http:// or https:// URL (got ${url.protocol}//)`);
  }
  if (url.username || url.password) {
    throw new ConfigError('--server', 'must not carry a user name or password; use --token');
  }
}

/** Checks names and keys here, so a typo stops the agent before it registers anything. */
function checkNames(
  name: string | undefined,
  links: string[],
  groups: string[],
  capabilityKeys: string[],
): void {
  const check = (setting: string, run: () => void) => {
    try {
      run();
    } catch (error) {
      if (error instanceof RegistryError) throw new ConfigError(setting, error.message);
      throw error;
    }
  };
  if (name !== undefined) check('--name', () => checkName('name', name));
  for (const link of links) check('--link', () => checkName('link', link));
  for (const group of groups) check('--group', () => checkName('group', group));
  for (const key of capabilityKeys) check('--capability', () => checkCapabilityKey('key', key));
}

export async function runAgent(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string', default: 'http://127.0.0.1:4000' },
      name: { type: 'string' },
      role: { type: 'string' },
      interval: { type: 'string', default: '5s' },
      link: { type: 'string', multiple: true, default: [] },
      capability: { type: 'string', multiple: true, default: [] },
      group: { type: 'string', multiple: true, default: [] },
      token: { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  if (values.role !== undefined && !nodeRoles.includes(values.role as NodeRole)) {
    throw new ConfigError('--role', `must be one of ${nodeRoles.join(', ')} (got ${values.role})`);
  }
  let intervalMs: number;
  try {
    intervalMs = parseDuration('--interval', values.interval);
  } catch (error) {
    throw new ConfigError('--interval', (error as Error).message.replace(/^--interval: /, ''));
  }
  if (intervalMs < 100 || intervalMs > 3_600_000) {
    throw new ConfigError('--interval', `must be from 100ms to 1h (got ${values.interval})`);
  }
  checkServerUrl(values.server);
  const capabilities = parseCapabilities(values.capability);
  checkNames(values.name, values.link, values.group, Object.keys(capabilities));

  const logger = createLogger({ level: values['log-level'] });
  const agent = new Agent({
    serverUrl: values.server,
    name: values.name,
    role: values.role as NodeRole | undefined,
    intervalMs,
    links: values.link,
    capabilities,
    groups: values.group,
    token: values.token,
    logger,
  });
  const stopped = onShutdownSignal(logger, () => agent.stop());
  try {
    await agent.start();
  } catch (error) {
    logger.error({ err: error }, 'agent failed');
    return 1;
  }
  await stopped;
  return 0;
}
