// The load phase of the web benchmark: opening the page until its first frame with every node,
// then the force layout until it stops, then a few seconds of frames while nothing changes.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Page } from 'playwright-core';

import { readProbe, screenPositions, waitForFirstDraw } from './web-page.js';
import {
  type Rows,
  displacement,
  epochNow,
  formatMs,
  formatRate,
  frameRate,
  longTasks,
  progress,
} from './web-report.js';

/** Seconds of frame counting while nothing changes, after the layout stopped. */
const idleSeconds = 5;
/** Maximum wait for the layout to stop moving after the first draw. */
const settleTimeoutMs = 60_000;

/**
 * Reads the tracked nodes' screen positions once a second until none moved more than half a
 * pixel, or `timeoutMs` passed. Returns the epoch time the layout was found still, or null.
 */
async function waitForStillLayout(
  page: Page,
  names: string[],
  timeoutMs: number,
): Promise<number | null> {
  const deadline = epochNow() + timeoutMs;
  let before = await screenPositions(page, names);
  while (epochNow() < deadline) {
    await sleep(1000);
    const after = await screenPositions(page, names);
    const { max } = displacement(before, after);
    if (max <= 0.5) return epochNow();
    before = after;
  }
  return null;
}

/**
 * Opens the page and waits for its first frame with every node. Returns the rows and the epoch
 * time of that frame, or null for the time when the wait timed out.
 */
export async function measureLoad(
  page: Page,
  url: string,
  nodeCount: number,
  timeoutMs: number,
): Promise<{ rows: Rows; drawnAt: number | null }> {
  await page.goto(`${url}/#debug`, { waitUntil: 'commit' });
  const drawnFrame = await waitForFirstDraw(page, nodeCount, timeoutMs);
  const probe = await readProbe(page);
  if (drawnFrame === null) {
    const shown = probe.totals.at(-1)?.text;
    const state = shown === undefined ? 'no node total yet' : `the total "${shown}"`;
    const row = `timed out after ${formatMs(timeoutMs)}, with ${state} on the page`;
    return { rows: [['first frame with all nodes, after navigation', row]], drawnAt: null };
  }

  const navigationStart = probe.timeOrigin;
  const drawnAt = navigationStart + drawnFrame;
  const expected = `${nodeCount} node`;
  const appliedAt = probe.totals.find((entry) => entry.text.startsWith(expected))?.at ?? NaN;
  // The join reply, which carries the snapshot, is the largest message before the first draw.
  const reply = probe.messages
    .filter((message) => message.at <= drawnAt)
    .reduce((largest, message) => (message.bytes > largest.bytes ? message : largest), {
      at: NaN,
      bytes: 0,
    });
  const tasks = longTasks(probe, { from: navigationStart, to: drawnAt });
  const rows: Rows = [
    ['first frame with all nodes, after navigation', formatMs(drawnFrame)],
    [
      '… join reply received (its size)',
      `${formatMs(reply.at - navigationStart)} (${(reply.bytes / 2 ** 20).toFixed(1)} MiB)`,
    ],
    ['… graph handed to the view (total shown)', formatMs(appliedAt - navigationStart)],
    ['longest main-thread task during load', formatMs(tasks.longest)],
  ];
  return { rows, drawnAt };
}

export interface Positions {
  /** Screen positions of the tracked nodes when the idle phase started and when it ended. */
  idleStart: ({ x: number; y: number } | null)[];
  idleEnd: ({ x: number; y: number } | null)[];
}

/** Waits for the layout to stop, then counts frames while nothing changes. */
export async function measureLayoutAndIdle(
  page: Page,
  tracked: string[],
  drawnAt: number,
): Promise<{ rows: Rows; positions: Positions }> {
  progress('waiting for the layout to stop');
  const stillAt = await waitForStillLayout(page, tracked, settleTimeoutMs);
  const layoutEnd = stillAt ?? epochNow();
  const idleStart = epochNow();
  const idleStartPositions = await screenPositions(page, tracked);
  await sleep(idleSeconds * 1000);
  const idleEndPositions = await screenPositions(page, tracked);
  const idleEnd = epochNow();
  const probe = await readProbe(page);

  const layout = frameRate(probe.frames, { from: drawnAt, to: layoutEnd });
  const layoutTasks = longTasks(probe, { from: drawnAt, to: layoutEnd });
  const idle = frameRate(probe.frames, { from: idleStart, to: idleEnd });
  const idleTasks = longTasks(probe, { from: idleStart, to: idleEnd });
  const rows: Rows = [
    [
      'layout still after the first frame',
      stillAt === null ? `not within ${formatMs(settleTimeoutMs)}` : formatMs(stillAt - drawnAt),
    ],
    [
      'FPS while the layout runs (longest frame)',
      `${formatRate(layout.fps)} (${formatMs(layout.longestGap)})`,
    ],
    ['longest main-thread task while the layout runs', formatMs(layoutTasks.longest)],
    [
      `FPS idle for ${idleSeconds} s (longest frame)`,
      `${formatRate(idle.fps)} (${formatMs(idle.longestGap)})`,
    ],
    ['main thread in long tasks while idle', `${Math.round(idleTasks.busyShare * 100)} %`],
  ];
  return { rows, positions: { idleStart: idleStartPositions, idleEnd: idleEndPositions } };
}
