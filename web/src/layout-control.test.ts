import { describe, expect, it } from 'vitest';

import { createLayoutControl, SETTLED_CHANGE_TICKS, type LayoutGraph } from './layout-control.js';
import type { ViewLink, ViewNode } from './merge.js';
import type { GraphData } from './view.js';

/** Creates a stand-in for the graph library that records what the control hands it. */
function fakeGraph() {
  const calls: { data: GraphData; cooldown: number }[] = [];
  let cooldown = Infinity;
  const graph: LayoutGraph = {
    graphData(data) {
      calls.push({ data, cooldown });
    },
    cooldownTicks(ticks) {
      cooldown = ticks;
    },
  };
  return { graph, calls, cooldown: () => cooldown };
}

function node(id: string, at?: number): ViewNode {
  const created = { id } as ViewNode;
  if (at !== undefined) Object.assign(created, { x: at, y: at, z: at });
  return created;
}

function link(source: string, target: string): ViewLink {
  return { id: `${source}-${target}`, source, target } as ViewLink;
}

const pinned = (nodes: ViewNode[]) => nodes.filter((n) => n.fx !== undefined).map((n) => n.id);

describe('createLayoutControl', () => {
  it('lets a new small graph lay out freely', () => {
    const { graph, calls } = fakeGraph();
    const control = createLayoutControl(graph, 3, () => {});
    const nodes = [node('a'), node('b')];
    control.load({ nodes, links: [link('a', 'b')] }, false);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.cooldown).toBe(Infinity);
    expect(pinned(nodes)).toEqual([]);
    expect(control.running).toBe(true);
  });

  it('pins only the nodes drawn before a change to a settled graph', () => {
    const { graph, calls, cooldown } = fakeGraph();
    const control = createLayoutControl(graph, 3, () => {});
    const a = node('a');
    const b = node('b');
    control.load({ nodes: [a, b], links: [] }, false);
    Object.assign(a, { x: 0, y: 0, z: 0 });
    Object.assign(b, { x: 50, y: 0, z: 0 });
    control.settled();
    expect(cooldown()).toBe(0);

    // `c` is new, and `m` is a member of a group that was just expanded: it has a position
    // next to where the group was, but was not drawn before.
    const c = node('c');
    const m = node('m', 1);
    const nodes = [a, b, c, m];
    control.load({ nodes, links: [link('a', 'c')] }, false);
    expect(pinned(nodes)).toEqual(['a', 'b']);
    expect(calls.at(-1)!.cooldown).toBe(SETTLED_CHANGE_TICKS);
    // The new node starts next to its linked neighbour.
    expect(Math.abs(c.x! - a.x!)).toBeLessThanOrEqual(5);

    control.settled();
    expect(pinned(nodes)).toEqual([]);
  });

  it('starts settled when every node already has a place', () => {
    const { graph, calls } = fakeGraph();
    const control = createLayoutControl(graph, 2, () => {});
    const nodes = [node('a', 0), node('b', 10)];
    control.load({ nodes, links: [] }, false);
    expect(calls[0]!.cooldown).toBe(SETTLED_CHANGE_TICKS);
    expect(pinned(nodes)).toEqual(['a', 'b']);
  });

  it('lays out a large new graph before handing it over', async () => {
    const { graph, calls } = fakeGraph();
    const progress: (number | undefined)[] = [];
    const done = new Promise<void>((resolve) => {
      const control = createLayoutControl(graph, 3, (share) => {
        progress.push(share);
        if (share === undefined) resolve();
      });
      const nodes = Array.from({ length: 20 }, (_, i) => node(`n${i}`));
      control.load({ nodes, links: [link('n0', 'n1')] }, true);
      expect(calls).toHaveLength(0);
    });
    await done;
    expect(calls).toHaveLength(1);
    expect(calls[0]!.cooldown).toBe(0);
    expect(calls[0]!.data.nodes.every((n) => Number.isFinite(n.x))).toBe(true);
    expect(progress[0]).toBe(0);
  });

  it('forgets the starting positions of a layout cut short', () => {
    const { graph, calls } = fakeGraph();
    const progress: (number | undefined)[] = [];
    const control = createLayoutControl(graph, 3, (share) => progress.push(share));
    const nodes = Array.from({ length: 20 }, (_, i) => node(`n${i}`));
    control.load({ nodes, links: [] }, true);
    control.dispose();
    expect(nodes.every((n) => n.x === undefined)).toBe(true);
    expect(progress.at(-1)).toBeUndefined();
    expect(calls).toHaveLength(0);
  });
});
