import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FakeClock } from '../clock.js';
import { RegistryError } from '../errors.js';
import { defaultRetentionSettings as settings } from '../liveness/settings.js';
import { silentLogger } from '../log.js';
import type { Database } from '../store/database.js';
import { ensureHeartbeatPartitions, partitionName } from '../store/partitions.js';
import { openPostgres } from '../store/postgres.js';
import {
  deleteExpiredRollups,
  foldExpiredPartitions,
  offlineNodesToReap,
  pruneEvents,
} from '../store/retention.js';
import {
  type TestDatabase,
  drivers,
  openTestDatabase,
  emptyRegistry,
} from '../testing/databases.js';
import type { RollupRecord } from './model.js';
import { Registry } from './registry.js';
import { deregisterNode } from './nodes.js';
import { runRetention } from './retention.js';

const hourMs = 3_600_000;
/** The start of the day of heartbeats that most tests write. */
const day = Date.parse('2026-03-01T00:00:00Z');
const at = (offsetMs: number) => new Date(day + offsetMs);

interface Sample {
  nodeId: string;
  at: Date;
  cpu: number | null;
  mem: number | null;
  latency: number | null;
}

type Bucket = 'minute' | 'hour';

interface Figures {
  count: number;
  cpu_load_mean: number | null;
  cpu_load_max: number | null;
  mem_used_mb_mean: number | null;
  mem_used_mb_max: number | null;
  latency_ms_mean: number | null;
  latency_ms_max: number | null;
}

/**
 * Three heartbeats per node in every hour of the day: two in minute 5 and one in minute 30. The
 * third node reports no latency for its second heartbeat and no CPU load for its third, so some
 * buckets have partly or wholly missing metrics.
 */
function daySamples(nodeIds: string[]): Sample[] {
  const offsets = [
    [5, 10],
    [5, 40],
    [30, 0],
  ] as const;
  const samples: Sample[] = [];
  for (let hour = 0; hour < 24; hour += 1) {
    nodeIds.forEach((nodeId, i) => {
      offsets.forEach(([minute, second], k) => {
        samples.push({
          nodeId,
          at: at(hour * hourMs + minute * 60_000 + second * 1000),
          cpu: i === 2 && k === 2 ? null : ((hour * 7 + i * 3 + k * 5) % 10) / 10,
          mem: 256 + hour * 10 + i * 100 + k,
          latency: i === 2 && k === 1 ? null : 1 + hour + k * 2 + i,
        });
      });
    });
  }
  return samples;
}

function bucketStart(time: Date, bucket: Bucket): number {
  const size = bucket === 'minute' ? 60_000 : hourMs;
  return Math.floor(time.getTime() / size) * size;
}

function rollupKey(nodeId: string, bucket: Bucket, start: number): string {
  return `${nodeId} ${bucket} ${new Date(start).toISOString()}`;
}

function meanAndMax(values: (number | null)[]): [number | null, number | null] {
  const present = values.filter((value): value is number => value !== null);
  if (present.length === 0) return [null, null];
  return [present.reduce((sum, value) => sum + value, 0) / present.length, Math.max(...present)];
}

/** The rollups that folding `samples` alone should produce, keyed by node, bucket and start. */
function expectedRollups(samples: Sample[]): Map<string, Figures> {
  const groups = new Map<string, Sample[]>();
  for (const sample of samples) {
    for (const bucket of ['minute', 'hour'] as const) {
      const key = rollupKey(sample.nodeId, bucket, bucketStart(sample.at, bucket));
      groups.set(key, [...(groups.get(key) ?? []), sample]);
    }
  }
  const expected = new Map<string, Figures>();
  for (const [key, group] of groups) {
    const [cpuMean, cpuMax] = meanAndMax(group.map((sample) => sample.cpu));
    const [memMean, memMax] = meanAndMax(group.map((sample) => sample.mem));
    const [latencyMean, latencyMax] = meanAndMax(group.map((sample) => sample.latency));
    expected.set(key, {
      count: group.length,
      cpu_load_mean: cpuMean,
      cpu_load_max: cpuMax,
      mem_used_mb_mean: memMean,
      mem_used_mb_max: memMax,
      latency_ms_mean: latencyMean,
      latency_ms_max: latencyMax,
    });
  }
  return expected;
}

/** Merges two rollups of one bucket the way retention does: means weighted by count. */
function combine(stored: Figures, added: Figures): Figures {
  const mean = (a: number | null, b: number | null) => {
    const weight = (a === null ? 0 : stored.count) + (b === null ? 0 : added.count);
    if (weight === 0) return null;
    return ((a ?? 0) * stored.count + (b ?? 0) * added.count) / weight;
  };
  const max = (a: number | null, b: number | null) => {
    if (a === null) return b;
    if (b === null) return a;
    return Math.max(a, b);
  };
  return {
    count: stored.count + added.count,
    cpu_load_mean: mean(stored.cpu_load_mean, added.cpu_load_mean),
    cpu_load_max: max(stored.cpu_load_max, added.cpu_load_max),
    mem_used_mb_mean: mean(stored.mem_used_mb_mean, added.mem_used_mb_mean),
    mem_used_mb_max: max(stored.mem_used_mb_max, added.mem_used_mb_max),
    latency_ms_mean: mean(stored.latency_ms_mean, added.latency_ms_mean),
    latency_ms_max: max(stored.latency_ms_max, added.latency_ms_max),
  };
}

function expectFigures(actual: Figures | undefined, expected: Figures, key: string): void {
  expect(actual, key).toBeDefined();
  for (const field of Object.keys(expected) as (keyof Figures)[]) {
    const value = expected[field];
    if (value === null) expect(actual?.[field], `${key} ${field}`).toBeNull();
    else expect(actual?.[field], `${key} ${field}`).toBeCloseTo(value, 9);
  }
}

function expectRollups(actual: Map<string, Figures>, expected: Map<string, Figures>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, figures] of expected) expectFigures(actual.get(key), figures, key);
}

describe.each(drivers)('retention on %s', (driver) => {
  let database: TestDatabase | null;
  let registry: Registry;
  let clock: FakeClock;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(async (context) => {
    if (!database) return context.skip();
    await dropHourlyPartitions();
    await emptyRegistry(database.db);
    clock = new FakeClock(at(0));
    registry = new Registry(database.db, clock, silentLogger());
  });

  function db(): Database {
    if (!database) throw new Error('no database');
    return database.db;
  }

  async function dropHourlyPartitions(): Promise<void> {
    const rows = await db().query<{ qualified: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS qualified
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE i.inhparent = 'thunderlink_heartbeats'::regclass
         AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'`,
    );
    for (const row of rows) await db().exec(`DROP TABLE ${row.qualified}`);
  }

  async function createNodes(...names: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const name of names) ids.push((await registry.ensureNode({ name })).node.id);
    return ids;
  }

  async function insertSamples(samples: Sample[]): Promise<void> {
    await db().query(
      `INSERT INTO thunderlink_heartbeats
         (node_id, status, cpu_load, mem_used_mb, latency_ms, inserted_at)
       SELECT node_id, 'online', cpu, mem, latency, inserted_at
       FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::float8[], $5::timestamptz[])
         AS t(node_id, cpu, mem, latency, inserted_at)`,
      [
        samples.map((sample) => sample.nodeId),
        samples.map((sample) => sample.cpu),
        samples.map((sample) => sample.mem),
        samples.map((sample) => sample.latency),
        samples.map((sample) => sample.at.toISOString()),
      ],
    );
  }

  async function insertRollup(
    nodeId: string,
    bucket: Bucket,
    start: Date,
    figures: Figures,
  ): Promise<void> {
    await db().query(
      `INSERT INTO thunderlink_heartbeat_rollups
         (node_id, bucket, bucket_start, count, cpu_load_mean, cpu_load_max,
          mem_used_mb_mean, mem_used_mb_max, latency_ms_mean, latency_ms_max)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        nodeId,
        bucket,
        start,
        figures.count,
        figures.cpu_load_mean,
        figures.cpu_load_max,
        figures.mem_used_mb_mean,
        figures.mem_used_mb_max,
        figures.latency_ms_mean,
        figures.latency_ms_max,
      ],
    );
  }

  async function storedRollups(): Promise<Map<string, Figures>> {
    const rows = await db().query<
      Figures & { node_id: string; bucket: Bucket; bucket_start: Date }
    >('SELECT * FROM thunderlink_heartbeat_rollups');
    const stored = new Map<string, Figures>();
    for (const { node_id: nodeId, bucket, bucket_start: start, ...figures } of rows) {
      stored.set(rollupKey(nodeId, bucket, start.getTime()), figures);
    }
    return stored;
  }

  async function tableExists(name: string): Promise<boolean> {
    const [row] = await db().query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [name],
    );
    return row?.exists ?? false;
  }

  async function rawRowCount(table = 'thunderlink_heartbeats'): Promise<number> {
    const [row] = await db().query<{ count: number }>(`SELECT count(*)::bigint FROM ${table}`);
    return row?.count ?? 0;
  }

  /** Writes the day of heartbeats into its 24 hourly partitions. */
  async function writeDay(): Promise<{ ids: string[]; samples: Sample[] }> {
    const ids = await createNodes('alpha', 'beta', 'gamma');
    await ensureHeartbeatPartitions(db(), at(0), 23);
    const samples = daySamples(ids);
    await insertSamples(samples);
    expect(await rawRowCount('thunderlink_heartbeats_default')).toBe(0);
    return { ids, samples };
  }

  const hourNames = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => partitionName(at((from + i) * hourMs)));

  describe('foldExpiredPartitions', () => {
    it('folds and drops partitions past retention', async () => {
      const { samples } = await writeDay();
      const now = at(36 * hourMs);
      const folded = samples.filter((sample) => sample.at.getTime() < day + 12 * hourMs);

      const result = await foldExpiredPartitions(db(), now, settings);

      expect(result.partitions).toEqual(hourNames(0, 12));
      expect(result.partitionRows).toBe(folded.length);
      expect(result.defaultRows).toBe(0);
      expectRollups(await storedRollups(), expectedRollups(folded));
      for (const name of hourNames(0, 12)) expect(await tableExists(name), name).toBe(false);
      for (const name of hourNames(12, 24)) expect(await tableExists(name), name).toBe(true);
      expect(await rawRowCount()).toBe(samples.length - folded.length);
    });

    it('changes nothing on a second run', async () => {
      await writeDay();
      const now = at(36 * hourMs);
      await foldExpiredPartitions(db(), now, settings);
      const before = await storedRollups();

      const again = await foldExpiredPartitions(db(), now, settings);

      expect(again).toEqual({ partitions: [], partitionRows: 0, defaultRows: 0 });
      expect(await storedRollups()).toEqual(before);
    });

    it('folds a partition only when its whole hour is past', async () => {
      await writeDay();
      const result = await foldExpiredPartitions(db(), at(25 * hourMs - 1), settings);
      expect(result.partitions).toEqual([]);
      const exact = await foldExpiredPartitions(db(), at(25 * hourMs), settings);
      expect(exact.partitions).toEqual(hourNames(0, 1));
    });

    it('merges with rollups already stored', async () => {
      const { ids, samples } = await writeDay();
      const [alpha, , gamma] = ids as [string, string, string];
      const storedMinute: Figures = {
        count: 4,
        cpu_load_mean: 0.9,
        cpu_load_max: 0.95,
        mem_used_mb_mean: null,
        mem_used_mb_max: null,
        latency_ms_mean: 2,
        latency_ms_max: 100,
      };
      const storedHour: Figures = { ...storedMinute, count: 10, latency_ms_max: 1 };
      // Gamma's heartbeat in minute 30 carries no CPU load, so the stored mean must survive.
      const storedGamma: Figures = { ...storedMinute, count: 3, cpu_load_mean: 0.5 };
      await insertRollup(alpha, 'minute', at(5 * 60_000), storedMinute);
      await insertRollup(alpha, 'hour', at(0), storedHour);
      await insertRollup(gamma, 'minute', at(30 * 60_000), storedGamma);

      await foldExpiredPartitions(db(), at(25 * hourMs), settings);

      const fresh = expectedRollups(samples.filter((sample) => sample.at < at(hourMs)));
      const expected = new Map(fresh);
      const merge = (key: string, stored: Figures) =>
        expected.set(key, combine(stored, fresh.get(key)!));
      merge(rollupKey(alpha, 'minute', day + 5 * 60_000), storedMinute);
      merge(rollupKey(alpha, 'hour', day), storedHour);
      merge(rollupKey(gamma, 'minute', day + 30 * 60_000), storedGamma);
      const stored = await storedRollups();
      expectRollups(stored, expected);

      const gammaMinute = stored.get(rollupKey(gamma, 'minute', day + 30 * 60_000));
      expect(gammaMinute?.count).toBe(4);
      expect(gammaMinute?.cpu_load_mean).toBe(0.5);
      expect(gammaMinute?.cpu_load_max).toBe(0.95);
      expect(stored.get(rollupKey(alpha, 'hour', day))?.count).toBe(13);
    });

    it('folds and deletes old rows of the default partition', async () => {
      const [alpha, beta] = (await createNodes('alpha', 'beta')) as [string, string];
      const now = at(36 * hourMs + 30_000);
      // No hourly partitions exist, so every row lands in the default partition. The cutoff,
      // 12:00:30, splits minute 12:00 between this pass and the next.
      const old: Sample[] = [
        { nodeId: alpha, at: at(2 * hourMs + 600_000), cpu: 0.2, mem: 100, latency: 4 },
        { nodeId: alpha, at: at(2 * hourMs + 610_000), cpu: 0.4, mem: 300, latency: null },
        { nodeId: beta, at: at(5 * hourMs), cpu: null, mem: 50, latency: 9 },
        { nodeId: alpha, at: at(12 * hourMs + 10_000), cpu: 0.1, mem: 10, latency: 1 },
      ];
      const straddling: Sample = {
        nodeId: alpha,
        at: at(12 * hourMs + 50_000),
        cpu: 0.3,
        mem: 30,
        latency: 3,
      };
      const young: Sample = { nodeId: beta, at: at(30 * hourMs), cpu: 1, mem: 1, latency: 1 };
      await insertSamples([...old, straddling, young]);

      const result = await foldExpiredPartitions(db(), now, settings);

      expect(result).toEqual({ partitions: [], partitionRows: 0, defaultRows: old.length });
      expectRollups(await storedRollups(), expectedRollups(old));
      expect(await rawRowCount('thunderlink_heartbeats_default')).toBe(2);

      const next = await foldExpiredPartitions(db(), new Date(now.getTime() + 60_000), settings);

      expect(next.defaultRows).toBe(1);
      expectRollups(await storedRollups(), expectedRollups([...old, straddling]));
      expect(await rawRowCount('thunderlink_heartbeats_default')).toBe(1);
    });

    it('leaves partitions of other schemas alone', async () => {
      await writeDay();
      const other = `${database?.schema ?? 'tl'}_retention_other`;
      await db().exec(`
        DROP SCHEMA IF EXISTS ${other} CASCADE;
        CREATE SCHEMA ${other};
        CREATE TABLE ${other}.thunderlink_heartbeats (inserted_at timestamptz NOT NULL)
          PARTITION BY RANGE (inserted_at);
        CREATE TABLE ${other}.${partitionName(at(0))} PARTITION OF ${other}.thunderlink_heartbeats
          FOR VALUES FROM ('${at(0).toISOString()}') TO ('${at(hourMs).toISOString()}');
        INSERT INTO ${other}.thunderlink_heartbeats VALUES ('${at(60_000).toISOString()}')`);
      try {
        const result = await foldExpiredPartitions(db(), at(36 * hourMs), settings);
        expect(result.partitions).toEqual(hourNames(0, 12));
        expect(await tableExists(`${other}.${partitionName(at(0))}`)).toBe(true);
        expect(await rawRowCount(`${other}.thunderlink_heartbeats`)).toBe(1);
      } finally {
        await db().exec(`DROP SCHEMA ${other} CASCADE`);
      }
    });

    it.runIf(driver === 'postgres')('folds each partition once across replicas', async () => {
      const { samples } = await writeDay();
      const replica = await openPostgres({
        connectionString: database!.url!,
        searchPath: database!.schema!,
      });
      try {
        const now = at(36 * hourMs);
        const results = await Promise.all(
          [db(), replica, db(), replica].map((target) =>
            foldExpiredPartitions(target, now, settings),
          ),
        );
        const folded = results.flatMap((result) => result.partitions).sort();
        expect(folded).toEqual(hourNames(0, 12));
        const rows = results.reduce((sum, result) => sum + result.partitionRows, 0);
        const expected = samples.filter((sample) => sample.at < at(12 * hourMs));
        expect(rows).toBe(expected.length);
        expectRollups(await storedRollups(), expectedRollups(expected));
      } finally {
        await replica.close();
      }
    });
  });

  describe('deleteExpiredRollups', () => {
    it('deletes rollups past their retention', async () => {
      const [alpha] = (await createNodes('alpha')) as [string];
      const now = at(40 * 24 * hourMs);
      const figures: Figures = {
        count: 1,
        cpu_load_mean: 0.5,
        cpu_load_max: 0.5,
        mem_used_mb_mean: 1,
        mem_used_mb_max: 1,
        latency_ms_mean: 1,
        latency_ms_max: 1,
      };
      const minuteKept = new Date(now.getTime() - 48 * hourMs);
      const minuteGone = new Date(now.getTime() - 48 * hourMs - 60_000);
      const hourKept = new Date(now.getTime() - 30 * 24 * hourMs);
      const hourGone = new Date(now.getTime() - 30 * 24 * hourMs - hourMs);
      await insertRollup(alpha, 'minute', minuteKept, figures);
      await insertRollup(alpha, 'minute', minuteGone, figures);
      await insertRollup(alpha, 'hour', hourKept, figures);
      await insertRollup(alpha, 'hour', hourGone, figures);

      expect(await deleteExpiredRollups(db(), now, settings)).toEqual({ minute: 1, hour: 1 });

      expect([...(await storedRollups()).keys()].sort()).toEqual(
        [
          rollupKey(alpha, 'minute', minuteKept.getTime()),
          rollupKey(alpha, 'hour', hourKept.getTime()),
        ].sort(),
      );
      expect(await deleteExpiredRollups(db(), now, settings)).toEqual({ minute: 0, hour: 0 });
    });
  });

  describe('pruneEvents', () => {
    async function expectExpired(since: number): Promise<RegistryError> {
      const error = await registry.events(since).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, `since=${since}`).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).code).toBe('TL_ERR_SINCE_EXPIRED');
      return error as RegistryError;
    }

    const seqs = async (since: number) =>
      (await registry.events(since)).events.map((event) => event.seq);

    it('deletes old events and expires positions before them', async () => {
      await createNodes('alpha', 'beta');
      await registry.markOnline('alpha');
      clock.advance(2 * hourMs);
      await registry.markOnline('beta');
      expect(await seqs(0)).toEqual([1, 2, 3, 4, 5, 6]);
      clock.set(at(26 * hourMs));

      expect(await pruneEvents(db(), clock.now(), settings)).toEqual({
        deleted: 4,
        prunedThrough: 4,
      });

      const error = await expectExpired(0);
      expect(error.message).toMatch(/deleted by retention/);
      expect(error.message).toMatch(/reload GET \/graph/);
      await expectExpired(3);
      expect(await seqs(4)).toEqual([5, 6]);
      expect(await seqs(6)).toEqual([]);
      expect((await registry.graph()).seq).toBe(6);
    });

    it('keeps the newest event however old', async () => {
      await createNodes('alpha');
      await registry.markOnline('alpha');
      clock.set(at(50 * hourMs));

      expect(await pruneEvents(db(), clock.now(), settings)).toEqual({
        deleted: 2,
        prunedThrough: 2,
      });
      expect(await seqs(2)).toEqual([3]);
      await expectExpired(1);
      expect(await pruneEvents(db(), clock.now(), settings)).toEqual({
        deleted: 0,
        prunedThrough: 2,
      });
      expect(await seqs(3)).toEqual([]);
    });
  });

  describe('runRetention', () => {
    it('deregisters nodes offline past the reap window', async () => {
      const [old] = await createNodes('old', 'held', 'recent', 'live');
      await registry.markStatus('old', 'offline');
      await registry.markStatus('held', 'offline');
      await registry.setMaintenance('held', true);
      clock.advance(2 * hourMs);
      await registry.markStatus('recent', 'offline');
      await registry.markOnline('live');
      clock.set(at(73 * hourMs));
      expect(await offlineNodesToReap(db(), clock.now(), settings, 10)).toEqual([old]);

      const summary = await runRetention(registry.context, settings);

      expect(summary.failed).toEqual([]);
      expect(summary.reaped).toEqual([old]);
      const names = (await registry.listNodes({})).nodes.map((node) => node.name);
      expect(names).toEqual(['held', 'live', 'recent']);
      const { events } = await registry.events(summary.events.prunedThrough);
      const deregistered = events.filter((event) => event.name === 'cluster.node.deregistered');
      expect(deregistered).toHaveLength(1);
      expect(deregistered[0]?.payload).toEqual({ node: { id: old, name: 'old' }, links: [] });
    });

    it('keeps a node that came back', async () => {
      const [id] = await createNodes('returning');
      await registry.markStatus('returning', 'offline');
      clock.set(at(73 * hourMs));
      const cutoff = new Date(clock.now().getTime() - settings.reapAfterMs);
      // The node heartbeats between the listing and the deregistration.
      await registry.heartbeat('returning', {});
      expect(await deregisterNode(registry.context, id!, { onlyIfOfflineSince: cutoff })).toBe(
        false,
      );
      expect((await registry.getNode('returning')).status).toBe('online');
    });

    it('deregisters in batches until none are left', async () => {
      const names = Array.from({ length: 120 }, (_, i) => `edge-${i}`);
      await createNodes(...names);
      for (const name of names) await registry.markStatus(name, 'offline');
      clock.set(at(80 * hourMs));
      expect(await offlineNodesToReap(db(), clock.now(), settings, 7)).toHaveLength(7);

      const summary = await runRetention(registry.context, settings);

      expect(summary.reaped).toHaveLength(120);
      expect((await registry.listNodes({})).nodes).toEqual([]);
    });

    it('logs one line per pass that did anything', async () => {
      const lines: Record<string, unknown>[] = [];
      const destination = { write: (line: string) => void lines.push(JSON.parse(line)) };
      registry = new Registry(db(), clock, pino({ level: 'info' }, destination));
      await writeDay();
      clock.set(at(36 * hourMs));

      const summary = await runRetention(registry.context, settings);

      expect(summary.heartbeats.partitions).toEqual(hourNames(0, 12));
      expect(summary.events.deleted).toBe(2);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.msg).toBe('retention pass');
      expect(lines[0]?.folded_partitions).toEqual(hourNames(0, 12));
      expect(lines[0]?.folded_rows).toBe(summary.heartbeats.partitionRows);
      expect(lines[0]?.pruned_events).toBe(2);

      await runRetention(registry.context, settings);
      expect(lines).toHaveLength(1);
    });
  });

  describe('heartbeatHistory', () => {
    it('returns the rollups of folded hours', async () => {
      const { ids, samples } = await writeDay();
      const [alpha] = ids as [string];
      clock.set(at(36 * hourMs));
      await runRetention(registry.context, settings);

      const history = await registry.heartbeatHistory('alpha', 48 * 60);

      const own = samples.filter((sample) => sample.nodeId === alpha);
      const folded = own.filter((sample) => sample.at < at(12 * hourMs));
      const returned = new Map<string, Figures>();
      for (const rollup of history.rollups) {
        const { node_id: nodeId, bucket, bucket_start: start, ...figures } = rollup;
        returned.set(rollupKey(nodeId, bucket, Date.parse(start)), figures);
      }
      expectRollups(returned, expectedRollups(folded));
      const order = history.rollups.map(
        (rollup: RollupRecord) => `${rollup.bucket} ${rollup.bucket_start}`,
      );
      expect(order).toEqual([...order].sort());
      expect(history.heartbeats).toHaveLength(own.length - folded.length);
    });
  });
});
