// Figures and the Markdown table of the web benchmark, computed from what the page probe
// recorded (web-page.ts) and the times the benchmark took. Every time is in epoch milliseconds.
import os from 'node:os';

import type { ProbeRecord } from './web-page.js';

/** One table row: the measure and its value. */
export type Rows = [string, string][];

export const epochNow = () => performance.timeOrigin + performance.now();

/** Prints a progress line on stderr, so that stdout holds only the report. */
export function progress(line: string): void {
  console.error(line);
}

export interface TimeWindow {
  from: number;
  to: number;
}

/** Frames per second within a window, and the longest gap between frames there. */
export function frameRate(frames: readonly number[], window: TimeWindow) {
  const inside = frames.filter((time) => time >= window.from && time <= window.to);
  let longestGap = 0;
  let previous = window.from;
  for (const time of [...inside, window.to]) {
    longestGap = Math.max(longestGap, time - previous);
    previous = time;
  }
  const seconds = (window.to - window.from) / 1000;
  return { fps: seconds > 0 ? inside.length / seconds : NaN, longestGap };
}

/**
 * Summarises the long tasks that started within a window: the longest, how many took over
 * 100 ms, and the share of the window that long tasks filled.
 */
export function longTasks(record: ProbeRecord, window: TimeWindow) {
  const inside = record.longTasks.filter(
    (task) => task.start >= window.from && task.start <= window.to,
  );
  const busy = inside.reduce((sum, task) => sum + task.duration, 0);
  return {
    longest: Math.max(0, ...inside.map((task) => task.duration)),
    over100: inside.filter((task) => task.duration > 100).length,
    busyShare: busy / Math.max(1, window.to - window.from),
  };
}

/**
 * Latency percentiles of the samples. A sample not seen counts as slower than every seen one,
 * so a percentile that falls among them is reported as a lower bound: `unseenBound`, the
 * shortest time any unseen sample was waited for.
 */
export function latencyPercentiles(latencies: (number | null)[], unseenBound: number) {
  const seen = latencies.filter((value): value is number => value !== null).sort((a, b) => a - b);
  const at = (q: number) => {
    const rank = Math.max(0, Math.ceil(q * latencies.length) - 1);
    const value = seen[rank];
    return value === undefined ? `> ${formatMs(unseenBound)}` : formatMs(value);
  };
  return { p50: at(0.5), p95: at(0.95), max: at(1), seen: seen.length };
}

/** Median and maximum distance that sampled nodes moved on screen between two readings. */
export function displacement(
  before: readonly ({ x: number; y: number } | null)[],
  after: readonly ({ x: number; y: number } | null)[],
) {
  const moves: number[] = [];
  before.forEach((start, i) => {
    const end = after[i];
    if (start && end) moves.push(Math.hypot(end.x - start.x, end.y - start.y));
  });
  moves.sort((a, b) => a - b);
  return { median: moves[Math.floor(moves.length / 2)] ?? NaN, max: moves.at(-1) ?? NaN };
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toFixed(value < 10 ? 1 : 0);
}

/** Describes the machine: CPU model and count, memory, load, Node.js and Chromium. */
export function describeMachine(chromiumVersion: string): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((value) => value.toFixed(1))
    .join(', ');
  return (
    `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ` +
    `${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, ` +
    `Node.js ${process.version}, Chromium ${chromiumVersion}, load average ${load}`
  );
}

/** Prints a two-column Markdown table: the measure and its value for `label`. */
export function printTable(label: string, rows: Rows): void {
  console.log(`| measure | ${label} |`);
  console.log('| --- | --- |');
  for (const [measure, value] of rows) console.log(`| ${measure} | ${value} |`);
}
