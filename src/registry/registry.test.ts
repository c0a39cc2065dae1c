import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FakeClock } from '../clock.js';
import { RegistryError } from '../errors.js';
import { silentLogger } from '../log.js';
import { openPostgres } from '../store/postgres.js';
import {
  type TestDatabase,
  drivers,
  openTestDatabase,
  emptyRegistry,
} from '../testing/databases.js';
import { HeartbeatWriter } from './heartbeats.js';
import { Registry } from './registry.js';

async function expectError(promise: Promise<unknown>, code: string): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code).toBe(code);
  return error as RegistryError;
}

describe.each(drivers)('registry on %s', (driver) => {
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
    await emptyRegistry(database.db);
    clock = new FakeClock('2026-03-01T12:00:00Z');
    registry = new Registry(database.db, clock, silentLogger());
  });

  async function eventNames(): Promise<string[]> {
    return (await registry.events(0)).events.map((event) => event.name);
  }

  describe('ensureNode', () => {
    it('creates then updates by name', async () => {
      const first = await registry.ensureNode({ name: 'worker-1@host', role: 'worker' });
      expect(first.created).toBe(true);
      expect(first.node.status).toBe('connecting');
      expect(first.node.status_changed_at).toBe('2026-03-01T12:00:00.000Z');

      const second = await registry.ensureNode({ name: 'worker-1@host', domain: 'edge' });
      expect(second.created).toBe(false);
      expect(second.node.id).toBe(first.node.id);
      expect(second.node.domain).toBe('edge');
      expect(second.node.role).toBe('worker');
      expect(await eventNames()).toEqual(['cluster.node.registered', 'cluster.node.registered']);
    });

    it('writes no event for an unchanged registration', async () => {
      await registry.ensureNode({ name: 'n1', meta: { zone: 'a', tags: [1, 2] } });
      const again = await registry.ensureNode({ name: 'n1', meta: { zone: 'a', tags: [1, 2] } });
      expect(again.created).toBe(false);
      expect(await eventNames()).toEqual(['cluster.node.registered']);
    });

    it('rejects invalid names and settings', async () => {
      for (const name of ['', '-lead', 'has space', 'a'.repeat(254), 'x/y']) {
        const error = await expectError(registry.ensureNode({ name }), 'TL_ERR_VALIDATION');
        expect(error.invalidParams?.[0]?.name).toBe('name');
      }
      await expectError(
        registry.ensureNode({ name: '0b3e7c4a-2f1d-4c5e-9a8b-7c6d5e4f3a2b' }),
        'TL_ERR_VALIDATION',
      );
      await expectError(registry.ensureNode({ name: 'n', domain: 'Upper' }), 'TL_ERR_VALIDATION');
      await expectError(
        registry.ensureNode({ name: 'n', heartbeat_interval_ms: 50 }),
        'TL_ERR_VALIDATION',
      );
      const deep = { a: { b: { c: { d: { e: 1 } } } } };
      const error = await expectError(
        registry.ensureNode({ name: 'n', meta: deep }),
        'TL_ERR_VALIDATION',
      );
      expect(error.invalidParams?.[0]?.name).toBe('meta.a.b.c.d');
      expect(await eventNames()).toEqual([]);
    });

    it('accepts the longest valid name', async () => {
      const name = `a${'b'.repeat(252)}`;
      const { node } = await registry.ensureNode({ name });
      expect(node.name).toBe(name);
    });
  });

  describe('status', () => {
    it('marks online and writes status events', async () => {
      const { node } = await registry.ensureNode({ name: 'n1' });
      clock.advance(1000);
      const result = await registry.markOnline(node.id);
      expect(result.node.status).toBe('online');
      expect(result.node.status_changed_at).toBe('2026-03-01T12:00:01.000Z');
      expect(await eventNames()).toEqual([
        'cluster.node.registered',
        'cluster.node.status_changed',
        'cluster.node.online',
      ]);
      await registry.markOnline('n1');
      expect(await eventNames()).toHaveLength(3);
    });

    it('marks offline without closing links', async () => {
      await registry.ensureNode({ name: 'a' });
      await registry.ensureNode({ name: 'b' });
      const link = await registry.establishLink({ node_id: 'a', remote_node_id: 'b' });
      const node = await registry.markStatus('a', 'offline');
      expect(node.status).toBe('offline');
      expect((await registry.getLink(link.id)).status).toBe('established');
      expect((await eventNames()).slice(-2)).toEqual([
        'cluster.node.status_changed',
        'cluster.node.offline',
      ]);
    });

    it('keeps status in maintenance through heartbeats', async () => {
      await registry.ensureNode({ name: 'm' });
      await registry.setMaintenance('m', true);
      const beat = await registry.heartbeat('m', { cpu_load: 0.5 });
      expect(beat.status).toBe('connecting');
      const details = await registry.getNode('m');
      expect(details.maintenance).toBe(true);
      expect(details.last_cpu_load).toBe(0.5);
      await registry.setMaintenance('m', false);
      expect((await registry.heartbeat('m', {})).status).toBe('online');
    });

    it('returns not found for unknown nodes', async () => {
      await expectError(registry.markStatus('ghost', 'online'), 'TL_ERR_NODE_NOT_FOUND');
      await expectError(registry.markOnline('ghost'), 'TL_ERR_NODE_NOT_FOUND');
      await expectError(registry.getNode('ghost'), 'TL_ERR_NODE_NOT_FOUND');
      await expectError(registry.deregisterNode('ghost'), 'TL_ERR_NODE_NOT_FOUND');
    });
  });

  describe('heartbeats', () => {
    it('records metrics and brings the node online', async () => {
      const { node } = await registry.ensureNode({ name: 'h1' });
      const beat = await registry.heartbeat(node.name, {
        cpu_load: 0.25,
        mem_used_mb: 2048,
        latency_ms: 3.5,
      });
      expect(beat.status).toBe('online');
      const details = await registry.getNode(node.id);
      expect(details.last_mem_used_mb).toBe(2048);
      expect(details.last_heartbeat_at).toBe('2026-03-01T12:00:00.000Z');
      expect(details.heartbeat_summary.count).toBe(1);
      expect(details.heartbeat_summary.cpu_load_max).toBe(0.25);
      const history = await registry.heartbeatHistory(node.id, 60);
      expect(history.heartbeats).toHaveLength(1);
      expect(history.heartbeats[0]?.latency_ms).toBe(3.5);
    });

    it('writes events only for status changes', async () => {
      await registry.ensureNode({ name: 'h1' });
      for (let beat = 0; beat < 5; beat += 1) await registry.heartbeat('h1', {});
      expect(await eventNames()).toEqual([
        'cluster.node.registered',
        'cluster.node.status_changed',
        'cluster.node.online',
      ]);
      await registry.heartbeat('h1', { status: 'degraded' });
      expect((await registry.getNode('h1')).status).toBe('degraded');
    });

    it('never creates a node', async () => {
      await expectError(registry.heartbeat('ghost', {}), 'TL_ERR_NODE_NOT_FOUND');
      await expectError(
        registry.heartbeat('3f2a1b0c-1111-4222-8333-944455556666', {}),
        'TL_ERR_NODE_NOT_FOUND',
      );
      expect((await registry.listNodes({})).nodes).toEqual([]);
    });

    it('rejects offline and out-of-range metrics', async () => {
      await registry.ensureNode({ name: 'h1' });
      await expectError(registry.heartbeat('h1', { status: 'offline' }), 'TL_ERR_VALIDATION');
      await expectError(registry.heartbeat('h1', { cpu_load: -1 }), 'TL_ERR_VALIDATION');
      await expectError(registry.heartbeat('h1', { latency_ms: Number.NaN }), 'TL_ERR_VALIDATION');
    });

    it('records a batch with per-item results', async () => {
      const { node: a } = await registry.ensureNode({ name: 'a' });
      await registry.ensureNode({ name: 'b' });
      const results = await registry.heartbeats([
        { node_id: a.id, cpu_load: 0.1 },
        { node_id: 'b', cpu_load: 0.2 },
        { node_id: 'ghost' },
        { node_id: 'b', cpu_load: -5 },
        { node_id: a.id.toUpperCase(), cpu_load: 0.3 },
      ]);
      expect(results.map((result) => result.ok)).toEqual([true, true, false, false, true]);
      expect(results[2]?.code).toBe('TL_ERR_NODE_NOT_FOUND');
      expect(results[3]?.code).toBe('TL_ERR_VALIDATION');
      expect((await registry.heartbeatHistory('a', 60)).heartbeats).toHaveLength(2);
      expect((await registry.getNode('b')).status).toBe('online');
    });

    it('fails a rejected row alone', async () => {
      await registry.ensureNode({ name: 'good' });
      await registry.ensureNode({ name: 'bad' });
      const writer = new HeartbeatWriter(registry.context);
      // A status the table's check constraint rejects stands for any row the database refuses.
      const results = await Promise.allSettled([
        writer.write([{ node_ref: 'good', cpu_load: 0.1 }]),
        writer.write([{ node_ref: 'bad', status: 'bogus' as 'online' }]),
        writer.write([{ node_ref: 'good', cpu_load: 0.2 }]),
      ]);
      expect(results.map((result) => result.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      expect((await registry.heartbeatHistory('good', 60)).heartbeats).toHaveLength(2);
    });

    it('coalesces concurrent heartbeats', async () => {
      const names = Array.from({ length: 50 }, (_, index) => `c${index}`);
      for (const name of names) await registry.ensureNode({ name });
      const beats = await Promise.all(names.map((name) => registry.heartbeat(name, {})));
      expect(beats.every((beat) => beat.status === 'online')).toBe(true);
      const online = await registry.listNodes({ status: 'online', limit: 1000 });
      expect(online.nodes).toHaveLength(50);
    });
  });

  describe('links', () => {
    beforeEach(async () => {
      for (const name of ['a', 'b', 'c']) await registry.ensureNode({ name });
    });

    it('keeps one open link per unordered pair', async () => {
      const link = await registry.establishLink({
        node_id: 'a',
        remote_node_id: 'b',
        latency_ms: 4,
      });
      expect(link.status).toBe('established');
      expect(link.established_at).not.toBeNull();
      await expectError(
        registry.establishLink({ node_id: 'b', remote_node_id: 'a' }),
        'TL_ERR_LINK_EXISTS',
      );
      await registry.closeLink(link.id, 'maintenance window');
      const reopened = await registry.establishLink({ node_id: 'b', remote_node_id: 'a' });
      expect(reopened.id).not.toBe(link.id);
    });

    it('rejects self links and unknown ends', async () => {
      const error = await expectError(
        registry.establishLink({ node_id: 'a', remote_node_id: 'a' }),
        'TL_ERR_SELF_LINK',
      );
      expect(error.invalidParams?.[0]?.name).toBe('remote_node_id');
      await expectError(
        registry.establishLink({ node_id: 'a', remote_node_id: 'ghost' }),
        'TL_ERR_NODE_NOT_FOUND',
      );
      await expectError(registry.markOnline('a', { remote_node_id: 'a' }), 'TL_ERR_SELF_LINK');
      await expectError(
        registry.establishLink({ node_id: 'a', remote_node_id: 'b', weight: 1.5 }),
        'TL_ERR_VALIDATION',
      );
    });

    it('walks the lifecycle with events', async () => {
      const link = await registry.establishLink({
        node_id: 'a',
        remote_node_id: 'c',
        status: 'establishing',
      });
      expect(link.established_at).toBeNull();
      clock.advance(500);
      const up = await registry.updateLink(link.id, { status: 'established', bandwidth_mbps: 10 });
      expect(up.established_at).toBe('2026-03-01T12:00:00.500Z');
      await registry.updateLink(link.id, { latency_ms: 9 });
      await registry.updateLink(link.id, { latency_ms: 9 });
      const failed = await registry.failLink(link.id, 'timeout');
      expect(failed.status).toBe('failed');
      expect(failed.end_reason).toBe('timeout');
      await expectError(registry.closeLink(link.id), 'TL_ERR_LINK_ENDED');
      await expectError(registry.updateLink(link.id, { weight: 0.5 }), 'TL_ERR_LINK_ENDED');
      await expectError(
        registry.closeLink('6b1c2d3e-aaaa-4bbb-8ccc-ddddeeeeffff'),
        'TL_ERR_LINK_NOT_FOUND',
      );
      await expectError(registry.getLink('not-a-uuid'), 'TL_ERR_LINK_NOT_FOUND');
      const linkEvents = (await eventNames()).filter((name) => name.startsWith('cluster.link'));
      expect(linkEvents).toEqual([
        'cluster.link.updated',
        'cluster.link.established',
        'cluster.link.updated',
        'cluster.link.failed',
      ]);
      const graph = await registry.graph();
      expect(graph.nodes.find((node) => node.name === 'a')?.isolated).toBe(true);
      expect(graph.nodes.find((node) => node.name === 'b')?.isolated).toBe(false);
    });

    it('links both ways at once without conflict', async (context) => {
      if (driver !== 'postgres' || !database?.url) return context.skip();
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
      const second = await openPostgres({
        connectionString: database.url,
        searchPath: database.schema,
      });
      try {
        const other = new Registry(second, clock, logger);
        const local = new Registry(database.db, clock, logger);
        for (let round = 0; round < 5; round += 1) {
          const [one, two] = await Promise.all([
            local.markOnline('a', { remote_node_id: 'b' }),
            other.markOnline('b', { remote_node_id: 'a' }),
          ]);
          expect(one.link?.id).toBe(two.link?.id);
        }
        expect(await registry.listLinks({ status: 'open' })).toHaveLength(1);
        expect(lines.filter((line) => line.includes('transaction conflict'))).toEqual([]);
      } finally {
        await second.close();
      }
    });

    it('refreshes the open link through markOnline', async () => {
      const first = await registry.markOnline('a', { remote_node_id: 'b', latency_ms: 3 });
      const second = await registry.markOnline('b', { remote_node_id: 'a', latency_ms: 5 });
      expect(second.link?.id).toBe(first.link?.id);
      expect(second.link?.latency_ms).toBe(5);
      const open = await registry.listLinks({ status: 'open' });
      expect(open).toHaveLength(1);
      await expectError(
        registry.markOnline('a', { remote_node_id: 'ghost' }),
        'TL_ERR_NODE_NOT_FOUND',
      );
      expect((await registry.getNode('a')).status).toBe('online');
    });
  });

  describe('capabilities', () => {
    it('sets, toggles, finds and deletes', async () => {
      await registry.ensureNode({ name: 'g1' });
      await registry.ensureNode({ name: 'g2' });
      expect((await registry.setCapability('g1', 'gpu', { value: 'a100' })).created).toBe(true);
      await registry.setCapability('g2', 'gpu', { value: 'h100' });
      expect((await registry.findNodesByCapability('gpu')).map((node) => node.name)).toEqual([
        'g1',
        'g2',
      ]);
      expect((await registry.findNodesByCapability('gpu', 'h100')).map((n) => n.name)).toEqual([
        'g2',
      ]);
      const disabled = await registry.setCapability('g1', 'gpu', { enabled: false });
      expect(disabled.created).toBe(false);
      expect(disabled.capability.capability_value).toBe('a100');
      expect((await registry.findNodesByCapability('gpu')).map((node) => node.name)).toEqual([
        'g2',
      ]);
      const filtered = await registry.listNodes({ capability: { key: 'gpu', value: 'h100' } });
      expect(filtered.nodes.map((node) => node.name)).toEqual(['g2']);
      await registry.deleteCapability('g2', 'gpu');
      await expectError(registry.deleteCapability('g2', 'gpu'), 'TL_ERR_CAPABILITY_NOT_FOUND');
      await expectError(registry.setCapability('g1', 'bad key', {}), 'TL_ERR_VALIDATION');
      const graph = await registry.graph();
      expect(graph.nodes.find((node) => node.name === 'g1')?.capabilities).toEqual({});
    });
  });

  describe('groups', () => {
    it('builds a tree and rejects cycles', async () => {
      const region = await registry.createGroup({ name: 'eu', group_type: 'region' });
      const zone = await registry.createGroup({
        name: 'eu-1a',
        group_type: 'zone',
        parent_group_id: 'eu',
      });
      await registry.createGroup({ name: 'eu-1a-rack', parent_group_id: zone.id });
      await expectError(registry.createGroup({ name: 'eu' }), 'TL_ERR_GROUP_EXISTS');
      await expectError(
        registry.updateGroup('eu', { parent_group_id: 'eu-1a-rack' }),
        'TL_ERR_GROUP_CYCLE',
      );
      await expectError(
        registry.updateGroup('eu', { parent_group_id: 'eu' }),
        'TL_ERR_GROUP_CYCLE',
      );
      await expectError(
        registry.createGroup({ name: 'x', parent_group_id: 'nowhere' }),
        'TL_ERR_GROUP_NOT_FOUND',
      );
      expect((await registry.listGroups({ roots: true })).map((g) => g.name)).toEqual(['eu']);
      expect((await registry.listGroups({ type: 'zone' })).map((g) => g.name)).toEqual(['eu-1a']);
      expect((await registry.listGroups({ parent: region.id })).map((g) => g.name)).toEqual([
        'eu-1a',
      ]);
      const tree = await registry.groupTree();
      expect(tree[0]?.children[0]?.children[0]?.name).toBe('eu-1a-rack');
      await expectError(registry.deleteGroup('eu'), 'TL_ERR_GROUP_HAS_CHILDREN');
    });

    it('manages members and filters by subtree', async () => {
      await registry.createGroup({ name: 'eu', group_type: 'region' });
      await registry.createGroup({ name: 'eu-1a', group_type: 'zone', parent_group_id: 'eu' });
      await registry.ensureNode({ name: 'n1' });
      await registry.ensureNode({ name: 'n2' });
      expect((await registry.addMember('eu-1a', 'n1')).created).toBe(true);
      expect((await registry.addMember('eu-1a', 'n1')).created).toBe(false);
      const details = await registry.getGroup('eu-1a');
      expect(details.members.map((member) => member.name)).toEqual(['n1']);
      expect((await registry.listNodes({ group: 'eu' })).nodes.map((n) => n.name)).toEqual(['n1']);
      const graph = await registry.graph({ group: 'eu', include_offline: true });
      expect(graph.nodes.map((node) => node.groups)).toEqual([['eu-1a']]);
      await registry.removeMember('eu-1a', 'n1');
      await expectError(registry.removeMember('eu-1a', 'n1'), 'TL_ERR_MEMBERSHIP_NOT_FOUND');
      await registry.addMember('eu-1a', 'n2');
      await registry.deleteGroup('eu-1a');
      expect((await registry.getNode('n2')).groups).toEqual([]);
    });
  });

  describe('lists and graph', () => {
    it('pages nodes by cursor', async () => {
      for (let index = 0; index < 7; index += 1) await registry.ensureNode({ name: `p${index}` });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await registry.listNodes({ limit: 3, cursor });
        seen.push(...page.nodes.map((node) => node.name));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
      await expectError(registry.listNodes({ cursor: 'garbage!' }), 'TL_ERR_VALIDATION');
      await expectError(registry.listNodes({ limit: 1001 }), 'TL_ERR_VALIDATION');
    });

    it('shows links only when both ends are shown', async () => {
      await registry.ensureNode({ name: 'a', role: 'controller' });
      await registry.ensureNode({ name: 'b' });
      await registry.establishLink({ node_id: 'a', remote_node_id: 'b', weight: 0.5 });
      await registry.markStatus('b', 'offline');
      const live = await registry.graph();
      expect(live.nodes.map((node) => node.name)).toEqual(['a']);
      expect(live.links).toEqual([]);
      const all = await registry.graph({ include_offline: true });
      expect(all.links).toHaveLength(1);
      expect(all.links[0]?.value).toBe(0.5);
      expect(all.nodes[0]?.val).toBeGreaterThan(all.nodes[1]!.val);
      expect(all.seq).toBe((await registry.events(0)).next_seq);
    });

    it('deregisters with its links and history', async () => {
      await registry.ensureNode({ name: 'a' });
      await registry.ensureNode({ name: 'b' });
      const link = await registry.establishLink({ node_id: 'a', remote_node_id: 'b' });
      await registry.heartbeat('a', {});
      await registry.setCapability('a', 'k', { value: 'v' });
      await registry.deregisterNode('a');
      await expectError(registry.getLink(link.id), 'TL_ERR_LINK_NOT_FOUND');
      await expectError(registry.heartbeat('a', {}), 'TL_ERR_NODE_NOT_FOUND');
      const last = (await registry.events(0)).events.at(-1);
      expect(last?.name).toBe('cluster.node.deregistered');
      expect(last?.payload).toMatchObject({ node: { name: 'a' }, links: [link.id] });
    });
  });

  describe('events', () => {
    it('pages by seq and rejects a future seq', async () => {
      for (let index = 0; index < 5; index += 1) await registry.ensureNode({ name: `e${index}` });
      const first = await registry.events(0, 2);
      expect(first.events.map((event) => event.seq)).toEqual([1, 2]);
      const rest = await registry.events(first.next_seq);
      expect(rest.events.map((event) => event.seq)).toEqual([3, 4, 5]);
      expect(rest.events[0]?.payload).toMatchObject({ node: { name: 'e2' }, created: true });
      expect((await registry.events(5)).events).toEqual([]);
      await expectError(registry.events(99), 'TL_ERR_SINCE_EXPIRED');
      await expectError(registry.events(-1), 'TL_ERR_VALIDATION');
    });

    it('orders seq by commit under concurrent writers', async () => {
      const writes = Array.from({ length: 40 }, (_, index) =>
        registry.ensureNode({ name: `w${index}` }),
      );
      await Promise.all(writes);
      const seqs = (await registry.events(0)).events.map((event) => event.seq);
      expect(seqs).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
    });
  });
});
