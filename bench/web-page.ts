// Page-side probes of the web benchmark. An init script records long tasks, animation frames,
// WebSocket messages and changes of the node total, starting before the page's own script. The
// other functions wait for and read what the page shows through its `#debug` hook.
//
// The functions handed to Playwright run in the page, from their source text. tsx compiles this
// file with esbuild's keepNames, which wraps every named inner function and every arrow function
// stored in a variable in a `__name(...)` helper that the page does not have. So the page-side
// functions below use only anonymous callbacks and loops.
import type { Page } from 'playwright-core';

/** The hook that web/src/main.ts installs when the URL ends in `#debug`. */
interface DebugHook {
  mode(): '2d' | '3d' | undefined;
  seq(): number | undefined;
  status(name: string): string | undefined;
  drawnNames(): string[];
  screenPosition(name: string): { x: number; y: number } | undefined;
}

/** Records of the init script, in page milliseconds since navigation start. */
interface Probe {
  /** `[startTime, duration]` of each long task (50 ms or more on the main thread). */
  longTasks: [number, number][];
  /** Start time of each animation frame. */
  frames: number[];
  /**
   * `[time, bytes, event]` of each WebSocket message, when its event is dispatched, and of each
   * socket's open and close, as the events `(open)` and `(close)`.
   */
  messages: [number, number, string][];
  /** `[time, text]` of each change of the `#total` text, taken after the task that made it. */
  totals: [number, string][];
  watch?: Watch;
}

interface Watch {
  samples: StatusSample[];
  /** Epoch milliseconds of the frame at which each sample's status was first seen. */
  seenAt: (number | null)[];
  stopped: boolean;
}

declare global {
  interface Window {
    thunderlinkDebug?: DebugHook;
    thunderlinkBench?: Probe;
  }
}

/** A status change whose arrival the page watches for. */
export interface StatusSample {
  name: string;
  status: string;
  /** Epoch milliseconds before which the change is not made, so the page need not look. */
  notBefore: number;
}

/** Everything the probe recorded, in epoch milliseconds. */
export interface ProbeRecord {
  timeOrigin: number;
  longTasks: { start: number; duration: number }[];
  frames: number[];
  messages: { at: number; bytes: number; event: string }[];
  totals: { at: number; text: string }[];
}

/** Installs the probe so that it starts before the page's script, on every navigation. */
export async function installProbe(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const probe: Probe = { longTasks: [], frames: [], messages: [], totals: [] };
    window.thunderlinkBench = probe;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        probe.longTasks.push([entry.startTime, entry.duration]);
    }).observe({ type: 'longtask', buffered: true });

    void (async () => {
      for (;;) {
        probe.frames.push(await new Promise<number>((resolve) => requestAnimationFrame(resolve)));
      }
    })();

    // The listener added here runs before the phoenix client's onmessage handler, so its time
    // is when the page starts to handle the message.
    const NativeWebSocket = window.WebSocket;
    window.WebSocket = class extends NativeWebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.addEventListener('open', () => probe.messages.push([performance.now(), 0, '(open)']));
        this.addEventListener('close', () => {
          probe.messages.push([performance.now(), 0, '(close)']);
        });
        this.addEventListener('message', (event: MessageEvent<unknown>) => {
          const text = typeof event.data === 'string' ? event.data : '';
          // A Phoenix V2 frame is [join_ref, ref, topic, event, payload]; only its head is read.
          const name = /^\[[^,]*,[^,]*,"[^"]*","([^"]+)"/.exec(text.slice(0, 200))?.[1] ?? '';
          probe.messages.push([performance.now(), text.length, name]);
        });
      }
    };

    document.addEventListener('DOMContentLoaded', () => {
      const total = document.getElementById('total');
      if (!total) return;
      new MutationObserver(() => {
        probe.totals.push([performance.now(), total.textContent ?? '']);
      }).observe(total, { childList: true, characterData: true, subtree: true });
    });
  });
}

/**
 * Waits until the page has drawn a frame after its node total reached `nodeCount`: the frame
 * after the one in which the total first showed it. Returns that frame's start in page
 * milliseconds since navigation, or null when `timeoutMs` passed first.
 */
export function waitForFirstDraw(
  page: Page,
  nodeCount: number,
  timeoutMs: number,
): Promise<number | null> {
  return page.evaluate(
    async ({ nodeCount, timeoutMs }) => {
      const expected = `${nodeCount} node`;
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const text = document.getElementById('total')?.textContent ?? '';
        if (window.thunderlinkDebug?.seq() !== undefined && text.startsWith(expected)) {
          return new Promise<number>((resolve) => requestAnimationFrame(resolve));
        }
      }
      return null;
    },
    { nodeCount, timeoutMs },
  );
}

/** Returns the drawn view's mode from the debug hook. */
export function viewMode(page: Page): Promise<string | undefined> {
  return page.evaluate(() => window.thunderlinkDebug?.mode());
}

/** Returns where each node is drawn, in CSS pixels, or null for a node not drawn. */
export function screenPositions(
  page: Page,
  names: readonly string[],
): Promise<({ x: number; y: number } | null)[]> {
  return page.evaluate(
    (names) => names.map((name) => window.thunderlinkDebug?.screenPosition(name) ?? null),
    names,
  );
}

/**
 * Starts watching for the sampled status changes. Once per frame the page reads, through the
 * debug hook, the status of each sample that is due and not seen yet, and records the frame's
 * epoch time when the status matches. Each sample must be a node's only change, because a later
 * change could otherwise stand in for it.
 */
export async function startWatch(page: Page, samples: StatusSample[]): Promise<void> {
  await page.evaluate((samples) => {
    const probe = window.thunderlinkBench!;
    const watch: Watch = { samples, seenAt: samples.map(() => null), stopped: false };
    probe.watch = watch;
    void (async () => {
      let remaining = samples.length;
      while (remaining > 0 && !watch.stopped) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const now = performance.timeOrigin + performance.now();
        samples.forEach((sample, i) => {
          if (watch.seenAt[i] !== null || sample.notBefore > now) return;
          if (window.thunderlinkDebug?.status(sample.name) !== sample.status) return;
          watch.seenAt[i] = now;
          remaining -= 1;
        });
      }
    })();
  }, samples);
}

/** Stops the watch and returns, per sample, the epoch time it was seen or null. */
export function stopWatch(page: Page): Promise<(number | null)[]> {
  return page.evaluate(() => {
    const watch = window.thunderlinkBench!.watch!;
    watch.stopped = true;
    return watch.seenAt;
  });
}

/**
 * Waits until the page's graph reflects stream position `seq`. Returns the epoch time of the
 * frame at which it did, or null when `timeoutMs` passed first.
 */
export function waitForSeq(page: Page, seq: number, timeoutMs: number): Promise<number | null> {
  return page.evaluate(
    async ({ seq, timeoutMs }) => {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
        if ((window.thunderlinkDebug?.seq() ?? -1) >= seq) {
          return performance.timeOrigin + performance.now();
        }
      }
      return null;
    },
    { seq, timeoutMs },
  );
}

/** Returns the page's stream position. */
export function pageSeq(page: Page): Promise<number | undefined> {
  return page.evaluate(() => window.thunderlinkDebug?.seq());
}

/** Reads everything the probe recorded, converted to epoch milliseconds. */
export async function readProbe(page: Page): Promise<ProbeRecord> {
  const raw = await page.evaluate(() => {
    const { longTasks, frames, messages, totals } = window.thunderlinkBench!;
    return { timeOrigin: performance.timeOrigin, longTasks, frames, messages, totals };
  });
  const epoch = (time: number) => raw.timeOrigin + time;
  return {
    timeOrigin: raw.timeOrigin,
    longTasks: raw.longTasks.map(([start, duration]) => ({ start: epoch(start), duration })),
    frames: raw.frames.map(epoch),
    messages: raw.messages.map(([at, bytes, event]) => ({ at: epoch(at), bytes, event })),
    totals: raw.totals.map(([at, text]) => ({ at: epoch(at), text })),
  };
}

/** Returns the names of what the page draws: nodes, and collapsed groups under their names. */
export function drawnNames(page: Page): Promise<string[]> {
  return page.evaluate(() => window.thunderlinkDebug?.drawnNames() ?? []);
}

/**
 * Returns the durations of the page's `thunderlink:update` measures (see docs/web.md) that
 * started between `from` and `to`, epoch milliseconds.
 */
export function updateDurations(page: Page, from: number, to: number): Promise<number[]> {
  return page.evaluate(
    ({ from, to }) =>
      performance
        .getEntriesByName('thunderlink:update')
        .filter((entry) => {
          const at = performance.timeOrigin + entry.startTime;
          return at >= from && at <= to;
        })
        .map((entry) => entry.duration),
    { from, to },
  );
}
