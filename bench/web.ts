// The web page benchmark. It starts a registry in this process on in-memory PGlite, seeds a
// cluster through the registry and opens the topology page in headless Chromium. Then it
// measures the first draw, the frame rate, and how fast status changes reach the drawn page, and
// prints a Markdown table for docs/benchmarks.md.
//
// Usage: npm run bench:web -- [--nodes N] [--links L] [--seconds S] [--rate R] [--mode 3d|2d]
//   [--load-timeout SECONDS] [--trace FILE]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { type Browser, chromium } from 'playwright-core';
import { pino } from 'pino';

import { parseServerConfig } from '../src/config.js';
import { type RunningServer, findWebRoot, startServer } from '../src/server.js';
import { chromiumArgs, chromiumPath } from '../src/testing/browser.js';
import { evenlySpaced, planCluster, seedCluster } from './web-cluster.js';
import { measureLayoutAndIdle, measureLoad } from './web-load.js';
import { drawnNames, installProbe, viewMode } from './web-page.js';
import {
  type Rows,
  describeMachine,
  epochNow,
  formatCount,
  formatMs,
  printTable,
  progress,
} from './web-report.js';
import { measureUpdates } from './web-updates.js';

/** Nodes whose screen positions tell whether the layout moved. */
const trackedNodes = 50;

interface Options {
  nodes: number;
  links: number;
  seconds: number;
  rate: number;
  mode: '3d' | '2d';
  /** `auto` lets the page collapse groups as it does on large graphs; `expanded` stops that. */
  groups: 'auto' | 'expanded';
  loadTimeoutMs: number;
  trace: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '5000' },
      links: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '20' },
      rate: { type: 'string', default: '50' },
      mode: { type: 'string', default: '3d' },
      groups: { type: 'string', default: 'auto' },
      'load-timeout': { type: 'string', default: '300' },
      trace: { type: 'string' },
    },
  });
  const positive = (name: string, text: string, integer: boolean) => {
    const value = Number(text);
    if (!(value > 0) || (integer && !Number.isInteger(value))) {
      throw new Error(
        `--${name} must be a positive ${integer ? 'whole ' : ''}number (got ${text})`,
      );
    }
    return value;
  };
  const nodes = positive('nodes', values.nodes, true);
  const links = Number(values.links);
  if (!Number.isInteger(links) || links < 0 || links > (nodes * (nodes - 1)) / 2) {
    throw new Error(
      `--links must be a whole number from 0 to ${(nodes * (nodes - 1)) / 2}, the pairs of ` +
        `${nodes} nodes (got ${values.links})`,
    );
  }
  if (values.mode !== '3d' && values.mode !== '2d') {
    throw new Error(`--mode must be 3d or 2d (got ${values.mode})`);
  }
  if (values.groups !== 'auto' && values.groups !== 'expanded') {
    throw new Error(`--groups must be auto or expanded (got ${values.groups})`);
  }
  return {
    nodes,
    links,
    seconds: positive('seconds', values.seconds, false),
    rate: positive('rate', values.rate, false),
    mode: values.mode,
    groups: values.groups,
    loadTimeoutMs: positive('load-timeout', values['load-timeout'], false) * 1000,
    trace: values.trace,
  };
}

/** Builds the page into dist/web when it is missing, as the server serves it from there. */
function ensurePageBuilt(): void {
  if (findWebRoot()) return;
  progress('dist/web is missing, so the page is built first with `npx vite build`');
  execFileSync('npx', ['vite', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!findWebRoot()) throw new Error('`npx vite build` did not produce dist/web/index.html');
}

async function run(options: Options, resources: Resources): Promise<void> {
  ensurePageBuilt();
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is not at ${chromiumPath}; install it (apt-get install chromium) or set ` +
        'THUNDERLINK_CHROMIUM to its path',
    );
  }
  // Warnings and errors of the server go to stderr, so that stdout holds only the report.
  const logger = pino({ name: 'thunderlink', level: 'warn' }, pino.destination(2));
  const server = await startServer(parseServerConfig({ memory: true, port: '0' }), logger);
  resources.server = server;

  const plan = planCluster(options.nodes, options.links);
  progress(
    `seeding ${formatCount(plan.nodes.length)} nodes in ${plan.groups.length} groups and ` +
      `${formatCount(plan.links.length)} links`,
  );
  const seedStart = epochNow();
  await seedCluster(server.registry, plan, progress);
  const rows: Rows = [
    [
      'nodes, links, groups',
      `${formatCount(plan.nodes.length)}, ${formatCount(plan.links.length)}, ${plan.groups.length}`,
    ],
    ['seeding through the registry (setup)', formatMs(epochNow() - seedStart)],
  ];

  // Without WebGL the page draws its 2D fallback from the start.
  const flags = options.mode === '2d' ? ['--disable-webgl', '--disable-3d-apis'] : [];
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, ...flags],
  });
  resources.browser = browser;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error')
      pageErrors.push(`${message.text()} (${message.location().url})`);
  });
  await installProbe(page);
  if (options.groups === 'expanded') {
    // An empty stored list of collapsed groups overrides the page's own start on large graphs.
    await page.addInitScript(() => localStorage.setItem('thunderlink.collapsed', '[]'));
  }
  if (options.trace) {
    await browser.startTracing(page, { path: options.trace });
    resources.tracing = true;
  }

  progress(`opening the page in ${options.mode}`);
  const load = await measureLoad(page, server.url, plan.nodes.length, options.loadTimeoutMs);
  rows.push(...load.rows);
  if (load.drawnAt === null) {
    report(options, browser, rows, errorNotes(pageErrors));
    throw new Error(
      `the page did not draw all ${plan.nodes.length} nodes within ` +
        `${formatMs(options.loadTimeoutMs)}, so nothing after the load was measured`,
    );
  }
  const mode = await viewMode(page);
  if (mode !== options.mode) throw new Error(`the page drew in ${mode}, not ${options.mode}`);

  // With groups collapsed, most nodes are drawn inside their group's node, so the positions are
  // tracked among what the page draws.
  const tracked = evenlySpaced(await drawnNames(page), trackedNodes);
  const layout = await measureLayoutAndIdle(page, tracked, load.drawnAt);
  rows.push(...layout.rows);
  const updates = await measureUpdates(
    page,
    server.registry,
    plan,
    options,
    tracked,
    layout.positions,
  );
  rows.push(...updates.rows);
  if (resources.tracing) {
    await browser.stopTracing();
    resources.tracing = false;
  }
  report(options, browser, rows, [...updates.notes, ...errorNotes(pageErrors)]);
}

/** Returns a note on the errors the page reported, if it reported any. */
function errorNotes(pageErrors: string[]): string[] {
  if (pageErrors.length === 0) return [];
  const first = pageErrors.slice(0, 5).map((error) => `\n- ${error}`);
  return [`The page reported ${pageErrors.length} errors; the first ones:${first.join('')}`];
}

/** Prints the machine, the table and the notes below it. */
function report(options: Options, browser: Browser, rows: Rows, notes: string[]): void {
  console.log(`\n${describeMachine(browser.version())}`);
  console.log(
    `${options.mode}, groups ${options.groups}, ${options.seconds} s of status changes at ` +
      `${options.rate}/s, ` +
      `viewport 1280 × 800, ${new Date().toISOString().slice(0, 10)}\n`,
  );
  printTable(options.mode, rows);
  for (const note of notes) console.log(`\n${note}`);
}

interface Resources {
  server?: RunningServer;
  browser?: Browser;
  tracing?: boolean;
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`bench:web: ${(error as Error).message}`);
    process.exit(2);
  }
  const resources: Resources = {};
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (resources.tracing) await resources.browser?.stopTracing().catch(() => {});
      await resources.browser?.close().catch(() => {});
      await resources.server?.close();
    })());
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress(`\n${signal}: closing the browser and the server (again to exit at once)`);
    void close().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  try {
    await run(options, resources);
  } catch (error) {
    if (!interrupted) {
      console.error(`bench:web failed: ${(error as Error).message}`);
      if ((error as Error).cause) console.error((error as Error).cause);
      process.exitCode = 1;
    }
  } finally {
    if (!interrupted) await close();
  }
}

await main();
