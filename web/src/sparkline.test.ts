import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { HeartbeatRecord, RollupRecord } from '../../src/registry/model.js';
import {
  MAX_POINTS,
  heartbeatPoint,
  historyPoints,
  mergePoints,
  plotSegments,
  polylinePoints,
  summarize,
  type PlotSize,
  type SamplePoint,
} from './sparkline.js';

const start = Date.parse('2026-01-01T12:00:00.000Z');
const size: PlotSize = { width: 100, height: 20, padding: 2 };

function row(id: number, secondsAfterStart: number, fields: Partial<HeartbeatRecord> = {}) {
  return {
    id,
    node_id: 'node-a',
    status: 'online',
    cpu_load: 0.5,
    mem_used_mb: 512,
    latency_ms: 3,
    meta: {},
    inserted_at: new Date(start + secondsAfterStart * 1000).toISOString(),
    ...fields,
  } as HeartbeatRecord;
}

function rollup(bucket: RollupRecord['bucket'], minutesAfterStart: number): RollupRecord {
  return {
    node_id: 'node-a',
    bucket,
    bucket_start: new Date(start + minutesAfterStart * 60_000).toISOString(),
    count: 12,
    cpu_load_mean: 0.25,
    cpu_load_max: 0.5,
    mem_used_mb_mean: 400,
    mem_used_mb_max: 450,
    latency_ms_mean: 2,
    latency_ms_max: 4,
  };
}

function point(id: number, secondsAfterStart: number, cpu: number | null = 0.5): SamplePoint {
  return {
    key: `heartbeat:${id}`,
    heartbeatId: id,
    at: start + secondsAfterStart * 1000,
    cpu_load: cpu,
    mem_used_mb: null,
    latency_ms: null,
  };
}

function ids(points: readonly SamplePoint[]): number[] {
  return points.map((each) => each.heartbeatId ?? -1);
}

function keys(points: readonly SamplePoint[]): string[] {
  return points.map((each) => each.key);
}

describe('heartbeatPoint', () => {
  it('reads the metrics and time of a row', () => {
    expect(heartbeatPoint(row(7, 10, { latency_ms: null }))).toEqual({
      key: 'heartbeat:7',
      heartbeatId: 7,
      at: start + 10_000,
      cpu_load: 0.5,
      mem_used_mb: 512,
      latency_ms: null,
    });
  });

  it('turns non-finite metrics into missing values', () => {
    const parsed = heartbeatPoint(row(1, 0, { cpu_load: NaN, mem_used_mb: Infinity }));
    expect(parsed?.cpu_load).toBeNull();
    expect(parsed?.mem_used_mb).toBeNull();
  });

  it('skips a row with an unreadable time', () => {
    expect(heartbeatPoint(row(1, 0, { inserted_at: 'yesterday' }))).toBeUndefined();
  });
});

describe('historyPoints', () => {
  it('returns nothing for an empty history', () => {
    expect(historyPoints({ heartbeats: [], rollups: [] })).toEqual([]);
  });

  it('orders raw heartbeats oldest first', () => {
    // GET /nodes/:id/heartbeats returns the newest row first.
    const history = { heartbeats: [row(3, 20), row(2, 10), row(1, 0)], rollups: [] };
    expect(ids(historyPoints(history))).toEqual([1, 2, 3]);
  });

  it('fills the time before raw heartbeats with rollups', () => {
    const history = {
      heartbeats: [row(1, 600)],
      rollups: [rollup('minute', 8), rollup('minute', 9), rollup('minute', 10)],
    };
    const points = historyPoints(history);
    // The bucket of minute 10 would overlap the heartbeat at minute 10, so only 8 and 9 fill in.
    expect(keys(points)).toEqual([
      `minute:${new Date(start + 8 * 60_000).toISOString()}`,
      `minute:${new Date(start + 9 * 60_000).toISOString()}`,
      'heartbeat:1',
    ]);
    expect(points[0]?.cpu_load).toBe(0.25);
    expect(points[0]?.mem_used_mb).toBe(400);
    expect(points[0]?.latency_ms).toBe(2);
  });

  it('uses hour rollups only before minute rollups', () => {
    const history = {
      heartbeats: [],
      rollups: [rollup('minute', 70), rollup('hour', 0), rollup('hour', 60)],
    };
    const points = historyPoints(history);
    expect(points.map((each) => each.key.split(':')[0])).toEqual(['hour', 'minute']);
    expect(points[0]?.at).toBe(start);
  });

  it('uses rollups alone when no raw heartbeats remain', () => {
    const history = { heartbeats: [], rollups: [rollup('minute', 2), rollup('minute', 1)] };
    expect(historyPoints(history).map((each) => each.at)).toEqual([
      start + 60_000,
      start + 120_000,
    ]);
  });
});

describe('mergePoints', () => {
  it('drops live rows that the history also returned', () => {
    const history = [point(1, 0), point(2, 5)];
    const merged = mergePoints(history, [point(2, 5), point(3, 10)]);
    expect(ids(merged)).toEqual([1, 2, 3]);
  });

  it('drops duplicates within one batch', () => {
    expect(ids(mergePoints([], [point(4, 0), point(4, 0)]))).toEqual([4]);
  });

  it('orders out-of-order rows by time', () => {
    const merged = mergePoints([point(5, 20)], [point(7, 30), point(6, 10)]);
    expect(ids(merged)).toEqual([6, 5, 7]);
  });

  it('orders rows of the same millisecond by id', () => {
    expect(ids(mergePoints([point(9, 0)], [point(8, 0)]))).toEqual([8, 9]);
  });

  it('keeps the newest points up to the capacity', () => {
    const many = Array.from({ length: MAX_POINTS + 30 }, (_, i) => point(i + 1, i));
    const merged = mergePoints([], many);
    expect(merged).toHaveLength(MAX_POINTS);
    expect(merged[0]?.heartbeatId).toBe(31);
    expect(merged.at(-1)?.heartbeatId).toBe(MAX_POINTS + 30);
  });

  it('does not re-add a point older than a full buffer', () => {
    const full = mergePoints([], [point(2, 10), point(3, 20)], 2);
    expect(ids(mergePoints(full, [point(1, 0)], 2))).toEqual([2, 3]);
  });

  it('returns nothing for a capacity of zero', () => {
    expect(mergePoints([point(1, 0)], [point(2, 1)], 0)).toEqual([]);
  });

  it('leaves its inputs unchanged', () => {
    const existing = [point(2, 10)];
    const incoming = [point(1, 0)];
    mergePoints(existing, incoming);
    expect(ids(existing)).toEqual([2]);
    expect(ids(incoming)).toEqual([1]);
  });
});

describe('summarize', () => {
  it('returns no values for no points', () => {
    expect(summarize([], 'cpu_load')).toEqual({ latest: null, min: null, max: null, count: 0 });
  });

  it('returns no values when every value is missing', () => {
    const points = [point(1, 0, null), point(2, 1, null)];
    expect(summarize(points, 'cpu_load')).toEqual({
      latest: null,
      min: null,
      max: null,
      count: 0,
    });
  });

  it('returns the newest value and the range', () => {
    const points = [point(1, 0, 0.9), point(2, 1, 0.1), point(3, 2, 0.4)];
    expect(summarize(points, 'cpu_load')).toEqual({ latest: 0.4, min: 0.1, max: 0.9, count: 3 });
  });

  it('reports a missing newest value as missing', () => {
    const summary = summarize([point(1, 0, 0.3), point(2, 1, null)], 'cpu_load');
    expect(summary.latest).toBeNull();
    expect(summary.max).toBe(0.3);
  });
});

describe('plotSegments', () => {
  it('draws nothing for no points', () => {
    expect(plotSegments([], 'cpu_load', size)).toEqual([]);
  });

  it('draws nothing when every value is missing', () => {
    expect(plotSegments([point(1, 0, null), point(2, 1, null)], 'cpu_load', size)).toEqual([]);
  });

  it('puts a single point at the right edge, halfway up', () => {
    expect(plotSegments([point(1, 0, 0.7)], 'cpu_load', size)).toEqual([[{ x: 98, y: 10 }]]);
  });

  it('draws constant values across the middle', () => {
    const points = [point(1, 0, 0.5), point(2, 10, 0.5), point(3, 20, 0.5)];
    expect(plotSegments(points, 'cpu_load', size)).toEqual([
      [
        { x: 2, y: 10 },
        { x: 50, y: 10 },
        { x: 98, y: 10 },
      ],
    ]);
  });

  it('scales time to x and values to y', () => {
    const points = [point(1, 0, 1), point(2, 30, 3), point(3, 40, 2)];
    expect(plotSegments(points, 'cpu_load', size)).toEqual([
      [
        { x: 2, y: 18 },
        { x: 74, y: 2 },
        { x: 98, y: 10 },
      ],
    ]);
  });

  it('leaves a gap at a missing value', () => {
    const points = [point(1, 0, 1), point(2, 10, null), point(3, 20, 2), point(4, 30, 3)];
    const segments = plotSegments(points, 'cpu_load', size);
    expect(segments.map((segment) => segment.length)).toEqual([1, 2]);
    expect(segments[0]).toEqual([{ x: 2, y: 18 }]);
  });

  it('keeps the time axis of the points without the metric', () => {
    // The three sparklines share one time axis, so a metric that starts late starts mid-way.
    const points = [point(1, 0, null), point(2, 10, 1), point(3, 20, 2)];
    const [segment] = plotSegments(points, 'cpu_load', size);
    expect(segment?.[0]?.x).toBe(50);
  });

  it('never returns NaN or infinite coordinates', () => {
    const value = fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null });
    const sample = fc.record({ second: fc.integer({ min: 0, max: 3 }), value });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 12 }), (samples) => {
        const points = mergePoints(
          [],
          samples.map((each, i) => point(i + 1, each.second, each.value)),
        );
        for (const segment of plotSegments(points, 'cpu_load', size)) {
          for (const { x, y } of segment) {
            expect(Number.isFinite(x)).toBe(true);
            expect(Number.isFinite(y)).toBe(true);
            expect(x).toBeGreaterThanOrEqual(size.padding);
            expect(x).toBeLessThanOrEqual(size.width - size.padding);
            expect(y).toBeGreaterThanOrEqual(size.padding);
            expect(y).toBeLessThanOrEqual(size.height - size.padding);
          }
        }
      }),
    );
  });

  it('scales the extremes of the double range', () => {
    const points = [point(1, 0, -Number.MAX_VALUE), point(2, 1, Number.MAX_VALUE)];
    expect(plotSegments(points, 'cpu_load', size)).toEqual([
      [
        { x: 2, y: 18 },
        { x: 98, y: 2 },
      ],
    ]);
  });
});

describe('polylinePoints', () => {
  it('joins points as x,y pairs', () => {
    const points = [
      { x: 1, y: 2.5 },
      { x: 3, y: 4 },
    ];
    expect(polylinePoints(points)).toBe('1,2.5 3,4');
  });
});
