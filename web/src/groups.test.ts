import { describe, expect, it } from 'vitest';

import type { GraphLink, GraphNode } from '../../src/registry/model.js';
import {
  collapsedGroupOf,
  colorGroupOf,
  createProjectionCache,
  GROUP_PALETTE,
  groupChain,
  groupColors,
  groupsToCollapse,
  loadCollapsed,
  project,
  readGroupTree,
  saveCollapsed,
  worstStatus,
  type GroupTree,
} from './groups.js';
import { createGraphState, mergeGraph, type GraphState, type ViewNode } from './merge.js';

function wireNode(id: string, groups: string[], fields: Partial<GraphNode> = {}): GraphNode {
  return {
    id,
    name: id,
    role: 'worker',
    domain: 'thunderlink',
    status: 'online',
    status_changed_at: '2026-01-01T00:00:00.000Z',
    cluster_type: 'in_cluster',
    flapping: false,
    maintenance: false,
    isolated: false,
    val: 4,
    cpu_load: null,
    mem_used_mb: null,
    latency_ms: null,
    groups,
    capabilities: {},
    meta: {},
    ...fields,
  };
}

function wireLink(id: string, source: string, target: string, fields: Partial<GraphLink> = {}) {
  return {
    id,
    source,
    target,
    value: 1,
    session_type: 'cluster',
    status: 'established',
    latency_ms: 10,
    bandwidth_mbps: 100,
    ...fields,
  } as GraphLink;
}

const groupsBody = {
  groups: [
    { id: 'r1', name: 'eu', group_type: 'region', parent_group_id: null, disrupted_since: null },
    { id: 'z1', name: 'eu-1a', group_type: 'zone', parent_group_id: 'r1', disrupted_since: null },
    {
      id: 'z2',
      name: 'eu-1b',
      group_type: 'zone',
      parent_group_id: 'r1',
      disrupted_since: '2026-01-01T00:00:00.000Z',
      disrupted_affected: 3,
    },
    { id: 'p1', name: 'billing', group_type: 'project', parent_group_id: null },
  ],
};

/** Two zones of one region: a1, a2 in eu-1a, b1 in eu-1b, and `free` in no group. */
function cluster(): { state: GraphState; tree: GroupTree } {
  const state = createGraphState();
  mergeGraph(state, {
    seq: 1,
    nodes: [
      wireNode('a1', ['eu-1a']),
      wireNode('a2', ['eu-1a', 'billing'], { status: 'degraded' }),
      wireNode('b1', ['eu-1b'], { status: 'offline' }),
      wireNode('free', []),
    ],
    links: [
      wireLink('a1-a2', 'a1', 'a2'),
      wireLink('a1-b1', 'a1', 'b1'),
      wireLink('a1-free', 'a1', 'free', { bandwidth_mbps: 50, latency_ms: 5 }),
      wireLink('a2-free', 'a2', 'free', { status: 'degraded', bandwidth_mbps: 70, latency_ms: 9 }),
    ],
  });
  return { state, tree: readGroupTree(groupsBody) };
}

describe('readGroupTree', () => {
  it('keys groups by name with their parent and disruption', () => {
    const tree = readGroupTree(groupsBody);
    expect(tree.get('eu-1a')).toEqual({
      name: 'eu-1a',
      type: 'zone',
      parent: 'eu',
      disrupted: false,
      affected: 0,
    });
    expect(tree.get('eu-1b')).toMatchObject({ disrupted: true, affected: 3 });
    expect(tree.get('eu')?.parent).toBeUndefined();
  });

  it('makes a group with an unknown parent a root', () => {
    const tree = readGroupTree({ groups: [{ id: 'x', name: 'x', parent_group_id: 'missing' }] });
    expect(tree.get('x')?.parent).toBeUndefined();
  });

  it.each([null, [], { groups: 'no' }, { groups: [{ id: 1, name: 'x' }] }, { groups: [null] }])(
    'rejects %j',
    (body) => {
      expect(() => readGroupTree(body)).toThrow(TypeError);
    },
  );
});

describe('group tree', () => {
  it('walks up to the root and stops at a cycle', () => {
    const { tree } = cluster();
    expect(groupChain(tree, 'eu-1a')).toEqual(['eu-1a', 'eu']);
    expect(groupChain(tree, 'unknown')).toEqual(['unknown']);
    const cyclic: GroupTree = new Map([
      ['a', { name: 'a', type: 'custom', parent: 'b', disrupted: false, affected: 0 }],
      ['b', { name: 'b', type: 'custom', parent: 'a', disrupted: false, affected: 0 }],
    ]);
    expect(groupChain(cyclic, 'a')).toEqual(['a', 'b']);
  });

  it('collapses the deepest group of every node', () => {
    const { state, tree } = cluster();
    expect(groupsToCollapse(state.nodes.values(), tree, 10)).toEqual(new Set(['eu-1a', 'eu-1b']));
  });

  it('collapses the roots when too many groups remain', () => {
    const { state, tree } = cluster();
    expect(groupsToCollapse(state.nodes.values(), tree, 1)).toEqual(new Set(['eu']));
  });

  it('folds a nested group into a collapsed parent with members', () => {
    const { state, tree } = cluster();
    state.nodes.get('free')!.groups = ['eu'];
    const collapsed = groupsToCollapse(state.nodes.values(), tree, 1);
    // eu-1a, eu-1b and eu are all collapsed, but only eu is drawn.
    expect(collapsed).toEqual(new Set(['eu-1a', 'eu-1b', 'eu']));
    const drawn = project(state, tree, collapsed, createProjectionCache()).nodes;
    expect(drawn.map((node) => node.id)).toEqual(['group:eu']);
  });

  it('puts a node in its outermost collapsed group', () => {
    const { state, tree } = cluster();
    const a2 = state.nodes.get('a2')!;
    expect(collapsedGroupOf(a2, tree, new Set())).toBeUndefined();
    expect(collapsedGroupOf(a2, tree, new Set(['eu-1a']))).toBe('eu-1a');
    expect(collapsedGroupOf(a2, tree, new Set(['eu-1a', 'eu']))).toBe('eu');
    // Two roots at the same depth: the first by name wins.
    expect(collapsedGroupOf(a2, tree, new Set(['eu', 'billing']))).toBe('billing');
    expect(collapsedGroupOf(state.nodes.get('free')!, tree, new Set(['eu']))).toBeUndefined();
  });

  it('colours a node by its deepest group', () => {
    const { state, tree } = cluster();
    expect(colorGroupOf(state.nodes.get('a2')!, tree)).toBe('eu-1a');
    expect(colorGroupOf(state.nodes.get('free')!, tree)).toBeUndefined();
  });

  it('gives groups palette colours in name order', () => {
    const colors = groupColors(['b', 'a', 'b']);
    expect(colors.get('a')).toBe(GROUP_PALETTE[0]);
    expect(colors.get('b')).toBe(GROUP_PALETTE[1]);
    const many = groupColors(Array.from({ length: GROUP_PALETTE.length + 1 }, (_, i) => `g${i}`));
    expect(many.size).toBe(GROUP_PALETTE.length + 1);
  });

  it('ranks offline as the worst status', () => {
    expect(worstStatus({ online: 3, degraded: 1, offline: 1 })).toBe('offline');
    expect(worstStatus({ online: 2, degraded: 0 })).toBe('online');
    expect(worstStatus({})).toBeUndefined();
  });
});

describe('project', () => {
  it('draws the graph as it is when nothing is collapsed', () => {
    const { state, tree } = cluster();
    const projection = project(state, tree, new Set(), createProjectionCache());
    expect(projection.nodes).toEqual([...state.nodes.values()]);
    expect(projection.links).toEqual([...state.links.values()]);
    expect(projection.structureChanged).toBe(true);
    expect(project(state, tree, new Set(), createProjectionCache()).nodes[0]).toBe(
      state.nodes.get('a1'),
    );
  });

  it('folds a collapsed group into one super-node with merged links', () => {
    const { state, tree } = cluster();
    const projection = project(state, tree, new Set(['eu-1a']), createProjectionCache());

    expect(projection.nodes.map((node) => node.id).sort()).toEqual(['b1', 'free', 'group:eu-1a']);
    const superNode = projection.nodes.find((node) => node.id === 'group:eu-1a')!;
    expect(superNode).toMatchObject({ name: 'eu-1a', status: 'degraded' });
    expect(superNode.collapsed).toEqual({
      group: 'eu-1a',
      members: ['a1', 'a2'],
      counts: { online: 1, degraded: 1 },
      disrupted: false,
    });

    // a1-a2 is inside the group, a1-b1 crosses to b1, and the two links to `free` merge.
    expect(projection.links).toHaveLength(2);
    const merged = projection.links.find((link) => link.merged_count === 2)!;
    expect(merged).toMatchObject({
      source: 'free',
      target: 'group:eu-1a',
      status: 'degraded',
      value: 2,
      bandwidth_mbps: 120,
      latency_ms: 9,
    });
  });

  it('marks a super-node of a disrupted group', () => {
    const { state, tree } = cluster();
    const projection = project(state, tree, new Set(['eu-1b']), createProjectionCache());
    const superNode = projection.nodes.find((node) => node.id === 'group:eu-1b');
    expect(superNode?.collapsed?.disrupted).toBe(true);
    expect(superNode?.status).toBe('offline');
  });

  it('keeps its objects and reports no structure change when nothing moved', () => {
    const { state, tree } = cluster();
    const cache = createProjectionCache();
    const collapsed = new Set(['eu-1a']);
    const first = project(state, tree, collapsed, cache);
    const second = project(state, tree, collapsed, cache);
    expect(second.structureChanged).toBe(false);
    for (const node of second.nodes) expect(first.nodes).toContain(node);
    for (const link of second.links) expect(first.links).toContain(link);
  });

  it('updates a super-node in place when a member changes status', () => {
    const { state, tree } = cluster();
    const cache = createProjectionCache();
    const collapsed = new Set(['eu-1a']);
    const superNode = project(state, tree, collapsed, cache).nodes.find((n) => n.collapsed);
    state.nodes.get('a1')!.status = 'offline';
    const next = project(state, tree, collapsed, cache);
    expect(next.structureChanged).toBe(false);
    expect(next.nodes.find((node) => node.collapsed)).toBe(superNode);
    expect(superNode?.status).toBe('offline');
  });

  it('starts a super-node at its members and the members back at the super-node', () => {
    const { state, tree } = cluster();
    const place = (id: string, x: number, y: number) =>
      Object.assign(state.nodes.get(id)!, { x, y, z: 0 });
    place('a1', 0, 0);
    place('a2', 10, 20);
    const cache = createProjectionCache();
    project(state, tree, new Set(), cache);

    const collapsed = project(state, tree, new Set(['eu-1a']), cache);
    expect(collapsed.structureChanged).toBe(true);
    const superNode = collapsed.nodes.find((node) => node.collapsed) as ViewNode;
    expect([superNode.x, superNode.y]).toEqual([5, 10]);

    Object.assign(superNode, { x: 500, y: 500, z: 500 });
    const expanded = project(state, tree, new Set(), cache);
    expect(expanded.structureChanged).toBe(true);
    const a1 = state.nodes.get('a1')!;
    expect(Math.abs(a1.x! - 500)).toBeLessThanOrEqual(10);
    expect(Math.abs(a1.z! - 500)).toBeLessThanOrEqual(10);
  });

  it('rewires a merged link to ids', () => {
    const { state, tree } = cluster();
    const cache = createProjectionCache();
    const first = project(state, tree, new Set(['eu-1a']), cache);
    const merged = first.links.find((link) => link.merged_count === 2)!;
    // What the layout does to a drawn link: its ends become node objects.
    merged.source = first.nodes.find((node) => node.id === 'free')!;
    merged.target = { id: 'group:eu-1a' } as ViewNode;
    const next = project(state, tree, new Set(['eu-1a']), cache);
    expect(next.structureChanged).toBe(true);
    expect(merged.target).toBe('group:eu-1a');
  });
});

describe('stored collapsed groups', () => {
  function memoryStorage(initial: Record<string, string> = {}): Storage {
    const items = new Map(Object.entries(initial));
    return {
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value),
      removeItem: (key: string) => void items.delete(key),
      clear: () => items.clear(),
      key: () => null,
      get length() {
        return items.size;
      },
    };
  }

  it('survives a round trip', () => {
    const storage = memoryStorage();
    expect(loadCollapsed(storage)).toBeUndefined();
    expect(saveCollapsed(storage, new Set(['b', 'a']))).toBe(true);
    expect(loadCollapsed(storage)).toEqual(new Set(['a', 'b']));
  });

  it.each(['not json', '{"a":1}', '5'])('ignores a stored %j', (stored) => {
    expect(loadCollapsed(memoryStorage({ 'thunderlink.collapsed': stored }))).toBeUndefined();
  });

  it('keeps only the names in a stored list', () => {
    const storage = memoryStorage({ 'thunderlink.collapsed': '["a", 3, null]' });
    expect(loadCollapsed(storage)).toEqual(new Set(['a']));
  });

  it('reports a full storage', () => {
    const storage = memoryStorage();
    storage.setItem = () => {
      throw new DOMException('full', 'QuotaExceededError');
    };
    expect(saveCollapsed(storage, new Set(['a']))).toBe(false);
  });
});
