// The layout control: it pins placed nodes during changes to a settled graph, lays out a large
// new graph before its first frame, and starts new nodes next to their neighbours.
// It drives the graph library only through `graphData` and `cooldownTicks`, so it works with
// both 3d-force-graph and force-graph.
import type { ViewNode } from './merge.js';
import { prelayout } from './prelayout.js';
import type { GraphData } from './view.js';

/** Layout ticks after a change to a settled graph, while the nodes drawn before stay pinned. */
export const SETTLED_CHANGE_TICKS = 60;
/** Time after the first data from which the layout counts as settled even if it never stopped. */
const SETTLE_AFTER_MS = 20_000;
/** Spread of a new node around the linked node it starts next to, in layout units. */
const NEW_NODE_SPREAD = 10;

/** The calls that the layout control needs, which both graph libraries provide. */
export interface LayoutGraph {
  graphData(data: GraphData): unknown;
  cooldownTicks(ticks: number): unknown;
}

export interface LayoutControl {
  /** Whether the user paused the layout, which the control then leaves stopped. */
  paused: boolean;
  /** Whether the force simulation is moving nodes. */
  running: boolean;
  /** Hands new data to the layout. */
  load(data: GraphData, large: boolean): void;
  /** Records that the layout came to rest and releases the nodes pinned for the last change. */
  settled(): void;
  /** Stops a layout that is still being computed before the first frame. */
  dispose(): void;
}

/**
 * Decides how the layout treats new data. Every graphData() call restarts the force simulation,
 * so once the layout has come to rest, a change pins the nodes already placed (`fx`, `fy`, `fz`)
 * and runs only SETTLED_CHANGE_TICKS ticks, in which new nodes find their place around them. The
 * pins go when the layout stops. A large graph that is mostly new is laid out by `prelayout`
 * before its first frame, and drawn with the layout stopped.
 * NOTE: a node dragged after the layout settled stays where it is dropped, because the engine
 * stops as soon as the drag ends.
 */
export function createLayoutControl(
  graph: LayoutGraph,
  dimensions: 2 | 3,
  onProgress: (share: number | undefined) => void,
): LayoutControl {
  let hasSettled = false;
  let firstLoadAt: number | undefined;
  let pinned: ViewNode[] = [];
  // The nodes of the last data handed to the graph. Only these keep their place on a change:
  // the others are new, or members of a group that was just expanded, and need the layout.
  let drawn = new Set<ViewNode>();
  // While a prelayout runs, the data that arrives meanwhile waits here.
  let prelayoutData: GraphData | undefined;
  const aborted = new AbortController();

  const unpin = () => {
    for (const node of pinned) {
      delete node.fx;
      delete node.fy;
      delete node.fz;
    }
    pinned = [];
  };

  const hand = (data: GraphData) => {
    drawn = new Set(data.nodes);
    graph.graphData(data);
  };

  const control: LayoutControl = {
    paused: false,
    running: false,
    load(data, large) {
      if (prelayoutData) {
        prelayoutData = data;
        return;
      }
      unpin();
      const now = performance.now();
      const first = firstLoadAt === undefined;
      firstLoadAt ??= now;
      // Changes that keep coming stop the layout from ever coming to rest, so after a while the
      // layout counts as settled anyway. A first load whose nodes all have a place, as after a
      // switch between 2D and 3D, starts settled.
      if (now - firstLoadAt > SETTLE_AFTER_MS) hasSettled = true;
      const placed = data.nodes.every((node) => node.x !== undefined);
      if (first && placed && data.nodes.length > 0) {
        hasSettled = true;
        drawn = new Set(data.nodes);
      }

      const fresh = data.nodes.filter((node) => !drawn.has(node)).length;
      if (large && fresh > data.nodes.length / 2) {
        startPrelayout(data);
        return;
      }
      if (hasSettled) {
        placeNearNeighbours(data);
        for (const node of data.nodes) {
          if (!drawn.has(node) || node.x === undefined || node.y === undefined) continue;
          if (node.fx !== undefined) continue;
          node.fx = node.x;
          node.fy = node.y;
          node.fz = node.z ?? 0;
          pinned.push(node);
        }
      }
      this.running = !this.paused;
      if (!this.paused) graph.cooldownTicks(hasSettled ? SETTLED_CHANGE_TICKS : Infinity);
      hand(data);
    },
    settled() {
      hasSettled = true;
      this.running = false;
      unpin();
      // Any later change of a graph setting restarts the engine of both libraries, and without
      // this the simulation would run on with the pins gone. Resuming a paused layout lifts it.
      graph.cooldownTicks(0);
    },
    dispose() {
      aborted.abort();
      if (prelayoutData) onProgress(undefined);
      // A prelayout cut short leaves d3's starting positions, which are no layout, so the next
      // view lays these nodes out again.
      for (const node of prelayoutData?.nodes ?? []) {
        delete node.x;
        delete node.y;
        delete node.z;
      }
    },
  };

  const startPrelayout = (data: GraphData) => {
    prelayoutData = data;
    onProgress(0);
    void prelayout(data.nodes, data.links, dimensions, onProgress, aborted.signal)
      .catch((error: unknown) => console.error('failed to lay out the graph', error))
      .finally(() => {
        if (aborted.signal.aborted) return;
        onProgress(undefined);
        const latest = prelayoutData ?? data;
        prelayoutData = undefined;
        placeNearNeighbours(latest);
        // The layout is computed, so the graph starts with its engine stopped.
        hasSettled = true;
        control.running = false;
        graph.cooldownTicks(0);
        hand(latest);
      });
  };

  return control;
}

/**
 * Starts each node that has no position yet next to a linked node that has one, so it begins
 * its few ticks of layout close to where it belongs rather than at the origin.
 */
function placeNearNeighbours(data: GraphData): void {
  const unplaced = new Set(data.nodes.filter((node) => node.x === undefined));
  if (unplaced.size === 0) return;
  const byId = new Map(data.nodes.map((node) => [node.id, node]));
  const resolve = (end: string | ViewNode) => (typeof end === 'string' ? byId.get(end) : end);
  for (const link of data.links) {
    const source = resolve(link.source);
    const target = resolve(link.target);
    if (!source || !target) continue;
    const [fresh, anchor] = unplaced.has(source) ? [source, target] : [target, source];
    if (!unplaced.has(fresh) || anchor.x === undefined || anchor.y === undefined) continue;
    const jitter = () => (Math.random() - 0.5) * NEW_NODE_SPREAD;
    fresh.x = anchor.x + jitter();
    fresh.y = anchor.y + jitter();
    fresh.z = (anchor.z ?? 0) + jitter();
    unplaced.delete(fresh);
  }
}
