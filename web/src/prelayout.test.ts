import { describe, expect, it } from 'vitest';

import type { ViewLink, ViewNode } from './merge.js';
import { prelayout } from './prelayout.js';

function ring(size: number): { nodes: ViewNode[]; links: ViewLink[] } {
  const nodes = Array.from({ length: size }, (_, i) => ({ id: `n${i}` }) as ViewNode);
  const links = nodes.map(
    (node, i) => ({ id: `l${i}`, source: node.id, target: `n${(i + 1) % size}` }) as ViewLink,
  );
  return { nodes, links };
}

describe('prelayout', () => {
  it('places every node and leaves the links as they were', async () => {
    const { nodes, links } = ring(50);
    const progress: number[] = [];
    await prelayout(nodes, links, 3, (share) => progress.push(share), new AbortController().signal);

    for (const node of nodes) {
      expect(Number.isFinite(node.x)).toBe(true);
      expect(Number.isFinite(node.y)).toBe(true);
      expect(Number.isFinite(node.z)).toBe(true);
      expect(node.vx).toBe(0);
    }
    expect(links[0]).toMatchObject({ source: 'n0', target: 'n1' });
    expect(progress.at(-1)).toBe(1);
    // Linked nodes end closer together than the ring's opposite sides.
    const distance = (a: ViewNode, b: ViewNode) =>
      Math.hypot(a.x! - b.x!, a.y! - b.y!, (a.z ?? 0) - (b.z ?? 0));
    expect(distance(nodes[0]!, nodes[1]!)).toBeLessThan(distance(nodes[0]!, nodes[25]!));
  });

  it('ignores a link to a node it was not given', async () => {
    const { nodes } = ring(3);
    const links = [{ id: 'x', source: 'n0', target: 'missing' } as ViewLink];
    await prelayout(nodes, links, 2, () => {}, new AbortController().signal);
    expect(nodes.every((node) => Number.isFinite(node.x))).toBe(true);
  });

  it('stops when aborted', async () => {
    const { nodes, links } = ring(10);
    const controller = new AbortController();
    const progress: number[] = [];
    controller.abort();
    await prelayout(nodes, links, 3, (share) => progress.push(share), controller.signal);
    expect(progress).toEqual([]);
  });
});
