// The update phase of the web benchmark: status changes made through the registry at a steady
// rate while the page watches for a sample of them, then the page's catching up.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Page } from 'playwright-core';

import { sequencedPushEvents } from '../src/realtime/messages.js';
import type { Registry } from '../src/registry/registry.js';
import { type ClusterPlan, evenlySpaced } from './web-cluster.js';
import type { Positions } from './web-load.js';
import {
  type ProbeRecord,
  type StatusSample,
  pageSeq,
  readProbe,
  screenPositions,
  startWatch,
  stopWatch,
  updateDurations,
  waitForSeq,
} from './web-page.js';
import {
  type Rows,
  displacement,
  epochNow,
  formatCount,
  formatMs,
  formatRate,
  frameRate,
  latencyPercentiles,
  longTasks,
  progress,
} from './web-report.js';

/** Maximum wait, after the last status change, for the page to apply the rest. */
const catchUpTimeoutMs = 120_000;
/** About this many status changes are timed; the others only add load. */
const timedChanges = 100;

interface StatusChange {
  name: string;
  status: 'online' | 'degraded';
  /** Index into the samples, for a change whose arrival is timed. */
  sample?: number;
}

/**
 * Plans `count` status changes among the workers and edge devices. About `timedChanges` of
 * them, evenly spread, are timed. Each timed change moves a node of its own from online to
 * degraded, and that node does not change again. So the page shows the new status however it
 * learns of it, from the push or from the whole graph that the server sends a client that fell
 * behind. The other changes go round a pool of nodes, each visit switching a node between
 * degraded and online. The pool has half as many nodes as changes, so each changes about twice.
 */
function planStatusChanges(plan: ClusterPlan, count: number): StatusChange[] {
  const candidates = plan.nodes.filter((node) => node.role === 'worker' || node.role === 'edge');
  const source = (candidates.length > 0 ? candidates : plan.nodes).map((node) => node.name);
  const stride = Math.max(1, Math.round(count / timedChanges));
  const timed = evenlySpaced(
    source,
    Math.min(Math.ceil(count / stride), Math.floor(source.length / 2)),
  );
  const timedNames = new Set(timed);
  const rest = source.filter((name) => !timedNames.has(name));
  const pool = evenlySpaced(rest, Math.max(1, Math.ceil((count - timed.length) / 2)));
  let sampled = 0;
  let untimed = 0;
  return Array.from({ length: count }, (_, i): StatusChange => {
    if (i % stride === 0 && sampled < timed.length) {
      return { name: timed[sampled]!, status: 'degraded', sample: sampled++ };
    }
    const visit = Math.floor(untimed / pool.length);
    const name = pool[untimed++ % pool.length]!;
    return { name, status: visit % 2 === 0 ? 'degraded' : 'online' };
  });
}

/** Returns the samples the page watches for, given the epoch time the first change is due. */
function watchedSamples(changes: StatusChange[], startAt: number, rate: number): StatusSample[] {
  return changes.flatMap((change, i) =>
    change.sample === undefined
      ? []
      : [{ name: change.name, status: change.status, notBefore: startAt + (i * 1000) / rate }],
  );
}

/**
 * Makes the status changes at `rate` per second from `startAt`, without waiting for one to
 * finish before the next is due. Returns the epoch times each call started and resolved.
 */
async function driveStatusChanges(
  registry: Registry,
  changes: StatusChange[],
  rate: number,
  startAt: number,
): Promise<{ issuedAt: number[]; resolvedAt: number[] }> {
  const issuedAt: number[] = [];
  const resolvedAt: number[] = [];
  const calls: Promise<void>[] = [];
  let failure: unknown;
  for (const [i, change] of changes.entries()) {
    const wait = startAt + (i * 1000) / rate - epochNow();
    if (wait > 0) await sleep(wait);
    if (failure !== undefined) break;
    issuedAt[i] = epochNow();
    calls.push(
      registry.markStatus(change.name, change.status).then(
        () => void (resolvedAt[i] = epochNow()),
        (error: unknown) => void (failure ??= error),
      ),
    );
  }
  await Promise.all(calls);
  if (failure !== undefined) {
    throw new Error('a status change failed in the registry', { cause: failure });
  }
  return { issuedAt, resolvedAt };
}

/** Returns the page's clock minus this process's clock, both in epoch milliseconds. */
async function clockOffset(page: Page): Promise<{ offset: number; uncertainty: number }> {
  const before = epochNow();
  const pageTime = await page.evaluate(() => performance.timeOrigin + performance.now());
  const after = epochNow();
  return { offset: pageTime - (before + after) / 2, uncertainty: (after - before) / 2 };
}

/** Measurements of the update phase, in epoch milliseconds. */
interface UpdateRun {
  changes: StatusChange[];
  issuedAt: number[];
  resolvedAt: number[];
  /** When the page first showed each timed change, or null. */
  seenAt: (number | null)[];
  startAt: number;
  driveEnd: number;
  /** When the page reflected the last change, or null when it had not by `stopAt`. */
  caughtUpAt: number | null;
  stopAt: number;
  lastSeq: number;
  seqShown: number | undefined;
  positionsAfter: Positions['idleEnd'];
  /** Durations of the page's update handling during the phase, in milliseconds. */
  updates: number[];
}

/**
 * Makes the status changes while the page watches for the timed ones, waits for the page to
 * apply the rest, and compares the tracked nodes' positions with those before.
 */
export async function measureUpdates(
  page: Page,
  registry: Registry,
  plan: ClusterPlan,
  options: { rate: number; seconds: number },
  tracked: string[],
  positions: Positions,
): Promise<{ rows: Rows; notes: string[] }> {
  const clock = await clockOffset(page);
  if (Math.abs(clock.offset) > clock.uncertainty + 5) {
    progress(
      `note: the page's clock differs from this process's by ${formatMs(clock.offset)}, ` +
        'which shifts every latency by that much',
    );
  }
  const changes = planStatusChanges(plan, Math.round(options.rate * options.seconds));
  const startAt = epochNow() + 500;
  await startWatch(page, watchedSamples(changes, startAt, options.rate));

  let lastSeq = 0;
  const unsubscribe = registry.onCommitted((seq) => (lastSeq = Math.max(lastSeq, seq)));
  progress(`making ${formatCount(changes.length)} status changes at ${options.rate}/s`);
  const { issuedAt, resolvedAt } = await driveStatusChanges(
    registry,
    changes,
    options.rate,
    startAt,
  );
  const driveEnd = epochNow();
  unsubscribe();
  progress('waiting for the page to apply every change');
  const caughtUpAt = await waitForSeq(page, lastSeq, catchUpTimeoutMs);
  const seenAt = await stopWatch(page);
  const run: UpdateRun = {
    changes,
    issuedAt,
    resolvedAt,
    seenAt,
    startAt,
    driveEnd,
    caughtUpAt,
    stopAt: epochNow(),
    lastSeq,
    seqShown: await pageSeq(page),
    positionsAfter: await screenPositions(page, tracked),
    updates: [],
  };
  run.updates = await updateDurations(page, run.startAt, run.caughtUpAt ?? run.stopAt);
  return updateFigures(run, await readProbe(page), options.rate, positions);
}

/** Events of the graph stream that change the page's graph, as opposed to metrics and replies. */
const graphEvents = new Set<string>([...sequencedPushEvents, 'topology_update']);

/** Computes the rows of the update phase, and a note on the messages the page received. */
function updateFigures(
  run: UpdateRun,
  probe: ProbeRecord,
  rate: number,
  positions: Positions,
): { rows: Rows; notes: string[] } {
  const phase = { from: run.startAt, to: run.caughtUpAt ?? run.stopAt };
  const frames = frameRate(probe.frames, phase);
  const tasks = longTasks(probe, phase);
  const timed = run.changes.flatMap((change, i) => (change.sample === undefined ? [] : [i]));
  const latencies = timed.map((index, j) => {
    const seen = run.seenAt[j] ?? null;
    return seen === null ? null : Math.max(0, seen - run.resolvedAt[index]!);
  });
  const waited = timed.map((index, j) =>
    run.seenAt[j] === null ? run.stopAt - run.resolvedAt[index]! : Infinity,
  );
  const latency = latencyPercentiles(latencies, Math.min(...waited));
  const callTimes = run.resolvedAt.map((at, i) => at - run.issuedAt[i]!).sort((a, b) => a - b);
  const received = probe.messages.filter((m) => m.at >= phase.from && m.at <= phase.to);
  const pushes = received.filter((m) => graphEvents.has(m.event));
  const resyncs = pushes.filter((m) => m.event === 'topology_update');
  const idleDrift = displacement(positions.idleStart, positions.idleEnd);
  const moved = displacement(positions.idleEnd, run.positionsAfter);
  const restarted = moved.median > Math.max(5, 3 * idleDrift.median);
  const rows: Rows = [
    [
      'status changes',
      `${formatCount(run.changes.length)} at ${formatRate(rate)}/s, ${latencies.length} timed`,
    ],
    [
      'registry call time p50 / max',
      `${formatMs(callTimes[Math.floor(callTimes.length / 2)] ?? NaN)} / ` +
        formatMs(callTimes.at(-1) ?? NaN),
    ],
    [
      'graph pushes received; whole graphs among them',
      `${formatCount(pushes.length)}; ${formatCount(resyncs.length)}`,
    ],
    ['update latency p50 / p95 / max', `${latency.p50} / ${latency.p95} / ${latency.max}`],
    [
      'page caught up after the last change',
      run.caughtUpAt === null
        ? `no: after ${formatMs(catchUpTimeoutMs)} it was at seq ${run.seqShown} of ${run.lastSeq}`
        : formatMs(run.caughtUpAt - run.driveEnd),
    ],
    [
      'page redraws (update handling p50 / max, over 100 ms)',
      run.updates.length === 0
        ? 'none measured'
        : `${formatCount(run.updates.length)} (${formatMs(percentile(run.updates, 0.5))} / ` +
          `${formatMs(Math.max(...run.updates))}, ${run.updates.filter((d) => d > 100).length})`,
    ],
    ['longest main-thread task during updates', formatMs(tasks.longest)],
    ['tasks over 100 ms during updates', formatCount(tasks.over100)],
    ['main thread in long tasks during updates', `${Math.round(tasks.busyShare * 100)} %`],
    [
      'FPS during updates (longest frame)',
      `${formatRate(frames.fps)} (${formatMs(frames.longestGap)})`,
    ],
    [
      'layout restarted by the updates',
      `${restarted ? 'yes' : 'no'}: nodes moved ${moved.median.toFixed(1)} px (median), ` +
        `${moved.max.toFixed(1)} px (max); idle drift ${idleDrift.median.toFixed(1)} px`,
    ],
  ];
  const note = `stream messages while the page applied the changes: ${countEvents(received)}`;
  return { rows, notes: [note] };
}

/** Counts messages by event, most frequent first, as `event count, …`. */
function countEvents(messages: { event: string }[]): string {
  const counts = new Map<string, number>();
  for (const { event } of messages) {
    const key = event || '(unparsed)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  return sorted.map(([event, count]) => `${event} ${formatCount(count)}`).join(', ') || 'none';
}

function percentile(values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? NaN;
}
