// Opens the store that the configuration names: PostgreSQL when a URL is given, otherwise PGlite
// in a data directory (guarded by a lock file, because only one process may open it) or in memory.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { ConfigError } from '../config-error.js';
import type { Logger } from '../log.js';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export type StoreConfig =
  { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string } | { kind: 'memory' };

export interface OpenStore {
  db: Database;
  /** Where the data lives, for logs: a directory, "memory", or the URL without its password. */
  location: string;
  /** Records the URL of the server that holds the store, for other commands to show. */
  advertise(url: string): void;
  close(): Promise<void>;
}

/** Raised when another process holds a PGlite data directory. */
export class StoreLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `data directory ${dataDir} is in use by process ${holder.pid}` +
        (holder.url ? ` (a server at ${holder.url})` : '') +
        '; stop that process, or choose another directory with --data-dir',
    );
    this.name = 'StoreLockedError';
  }
}

interface LockHolder {
  pid: number;
  url?: string;
  started_at: string;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}

export async function openStore(config: StoreConfig, logger: Logger): Promise<OpenStore> {
  if (config.kind === 'postgres') {
    const db = await openPostgres({
      connectionString: config.url,
      onError: (error) => logger.error({ err: error }, 'idle database connection failed'),
    });
    return {
      db,
      location: redactUrl(config.url),
      advertise: () => undefined,
      close: () => db.close(),
    };
  }
  if (config.kind === 'memory') {
    const db = await openPglite(undefined);
    return { db, location: 'memory', advertise: () => undefined, close: () => db.close() };
  }

  const dataDir = resolve(config.dataDir);
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw new ConfigError('--data-dir', `${dataDir} exists and is not a directory`);
  }
  const lock = acquireLock(dataDir);
  try {
    const db = await openPglite(join(dataDir, 'pgdata')).catch((error: unknown) => {
      throw new Error(
        `cannot open the PGlite database in ${join(dataDir, 'pgdata')}: ${(error as Error).message}; ` +
          'if the directory is damaged, restore it from a backup or start with another --data-dir',
        { cause: error },
      );
    });
    return {
      db,
      location: dataDir,
      advertise: (url) => lock.update(url),
      async close() {
        await db.close();
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Whether a lock's pid may still be a Thunderlink process. After a reboot the pid may belong to
 * an unrelated program, so on Linux a live process whose command line does not run Node.js is
 * taken as not holding the lock.
 */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return /node|thunderlink/i.test(commandLine);
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Data directories this process holds, so that it cannot open one twice either. */
const heldHere = new Set<string>();

function acquireLock(dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  if (heldHere.has(dataDir)) {
    throw new Error(
      `data directory ${dataDir} is already open in this process; close the store that holds it first`,
    );
  }
  const path = join(dataDir, 'server.lock');
  const holder: LockHolder = { pid: process.pid, started_at: new Date().toISOString() };
  const write = (flag: 'wx' | 'w') => writeFileSync(path, JSON.stringify(holder), { flag });
  // Two attempts: the second follows the removal of a lock whose holder died. Creating the file
  // with 'wx' is atomic, so of two processes that both found a stale lock only one wins.
  // NOTE: a process that read the stale lock before a rival replaced it can still remove the
  // rival's fresh lock; two starts on one directory within a few milliseconds after a crash can
  // therefore both proceed.
  for (let attempt = 1; ; attempt += 1) {
    try {
      write('wx');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const winner = attempt > 1 ? readHolder(path) : undefined;
      if (winner) throw new StoreLockedError(dataDir, winner);
      if (attempt > 1) throw error;
    }
    const existing = readHolder(path);
    // A lock with this process's pid that this process does not hold was left by a dead process
    // whose pid the system has since reused.
    if (existing && existing.pid !== process.pid && processAlive(existing.pid)) {
      throw new StoreLockedError(dataDir, existing);
    }
    rmSync(path, { force: true });
  }
  heldHere.add(dataDir);
  return {
    update(url: string) {
      holder.url = url;
      write('w');
    },
    release() {
      heldHere.delete(dataDir);
      rmSync(path, { force: true });
    },
  };
}
