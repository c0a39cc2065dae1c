// Unit tests of how outbox events map to stream pushes, and of frame decoding.
import { describe, expect, it } from 'vitest';

import type { EventName, GraphNode, OutboxEvent } from '../registry/model.js';
import { eventNames } from '../registry/model.js';
import { decodeFrame } from './frames.js';
import { planEvent } from './pushes.js';

const node = { id: 'n1', name: 'n1', status: 'online' } as GraphNode;

function event(name: EventName, payload: Record<string, unknown>): OutboxEvent {
  return { seq: 7, name, payload, inserted_at: '2026-03-01T12:00:00.000Z' };
}

function kinds(name: EventName, payload: Record<string, unknown>) {
  return planEvent(event(name, payload)).map((plan) =>
    plan.kind === 'node' || plan.kind === 'link' ? plan.event : plan.kind,
  );
}

describe('planEvent', () => {
  it.each([
    ['cluster.node.registered', { node, created: true }, ['node_updated']],
    ['cluster.node.online', { node, from: 'connecting' }, ['node_up']],
    [
      'cluster.node.offline',
      { node: { ...node, status: 'offline' }, from: 'online' },
      ['node_down'],
    ],
    ['cluster.node.status_changed', { node, from: 'degraded' }, []],
    [
      'cluster.node.status_changed',
      { node: { ...node, status: 'degraded' }, from: 'online' },
      ['node_updated'],
    ],
    ['cluster.node.status_changed', { node, from: 'online' }, ['node_updated']],
    [
      'cluster.node.deregistered',
      { node: { id: 'n1', name: 'n1' }, links: [] },
      ['direct', 'resync'],
    ],
    ['cluster.link.established', { link: { source: 'a', target: 'b' } }, ['link_up']],
    ['cluster.link.updated', { link: { source: 'a', target: 'b' } }, ['link_updated']],
    ['cluster.link.closed', { link: { source: 'a', target: 'b' } }, ['link_down']],
    ['cluster.link.failed', { link: { source: 'a', target: 'b' } }, ['link_down']],
    ['cluster.capability.changed', { node, action: 'set' }, ['node_updated']],
    ['cluster.group.changed', { group: {}, action: 'created' }, []],
    ['cluster.group.changed', { group: {}, action: 'member_added', node }, ['node_updated']],
    ['cluster.group.changed', { group: {}, action: 'updated', member_count: 0 }, []],
    ['cluster.group.changed', { group: {}, action: 'updated', member_count: 2 }, ['resync']],
    ['cluster.group.changed', { group: {}, action: 'deleted', member_count: 1 }, ['resync']],
    ['cluster.group.disrupted', { group: 'g', disrupted: true, affected: 3 }, ['direct']],
  ] as const)('%s %j', (name, payload, expected) => {
    expect(kinds(name, payload)).toEqual(expected);
  });

  it('maps every event name', () => {
    const payload = { node, link: { source: 'a', target: 'b' }, links: [], group: 'g' };
    for (const name of eventNames) {
      expect(Array.isArray(planEvent(event(name, payload))), name).toBe(true);
    }
  });

  it('asks for links when a node leaves offline', () => {
    const [plan] = planEvent(event('cluster.node.online', { node, from: 'offline' }));
    expect(plan).toMatchObject({ kind: 'node', withLinks: true });
  });

  it('pushes group_disrupted with its seq only', () => {
    const payload = { group: 'g', group_id: 'x', disrupted: true, affected: 3, nodes: ['a'] };
    const [plan] = planEvent(event('cluster.group.disrupted', payload));
    expect(plan).toEqual({
      kind: 'direct',
      push: {
        event: 'group_disrupted',
        payload: { group: 'g', disrupted: true, affected: 3, seq: 7 },
      },
    });
  });
});

describe('decodeFrame', () => {
  it('decodes a V2 frame', () => {
    expect(decodeFrame('["1","2","thunderlink:graph","phx_join",{"since":3}]')).toEqual({
      ok: true,
      message: {
        joinRef: '1',
        ref: '2',
        topic: 'thunderlink:graph',
        event: 'phx_join',
        payload: { since: 3 },
      },
    });
  });

  it.each([
    ['not JSON', '{', null, null],
    ['an object', '{}', null, null],
    ['four elements', '["1","2","t","e"]', '2', 't'],
    ['a numeric ref', '["1",2,"t","e",{}]', null, 't'],
    ['an empty topic', '["1","2","","e",{}]', '2', ''],
    ['a null payload', '["1","2","t","e",null]', '2', 't'],
  ])('rejects %s', (_name, text, ref, topic) => {
    const result = decodeFrame(text);
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ ref, topic });
  });
});
