// The registry benchmark: starts `thunderlink serve` as a child process on PGlite (a data
// directory) and, when reachable, on the local PostgreSQL server, registers nodes, then measures
// single heartbeats, batched heartbeats and GET /graph over HTTP keep-alive. Prints a Markdown
// table for docs/benchmarks.md.
//
// Usage: npm run bench -- [--nodes N] [--seconds S] [--concurrency C]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import pg from 'pg';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const nodeCount = Number(values.nodes);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const batchSize = 1000;

interface Server {
  url: string;
  process: ChildProcess;
}

function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Open (http:\/\/\S+)\/ in a browser/.exec(output);
      if (match) resolve({ url: match[1]!, process: child });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await exited;
}

async function post(url: string, body: unknown): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Runs `work` from `workers` loops until `durationMs` passes; returns each call's latency in ms. */
async function load(
  workers: number,
  durationMs: number,
  work: (worker: number, i: number) => Promise<void>,
) {
  const latencies: number[] = [];
  const deadline = performance.now() + durationMs;
  let failures = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        const start = performance.now();
        try {
          await work(worker, i);
          latencies.push(performance.now() - start);
        } catch {
          failures += 1;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { count: latencies.length, failures, p50: pick(0.5), p99: pick(0.99) };
}

async function registerNodes(api: string): Promise<string[]> {
  const names = Array.from(
    { length: nodeCount },
    (_, index) => `bench-${String(index).padStart(6, '0')}`,
  );
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const status = await post(`${api}/nodes`, {
          name,
          role: 'edge',
          heartbeat_interval_ms: 30000,
        });
        if (status !== 201 && status !== 200)
          throw new Error(`registering ${name} returned ${status}`);
      }
    }),
  );
  return names;
}

async function measure(label: string, server: Server): Promise<string[]> {
  const api = `${server.url}/api/thunderlink`;
  const names = await registerNodes(api);
  const metrics = { cpu_load: 0.25, mem_used_mb: 512, latency_ms: 2 };
  const durationMs = seconds * 1000;

  // The first heartbeat moves each node from connecting to online, a transaction with events of
  // its own; the measurements below are of the steady state that follows.
  const warmUp = performance.now();
  for (let offset = 0; offset < names.length; offset += batchSize) {
    const heartbeats = names.slice(offset, offset + batchSize).map((node_id) => ({ node_id }));
    await post(`${api}/heartbeats`, { heartbeats });
  }
  console.log(
    `${label}: first heartbeats of ${names.length} nodes took ${Math.round(performance.now() - warmUp)} ms`,
  );

  const single = await load(concurrency, durationMs, async (worker, i) => {
    const name = names[(worker * 7919 + i) % names.length]!;
    const status = await post(`${api}/nodes/${name}/heartbeat`, metrics);
    if (status !== 200) throw new Error(`heartbeat returned ${status}`);
  });
  const batched = await load(4, durationMs, async (worker, i) => {
    const offset = ((worker * 13 + i) * batchSize) % names.length;
    const heartbeats = Array.from({ length: batchSize }, (_, k) => ({
      node_id: names[(offset + k) % names.length]!,
      ...metrics,
    }));
    const status = await post(`${api}/heartbeats`, { heartbeats });
    if (status !== 200) throw new Error(`batch returned ${status}`);
  });
  const graph = await load(1, Math.min(durationMs, 5000), async () => {
    const response = await fetch(`${api}/graph`);
    await response.arrayBuffer();
  });

  const rate = (result: { count: number }, per = 1) => Math.round((result.count * per) / seconds);
  return [
    `| ${label} | single heartbeats, ${concurrency} connections | ${rate(single)}/s | ${single.p50.toFixed(1)} ms | ${single.p99.toFixed(1)} ms | ${single.failures} |`,
    `| ${label} | batched heartbeats, ${batchSize} per request, 4 connections | ${rate(batched, batchSize)}/s | ${batched.p50.toFixed(1)} ms | ${batched.p99.toFixed(1)} ms | ${batched.failures} |`,
    `| ${label} | GET /graph, ${nodeCount} nodes, 1 connection | ${Math.round(graph.count / Math.min(seconds, 5))}/s | ${graph.p50.toFixed(1)} ms | ${graph.p99.toFixed(1)} ms | ${graph.failures} |`,
  ];
}

async function postgresDatabase(): Promise<string | undefined> {
  const admin = new pg.Client({
    connectionString: values['database-url'],
    connectionTimeoutMillis: 3000,
  });
  try {
    await admin.connect();
  } catch (error) {
    console.warn(
      `PostgreSQL at ${values['database-url']} is unreachable, so only PGlite is measured: ${(error as Error).message}`,
    );
    return undefined;
  }
  await admin.query('DROP DATABASE IF EXISTS thunderlink_bench');
  await admin.query('CREATE DATABASE thunderlink_bench');
  await admin.end();
  const url = new URL(values['database-url']);
  url.pathname = '/thunderlink_bench';
  return url.toString();
}

const rows: string[] = [];
const dataDir = mkdtempSync(join(os.tmpdir(), 'thunderlink-bench-'));
try {
  const server = await startServer(['--data-dir', dataDir]);
  rows.push(...(await measure('PGlite', server)));
  await stopServer(server);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
const databaseUrl = await postgresDatabase();
if (databaseUrl) {
  const server = await startServer([], { DATABASE_URL: databaseUrl });
  rows.push(...(await measure('PostgreSQL', server)));
  await stopServer(server);
}

console.log(
  `\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
console.log(`${nodeCount} nodes, ${seconds} s per measurement\n`);
console.log('| store | work | rate | p50 | p99 | failed |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
