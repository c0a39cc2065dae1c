import { describe, expect, it } from 'vitest';

import type { Graph, GraphLink, GraphNode } from '../../src/registry/model.js';
import {
  createGraphState,
  endpointId,
  escapeHtml,
  mergeGraph,
  readGraph,
  type ViewNode,
} from './merge.js';

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
    groups: ['us-west'],
    capabilities: { gpu: 'true' },
    meta: {},
    ...fields,
  };
}

function wireLink(id: string, source: string, target: string, fields: Partial<GraphLink> = {}) {
  const link: GraphLink = {
    id,
    source,
    target,
    value: 1,
    session_type: 'cluster',
    status: 'established',
    latency_ms: 15,
    bandwidth_mbps: 100,
    ...fields,
  };
  return link;
}

function graph(nodes: GraphNode[], links: GraphLink[] = []): Graph {
  return { seq: 1, nodes, links };
}

// Stands in for d3-force, which writes positions onto the node objects and replaces link ends
// with node objects when the simulation starts.
function simulateLayout(nodes: ViewNode[], links: { source: unknown; target: unknown }[]) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  nodes.forEach((node, i) => Object.assign(node, { x: i * 10, y: i * 20, z: i * 30, vx: 1 }));
  for (const link of links) {
    if (typeof link.source === 'string') link.source = byId.get(link.source);
    if (typeof link.target === 'string') link.target = byId.get(link.target);
  }
}

describe('mergeGraph', () => {
  it('keeps objects and positions on attribute change', () => {
    const state = createGraphState();
    const first = mergeGraph(state, graph([wireNode('a'), wireNode('b')]));
    simulateLayout(first.nodes, first.links);
    const before = state.nodes.get('a');

    const result = mergeGraph(
      state,
      graph([wireNode('a', { status: 'degraded', cpu_load: 0.9 }), wireNode('b')]),
    );

    const after = state.nodes.get('a');
    expect(after).toBe(before);
    expect(after?.status).toBe('degraded');
    expect(after?.cpu_load).toBe(0.9);
    expect(after?.x).toBe(0);
    expect(state.nodes.get('b')?.x).toBe(10);
    expect(state.nodes.get('b')?.z).toBe(30);
    expect(result.structureChanged).toBe(false);
    expect(result.attributesChanged).toBe(true);
  });

  it('reports nothing for an identical snapshot', () => {
    const state = createGraphState();
    mergeGraph(state, graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b')]));

    const result = mergeGraph(
      state,
      graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b')]),
    );

    expect(result.structureChanged).toBe(false);
    expect(result.attributesChanged).toBe(false);
  });

  it('compares nested values by content', () => {
    const state = createGraphState();
    mergeGraph(state, graph([wireNode('a', { groups: ['eu'], meta: { rack: 4 } })]));

    const same = mergeGraph(state, graph([wireNode('a', { groups: ['eu'], meta: { rack: 4 } })]));
    const moved = mergeGraph(state, graph([wireNode('a', { groups: ['eu'], meta: { rack: 5 } })]));

    expect(same.attributesChanged).toBe(false);
    expect(moved.attributesChanged).toBe(true);
    expect(state.nodes.get('a')?.meta).toEqual({ rack: 5 });
  });

  it('ignores key order in nested objects', () => {
    const state = createGraphState();
    mergeGraph(state, graph([wireNode('a', { meta: { rack: 4, zone: 'b' } })]));

    const reordered = mergeGraph(state, graph([wireNode('a', { meta: { zone: 'b', rack: 4 } })]));
    const nested = mergeGraph(state, graph([wireNode('a', { meta: { zone: 'b', rack: [4] } })]));

    expect(reordered.attributesChanged).toBe(false);
    expect(nested.attributesChanged).toBe(true);
  });

  it('adds new nodes and keeps the old ones', () => {
    const state = createGraphState();
    mergeGraph(state, graph([wireNode('a')]));
    const a = state.nodes.get('a');

    const result = mergeGraph(state, graph([wireNode('a'), wireNode('b')]));

    expect(result.structureChanged).toBe(true);
    expect(result.nodes.map((node) => node.id)).toEqual(['a', 'b']);
    expect(result.nodes[0]).toBe(a);
    expect(state.nodes.get('b')?.name).toBe('node-b');
  });

  it('drops removed nodes and their links', () => {
    const state = createGraphState();
    mergeGraph(
      state,
      graph([wireNode('a'), wireNode('b'), wireNode('c')], [wireLink('l1', 'a', 'b')]),
    );

    const result = mergeGraph(state, graph([wireNode('a'), wireNode('c')]));

    expect(result.structureChanged).toBe(true);
    expect(result.nodes.map((node) => node.id)).toEqual(['a', 'c']);
    expect(result.links).toEqual([]);
    expect(state.links.size).toBe(0);
    expect(state.heldLinks.size).toBe(0);
  });

  it('holds a link back until its end arrives', () => {
    const state = createGraphState();
    mergeGraph(state, graph([wireNode('a')]));

    const beforeArrival = mergeGraph(state, graph([wireNode('a')], [wireLink('l1', 'a', 'b')]));
    const heldLink = state.heldLinks.get('l1');
    expect(beforeArrival.structureChanged).toBe(false);
    expect(beforeArrival.links).toEqual([]);
    expect(heldLink?.id).toBe('l1');

    const unchanged = mergeGraph(state, graph([wireNode('a')], [wireLink('l1', 'a', 'b')]));
    expect(unchanged.structureChanged).toBe(false);
    expect(unchanged.links).toEqual([]);
    expect(state.heldLinks.get('l1')).toBe(heldLink);

    const afterArrival = mergeGraph(
      state,
      graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b')]),
    );
    expect(afterArrival.structureChanged).toBe(true);
    expect(afterArrival.links.map((link) => link.id)).toEqual(['l1']);
    expect(afterArrival.links[0]).toBe(heldLink);
    expect(afterArrival.links[0]?.source).toBe('a');
    expect(afterArrival.links[0]?.target).toBe('b');
    expect(state.heldLinks.size).toBe(0);
  });

  it('holds a drawn link back when an end leaves', () => {
    const state = createGraphState();
    const first = mergeGraph(
      state,
      graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b')]),
    );
    simulateLayout(first.nodes, first.links);
    const link = state.links.get('l1');

    const withoutEnd = mergeGraph(state, graph([wireNode('a')], [wireLink('l1', 'a', 'b')]));
    expect(withoutEnd.structureChanged).toBe(true);
    expect(withoutEnd.links).toEqual([]);
    expect(state.heldLinks.get('l1')).toBe(link);

    // The returning node is a new object, so the link must not keep pointing at the old one.
    const withEnd = mergeGraph(
      state,
      graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b')]),
    );
    expect(withEnd.links[0]).toBe(link);
    expect(withEnd.links[0]?.source).toBe('a');
    expect(withEnd.links[0]?.target).toBe('b');
  });

  it('accepts d3-style object endpoints', () => {
    const state = createGraphState();
    const first = mergeGraph(
      state,
      graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b', { status: 'established' })]),
    );
    simulateLayout(first.nodes, first.links);
    const link = state.links.get('l1');
    expect(link?.source).toBe(state.nodes.get('a'));

    const result = mergeGraph(
      state,
      graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b', { status: 'degraded' })]),
    );

    expect(result.structureChanged).toBe(false);
    expect(result.attributesChanged).toBe(true);
    expect(state.links.get('l1')).toBe(link);
    expect(link?.status).toBe('degraded');
    expect(link?.source).toBe(state.nodes.get('a'));
    expect(link?.target).toBe(state.nodes.get('b'));
  });

  it('rewires a link whose ends change', () => {
    const state = createGraphState();
    const nodes = [wireNode('a'), wireNode('b'), wireNode('c')];
    const first = mergeGraph(state, graph(nodes, [wireLink('l1', 'a', 'b')]));
    simulateLayout(first.nodes, first.links);

    const result = mergeGraph(state, graph(nodes, [wireLink('l1', 'a', 'c')]));

    expect(result.structureChanged).toBe(true);
    expect(result.links[0]?.source).toBe(state.nodes.get('a'));
    expect(result.links[0]?.target).toBe('c');
  });

  it('removes links missing from the snapshot', () => {
    const state = createGraphState();
    const nodes = [wireNode('a'), wireNode('b'), wireNode('c')];
    mergeGraph(state, graph(nodes, [wireLink('l1', 'a', 'b'), wireLink('l2', 'a', 'x')]));

    const result = mergeGraph(state, graph(nodes, [wireLink('l3', 'b', 'c')]));

    expect(result.structureChanged).toBe(true);
    expect(result.links.map((link) => link.id)).toEqual(['l3']);
    expect(state.heldLinks.size).toBe(0);
  });

  it('ignores held-back link changes in its report', () => {
    const state = createGraphState();
    mergeGraph(state, graph([wireNode('a')], [wireLink('l1', 'a', 'x', { latency_ms: 1 })]));

    const result = mergeGraph(
      state,
      graph([wireNode('a')], [wireLink('l1', 'a', 'x', { latency_ms: 2 })]),
    );

    expect(result.structureChanged).toBe(false);
    expect(result.attributesChanged).toBe(false);
    expect(state.heldLinks.get('l1')?.latency_ms).toBe(2);
  });

  it('deletes fields a later snapshot omits', () => {
    const state = createGraphState();
    mergeGraph(state, graph([{ ...wireNode('a'), extra: 'x' } as GraphNode]));

    const result = mergeGraph(state, graph([wireNode('a')]));

    expect(result.attributesChanged).toBe(true);
    expect(state.nodes.get('a')).not.toHaveProperty('extra');
    expect(state.nodes.get('a')?.name).toBe('node-a');
  });

  it('never overwrites layout fields', () => {
    const state = createGraphState();
    const first = mergeGraph(state, graph([wireNode('a')]));
    simulateLayout(first.nodes, first.links);

    mergeGraph(state, graph([{ ...wireNode('a'), x: 999, __threeObj: null } as GraphNode]));

    expect(state.nodes.get('a')?.x).toBe(0);
    expect(state.nodes.get('a')).not.toHaveProperty('__threeObj');
  });
});

describe('endpointId', () => {
  it('reads string and object ends', () => {
    expect(endpointId('a')).toBe('a');
    expect(endpointId({ id: 'b' })).toBe('b');
  });
});

describe('readGraph', () => {
  it('accepts a well-formed graph', () => {
    const body = graph([wireNode('a'), wireNode('b')], [wireLink('l1', 'a', 'b')]);
    expect(readGraph(JSON.parse(JSON.stringify(body)))).toEqual(body);
  });

  it.each([
    ['null', null, 'the body is not a JSON object'],
    ['an array', [], 'the body is not a JSON object'],
    ['no nodes', { links: [] }, 'nodes is not an array'],
    ['no links', { nodes: [] }, 'links is not an array'],
    ['a node without id', { nodes: [{ name: 'a' }], links: [] }, 'nodes[0].id is missing'],
    [
      'a numeric link id',
      { nodes: [], links: [{ id: 7, source: 'a', target: 'b' }] },
      'links[0].id is missing',
    ],
    [
      'a link without target',
      { nodes: [], links: [{ id: 'l', source: 'a' }] },
      'links[0] lacks a string source or target',
    ],
  ])('rejects %s', (_name, body, message) => {
    expect(() => readGraph(body)).toThrow(message);
  });
});

describe('escapeHtml', () => {
  it('escapes a script tag', () => {
    expect(escapeHtml('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('escapes quotes and ampersands', () => {
    expect(escapeHtml(`a"b'c&d`)).toBe('a&quot;b&#39;c&amp;d');
  });

  it('escapes an attribute breakout', () => {
    const escaped = escapeHtml('x" onmouseover="alert(1)');
    expect(escaped).not.toContain('"');
    expect(escaped).toBe('x&quot; onmouseover=&quot;alert(1)');
  });

  it('leaves plain names alone', () => {
    expect(escapeHtml('worker-1@host.example')).toBe('worker-1@host.example');
  });

  it('renders non-strings as text', () => {
    expect(escapeHtml(42)).toBe('42');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(undefined)).toBe('');
  });
});
