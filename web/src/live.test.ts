import { describe, expect, it } from 'vitest';

import type { GraphLink, GraphNode } from '../../src/registry/model.js';
import type { GraphPush } from '../../src/realtime/messages.js';
import {
  applyJoinReply,
  applyPush,
  createLiveState,
  expireFailingLinks,
  joinParams,
  nextFailingExpiry,
  type LiveState,
} from './live.js';
import { createGraphState, graphArrays, type ViewLink, type ViewNode } from './merge.js';

function wireNode(id: string, fields: Partial<GraphNode> = {}): GraphNode {
  return {
    id,
    name: `node-${id}`,
    role: 'worker',
    domain: 'thunderlink',
    status: 'online',
    status_changed_at: '2026-01-01T00:00:00.000Z',
    cluster_type: 'in_cluster',
    flapping: false,
    maintenance: false,
    isolated: false,
    val: 4,
    cpu_load: 0.4,
    mem_used_mb: 512,
    latency_ms: 3,
    groups: [],
    capabilities: {},
    meta: {},
    ...fields,
  };
}

function wireLink(id: string, source: string, target: string): GraphLink {
  return {
    id,
    source,
    target,
    value: 1,
    session_type: 'cluster',
    status: 'established',
    latency_ms: 15,
    bandwidth_mbps: 100,
  };
}

function liveWith(
  nodes: GraphNode[],
  links: GraphLink[] = [],
  seq = 10,
  options: Parameters<typeof createLiveState>[1] = {},
): LiveState {
  const live = createLiveState(createGraphState(), options);
  applyJoinReply(live, { mode: 'snapshot', seq, nodes, links });
  return live;
}

// Stands in for d3-force: writes a position and resolves link ends to node objects.
function layOut(live: LiveState): void {
  const { nodes, links } = graphArrays(live.graph);
  for (const node of nodes) Object.assign(node, { x: 1, y: 2, z: 3 });
  for (const link of links) {
    link.source = live.graph.nodes.get(String(link.source))!;
    link.target = live.graph.nodes.get(String(link.target))!;
  }
}

function push(event: string, payload: unknown): GraphPush {
  return { event, payload } as GraphPush;
}

describe('joinParams', () => {
  it('omits since before a snapshot', () => {
    const live = createLiveState(createGraphState());
    expect(joinParams(live)).toEqual({ include_offline: true });
  });

  it('sends the last applied seq', () => {
    const live = liveWith([wireNode('a')], [], 7);
    applyPush(live, push('node_updated', { ...wireNode('a'), seq: 12 }));
    expect(joinParams(live)).toEqual({ include_offline: true, since: 12 });
  });
});

describe('applyJoinReply', () => {
  it('applies a snapshot and its seq', () => {
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')], 5);
    expect(live.seq).toBe(5);
    expect([...live.graph.nodes.keys()]).toEqual(['a', 'b']);
    expect([...live.graph.links.keys()]).toEqual(['l']);
  });

  it('replays an events reply in order', () => {
    const live = liveWith([wireNode('a')], [], 5);
    const changes = applyJoinReply(live, {
      mode: 'events',
      seq: 9,
      events: [
        { event: 'node_updated', payload: { ...wireNode('b'), seq: 6 } },
        { event: 'node_down', payload: { ...wireNode('b', { status: 'offline' }), seq: 8 } },
      ],
    });
    expect(changes.structureChanged).toBe(true);
    expect(live.graph.nodes.get('b')?.status).toBe('offline');
    expect(live.seq).toBe(9);
  });

  it('rejects an unknown mode', () => {
    const live = createLiveState(createGraphState());
    expect(() => applyJoinReply(live, { mode: 'other' } as never)).toThrow(/unknown mode/);
  });
});

describe('applyPush', () => {
  it('keeps node objects and positions on updates', () => {
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')]);
    layOut(live);
    const before = live.graph.nodes.get('a') as ViewNode;

    const changes = applyPush(
      live,
      push('node_down', { ...wireNode('a', { status: 'offline' }), seq: 11 }),
    );

    expect(changes).toEqual({ structureChanged: false, attributesChanged: true });
    const after = live.graph.nodes.get('a');
    expect(after).toBe(before);
    expect(after?.status).toBe('offline');
    expect(after?.x).toBe(1);
    expect(after).not.toHaveProperty('seq');
    expect(live.seq).toBe(11);
  });

  it('stores the links of a node coming back', () => {
    const live = liveWith([wireNode('a')]);
    const changes = applyPush(
      live,
      push('node_up', { ...wireNode('b'), seq: 11, links: [wireLink('l', 'a', 'b')] }),
    );
    expect(changes.structureChanged).toBe(true);
    expect(live.graph.links.get('l')?.source).toBe('a');
    expect(live.graph.nodes.get('b')).not.toHaveProperty('links');
  });

  it('holds a link until both ends exist', () => {
    const live = liveWith([wireNode('a')]);
    applyPush(
      live,
      push('node_updated', { ...wireNode('a'), seq: 11, links: [wireLink('l', 'a', 'c')] }),
    );
    expect(live.graph.links.has('l')).toBe(false);
    expect(live.graph.heldLinks.has('l')).toBe(true);

    const changes = applyPush(live, push('node_updated', { ...wireNode('c'), seq: 12 }));
    expect(changes.structureChanged).toBe(true);
    expect(live.graph.links.has('l')).toBe(true);
    expect(live.graph.heldLinks.has('l')).toBe(false);
  });

  it('stores link ends before the link', () => {
    const live = liveWith([wireNode('a')]);
    applyPush(
      live,
      push('link_up', {
        ...wireLink('l', 'a', 'b'),
        seq: 11,
        nodes: [wireNode('a'), wireNode('b')],
      }),
    );
    expect(live.graph.nodes.has('b')).toBe(true);
    const link = live.graph.links.get('l') as ViewLink;
    expect(link).toBeDefined();
    expect(link).not.toHaveProperty('nodes');
    expect(link).not.toHaveProperty('seq');
  });

  it('restyles a link update in place', () => {
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')]);
    layOut(live);
    const link = live.graph.links.get('l');
    const changes = applyPush(
      live,
      push('link_updated', {
        ...wireLink('l', 'a', 'b'),
        status: 'degraded',
        seq: 11,
        nodes: [wireNode('a'), wireNode('b')],
      }),
    );
    expect(changes).toEqual({
      structureChanged: false,
      attributesChanged: true,
      linkAttributesChanged: true,
    });
    expect(live.graph.links.get('l')).toBe(link);
    expect(link?.status).toBe('degraded');
  });

  it('deletes a closed link and updates its ends', () => {
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')]);
    const changes = applyPush(
      live,
      push('link_down', {
        id: 'l',
        source: 'a',
        target: 'b',
        status: 'closed',
        reason: null,
        seq: 11,
        nodes: [wireNode('a', { isolated: true }), wireNode('b', { isolated: true })],
      }),
    );
    expect(changes.structureChanged).toBe(true);
    expect(live.graph.links.has('l')).toBe(false);
    expect(live.graph.nodes.get('a')?.isolated).toBe(true);
  });

  it('keeps a failed link drawn until it expires', () => {
    let now = 1000;
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')], 10, {
      failingLinkMs: 1500,
      now: () => now,
    });
    const failed = (seq: number) =>
      push('link_down', { id: 'l', source: 'a', target: 'b', status: 'failed', seq });

    expect(applyPush(live, failed(11))).toEqual({
      structureChanged: false,
      attributesChanged: true,
      linkAttributesChanged: true,
    });
    expect(live.graph.links.get('l')?.failing).toBe(true);
    expect(nextFailingExpiry(live)).toBe(2500);

    now = 2499;
    expect(expireFailingLinks(live).structureChanged).toBe(false);
    expect(live.graph.links.has('l')).toBe(true);
    now = 2500;
    expect(expireFailingLinks(live).structureChanged).toBe(true);
    expect(live.graph.links.has('l')).toBe(false);
    expect(nextFailingExpiry(live)).toBeUndefined();
  });

  it('removes a closed link at once even when failures flash', () => {
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')], 10, {
      failingLinkMs: 1500,
    });
    applyPush(
      live,
      push('link_down', { id: 'l', source: 'a', target: 'b', status: 'closed', seq: 11 }),
    );
    expect(live.graph.links.has('l')).toBe(false);
    expect(live.failing.size).toBe(0);
  });

  it('lets a snapshot settle failing links', () => {
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')], 10, {
      failingLinkMs: 1500,
    });
    applyPush(
      live,
      push('link_down', { id: 'l', source: 'a', target: 'b', status: 'failed', seq: 11 }),
    );
    applyPush(live, {
      event: 'topology_update',
      payload: { seq: 12, nodes: [wireNode('a'), wireNode('b')], links: [] },
    });
    expect(live.graph.links.has('l')).toBe(false);
    expect(live.failing.size).toBe(0);
  });

  it('deletes a removed node with its links', () => {
    const live = liveWith(
      [wireNode('a'), wireNode('b'), wireNode('c')],
      [wireLink('ab', 'a', 'b'), wireLink('bc', 'b', 'c')],
    );
    layOut(live);
    const changes = applyPush(
      live,
      push('node_removed', { id: 'b', name: 'node-b', links: ['ab'], seq: 11 }),
    );
    expect(changes.structureChanged).toBe(true);
    expect([...live.graph.nodes.keys()]).toEqual(['a', 'c']);
    expect(live.graph.links.size).toBe(0);
  });

  it('merges a topology update like a snapshot', () => {
    const live = liveWith([wireNode('a'), wireNode('b')], [wireLink('l', 'a', 'b')]);
    layOut(live);
    const kept = live.graph.nodes.get('a');
    applyPush(
      live,
      push('topology_update', { seq: 20, nodes: [wireNode('a'), wireNode('c')], links: [] }),
    );
    expect(live.graph.nodes.get('a')).toBe(kept);
    expect([...live.graph.nodes.keys()]).toEqual(['a', 'c']);
    expect(live.graph.links.size).toBe(0);
    expect(live.seq).toBe(20);
  });

  it('copies metrics onto a stored node', () => {
    const live = liveWith([wireNode('a')]);
    const changes = applyPush(
      live,
      push('node_metrics', { id: 'a', cpu_load: 0.9, mem_used_mb: 100, latency_ms: null }),
    );
    // Metrics show only in tooltips, which read the node when they open, so nothing restyles.
    expect(changes).toEqual({ structureChanged: false, attributesChanged: false });
    expect(live.graph.nodes.get('a')).toMatchObject({
      cpu_load: 0.9,
      mem_used_mb: 100,
      latency_ms: null,
    });
    expect(live.seq).toBe(10);
  });

  it('ignores metrics of an unknown node', () => {
    const live = liveWith([wireNode('a')]);
    const changes = applyPush(
      live,
      push('node_metrics', { id: 'x', cpu_load: 1, mem_used_mb: 1, latency_ms: 1 }),
    );
    expect(changes).toEqual({ structureChanged: false, attributesChanged: false });
  });

  it('skips a push the graph already reflects', () => {
    const live = liveWith([wireNode('a')], [], 10);
    const changes = applyPush(
      live,
      push('node_down', { ...wireNode('a', { status: 'offline' }), seq: 10 }),
    );
    expect(changes).toEqual({ structureChanged: false, attributesChanged: false });
    expect(live.graph.nodes.get('a')?.status).toBe('online');
  });

  it('advances seq on a group push', () => {
    const live = liveWith([wireNode('a')], [], 10);
    const changes = applyPush(
      live,
      push('group_disrupted', { group: 'g', disrupted: true, affected: 3, seq: 14 }),
    );
    expect(changes).toEqual({ structureChanged: false, attributesChanged: true });
    expect(live.seq).toBe(14);
    expect(live.disruptions.get('g')).toEqual({ disrupted: true, affected: 3 });
  });

  it('rejects a push without seq', () => {
    const live = liveWith([wireNode('a')]);
    expect(() => applyPush(live, push('node_updated', wireNode('a')))).toThrow(/seq is missing/);
    expect(live.seq).toBe(10);
  });

  it('rejects a node without an id', () => {
    const live = liveWith([wireNode('a')]);
    expect(() => applyPush(live, push('node_updated', { seq: 11 }))).toThrow(/no string id/);
    expect(live.seq).toBe(10);
  });
});
