// The data behind the details panel's sparklines: heartbeat history and live heartbeat rows
// turned into one bounded, time-ordered list of points, and the points scaled to polylines.
// Nothing here touches the DOM.
import type { HeartbeatRecord, RollupRecord } from '../../src/registry/model.js';
import type { HeartbeatHistory } from '../../src/registry/operations.js';

/** Points kept per node, so a panel that stays open does not grow without bound. */
export const MAX_POINTS = 120;

export type Metric = 'cpu_load' | 'mem_used_mb' | 'latency_ms';

export interface MetricFormat {
  metric: Metric;
  label: string;
  /** Decimal places of the values shown as text. */
  digits: number;
  unit: string;
}

/** The metrics drawn, in the panel's order, with how their values read as text. */
export const sparklineMetrics: readonly MetricFormat[] = [
  { metric: 'cpu_load', label: 'CPU load', digits: 2, unit: '' },
  { metric: 'mem_used_mb', label: 'memory', digits: 0, unit: ' MB' },
  { metric: 'latency_ms', label: 'latency', digits: 1, unit: ' ms' },
];

/** One heartbeat, or the mean of a rollup bucket. A null metric is one the device did not send. */
export interface SamplePoint {
  /** `heartbeat:<id>`, or `<bucket>:<bucket_start>` for a rollup. Duplicates share the key. */
  key: string;
  /** The heartbeat's id, which orders heartbeats stored in the same millisecond. */
  heartbeatId?: number;
  /** `inserted_at` of a heartbeat or `bucket_start` of a rollup, in epoch milliseconds. */
  at: number;
  cpu_load: number | null;
  mem_used_mb: number | null;
  latency_ms: number | null;
}

export interface MetricSummary {
  /** The metric in the newest point, or null when that point lacks it. */
  latest: number | null;
  min: number | null;
  max: number | null;
  /** Points that have the metric. */
  count: number;
}

export interface PlotSize {
  width: number;
  height: number;
  /** Space kept free on every side, so the stroke is not clipped at the edges. */
  padding: number;
}

export interface PlotPoint {
  x: number;
  y: number;
}

const bucketMs: Record<RollupRecord['bucket'], number> = { minute: 60_000, hour: 3_600_000 };

/** Returns the point of a heartbeat row, or undefined when its id or time is unusable. */
export function heartbeatPoint(row: HeartbeatRecord): SamplePoint | undefined {
  const at = Date.parse(row.inserted_at);
  if (!Number.isFinite(at) || !Number.isSafeInteger(row.id)) return undefined;
  return {
    key: `heartbeat:${row.id}`,
    heartbeatId: row.id,
    at,
    cpu_load: finiteOrNull(row.cpu_load),
    mem_used_mb: finiteOrNull(row.mem_used_mb),
    latency_ms: finiteOrNull(row.latency_ms),
  };
}

/**
 * Returns the points of a `GET /nodes/:id/heartbeats` response, oldest first. Raw heartbeats
 * come first. Rollup means fill in only the time before them, minute buckets before hour buckets,
 * because a bucket summarises heartbeats that the finer rows may still contain.
 */
export function historyPoints(history: HeartbeatHistory): SamplePoint[] {
  const raw = history.heartbeats.map(heartbeatPoint).filter((point) => point !== undefined);
  let points = sortPoints(raw);
  for (const bucket of ['minute', 'hour'] as const) {
    const before = points[0]?.at ?? Infinity;
    const filled = history.rollups
      .filter((rollup) => rollup.bucket === bucket)
      .map(rollupPoint)
      .filter((point) => point !== undefined)
      .filter((point) => point.at + bucketMs[bucket] <= before);
    points = sortPoints([...filled, ...points]);
  }
  return points;
}

/**
 * Returns `existing` and `incoming` as one list ordered by time, without duplicate keys and cut
 * to the newest `capacity` points. An incoming point whose key is already present is ignored.
 */
export function mergePoints(
  existing: readonly SamplePoint[],
  incoming: readonly SamplePoint[],
  capacity = MAX_POINTS,
): SamplePoint[] {
  const keys = new Set(existing.map((point) => point.key));
  const added: SamplePoint[] = [];
  for (const point of incoming) {
    if (keys.has(point.key)) continue;
    keys.add(point.key);
    added.push(point);
  }
  const merged = added.length === 0 ? [...existing] : sortPoints([...existing, ...added]);
  return merged.slice(Math.max(0, merged.length - capacity));
}

/** Returns the newest value, minimum and maximum of one metric, ignoring missing values. */
export function summarize(points: readonly SamplePoint[], metric: Metric): MetricSummary {
  let min: number | null = null;
  let max: number | null = null;
  let count = 0;
  for (const point of points) {
    const value = point[metric];
    if (value === null) continue;
    count += 1;
    min = min === null ? value : Math.min(min, value);
    max = max === null ? value : Math.max(max, value);
  }
  const latest = points.at(-1)?.[metric] ?? null;
  return { latest, min, max, count };
}

/**
 * Scales one metric of time-ordered points into `size`: time runs left to right from the oldest
 * point to the newest, and values bottom to top from the minimum to the maximum. Each run of
 * points that have the metric becomes one segment, so a missing value leaves a gap. Points that
 * all share one time sit at the right edge, and a constant metric runs across the middle.
 */
export function plotSegments(
  points: readonly SamplePoint[],
  metric: Metric,
  size: PlotSize,
): PlotPoint[][] {
  const { min, max } = summarize(points, metric);
  const first = points[0];
  const last = points.at(-1);
  if (min === null || max === null || !first || !last) return [];

  const left = size.padding;
  const right = size.width - size.padding;
  const top = size.padding;
  const bottom = size.height - size.padding;
  const timeSpan = last.at - first.at;
  // Halving before subtracting keeps the span finite for any two finite values.
  const halfSpan = max / 2 - min / 2;

  const segments: PlotPoint[][] = [];
  let segment: PlotPoint[] = [];
  for (const point of points) {
    const value = point[metric];
    if (value === null) {
      if (segment.length > 0) segments.push(segment);
      segment = [];
      continue;
    }
    const x = timeSpan > 0 ? left + ((point.at - first.at) / timeSpan) * (right - left) : right;
    const y =
      halfSpan > 0
        ? bottom - ((value / 2 - min / 2) / halfSpan) * (bottom - top)
        : (top + bottom) / 2;
    segment.push({ x: round(x), y: round(y) });
  }
  if (segment.length > 0) segments.push(segment);
  return segments;
}

/** Returns a segment as the `points` attribute of an SVG polyline. */
export function polylinePoints(segment: readonly PlotPoint[]): string {
  return segment.map((point) => `${point.x},${point.y}`).join(' ');
}

function rollupPoint(rollup: RollupRecord): SamplePoint | undefined {
  const at = Date.parse(rollup.bucket_start);
  if (!Number.isFinite(at)) return undefined;
  return {
    key: `${rollup.bucket}:${rollup.bucket_start}`,
    at,
    cpu_load: finiteOrNull(rollup.cpu_load_mean),
    mem_used_mb: finiteOrNull(rollup.mem_used_mb_mean),
    latency_ms: finiteOrNull(rollup.latency_ms_mean),
  };
}

function sortPoints(points: SamplePoint[]): SamplePoint[] {
  return points.sort((a, b) => a.at - b.at || (a.heartbeatId ?? -1) - (b.heartbeatId ?? -1));
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
