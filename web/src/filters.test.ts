import { describe, expect, it } from 'vitest';

import {
  FILTERS_STORAGE_KEY,
  emptyFilters,
  filterOptions,
  filtersActive,
  drawnNodeMatches,
  linkMatches,
  loadFilters,
  nodeMatches,
  parseFilters,
  saveFilters,
  serializeFilters,
} from './filters.js';
import type { ViewLink, ViewNode } from './merge.js';

function node(id: string, fields: Partial<ViewNode> = {}): ViewNode {
  return {
    id,
    name: id,
    role: 'worker',
    domain: 'default',
    status: 'online',
    status_changed_at: '2026-01-01T00:00:00Z',
    cluster_type: 'in_cluster',
    flapping: false,
    maintenance: false,
    isolated: false,
    val: 1,
    cpu_load: null,
    mem_used_mb: null,
    latency_ms: null,
    groups: [],
    capabilities: {},
    meta: {},
    ...fields,
  };
}

function link(source: string | ViewNode, target: string | ViewNode): ViewLink {
  return {
    id: 'l1',
    source,
    target,
    value: 1,
    session_type: 'cluster',
    status: 'established',
    latency_ms: null,
    bandwidth_mbps: null,
  };
}

describe('nodeMatches', () => {
  it('passes every node without filters', () => {
    expect(nodeMatches(node('a'), emptyFilters())).toBe(true);
  });

  it('matches any selected value of a field', () => {
    const filters = { ...emptyFilters(), status: ['offline', 'degraded'] };
    expect(nodeMatches(node('a', { status: 'degraded' }), filters)).toBe(true);
    expect(nodeMatches(node('b', { status: 'online' }), filters)).toBe(false);
  });

  it('requires every filtering field', () => {
    const filters = { ...emptyFilters(), role: ['edge'], domain: ['lab'] };
    expect(nodeMatches(node('a', { role: 'edge', domain: 'lab' }), filters)).toBe(true);
    expect(nodeMatches(node('b', { role: 'edge', domain: 'prod' }), filters)).toBe(false);
    expect(nodeMatches(node('c', { role: 'worker', domain: 'lab' }), filters)).toBe(false);
  });

  it('matches cluster type', () => {
    const filters = { ...emptyFilters(), cluster_type: ['out_of_cluster'] };
    expect(nodeMatches(node('a', { cluster_type: 'out_of_cluster' }), filters)).toBe(true);
    expect(nodeMatches(node('b'), filters)).toBe(false);
  });

  it('matches capability keys', () => {
    const filters = { ...emptyFilters(), capability: ['gpu'] };
    expect(nodeMatches(node('a', { capabilities: { gpu: 'a100' } }), filters)).toBe(true);
    expect(nodeMatches(node('b', { capabilities: { gpu: null } }), filters)).toBe(true);
    expect(nodeMatches(node('c', { capabilities: { camera: 'x' } }), filters)).toBe(false);
  });

  it('matches any of a node’s groups', () => {
    const filters = { ...emptyFilters(), group: ['eu'] };
    expect(nodeMatches(node('a', { groups: ['us', 'eu'] }), filters)).toBe(true);
    expect(nodeMatches(node('b', { groups: [] }), filters)).toBe(false);
  });
});

describe('linkMatches', () => {
  const nodes = new Map([
    ['a', node('a', { status: 'offline' })],
    ['b', node('b', { status: 'online' })],
  ]);

  it('needs both ends to pass', () => {
    const filters = { ...emptyFilters(), status: ['online'] };
    expect(linkMatches(link('a', 'b'), nodes, filters)).toBe(false);
    expect(linkMatches(link('a', 'b'), nodes, emptyFilters())).toBe(true);
  });

  it('accepts node objects as ends', () => {
    const filters = { ...emptyFilters(), status: ['online', 'offline'] };
    expect(linkMatches(link(nodes.get('a')!, nodes.get('b')!), nodes, filters)).toBe(true);
  });

  it('hides a link with an unknown end', () => {
    expect(linkMatches(link('a', 'missing'), nodes, emptyFilters())).toBe(false);
  });

  it('passes a collapsed group when any member passes', () => {
    const group = node('group:g', {
      collapsed: { group: 'g', members: ['a', 'b'], counts: {}, disrupted: false },
    });
    const drawn = new Map([['group:g', group]]);
    const online = { ...emptyFilters(), status: ['online'] };
    const degraded = { ...emptyFilters(), status: ['degraded'] };
    expect(drawnNodeMatches(group, nodes, online)).toBe(true);
    expect(drawnNodeMatches(group, nodes, degraded)).toBe(false);
    expect(linkMatches(link('group:g', 'group:g'), drawn, online, nodes)).toBe(true);
  });
});

describe('filterOptions', () => {
  it('collects sorted distinct values', () => {
    const options = filterOptions([
      node('a', { role: 'edge', groups: ['z2', 'z1'], capabilities: { gpu: null } }),
      node('b', { role: 'controller', groups: ['z1'], capabilities: { camera: 'x', gpu: '1' } }),
    ]);
    expect(options.role).toEqual(['controller', 'edge']);
    expect(options.group).toEqual(['z1', 'z2']);
    expect(options.capability).toEqual(['camera', 'gpu']);
    expect(options.status).toEqual(['online']);
  });
});

describe('stored filters', () => {
  it('round-trip through JSON', () => {
    const filters = { ...emptyFilters(), status: ['offline'], group: ['eu'] };
    expect(parseFilters(serializeFilters(filters))).toEqual(filters);
  });

  it('ignore invalid entries', () => {
    expect(parseFilters(null)).toEqual(emptyFilters());
    expect(parseFilters('not json')).toEqual(emptyFilters());
    expect(parseFilters('[1]')).toEqual(emptyFilters());
    const parsed = parseFilters('{"status":["online",3,"online"],"colour":["red"],"role":"edge"}');
    expect(parsed).toEqual({ ...emptyFilters(), status: ['online'] });
  });

  it('load and save through storage', () => {
    const items = new Map<string, string>();
    const storage = {
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value),
    };
    const filters = { ...emptyFilters(), role: ['edge'] };
    expect(saveFilters(storage, filters)).toBe(true);
    expect(items.has(FILTERS_STORAGE_KEY)).toBe(true);
    expect(loadFilters(storage)).toEqual(filters);
  });

  it('survive a storage that throws', () => {
    const failing = {
      getItem: (): string | null => {
        throw new Error('blocked');
      },
      setItem: () => {
        throw new Error('quota');
      },
    };
    expect(loadFilters(failing)).toEqual(emptyFilters());
    expect(saveFilters(failing, emptyFilters())).toBe(false);
  });
});

describe('filtersActive', () => {
  it('reports whether any field filters', () => {
    expect(filtersActive(emptyFilters())).toBe(false);
    expect(filtersActive({ ...emptyFilters(), domain: ['lab'] })).toBe(true);
  });
});
