import { describe, expect, it } from 'vitest';

import { ConfigError, isLoopback, parseServerConfig } from './config.js';

describe('parseServerConfig', () => {
  it('defaults to PGlite on loopback', () => {
    const config = parseServerConfig({}, {});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(4000);
    expect(config.store).toEqual({ kind: 'pglite', dataDir: '.thunderlink/data' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads PORT and DATABASE_URL', () => {
    const config = parseServerConfig({}, { PORT: '4100', DATABASE_URL: 'postgres://db/test' });
    expect(config.port).toBe(4100);
    expect(config.store).toEqual({ kind: 'postgres', url: 'postgres://db/test' });
  });

  it('prefers flags over the environment', () => {
    const config = parseServerConfig({ port: '0', memory: true }, { PORT: '4100' });
    expect(config.port).toBe(0);
    expect(config.store).toEqual({ kind: 'memory' });
  });

  it.each([
    [{ host: '0.0.0.0' }, {}, '--host'],
    [{ host: '192.168.1.4' }, {}, '--host'],
    [{ port: 'abc' }, {}, '--port'],
    [{ port: '70000' }, {}, '--port'],
    [{}, { PORT: '-1' }, 'PORT'],
    [{ memory: true, dataDir: 'x' }, {}, '--memory'],
    [{ memory: true }, { DATABASE_URL: 'postgres://db/test' }, 'DATABASE_URL'],
    [{}, { DATABASE_URL: 'mysql://db/test' }, 'DATABASE_URL'],
    [{ logLevel: 'loud' }, {}, 'LOG_LEVEL'],
  ])('rejects %j with %j', (options, env, setting) => {
    expect(() => parseServerConfig(options, env)).toThrow(ConfigError);
    expect(() => parseServerConfig(options, env)).toThrow(new RegExp(`^${setting}: `));
  });

  it('knows loopback addresses', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.8.9.10')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('::')).toBe(false);
  });
});
