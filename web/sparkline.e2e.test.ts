import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseServerConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { type RunningServer, startServer } from '../src/server.js';
import { launchBrowser } from '../src/testing/browser.js';

const artifacts = 'test-artifacts';
const graphTopic = 'thunderlink:graph';

interface DebugHook {
  screenPosition(name: string): { x: number; y: number } | undefined;
  channelTopics(): string[];
}

interface SparklineText {
  points: string | undefined;
  polylines: string[];
  latest: string | null | undefined;
  range: string | null | undefined;
}

/** Returns what the sparkline of one metric shows. */
function sparkline(page: Page, metric: string): Promise<SparklineText> {
  return page.evaluate((wanted) => {
    const row = document.querySelector(`#panel .sparkline[data-metric="${wanted}"]`);
    return {
      points: row?.querySelector('svg')?.dataset.points,
      polylines: [...(row?.querySelectorAll('polyline') ?? [])].map(
        (line) => line.getAttribute('points') ?? '',
      ),
      latest: row?.querySelector('.sparkline-latest')?.textContent,
      range: row?.querySelector('.sparkline-range')?.textContent,
    };
  }, metric);
}

function pairCount(points: string): number {
  return points.split(' ').filter(Boolean).length;
}

function channelTopics(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { thunderlinkDebug: DebugHook }).thunderlinkDebug.channelTopics(),
  );
}

/** Waits until the channels of the page's socket are exactly `topics`, in any order. */
async function waitForTopics(page: Page, topics: string[]): Promise<void> {
  await page.waitForFunction((expected) => {
    const hook = (window as unknown as { thunderlinkDebug?: DebugHook }).thunderlinkDebug;
    const joined = hook?.channelTopics().sort() ?? [];
    return JSON.stringify(joined) === JSON.stringify([...expected].sort());
  }, topics);
}

async function waitForSparkline(
  page: Page,
  metric: string,
  expected: { points: string; latest: string },
): Promise<void> {
  await page.waitForFunction(
    ({ metric, points, latest }) => {
      const row = document.querySelector(`#panel .sparkline[data-metric="${metric}"]`);
      return (
        row?.querySelector('svg')?.dataset.points === points &&
        row.querySelector('.sparkline-latest')?.textContent === latest
      );
    },
    { metric, ...expected },
  );
}

async function selectBySearch(page: Page, name: string): Promise<void> {
  await page.locator('body').click({ position: { x: 5, y: 400 } });
  await page.keyboard.press('/');
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (expected) => document.querySelector('#panel h2')?.textContent === expected,
    name,
  );
}

describe('details panel sparklines', () => {
  let server: RunningServer;
  let browser: Browser | null;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    server = await startServer(parseServerConfig({ memory: true, port: '0' }), silentLogger());
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws history and live heartbeats', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    const { node } = await registry.ensureNode({ name: 'sparked@page', role: 'controller' });
    const { node: other } = await registry.ensureNode({ name: 'other@page' });
    await registry.heartbeat(node.name, { cpu_load: 0.2, mem_used_mb: 300, latency_ms: 4 });
    // No latency in this heartbeat, so the latency line has a gap.
    await registry.heartbeat(node.name, { cpu_load: 0.6, mem_used_mb: 500 });
    await registry.heartbeat(node.name, { cpu_load: 0.4, mem_used_mb: 400, latency_ms: 6 });
    const nodeTopic = `thunderlink:node:${node.id}`;

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/#debug`);
    await page.waitForSelector('#graph canvas');
    await page.waitForFunction(
      () => document.getElementById('connection')?.dataset.state === 'live',
      undefined,
      { timeout: 20_000 },
    );

    // A paused layout keeps the node where the click aims, and the graph picks the node under
    // the pointer on its next frame, so the pointer moves there before the click.
    await page.click('#pause');
    await page.waitForTimeout(300);
    const position = await page.waitForFunction(
      (name) =>
        (window as unknown as { thunderlinkDebug?: DebugHook }).thunderlinkDebug?.screenPosition(
          name,
        ),
      node.name,
    );
    const { x, y } = (await position.jsonValue()) as { x: number; y: number };
    await page.mouse.move(x, y);
    await page.waitForTimeout(200);
    await page.mouse.click(x, y);

    const sparklines = page.locator('#panel .sparklines');
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('#panel .sparklines')?.dataset.state === 'live',
    );
    expect(await page.locator('#panel h2').textContent()).toBe(node.name);
    expect(await sparklines.locator('.sparkline-status').isHidden()).toBe(true);

    const cpu = await sparkline(page, 'cpu_load');
    expect(cpu.points).toBe('3');
    expect(cpu.polylines.map(pairCount)).toEqual([3]);
    expect(cpu.latest).toBe('0.40');
    expect(cpu.range).toBe('min 0.20 · max 0.60');
    const memory = await sparkline(page, 'mem_used_mb');
    expect(memory.latest).toBe('400 MB');
    expect(memory.range).toBe('min 300 MB · max 500 MB');
    const latency = await sparkline(page, 'latency_ms');
    expect(latency.points).toBe('2');
    expect(latency.polylines).toHaveLength(2);
    expect(latency.latest).toBe('6.0 ms');
    expect(await channelTopics(page)).toContain(nodeTopic);

    // A heartbeat sent now arrives through the node's channel.
    await registry.heartbeat(node.name, { cpu_load: 0.9, mem_used_mb: 700, latency_ms: 8 });
    await waitForSparkline(page, 'cpu_load', { points: '4', latest: '0.90' });
    await waitForSparkline(page, 'mem_used_mb', { points: '4', latest: '700 MB' });
    await waitForSparkline(page, 'latency_ms', { points: '3', latest: '8.0 ms' });
    expect((await sparkline(page, 'cpu_load')).range).toBe('min 0.20 · max 0.90');
    expect((await sparkline(page, 'cpu_load')).polylines.map(pairCount)).toEqual([4]);
    await page.screenshot({ path: `${artifacts}/page-sparkline.png` });
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.screenshot({ path: `${artifacts}/page-sparkline-1440.png` });

    // Selecting another node leaves the first node's channel.
    await selectBySearch(page, other.name);
    await waitForTopics(page, [graphTopic, `thunderlink:node:${other.id}`]);
    await page.waitForFunction(
      () =>
        document.querySelector('#panel .sparkline-status')?.textContent ===
        'No heartbeats in the last 15 minutes.',
    );

    // Closing the panel leaves the channel too.
    await page.click('#panel button.close');
    await page.locator('#panel').waitFor({ state: 'hidden' });
    await waitForTopics(page, [graphTopic]);

    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows that the node was removed', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    const { node } = await registry.ensureNode({ name: 'removed@page' });
    await registry.heartbeat(node.name, { cpu_load: 0.3, mem_used_mb: 200, latency_ms: 2 });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/?node=removed%40page#debug`);
    await waitForSparkline(page, 'cpu_load', { points: '1', latest: '0.30' });
    await waitForTopics(page, [graphTopic, `thunderlink:node:${node.id}`]);

    await registry.deregisterNode(node.name);
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('#panel .sparklines')?.dataset.state === 'removed',
    );
    expect(await page.locator('#panel .sparkline-status').textContent()).toBe(
      'The node was removed, so no more heartbeats will arrive.',
    );
    // The server ends the channel after node_removed, and the client drops it.
    await waitForTopics(page, [graphTopic]);
    // The points seen before the removal stay drawn.
    expect((await sparkline(page, 'cpu_load')).points).toBe('1');

    await page.keyboard.press('Escape');
    await page.locator('#panel').waitFor({ state: 'hidden' });
    expect(errors).toEqual([]);
    await page.close();
  });

  // Two server starts on a data directory and the client's reconnect back-off take longer than
  // the default timeout on a busy machine.
  it('catches up after a reconnect', { timeout: 60_000 }, async (context) => {
    if (!browser) return context.skip();
    const dataDir = mkdtempSync(join(tmpdir(), 'thunderlink-sparkline-'));
    let restarted: RunningServer | undefined;
    let first: RunningServer | undefined = await startServer(
      parseServerConfig({ dataDir, port: '0' }, {}),
      silentLogger(),
    );
    try {
      await first.registry.ensureNode({ name: 'kept@sparkline' });
      await first.registry.heartbeat('kept@sparkline', { cpu_load: 0.1 });
      const port = first.port;

      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      let historyRequests = 0;
      page.on('request', (request) => {
        if (request.url().includes('/heartbeats?')) historyRequests += 1;
      });
      await page.goto(`${first.url}/?node=kept%40sparkline#debug`);
      await waitForSparkline(page, 'cpu_load', { points: '1', latest: '0.10' });
      expect(historyRequests).toBe(1);

      await first.close();
      first = undefined;
      await page.waitForFunction(
        () => document.getElementById('connection')?.dataset.state === 'reconnecting',
      );
      restarted = await startServer(
        parseServerConfig({ dataDir, port: String(port) }, {}),
        silentLogger(),
      );
      await restarted.registry.heartbeat('kept@sparkline', { cpu_load: 0.2 });
      await restarted.registry.heartbeat('kept@sparkline', { cpu_load: 0.3 });

      // The rejoin requests the history again, so heartbeats sent before it are not lost.
      await waitForSparkline(page, 'cpu_load', { points: '3', latest: '0.30' });
      expect(historyRequests).toBe(2);
      await restarted.registry.heartbeat('kept@sparkline', { cpu_load: 0.4 });
      await waitForSparkline(page, 'cpu_load', { points: '4', latest: '0.40' });

      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await first?.close();
      await restarted?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
