import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { silentLogger } from '../log.js';
import type { MetricsRow } from '../store/stream.js';
import { type MetricsBatch, MetricsPoller } from './metrics.js';

/** Returns the poller's reads over an in-memory heartbeat table that the test fills. */
function fakeReads(rows: MetricsRow[]) {
  return {
    latestHeartbeatAt: async () =>
      rows.length === 0
        ? null
        : new Date(Math.max(...rows.map((row) => row.last_heartbeat_at.getTime()))),
    metricsSince: async (since: Date) =>
      rows.filter((row) => row.last_heartbeat_at.getTime() >= since.getTime()),
  };
}

function row(id: string, at: number, cpu = 0.5): MetricsRow {
  return { id, cpu_load: cpu, mem_used_mb: 100, latency_ms: 1, last_heartbeat_at: new Date(at) };
}

describe('MetricsPoller', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function start(rows: MetricsRow[]) {
    const batches: MetricsBatch[] = [];
    const poller = new MetricsPoller({
      reads: fakeReads(rows),
      logger: silentLogger(),
      deliver: (batch) => batches.push(batch),
      now: () => 0,
      intervalMs: 1000,
      overlapMs: 2000,
    });
    poller.start();
    return { poller, batches };
  }

  it('skips the heartbeats before its start', async () => {
    // Both heartbeats are in the overlap before the newest one, and in every snapshot already.
    const rows = [row('a', 10_000), row('b', 9_000)];
    const { poller, batches } = start(rows);
    await vi.advanceTimersByTimeAsync(2500);
    expect(batches).toEqual([]);
    poller.stop();
  });

  it('pushes a heartbeat after its start once', async () => {
    const rows = [row('a', 10_000)];
    const { poller, batches } = start(rows);
    await vi.advanceTimersByTimeAsync(0);
    rows.push(row('b', 10_500, 0.9));
    await vi.advanceTimersByTimeAsync(2500);
    expect(batches.flatMap((batch) => batch.metrics.map((metric) => metric.push))).toEqual([
      { id: 'b', cpu_load: 0.9, mem_used_mb: 100, latency_ms: 1 },
    ]);
    poller.stop();
  });
});
