import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FakeClock } from '../clock.js';
import { LivenessSweeper } from '../liveness/sweeper.js';
import { type LivenessSettings, defaultLivenessSettings } from '../liveness/settings.js';
import { silentLogger } from '../log.js';
import { openPostgres } from '../store/postgres.js';
import {
  type TestDatabase,
  drivers,
  openTestDatabase,
  emptyRegistry,
} from '../testing/databases.js';
import { Registry } from './registry.js';

/** Nodes in these tests heartbeat once a second: degraded after 2.5 s, offline after 6 s. */
const interval = 1000;
const settings: LivenessSettings = { ...defaultLivenessSettings, sweepIntervalMs: 1000 };

describe.each(drivers)('liveness on %s', (driver) => {
  let database: TestDatabase | null;
  let registry: Registry;
  let clock: FakeClock;
  let sweeper: LivenessSweeper;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(async (context) => {
    if (!database) return context.skip();
    await emptyRegistry(database.db);
    clock = new FakeClock('2026-05-01T00:00:00Z');
    registry = new Registry(database.db, clock, silentLogger());
    sweeper = new LivenessSweeper(registry.context, settings);
    await sweeper.start();
    // Let the start-up grace period pass before the tests register anything.
    clock.advance(10 * interval);
    await sweeper.sweepOnce();
  });

  async function register(name: string, heartbeat = true) {
    await registry.ensureNode({ name, heartbeat_interval_ms: interval });
    if (heartbeat) await registry.heartbeat(name, {});
  }

  async function status(name: string) {
    return (await registry.getNode(name)).status;
  }

  /** Advances the clock in sweep-sized steps, sweeping after each one. */
  async function passTime(milliseconds: number, beforeEachSweep?: () => Promise<void>) {
    for (let passed = 0; passed < milliseconds; passed += settings.sweepIntervalMs) {
      clock.advance(settings.sweepIntervalMs);
      await beforeEachSweep?.();
      await sweeper.sweepOnce();
    }
  }

  async function eventNames(since = 0) {
    return (await registry.events(since)).events.map((event) => event.name);
  }

  it('degrades then takes offline', async () => {
    await register('n1');
    await passTime(2 * interval);
    expect(await status('n1')).toBe('online');
    await passTime(1 * interval);
    expect(await status('n1')).toBe('degraded');
    await passTime(2 * interval);
    expect(await status('n1')).toBe('degraded');
    await passTime(1 * interval);
    expect(await status('n1')).toBe('offline');
    expect((await registry.getNode('n1')).status_changed_at).toBe(clock.now().toISOString());
    await passTime(5 * interval);
    expect((await eventNames()).slice(3)).toEqual([
      'cluster.node.status_changed',
      'cluster.node.status_changed',
      'cluster.node.offline',
    ]);
  });

  it('restores online on a heartbeat', async () => {
    await register('n1');
    await passTime(7 * interval);
    expect(await status('n1')).toBe('offline');
    await registry.heartbeat('n1', {});
    expect(await status('n1')).toBe('online');
    await sweeper.sweepOnce();
    expect(await status('n1')).toBe('online');
  });

  it('keeps a node beating just inside', async () => {
    await register('n1');
    for (let beat = 0; beat < 10; beat += 1) {
      clock.advance(2400);
      await sweeper.sweepOnce();
      await registry.heartbeat('n1', {});
    }
    expect(await status('n1')).toBe('online');
    expect((await registry.getNode('n1')).flapping).toBe(false);
  });

  it('marks a node flapping around its deadline', async () => {
    await register('n1');
    const statuses: string[] = [];
    for (let beat = 0; beat < 5; beat += 1) {
      clock.advance(2600);
      await sweeper.sweepOnce();
      statuses.push(await status('n1'));
      await registry.heartbeat('n1', {});
    }
    // Four crossings within the window pass the threshold of three.
    expect(statuses).toEqual(['degraded', 'degraded', 'degraded', 'degraded', 'degraded']);
    const node = await registry.getNode('n1');
    expect(node.flapping).toBe(true);
    expect(node.status).toBe('degraded');

    // Held degraded while it keeps beating, until it has been steady for the window.
    await passTime(settings.flapWindowMs - 20 * interval, () =>
      registry.heartbeat('n1', {}).then(),
    );
    expect(await status('n1')).toBe('degraded');
    await passTime(30 * interval, () => registry.heartbeat('n1', {}).then());
    expect(await status('n1')).toBe('online');
    expect((await registry.getNode('n1')).flapping).toBe(false);
  });

  it('ignores times that nodes send', async () => {
    await register('n1');
    const future = new Date(clock.now().getTime() + 10 * 60_000).toISOString();
    await registry.heartbeat('n1', { meta: { sent_at: future } });
    await passTime(3 * interval);
    expect(await status('n1')).toBe('degraded');
  });

  it('holds still through clock jumps', async () => {
    await register('n1');
    await register('n2');
    clock.advance(interval);
    await sweeper.sweepOnce();

    clock.jump(24 * 3_600_000);
    const forward = await sweeper.sweepOnce();
    expect(forward.transitions).toEqual([]);
    // Within the grace interval the node heartbeats again and stays online.
    clock.advance(interval / 2);
    await registry.heartbeat('n1', {});
    await passTime(2 * interval, () => registry.heartbeat('n1', {}).then());
    expect(await status('n1')).toBe('online');
    // The silent node is judged once the grace interval has passed. Both of its deadlines were
    // moved to the end of that interval, so it goes straight to offline.
    expect(await status('n2')).toBe('offline');

    clock.jump(-3_600_000);
    const backward = await sweeper.sweepOnce();
    expect(backward.transitions).toEqual([]);
    expect(await status('n1')).toBe('online');
  });

  it('extends at most one interval after a restart', async () => {
    await register('alive');
    await register('dead');
    await passTime(7 * interval, () => registry.heartbeat('alive', {}).then());
    expect(await status('dead')).toBe('offline');
    await registry.heartbeat('alive', {});

    // The registry stops for an hour; nothing sweeps and no heartbeat arrives.
    clock.advance(3_600_000);
    const restarted = new LivenessSweeper(registry.context, settings);
    await restarted.start();
    const first = await restarted.sweepOnce();
    expect(first.transitions).toEqual([]);
    expect(await status('dead')).toBe('offline');
    expect(await status('alive')).toBe('online');

    // A series of restarts does not keep a silent node alive.
    for (let restart = 0; restart < 3; restart += 1) {
      clock.advance(interval / 2);
      const again = new LivenessSweeper(registry.context, settings);
      await again.start();
      await again.sweepOnce();
    }
    expect(await status('alive')).not.toBe('online');
  });

  it('takes offline a node that never beats', async () => {
    await register('quiet', false);
    await passTime(5 * interval);
    expect(await status('quiet')).toBe('connecting');
    await passTime(1 * interval);
    expect(await status('quiet')).toBe('offline');
  });

  it('exempts maintenance and graceful leaves', async () => {
    await register('kept');
    await register('left');
    await registry.setMaintenance('kept', true);
    await registry.markStatus('left', 'disconnected');
    await passTime(20 * interval);
    expect(await status('kept')).toBe('online');
    expect(await status('left')).toBe('disconnected');
  });

  it('degrades and restores links', async () => {
    await register('a');
    await register('b');
    const link = await registry.establishLink({ node_id: 'a', remote_node_id: 'b' });
    await passTime(6 * interval, () => registry.heartbeat('b', {}).then());
    expect(await status('a')).toBe('offline');
    expect((await registry.getLink(link.id)).status).toBe('degraded');
    const since = (await registry.events(0)).next_seq;

    await registry.heartbeat('a', {});
    expect((await registry.getLink(link.id)).status).toBe('established');
    expect(await eventNames(since)).toEqual([
      'cluster.node.status_changed',
      'cluster.node.online',
      'cluster.link.established',
    ]);
  });

  it('keeps a link held until both ends return', async () => {
    await register('a');
    await register('b');
    const link = await registry.establishLink({ node_id: 'a', remote_node_id: 'b' });
    await passTime(7 * interval);
    expect(await status('a')).toBe('offline');
    expect(await status('b')).toBe('offline');
    await registry.heartbeat('a', {});
    expect((await registry.getLink(link.id)).status).toBe('degraded');
    await registry.heartbeat('b', {});
    expect((await registry.getLink(link.id)).status).toBe('established');
  });

  it('leaves maintenance members out of a group count', async () => {
    // Three of six members are in maintenance: the three others falling silent are all of the
    // group's judged members, so the group is disrupted; counting the others would make it half.
    await zone('zone-m', ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    for (const name of ['m4', 'm5', 'm6']) await registry.setMaintenance(name, true);
    const since = (await registry.events(0)).next_seq;
    await passTime(10 * interval);
    expect(await disruptionEvents(since)).toMatchObject([{ group: 'zone-m', disrupted: true }]);
  });

  it('shows a node isolated when its links failed', async () => {
    await register('a');
    await register('b');
    const link = await registry.establishLink({ node_id: 'a', remote_node_id: 'b' });
    await registry.failLink(link.id, 'timeout');
    const graph = await registry.graph();
    expect(graph.nodes.find((node) => node.name === 'a')?.isolated).toBe(true);
  });

  it('damps a silent zone into one event', async () => {
    await registry.createGroup({ name: 'zone-a', group_type: 'zone' });
    const members = ['z1', 'z2', 'z3', 'z4', 'z5'];
    for (const name of members) {
      await register(name);
      await registry.addMember('zone-a', name);
    }
    await register('outside');
    const since = (await registry.events(0)).next_seq;

    await passTime(10 * interval, () => registry.heartbeat('outside', {}).then());
    for (const name of members) expect(await status(name)).toBe('disconnected');
    const names = await eventNames(since);
    expect(names.filter((name) => name === 'cluster.group.disrupted')).toHaveLength(1);
    expect(names).not.toContain('cluster.node.offline');
    const disrupted = (await registry.events(since)).events.find(
      (event) => event.name === 'cluster.group.disrupted',
    );
    expect(disrupted?.payload).toMatchObject({ group: 'zone-a', disrupted: true, affected: 5 });
    // The group record reports the disruption, so a client that joins later can show it.
    expect(await registry.getGroup('zone-a')).toMatchObject({
      disrupted_since: expect.any(String),
      disrupted_affected: 5,
    });

    // Three of five come back: the disruption ends, and the two still silent are judged.
    const back = (await registry.events(0)).next_seq;
    for (const name of ['z1', 'z2', 'z3']) await registry.heartbeat(name, {});
    await passTime(interval, async () => {
      for (const name of ['z1', 'z2', 'z3']) await registry.heartbeat(name, {});
    });
    const ended = (await registry.events(back)).events.filter(
      (event) => event.name === 'cluster.group.disrupted',
    );
    expect(ended.map((event) => event.payload)).toMatchObject([
      { group: 'zone-a', disrupted: false, affected: 2 },
    ]);
    expect(await status('z1')).toBe('online');
    expect(await status('z4')).toBe('offline');
    expect(await registry.getGroup('zone-a')).toMatchObject({
      disrupted_since: null,
      disrupted_affected: null,
    });
  });

  async function zone(name: string, members: string[]) {
    await registry.createGroup({ name, group_type: 'zone' });
    for (const member of members) {
      await register(member);
      await registry.addMember(name, member);
    }
  }

  async function beat(names: string[]) {
    for (const name of names) await registry.heartbeat(name, {});
  }

  async function disruptionEvents(since: number) {
    return (await registry.events(since)).events
      .filter((event) => event.name === 'cluster.group.disrupted')
      .map((event) => event.payload);
  }

  it('ends a disruption after the hold time', async () => {
    await zone('zone-b', ['y1', 'y2', 'y3', 'y4', 'y5']);
    await passTime(10 * interval, () => beat(['y5']));
    expect(await status('y1')).toBe('disconnected');
    const since = (await registry.events(0)).next_seq;
    await passTime(settings.massFailureHoldMs, () => beat(['y5']));
    expect(await disruptionEvents(since)).toMatchObject([
      { group: 'zone-b', disrupted: false, affected: 4 },
    ]);
    for (const name of ['y1', 'y2', 'y3', 'y4']) expect(await status(name)).toBe('offline');
    // After the disruption a member that fails alone is judged as usual.
    await passTime(10 * interval);
    expect(await status('y5')).toBe('offline');
  });

  it('needs enough silent members for a disruption', async () => {
    await zone('trio', ['t1', 't2', 't3']);
    const since = (await registry.events(0)).next_seq;
    await passTime(10 * interval, () => beat(['t3']));
    expect(await disruptionEvents(since)).toEqual([]);
    expect(await status('t1')).toBe('offline');
  });

  it('needs more than the fraction silent', async () => {
    // 11 of 20 is exactly 55%, which is not more than the default fraction.
    const members = Array.from({ length: 20 }, (_, index) => `f${index}`);
    await zone('twenty', members);
    const since = (await registry.events(0)).next_seq;
    await passTime(3 * interval, () => beat(members.slice(11)));
    expect(await disruptionEvents(since)).toEqual([]);
  });

  it('counts members silent across an interval', async () => {
    const members = ['s1', 's2', 's3', 's4', 's5'];
    await registry.createGroup({ name: 'spread', group_type: 'zone' });
    for (const name of members) {
      await registry.ensureNode({ name, heartbeat_interval_ms: 5 * interval });
      await registry.addMember('spread', name);
    }
    // Each member beats one second after the previous one, then all fall silent.
    for (const name of members) {
      await registry.heartbeat(name, {});
      clock.advance(interval);
    }
    const since = (await registry.events(0)).next_seq;
    await passTime(20 * interval);
    for (const name of members) expect(await status(name)).toBe('disconnected');
    await beat(['s1', 's2', 's3']);
    await passTime(interval, () => beat(['s1', 's2', 's3']));
    expect(await disruptionEvents(since)).toMatchObject([
      { group: 'spread', disrupted: true },
      { group: 'spread', disrupted: false, affected: 2 },
    ]);
  });

  it('releases members when their group is deleted', async () => {
    await zone('doomed', ['d1', 'd2', 'd3']);
    await passTime(10 * interval);
    expect(await status('d1')).toBe('disconnected');
    await registry.deleteGroup('doomed');
    expect(await status('d1')).toBe('degraded');
    await sweeper.sweepOnce();
    expect(await status('d1')).toBe('offline');
  });

  it('ignores an identical group ending early', async () => {
    const members = ['i1', 'i2', 'i3', 'i4'];
    await zone('zone-i', members);
    await registry.createGroup({ name: 'shard-i', group_type: 'shard' });
    for (const name of members) await registry.addMember('shard-i', name);
    const since = (await registry.events(0)).next_seq;
    await passTime(10 * interval);
    const events = await disruptionEvents(since);
    expect(events.filter((event) => event.disrupted === false)).toEqual([]);
  });

  it('restarts the deadline after maintenance', async () => {
    await register('serviced');
    await registry.setMaintenance('serviced', true);
    await passTime(60 * interval);
    await registry.setMaintenance('serviced', false);
    await sweeper.sweepOnce();
    expect(await status('serviced')).toBe('online');
    await passTime(3 * interval);
    expect(await status('serviced')).toBe('degraded');
  });

  it('bounds silence after a backward jump', async () => {
    await register('back');
    clock.advance(interval);
    await sweeper.sweepOnce();
    clock.jump(-3_600_000);
    await sweeper.sweepOnce();
    await passTime(8 * interval);
    expect(await status('back')).toBe('offline');
  });

  it('restores links on a degraded heartbeat', async () => {
    await register('a');
    await register('b');
    const link = await registry.establishLink({ node_id: 'a', remote_node_id: 'b' });
    await passTime(6 * interval, () => beat(['b']));
    expect((await registry.getLink(link.id)).status).toBe('degraded');
    await registry.heartbeat('a', { status: 'degraded' });
    expect(await status('a')).toBe('degraded');
    expect((await registry.getLink(link.id)).status).toBe('established');
  });

  it('keeps a degraded report after flapping', async () => {
    await register('n1');
    for (let beatIndex = 0; beatIndex < 5; beatIndex += 1) {
      clock.advance(2600);
      await sweeper.sweepOnce();
      await registry.heartbeat('n1', { status: 'degraded' });
    }
    expect((await registry.getNode('n1')).flapping).toBe(true);
    const since = (await registry.events(0)).next_seq;
    await passTime(settings.flapWindowMs + 10 * interval, () =>
      registry.heartbeat('n1', { status: 'degraded' }).then(),
    );
    expect((await registry.getNode('n1')).flapping).toBe(false);
    expect(await status('n1')).toBe('degraded');
    expect(await eventNames(since)).not.toContain('cluster.node.online');
  });

  it('never revives a deleted node', async () => {
    await register('ghost');
    await registry.deregisterNode('ghost');
    await expect(registry.heartbeat('ghost', {})).rejects.toMatchObject({
      code: 'TL_ERR_NODE_NOT_FOUND',
    });
    await expect(registry.markStatus('ghost', 'online')).rejects.toMatchObject({
      code: 'TL_ERR_NODE_NOT_FOUND',
    });
    await register('other');
    await expect(
      registry.establishLink({ node_id: 'other', remote_node_id: 'ghost' }),
    ).rejects.toMatchObject({ code: 'TL_ERR_NODE_NOT_FOUND' });
    await passTime(10 * interval);
    expect((await registry.listNodes({})).nodes.map((node) => node.name)).toEqual(['other']);
  });

  it('matches events to transitions', async () => {
    for (const name of ['e1', 'e2', 'e3']) await register(name);
    const since = (await registry.events(0)).next_seq;
    const transitions = [];
    for (let step = 0; step < 8; step += 1) {
      clock.advance(interval);
      if (step % 3 === 0) await registry.heartbeat('e3', {});
      transitions.push(...(await sweeper.sweepOnce()).transitions);
    }
    const events = (await registry.events(since)).events.filter(
      (event) => event.name === 'cluster.node.status_changed',
    );
    expect(
      events.map((event) => [
        event.payload.from,
        (event.payload.node as { status: string }).status,
      ]),
    ).toEqual(transitions.map((change) => [change.from, change.to]));
  });

  it('sweeps once when replicas race', async (context) => {
    if (driver !== 'postgres' || !database?.url) return context.skip();
    const second = await openPostgres({
      connectionString: database.url,
      searchPath: database.schema,
    });
    try {
      const names = Array.from({ length: 20 }, (_, index) => `r${index}`);
      for (const name of names) await register(name);
      const since = (await registry.events(0)).next_seq;
      const otherRegistry = new Registry(second, clock, silentLogger());
      const otherSweeper = new LivenessSweeper(otherRegistry.context, settings);
      await otherSweeper.start();
      clock.advance(7 * interval);
      const results = await Promise.all([
        sweeper.sweepOnce(),
        otherSweeper.sweepOnce(),
        sweeper.sweepOnce(),
      ]);
      await Promise.all([sweeper.sweepOnce(), otherSweeper.sweepOnce()]);
      const offline = (await registry.events(since)).events.filter(
        (event) => event.name === 'cluster.node.offline',
      );
      expect(offline).toHaveLength(names.length);
      expect(results.flatMap((result) => result.transitions)).toHaveLength(names.length);
    } finally {
      await second.close();
    }
  });
});
