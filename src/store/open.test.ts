import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../log.js';
import { StoreLockedError, openStore, redactUrl } from './open.js';

const directories: string[] = [];

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'thunderlink-open-'));
  directories.push(directory);
  return directory;
}

describe('openStore', () => {
  afterEach(() => {
    for (const directory of directories.splice(0))
      rmSync(directory, { recursive: true, force: true });
  });

  it('keeps data in the directory', async () => {
    const dataDir = tempDir();
    const first = await openStore({ kind: 'pglite', dataDir }, silentLogger());
    await first.db.exec('CREATE TABLE kept (value text); INSERT INTO kept VALUES ($$yes$$)');
    first.advertise('http://127.0.0.1:4000');
    const lock = JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, url: 'http://127.0.0.1:4000' });
    await first.close();

    const second = await openStore({ kind: 'pglite', dataDir }, silentLogger());
    expect(await second.db.query('SELECT value FROM kept')).toEqual([{ value: 'yes' }]);
    await second.close();
  });

  it('rejects a directory held here', async () => {
    const dataDir = tempDir();
    const held = await openStore({ kind: 'pglite', dataDir }, silentLogger());
    try {
      await expect(openStore({ kind: 'pglite', dataDir }, silentLogger())).rejects.toThrow(
        /already open in this process/,
      );
    } finally {
      await held.close();
    }
  });

  it('rejects a directory held by a live process', async () => {
    const dataDir = tempDir();
    // The parent of this test process is alive for as long as the test runs.
    const holder = { pid: process.ppid, url: 'http://127.0.0.1:4321', started_at: 'earlier' };
    writeFileSync(join(dataDir, 'server.lock'), JSON.stringify(holder));
    const error = await openStore({ kind: 'pglite', dataDir }, silentLogger()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StoreLockedError);
    expect((error as Error).message).toContain(`process ${process.ppid}`);
    expect((error as Error).message).toContain('http://127.0.0.1:4321');
  });

  it('takes over a lock left by a dead process', async () => {
    const dataDir = tempDir();
    // PIDs this high are beyond Linux's default pid_max, so no process has this one.
    writeFileSync(join(dataDir, 'server.lock'), JSON.stringify({ pid: 99_999_999 }));
    const store = await openStore({ kind: 'pglite', dataDir }, silentLogger());
    expect(JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8')).pid).toBe(process.pid);
    await store.close();
  });

  it('takes over a lock of an unrelated process', async () => {
    const dataDir = tempDir();
    const unrelated = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, 'server.lock'), JSON.stringify({ pid: unrelated.pid }));
      const store = await openStore({ kind: 'pglite', dataDir }, silentLogger());
      await store.close();
    } finally {
      unrelated.kill();
    }
  });

  it('rejects a data directory that is a file', async () => {
    const file = join(tempDir(), 'plain-file');
    writeFileSync(file, 'not a directory');
    await expect(openStore({ kind: 'pglite', dataDir: file }, silentLogger())).rejects.toThrow(
      /^--data-dir: .* is not a directory/,
    );
  });

  it('hides the password in the location', () => {
    expect(redactUrl('postgres://user:secret@db.internal:5432/registry')).toBe(
      'postgres://user:***@db.internal:5432/registry',
    );
    expect(redactUrl('not a url')).toBe('(an invalid URL)');
  });
});
