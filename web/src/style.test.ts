import { describe, expect, it } from 'vitest';

import type { ViewLink, ViewNode } from './merge.js';
import {
  BUSY_LINK_MBPS,
  DEGRADED_LINK_OPACITY,
  DOWN_IN_GROUP_OPACITY,
  FAILING_LINK_COLOR,
  FLAPPING_DIM_OPACITY,
  ISOLATED_OPACITY,
  MAINTENANCE_OPACITY,
  ROLE_SIZES,
  groupedNodeColor,
  linkColor,
  linkParticles,
  linkWidth,
  nodeBlinks,
  nodeColor,
  nodeOpacity,
  nodeSize,
} from './style.js';

function node(fields: Partial<ViewNode>): ViewNode {
  return {
    id: 'n1',
    name: 'n1@host',
    role: 'worker',
    status: 'online',
    cluster_type: 'in_cluster',
    flapping: false,
    maintenance: false,
    isolated: false,
    ...fields,
  } as ViewNode;
}

function link(fields: Partial<ViewLink>): ViewLink {
  return {
    id: 'l1',
    source: 'a',
    target: 'b',
    status: 'established',
    value: 1,
    ...fields,
  } as ViewLink;
}

describe('nodeColor', () => {
  it('colours each status differently', () => {
    const statuses = ['online', 'degraded', 'offline', 'connecting', 'disconnected'] as const;
    const colors = new Set(statuses.map((status) => nodeColor(node({ status }))));
    expect(colors.size).toBe(statuses.length);
  });

  it('draws an online BEAM node opaque green', () => {
    expect(nodeColor(node({}))).toBe('rgba(46, 204, 113, 1)');
  });

  it('pales edge devices', () => {
    const beam = nodeColor(node({ cluster_type: 'in_cluster' }));
    const edge = nodeColor(node({ cluster_type: 'out_of_cluster' }));
    expect(edge).not.toBe(beam);
    expect(edge).toBe('rgba(140, 227, 177, 1)');
  });

  it('puts the marker opacity in the alpha', () => {
    expect(nodeColor(node({ maintenance: true }))).toMatch(/, 0\.3\)$/);
  });
});

describe('nodeOpacity', () => {
  it('marks maintenance, isolated and flapping nodes', () => {
    expect(nodeOpacity(node({}))).toBe(1);
    expect(nodeOpacity(node({ maintenance: true }))).toBe(MAINTENANCE_OPACITY);
    expect(nodeOpacity(node({ isolated: true }))).toBe(ISOLATED_OPACITY);
    expect(nodeOpacity(node({ flapping: true }), false)).toBe(1);
    expect(nodeOpacity(node({ flapping: true }), true)).toBe(FLAPPING_DIM_OPACITY);
  });

  it('lets maintenance win over the other markers', () => {
    const both = node({ maintenance: true, flapping: true, isolated: true });
    expect(nodeOpacity(both, false)).toBe(MAINTENANCE_OPACITY);
    expect(nodeOpacity(both, true)).toBe(MAINTENANCE_OPACITY);
  });

  it('blinks only flapping nodes', () => {
    expect(nodeOpacity(node({}), true)).toBe(1);
    expect(nodeOpacity(node({ isolated: true }), true)).toBe(ISOLATED_OPACITY);
  });
});

describe('nodeSize', () => {
  it('sizes by role', () => {
    expect(nodeSize(node({ role: 'controller' }))).toBe(ROLE_SIZES.controller);
    expect(nodeSize(node({ role: 'edge' }))).toBe(ROLE_SIZES.edge);
    expect(ROLE_SIZES.controller).toBeGreaterThan(ROLE_SIZES.worker);
    expect(ROLE_SIZES.worker).toBeGreaterThan(ROLE_SIZES.edge);
  });

  it('gives unknown roles a size', () => {
    expect(nodeSize(node({ role: 'mystery' as never }))).toBeGreaterThan(0);
  });
});

describe('link encoding', () => {
  it('widens links with their value', () => {
    expect(linkWidth(link({ value: 1 }))).toBeLessThan(linkWidth(link({ value: 4 })));
    expect(linkWidth(link({ value: 1000 }))).toBe(4);
    expect(linkWidth(link({ value: -3 }))).toBe(0.5);
    expect(linkWidth(link({ value: Number.NaN }))).toBe(1);
  });

  it('adds particles only to busy links', () => {
    expect(linkParticles(link({ bandwidth_mbps: null }))).toBe(0);
    expect(linkParticles(link({ bandwidth_mbps: BUSY_LINK_MBPS - 1 }))).toBe(0);
    expect(linkParticles(link({ bandwidth_mbps: BUSY_LINK_MBPS }))).toBe(1);
    expect(linkParticles(link({ bandwidth_mbps: BUSY_LINK_MBPS * 10 }))).toBe(2);
    expect(linkParticles(link({ bandwidth_mbps: 1e12 }))).toBe(4);
  });

  it('dims degraded links', () => {
    expect(linkColor(link({ status: 'established' }))).toMatch(/, 1\)$/);
    expect(linkColor(link({ status: 'degraded' }))).toMatch(
      new RegExp(`, ${DEGRADED_LINK_OPACITY}\\)$`),
    );
  });

  it('draws a failing link in its own colour', () => {
    expect(linkColor(link({ status: 'established', failing: true }))).toBe(FAILING_LINK_COLOR);
  });
});

describe('groups', () => {
  const collapsed = (members: number, disrupted = false) =>
    node({
      collapsed: {
        group: 'g',
        members: Array.from({ length: members }, (_, i) => `m${i}`),
        counts: {},
        disrupted,
      },
    });

  it('sizes a collapsed group by its members, up to a bound', () => {
    expect(nodeSize(collapsed(2))).toBeGreaterThan(nodeSize(node({ role: 'worker' })));
    expect(nodeSize(collapsed(20))).toBeGreaterThan(nodeSize(collapsed(2)));
    expect(nodeSize(collapsed(100_000))).toBe(nodeSize(collapsed(1_000_000)));
  });

  it('blinks a disrupted group', () => {
    expect(nodeBlinks(collapsed(3, true))).toBe(true);
    expect(nodeBlinks(collapsed(3))).toBe(false);
    expect(nodeOpacity(collapsed(3, true), true)).toBe(FLAPPING_DIM_OPACITY);
    expect(nodeOpacity(collapsed(3, true), false)).toBe(1);
  });

  it('colours by group and fades nodes that are down', () => {
    expect(groupedNodeColor(node({ status: 'online' }), '#4e79a7')).toBe('rgba(78, 121, 167, 1)');
    expect(groupedNodeColor(node({ status: 'offline' }), '#4e79a7')).toBe(
      `rgba(78, 121, 167, ${DOWN_IN_GROUP_OPACITY})`,
    );
  });
});
