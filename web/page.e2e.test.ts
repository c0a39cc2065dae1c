import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseServerConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { type RunningServer, findWebRoot, startServer } from '../src/server.js';
import { launchBrowser } from '../src/testing/browser.js';

const artifacts = 'test-artifacts';

describe('web page', () => {
  let server: RunningServer;
  let browser: Browser | null;

  beforeAll(async () => {
    if (!findWebRoot()) execFileSync('npx', ['vite', 'build'], { stdio: 'ignore' });
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
    expect(existsSync(`${findWebRoot()}/index.html`)).toBe(true);
  });

  it('draws registered nodes live', async (context) => {
    if (!browser) return context.skip();
    const registry = server.registry;
    await registry.ensureNode({ name: 'first@page', role: 'controller' });
    await registry.heartbeat('first@page', { cpu_load: 0.2, mem_used_mb: 300 });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#graph canvas');
    await page.waitForFunction(() => document.getElementById('total')?.textContent === '1 node');

    // A node registered after the page loaded appears without a reload.
    await registry.ensureNode({ name: 'second@page' });
    await registry.markOnline('second@page', { remote_node_id: 'first@page' });
    await page.waitForFunction(() => document.getElementById('total')?.textContent === '2 nodes');
    await page.screenshot({ path: `${artifacts}/page-two-nodes.png` });

    expect(errors).toEqual([]);
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.close();
  });
});
