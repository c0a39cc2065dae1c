import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseServerConfig } from '../src/config.js';
import { startDemoCluster } from '../src/demo/cluster.js';
import { silentLogger } from '../src/log.js';
import { type RunningServer, findWebRoot, startServer } from '../src/server.js';
import { chromiumArgs, chromiumPath, launchBrowser } from '../src/testing/browser.js';

const artifacts = 'test-artifacts';

async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForSelector('#graph canvas');
  return { page, errors };
}

async function waitForTotal(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (expected) => document.getElementById('total')?.textContent === expected,
    text,
  );
}

async function waitForConnection(page: Page, state: string): Promise<void> {
  await page.waitForFunction(
    (expected) => document.getElementById('connection')?.dataset.state === expected,
    state,
    { timeout: 20_000 },
  );
}

function legendCount(page: Page, status: string): Promise<string | null> {
  return page.locator(`#counts li[data-status="${status}"] span:last-child`).textContent();
}

async function graphNodeCount(url: string): Promise<number> {
  const response = await fetch(`${url}/api/thunderlink/graph?include_offline=true`);
  expect(response.status).toBe(200);
  const graph = (await response.json()) as { nodes: unknown[] };
  return graph.nodes.length;
}

interface DebugHook {
  mode(): '2d' | '3d' | undefined;
  animating(): boolean | undefined;
  status(name: string): string | undefined;
  color(name: string): string | undefined;
  drawnNames(): string[];
  collapsedGroups(): string[];
  graph(): { nodes: string[]; links: string[] };
  screenPosition(name: string): { x: number; y: number } | undefined;
}

/** Runs a function of the page's debug hook, which `#debug` installs, and returns its result. */
function debugCall<T>(page: Page, call: (hook: DebugHook) => T): Promise<T> {
  return page.evaluate((source) => {
    const hook = (window as unknown as { thunderlinkDebug: DebugHook }).thunderlinkDebug;
    return (new Function('hook', `return (${source})(hook)`) as (h: DebugHook) => T)(hook);
  }, call.toString());
}

/** Waits until a function of the page's debug hook returns a truthy value. */
async function waitForDebug(
  page: Page,
  check: (hook: DebugHook) => unknown,
  timeout = 20_000,
): Promise<void> {
  await page.waitForFunction(
    (source) => {
      const hook = (window as unknown as { thunderlinkDebug?: DebugHook }).thunderlinkDebug;
      if (!hook) return false;
      return (new Function('hook', `return (${source})(hook)`) as (h: DebugHook) => unknown)(hook);
    },
    check.toString(),
    { timeout },
  );
}

function viewMode(page: Page): Promise<string | undefined> {
  return page.evaluate(() =>
    (window as unknown as { thunderlinkDebug?: DebugHook }).thunderlinkDebug?.mode(),
  );
}

/** Returns the RGBA of the 2D canvas at a point given in CSS pixels. */
function canvasPixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(
    ({ x, y }) => {
      const canvas = document.querySelector<HTMLCanvasElement>('#graph canvas');
      const context = canvas?.getContext('2d');
      if (!canvas || !context) return [];
      const scale = canvas.width / canvas.getBoundingClientRect().width;
      return [...context.getImageData(Math.round(x * scale), Math.round(y * scale), 1, 1).data];
    },
    { x, y },
  );
}

/** Returns where the page draws a node, through the hook that `#debug` installs. */
async function nodeScreenPosition(page: Page, name: string): Promise<{ x: number; y: number }> {
  const handle = await page.waitForFunction(
    (wanted) =>
      (window as unknown as { thunderlinkDebug?: DebugHook }).thunderlinkDebug?.screenPosition(
        wanted,
      ),
    name,
  );
  return (await handle.jsonValue()) as { x: number; y: number };
}

/**
 * Waits until no node moved more than `tolerancePx` on screen over `sampleMs`, or until
 * `timeoutMs` passed, and returns whether the drawing settled.
 */
async function waitForStillLayout(
  page: Page,
  names: readonly string[],
  { tolerancePx = 2, sampleMs = 500, timeoutMs = 15_000 } = {},
): Promise<boolean> {
  const positions = () =>
    page.evaluate(
      (wanted) =>
        wanted.map((name) =>
          (window as unknown as { thunderlinkDebug?: DebugHook }).thunderlinkDebug?.screenPosition(
            name,
          ),
        ),
      names,
    );
  const deadline = Date.now() + timeoutMs;
  let before = await positions();
  while (Date.now() < deadline) {
    await page.waitForTimeout(sampleMs);
    const after = await positions();
    const moved = after.some((position, i) => {
      const previous = before[i];
      if (!position || !previous) return true;
      return Math.hypot(position.x - previous.x, position.y - previous.y) > tolerancePx;
    });
    if (!moved) return true;
    before = after;
  }
  return false;
}

async function seedDetailedNode(server: RunningServer, name: string): Promise<void> {
  const registry = server.registry;
  await registry.ensureNode({ name, role: 'controller', meta: { rack: 'r7' } });
  await registry.setCapability(name, 'gpu', { value: 'a100' });
  await registry.setCapability(name, 'camera', { value: null, enabled: false });
  await registry.heartbeat(name, { cpu_load: 0.4, mem_used_mb: 800 });
}

describe('web page', () => {
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

  it('serves the page and its script', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(new URL(script!, server.url));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    // An unread body keeps the connection busy, and the server's close waits for busy connections.
    await asset.arrayBuffer();
    expect(existsSync(`${findWebRoot()}/index.html`)).toBe(true);
  });

  it('draws registered nodes live', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    await registry.ensureNode({ name: 'first@page', role: 'controller' });
    await registry.heartbeat('first@page', { cpu_load: 0.2, mem_used_mb: 300 });

    const { page, errors } = await openPage(browser, `${server.url}/`);
    await waitForTotal(page, '1 node');
    await waitForConnection(page, 'live');
    expect(await page.locator('#connection').textContent()).toBe('live');

    // A node registered after the page loaded appears without a reload.
    await registry.ensureNode({ name: 'second@page' });
    await registry.markOnline('second@page', { remote_node_id: 'first@page' });
    await waitForTotal(page, '2 nodes');
    await page.screenshot({ path: `${artifacts}/page-two-nodes.png` });

    // A status change moves the node between the legend's counts.
    const degradedBefore = Number(await legendCount(page, 'degraded'));
    await registry.markStatus('second@page', 'degraded');
    await page.waitForFunction(
      (expected) =>
        document.querySelector('#counts li[data-status="degraded"] span:last-child')
          ?.textContent === expected,
      String(degradedBefore + 1),
    );
    expect(await legendCount(page, 'degraded')).toBe(String(degradedBefore + 1));
    await page.screenshot({ path: `${artifacts}/page-status-change.png` });

    // The page never fell back to polling the graph endpoint.
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('live');
    expect(errors).toEqual([]);
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.close();
  });

  it('polls when the socket cannot connect', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    await registry.ensureNode({ name: 'polled@page' });
    const expected = await graphNodeCount(server.url);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Every socket the page opens closes at once, as behind a proxy without WebSocket support.
    await page.routeWebSocket(/\/socket\//, (socket) => socket.close({ code: 1011 }));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#graph canvas');

    await waitForConnection(page, 'offline');
    await waitForTotal(page, `${expected} nodes`);
    await page.screenshot({ path: `${artifacts}/page-polling.png` });

    // Polling keeps picking up changes while the socket stays down.
    await registry.ensureNode({ name: 'polled-later@page' });
    await waitForTotal(page, `${expected + 1} nodes`);
    expect(await page.locator('#connection').textContent()).toBe('offline, polling');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens the details panel on click', async (context) => {
    if (!browser) return context.skip();
    await seedDetailedNode(server, 'clicked@page');
    const expected = await graphNodeCount(server.url);

    const { page, errors } = await openPage(browser, `${server.url}/#debug`);
    await waitForTotal(page, `${expected} nodes`);
    await waitForConnection(page, 'live');

    // A paused layout keeps the node where the click aims. Once nothing moves, the page stops
    // drawing frames, and the pointer moving over the graph must start them again.
    await page.click('#pause');
    expect(await page.locator('#pause').getAttribute('aria-pressed')).toBe('true');
    await waitForDebug(page, (hook) => hook.animating() === false);
    const { x, y } = await nodeScreenPosition(page, 'clicked@page');
    // The graph picks the node under the pointer on its next frame, so the pointer moves there
    // before the click.
    await page.mouse.move(x, y);
    expect(await debugCall(page, (hook) => hook.animating())).toBe(true);
    await page.waitForTimeout(200);
    await page.mouse.click(x, y);

    const panel = page.locator('#panel');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.locator('h2').textContent()).toBe('clicked@page');
    const capabilities = panel.locator('section[data-section="capabilities"]');
    await capabilities.waitFor();
    expect(await capabilities.locator('dt').allTextContents()).toEqual(['camera', 'gpu']);
    expect(await capabilities.locator('dd').allTextContents()).toEqual(['(disabled)', 'a100']);
    const meta = panel.locator('section[data-section="metadata"]');
    expect(await meta.locator('dd').allTextContents()).toEqual(['r7']);
    await page.screenshot({ path: `${artifacts}/page-details-panel.png` });

    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('searches and focuses a node', async (context) => {
    if (!browser) return context.skip();
    await seedDetailedNode(server, 'searched@page');
    const expected = await graphNodeCount(server.url);

    const { page, errors } = await openPage(browser, `${server.url}/#debug`);
    await waitForTotal(page, `${expected} nodes`);
    await page.click('#pause');

    // `/` moves focus to the search box from anywhere outside a text field.
    await page.locator('body').click({ position: { x: 5, y: 400 } });
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search');
    await page.keyboard.type('SEARCHED@');
    await page.keyboard.press('Enter');

    const panel = page.locator('#panel');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.locator('h2').textContent()).toBe('searched@page');
    await panel.locator('section[data-section="capabilities"]').waitFor();

    // After the camera flight the node sits at the centre of the 1280 × 800 viewport.
    await page.waitForTimeout(1300);
    const { x, y } = await nodeScreenPosition(page, 'searched@page');
    expect(Math.abs(x - 640)).toBeLessThan(20);
    expect(Math.abs(y - 400)).toBeLessThan(20);
    await page.screenshot({ path: `${artifacts}/page-search-focus.png` });

    // `f` fits the whole graph again, which moves the camera away from the node.
    await page.locator('body').click({ position: { x: 5, y: 400 } });
    await page.keyboard.press('f');
    await page.waitForTimeout(800);
    const fitted = await nodeScreenPosition(page, 'searched@page');
    expect(Math.hypot(fitted.x - x, fitted.y - y)).toBeGreaterThan(0);
    await page.screenshot({ path: `${artifacts}/page-fit.png` });

    expect(errors).toEqual([]);
    await page.close();
  });

  it('focuses the node named in the URL', async (context) => {
    if (!browser) return context.skip();
    await seedDetailedNode(server, 'linked@page');

    const { page, errors } = await openPage(browser, `${server.url}/?node=linked%40page#debug`);

    const panel = page.locator('#panel');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.locator('h2').textContent()).toBe('linked@page');
    await panel.locator('section[data-section="capabilities"]').waitFor();

    await nodeScreenPosition(page, 'linked@page');
    await page.screenshot({ path: `${artifacts}/page-deep-link.png` });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('recolours a node that liveness stops', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    const { page, errors } = await openPage(browser, `${server.url}/#debug`);
    await waitForConnection(page, 'live');

    // With a 1 s heartbeat interval the node becomes offline 6 s after its last heartbeat.
    await registry.ensureNode({ name: 'silent@page', heartbeat_interval_ms: 1000 });
    await registry.heartbeat('silent@page', { cpu_load: 0.1 });
    // The view draws an online node in green, #2ecc71.
    await waitForDebug(page, (hook) => hook.color('silent@page')?.startsWith('rgba(46, 204, 113'));
    const offlineBefore = Number(await legendCount(page, 'offline'));

    // No more heartbeats: the sweep, once a second, takes the node offline. Nodes of earlier
    // tests stop heartbeating too, so the offline count grows by at least one.
    await waitForDebug(page, (hook) => hook.status('silent@page') === 'offline');
    await page.waitForFunction(
      (expected) =>
        Number(
          document.querySelector('#counts li[data-status="offline"] span:last-child')?.textContent,
        ) >= expected,
      offlineBefore + 1,
    );
    // The view draws it in the offline red, #e74c3c.
    await waitForDebug(page, (hook) => hook.color('silent@page')?.startsWith('rgba(231, 76, 60'));
    await page.screenshot({ path: `${artifacts}/page-liveness-offline.png` });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('collapses and expands a group', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    const region = await registry.createGroup({ name: 'region@page', group_type: 'region' });
    await registry.createGroup({
      name: 'zone@page',
      group_type: 'zone',
      parent_group_id: region.id,
    });
    const members = ['m1@zone', 'm2@zone', 'm3@zone'];
    await registry.ensureNode({ name: 'hub@zone', role: 'gateway' });
    for (const name of members) {
      await registry.ensureNode({ name });
      await registry.addMember('zone@page', name);
      await registry.markOnline(name, { remote_node_id: 'hub@zone' });
    }
    const pageContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await pageContext.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/#debug`);
    await waitForDebug(page, (hook) => hook.drawnNames().includes('m1@zone'));

    // The groups menu lists the tree and collapses the zone into one super-node.
    await page.click('#groups summary');
    const zoneRow = page.locator('#groups .group-row[data-group="zone@page"]');
    expect(await zoneRow.locator('.group-details').textContent()).toBe('zone, 3 nodes');
    await zoneRow.locator('button').click();
    await waitForDebug(page, (hook) => hook.drawnNames().includes('zone@page'));
    const drawn = await debugCall(page, (hook) => hook.drawnNames());
    expect(drawn).not.toContain('m1@zone');
    expect(drawn).toContain('hub@zone');
    expect(await page.locator('#groups summary').textContent()).toBe('groups (1 collapsed)');
    await page.click('#groups summary');
    await page.screenshot({ path: `${artifacts}/page-group-collapsed.png` });

    // The choice survives a reload.
    await page.reload();
    await waitForDebug(page, (hook) => hook.drawnNames().includes('zone@page'));
    expect(await debugCall(page, (hook) => hook.collapsedGroups())).toEqual(['zone@page']);

    // Clicking the super-node expands the group again.
    await page.click('#pause');
    await page.waitForTimeout(300);
    const { x, y } = await nodeScreenPosition(page, 'zone@page');
    await page.mouse.move(x, y);
    await page.waitForTimeout(200);
    await page.mouse.click(x, y);
    await waitForDebug(page, (hook) => hook.drawnNames().includes('m1@zone'));
    expect(await debugCall(page, (hook) => hook.collapsedGroups())).toEqual([]);

    // Colouring by group gives the zone's members the zone's colour.
    await page.selectOption('#color-by', 'group');
    const colors = await Promise.all(
      members.map((name) =>
        page.evaluate((wanted) => {
          const hook = (window as unknown as { thunderlinkDebug: DebugHook }).thunderlinkDebug;
          return hook.color(wanted);
        }, name),
      ),
    );
    expect(new Set(colors).size).toBe(1);
    expect(colors[0]).not.toBe(await debugCall(page, (hook) => hook.color('hub@zone')));
    await page.screenshot({ path: `${artifacts}/page-group-colours.png` });
    expect(errors).toEqual([]);
    await pageContext.close();
  });

  it('shows a mass failure of a group', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    await registry.createGroup({ name: 'failing@page', group_type: 'zone' });
    const members = ['f1@page', 'f2@page', 'f3@page', 'f4@page'];
    for (const name of members) {
      await registry.ensureNode({ name, heartbeat_interval_ms: 200 });
      await registry.addMember('failing@page', name);
    }
    const { page, errors } = await openPage(browser, `${server.url}/#debug`);
    await waitForConnection(page, 'live');

    // All members fall silent together after one heartbeat each, which the sweep damps into one
    // disruption of the group.
    await Promise.all(members.map((name) => registry.heartbeat(name, {})));
    const banner = page.locator('#disruptions');
    await banner.waitFor({ state: 'visible', timeout: 20_000 });
    expect(await banner.textContent()).toMatch(/^mass failure in .*failing@page \(\d+ held\)/);
    await page.click('#groups summary');
    const row = page.locator('#groups .group-row[data-group="failing@page"]');
    expect(await row.locator('.disrupted').textContent()).toBe('mass failure');
    await row.locator('button').click();
    await waitForDebug(page, (hook) => hook.drawnNames().includes('failing@page'));
    await page.click('#groups summary');
    await page.screenshot({ path: `${artifacts}/page-mass-failure.png` });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('draws the demo cluster', async (context) => {
    if (!browser) return context.skip();
    const demoServer = await startServer(
      parseServerConfig({ memory: true, port: '0' }),
      silentLogger(),
    );
    const demo = await startDemoCluster(demoServer.registry, silentLogger(), 2000);
    try {
      const { page, errors } = await openPage(browser, `${demoServer.url}/#debug`);
      await waitForTotal(page, `${demo.nodes.length} nodes`);
      await nodeScreenPosition(page, demo.nodes[0]!);

      // The screenshot is taken once the drawing stops moving, or after the bounded wait.
      await waitForStillLayout(page, demo.nodes);
      await page.locator('body').click({ position: { x: 5, y: 400 } });
      await page.keyboard.press('f');
      await page.waitForTimeout(800);
      await page.screenshot({ path: `${artifacts}/demo-cluster.png` });

      expect(errors).toEqual([]);
      await page.close();
    } finally {
      demo.stop();
      await demoServer.close();
    }
  });

  it('filters nodes and keeps the filters', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    await registry.ensureNode({ name: 'filtered@page', role: 'edge' });
    const expected = await graphNodeCount(server.url);
    const pageContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await pageContext.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#graph canvas');
    await waitForTotal(page, `${expected} nodes`);

    await page.click('#filters summary');
    const edge = page.locator('#filters fieldset[data-field="role"] input[value="edge"]');
    await edge.check();
    const edgeCount = await page.evaluate(async () => {
      const response = await fetch('/api/thunderlink/graph?include_offline=true');
      const graph = (await response.json()) as { nodes: { role: string }[] };
      return graph.nodes.filter((node) => node.role === 'edge').length;
    });
    await waitForTotal(page, `${expected} nodes, ${edgeCount} shown`);
    expect(await page.locator('#filters summary').textContent()).toBe('filters (1)');
    await page.screenshot({ path: `${artifacts}/page-filtered.png` });

    // The selection is stored in localStorage, so a reload keeps it.
    await page.reload();
    await waitForTotal(page, `${expected} nodes, ${edgeCount} shown`);
    await page.click('#filters summary');
    expect(await edge.isChecked()).toBe(true);

    await page.click('#filters button.clear');
    await waitForTotal(page, `${expected} nodes`);
    expect(errors).toEqual([]);
    await pageContext.close();
  });

  it('switches between 3D and 2D', async (context) => {
    if (!browser) return context.skip();
    await server.registry.ensureNode({ name: 'switched@page' });
    const expected = await graphNodeCount(server.url);
    const { page, errors } = await openPage(browser, `${server.url}/#debug`);
    await waitForTotal(page, `${expected} nodes`);
    expect(await viewMode(page)).toBe('3d');
    expect(await page.locator('#view-mode').textContent()).toBe('2D');

    await page.click('#view-mode');
    expect(await viewMode(page)).toBe('2d');
    expect(await page.locator('#graph canvas').count()).toBeGreaterThan(0);
    await nodeScreenPosition(page, 'switched@page');
    await page.screenshot({ path: `${artifacts}/page-switched-2d.png` });

    // The choice survives a reload.
    await page.reload();
    await page.waitForSelector('#graph canvas');
    expect(await viewMode(page)).toBe('2d');

    await page.click('#view-mode');
    expect(await viewMode(page)).toBe('3d');
    await nodeScreenPosition(page, 'switched@page');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('draws in 2D without WebGL', async (context) => {
    if (!browser) return context.skip();
    await server.registry.ensureNode({ name: 'flat@page', role: 'controller' });
    const expected = await graphNodeCount(server.url);
    // A browser of its own, because WebGL can only be switched off at launch.
    const flatBrowser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [...chromiumArgs, '--disable-webgl', '--disable-3d-apis'],
    });
    try {
      const { page, errors } = await openPage(flatBrowser, `${server.url}/#debug`);
      await waitForTotal(page, `${expected} nodes`);
      const notice = page.locator('#notice');
      await notice.waitFor({ state: 'visible' });
      expect(await notice.textContent()).toContain('WebGL is not available');
      expect(await viewMode(page)).toBe('2d');
      expect(await page.locator('#view-mode').isDisabled()).toBe(true);

      // The node is drawn: the canvas pixel at its centre is not the background #0b0e14.
      await page.click('#pause');
      await page.waitForTimeout(300);
      const { x, y } = await nodeScreenPosition(page, 'flat@page');
      const [red, green, blue] = await canvasPixel(page, x, y);
      expect([red, green, blue]).not.toEqual([0x0b, 0x0e, 0x14]);
      await page.screenshot({ path: `${artifacts}/page-2d-fallback.png` });
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await flatBrowser.close();
    }
  });

  it('reconnects after a server restart', async (context) => {
    if (!browser) return context.skip();
    const dataDir = mkdtempSync(join(tmpdir(), 'thunderlink-page-'));
    let restarted: RunningServer | undefined;
    let first: RunningServer | undefined = await startServer(
      parseServerConfig({ dataDir, port: '0' }, {}),
      silentLogger(),
    );
    try {
      await first.registry.ensureNode({ name: 'kept@restart', role: 'controller' });
      await first.registry.ensureNode({ name: 'peer@restart' });
      await first.registry.markOnline('peer@restart', { remote_node_id: 'kept@restart' });
      const port = first.port;

      const { page, errors } = await openPage(browser, `${first.url}/#debug`);
      await waitForTotal(page, '2 nodes');
      await waitForConnection(page, 'live');

      await first.close();
      first = undefined;
      await waitForConnection(page, 'reconnecting');
      await page.screenshot({ path: `${artifacts}/page-reconnecting.png` });

      restarted = await startServer(
        parseServerConfig({ dataDir, port: String(port) }, {}),
        silentLogger(),
      );
      // A change made while the page is away reaches it through the rejoin.
      await restarted.registry.ensureNode({ name: 'late@restart' });
      await restarted.registry.markStatus('kept@restart', 'degraded');

      await waitForConnection(page, 'live');
      const expected = await graphNodeCount(restarted.url);
      expect(expected).toBe(3);
      await waitForTotal(page, '3 nodes');
      await page.waitForFunction(
        () =>
          document.querySelector('#counts li[data-status="degraded"] span:last-child')
            ?.textContent === '1',
      );
      // The page's graph ends equal to the registry's.
      const response = await fetch(`${restarted.url}/api/thunderlink/graph?include_offline=true`);
      const graph = (await response.json()) as {
        nodes: { id: string; status: string }[];
        links: { id: string }[];
      };
      const expectedGraph = {
        nodes: graph.nodes.map((node) => `${node.id} ${node.status}`).sort(),
        links: graph.links.map((link) => link.id).sort(),
      };
      await page.waitForFunction(
        (wanted) =>
          JSON.stringify(
            (window as unknown as { thunderlinkDebug: DebugHook }).thunderlinkDebug.graph(),
          ) === wanted,
        JSON.stringify(expectedGraph),
      );
      await page.screenshot({ path: `${artifacts}/page-after-restart.png` });

      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await first?.close();
      await restarted?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
