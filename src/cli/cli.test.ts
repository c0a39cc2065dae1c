// Tests of the built command line, run as child processes of `node dist/cli/main.js`. The servers
// they start listen on 127.0.0.1 with port 0 and keep their data in temporary directories.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const mainJs = join(root, 'dist/cli/main.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface GraphNode {
  name: string;
  status: string;
  mem_used_mb: number | null;
}

/**
 * Builds the environment of each child: the parent's, without the settings that would point it at
 * another store or port, and at info level so that the logs that the tests read are written.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  delete env.PORT;
  delete env.THUNDERLINK_DATA_DIR;
  return env;
}

/** One `thunderlink` child process, with its whole output kept for checks and for messages. */
class CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  stdout = '';
  stderr = '';
  private readonly listeners = new Set<() => void>();

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [mainJs, ...args], {
      cwd: root,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.notify();
    });
    // 'close' comes after both output streams have ended, unlike 'exit'.
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
        this.notify();
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Parses the JSON log lines written to stdout so far. */
  logLines(): Array<Record<string, unknown>> {
    const lines: Array<Record<string, unknown>> = [];
    for (const line of this.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // A line still being written is read again on the next chunk.
      }
    }
    return lines;
  }

  /**
   * Resolves with the first defined value that `find` returns as output arrives, and rejects with
   * the output so far when the process exits before that.
   */
  waitFor<T>(what: string, find: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          this.listeners.delete(check);
          resolve(found);
        } else if (!this.running) {
          this.listeners.delete(check);
          reject(
            new Error(`exited before ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`),
          );
        }
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for the line on stderr that gives the server's address, and returns its URL. */
  serverUrl(): Promise<string> {
    return this.waitFor('the "Thunderlink is running" line on stderr', () => {
      return /Open (http:\/\/\S+?)\/ in a browser/.exec(this.stderr)?.[1];
    });
  }

  /** Waits for a log line on stdout with this message and these fields. */
  logLine(msg: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.waitFor(`the log line "${msg}"`, () =>
      this.logLines().find(
        (line) =>
          line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value),
      ),
    );
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

const processes: CliProcess[] = [];
const directories: string[] = [];

afterEach(async () => {
  for (const cli of processes.splice(0)) {
    if (cli.running) cli.child.kill('SIGKILL');
    await cli.exited;
  }
  for (const dir of directories.splice(0)) await rm(dir, { recursive: true, force: true });
});

function startCli(...args: string[]): CliProcess {
  const cli = new CliProcess(args);
  processes.push(cli);
  return cli;
}

function runCli(...args: string[]): Promise<Exit> {
  return startCli(...args).exited;
}

async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'thunderlink-cli-'));
  directories.push(dir);
  return dir;
}

async function graphNode(url: string, name: string): Promise<GraphNode | undefined> {
  const response = await fetch(`${url}/api/thunderlink/graph`);
  expect(response.status).toBe(200);
  const graph = (await response.json()) as { nodes: GraphNode[] };
  return graph.nodes.find((node) => node.name === name);
}

beforeAll(() => {
  if (!existsSync(mainJs)) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
}, 120_000);

describe('thunderlink command line', () => {
  it('prints help', async () => {
    const { code, stdout } = await runCli('help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: thunderlink <command>');
    expect(stdout).toContain('serve');
  });

  it('prints the version', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    const { code, stdout } = await runCli('--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version);
  });

  it('rejects an unknown command', async () => {
    const { code, stderr } = await runCli('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
  });

  it('rejects a non-loopback host', async () => {
    const { code, stderr } = await runCli('serve', '--host', '0.0.0.0', '--memory');
    expect(code).toBe(2);
    expect(stderr).toContain('--host');
    expect(stderr).toContain('0.0.0.0');
  });

  it('rejects a port that is not a number', async () => {
    const { code, stderr } = await runCli('serve', '--port', 'abc', '--memory');
    expect(code).toBe(2);
    expect(stderr).toContain('--port');
    expect(stderr).toContain('"abc"');
  });

  it('rejects an interval without a unit', async () => {
    const { code, stderr } = await runCli('agent', '--interval', '5');
    expect(code).toBe(2);
    expect(stderr).toContain('--interval');
    expect(stderr).toContain('such as 500ms, 5s or 1m');
  });

  it.each([
    ['ftp://127.0.0.1:4000', 'http:// or https://'],
    ['http://user:secret@127.0.0.1:4000', 'use --token'],
    ['not a url', 'is not a URL'],
  ])('rejects agent server %s', async (server, message) => {
    const { code, stderr } = await runCli('agent', '--server', server);
    expect(code).toBe(2);
    expect(stderr).toContain('--server');
    expect(stderr).toContain(message);
    expect(stderr).not.toContain('secret');
  });

  it.each([
    ['--name', 'bad name'],
    ['--name', '0b3e7c4a-2f1d-4c5e-9a8b-7c6d5e4f3a2b'],
    ['--link', ''],
    ['--group', '-lead'],
    ['--capability', 'bad key=v'],
  ])('rejects agent %s %j', async (flag, value) => {
    const { code, stderr } = await runCli('agent', flag, value);
    expect(code).toBe(2);
    expect(stderr).toContain(flag);
  });

  it('serves with an agent across restarts', { timeout: 90_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const name = hostname();
    // The agent logs each accepted heartbeat at debug level, after the server has stored it.
    const first = startCli(
      'serve',
      '--agent',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'debug',
    );
    const firstUrl = await first.serverUrl();
    expect(firstUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    await first.logLine('node registered', { component: 'agent', node: name });
    await first.logLine('heartbeat accepted', { component: 'agent', node: name });
    const node = await graphNode(firstUrl, name);
    expect(node?.status).toBe('online');
    expect(node?.mem_used_mb).toBeGreaterThan(0);

    first.child.kill('SIGTERM');
    const stopped = await first.exited;
    expect(stopped.code).toBe(0);
    const messages = first.logLines().map((line) => line.msg);
    expect(messages).toContain('node marked disconnected');
    expect(messages).toContain('server stopped');

    const second = startCli('serve', '--port', '0', '--data-dir', dataDir);
    const secondUrl = await second.serverUrl();
    expect((await graphNode(secondUrl, name))?.status).toBe('disconnected');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('names the process that holds the directory', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const holder = startCli('serve', '--port', '0', '--data-dir', dataDir);
    const url = await holder.serverUrl();
    const lockMessage = `in use by process ${holder.child.pid} (a server at ${url})`;

    const serve = await runCli('serve', '--port', '0', '--data-dir', dataDir);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toContain(lockMessage);

    const migrate = await runCli('migrate', '--data-dir', dataDir);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain(lockMessage);
    expect(holder.running).toBe(true);
  });

  it('migrates an empty directory', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const { code, stdout } = await runCli('migrate', '--data-dir', dataDir);
    expect(code).toBe(0);
    expect(stdout).toContain('"msg":"schema migrated"');
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
  });
});
