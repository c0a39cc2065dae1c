// Lays out a large graph before its first frame without freezing the page. The graph libraries
// can run the layout before drawing (`warmupTicks`), but they run every tick in one task, which
// takes seconds on thousands of nodes. This runs the same forces, with the libraries' default
// settings, a few ticks per task, and reports its progress.
import { forceCenter, forceLink, forceManyBody, forceSimulation } from 'd3-force-3d';

import type { ViewLink, ViewNode } from './merge.js';

/** Ticks of layout before the first frame. d3's alpha falls from 1 to about 0.06 over 120. */
export const PRELAYOUT_TICKS = 120;
/** Time a slice of ticks may take before the page gets the main thread back, in milliseconds. */
const SLICE_MS = 40;

/**
 * Runs PRELAYOUT_TICKS ticks of a force layout on the nodes, writing `x`, `y` (and `z` in 3D)
 * onto them. Links are copied, so their ends stay ids for the graph library to resolve. Resolves
 * when done, or early when `signal` aborts.
 */
export async function prelayout(
  nodes: ViewNode[],
  links: readonly ViewLink[],
  dimensions: 2 | 3,
  onProgress: (share: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const ids = new Set(nodes.map((node) => node.id));
  const endId = (end: string | ViewNode) => (typeof end === 'string' ? end : end.id);
  const copies = links
    .map((link) => ({ source: endId(link.source), target: endId(link.target) }))
    .filter((link) => ids.has(link.source) && ids.has(link.target));
  const simulation = forceSimulation(nodes, dimensions)
    .force(
      'link',
      forceLink<ViewNode, { source: string; target: string }>(copies).id((n) => n.id),
    )
    .force('charge', forceManyBody())
    .force('center', forceCenter())
    .stop();

  let done = 0;
  while (done < PRELAYOUT_TICKS && !signal.aborted) {
    const sliceEnd = performance.now() + SLICE_MS;
    do {
      simulation.tick();
      done += 1;
    } while (done < PRELAYOUT_TICKS && performance.now() < sliceEnd);
    onProgress(done / PRELAYOUT_TICKS);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  // d3 keeps velocities on the nodes, which would carry them on when the graph starts.
  for (const node of nodes) {
    node.vx = 0;
    node.vy = 0;
    node.vz = 0;
  }
}
