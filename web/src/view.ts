// The drawn graph, in 3D with 3d-force-graph or in 2D with force-graph. Both draw the same node
// and link objects from the page's GraphState, so switching keeps every node's position, and
// both take the same style and visibility accessors.
import ForceGraph3D from '3d-force-graph';
import ForceGraph2D from 'force-graph';

import type { ViewLink, ViewNode } from './merge.js';
import { fitToView, flyTo, setLayoutPaused, type ForceGraph } from './navigation.js';
import { prelayout } from './prelayout.js';
import { linkColor, linkParticles, linkWidth, nodeSize } from './style.js';

export type ViewMode = '2d' | '3d';

type ForceGraph2DType = ForceGraph2D<ViewNode, ViewLink>;

const BACKGROUND = '#0b0e14';
const FLY_MS = 1000;
const FIT_MS = 600;
const FIT_PADDING_PX = 40;
/** Zoom factor of the 2D view after it centres on a node. */
const FOCUS_ZOOM = 4;

/** The nodes and links to draw. The view keeps the objects and lets the layout move them. */
export interface GraphData {
  nodes: ViewNode[];
  links: ViewLink[];
}

export interface ViewOptions {
  /** Returns the objects to draw, called on creation and on every `setData()`. */
  data(): GraphData;
  nodeColor(node: ViewNode): string;
  nodeLabel(node: ViewNode): string;
  linkLabel(link: ViewLink): string;
  nodeVisible(node: ViewNode): boolean;
  linkVisible(link: ViewLink): boolean;
  onNodeClick(node: ViewNode): void;
  /** Called each time the layout comes to rest. */
  onSettled(): void;
  /**
   * Called with the share done, from 0 to 1, while a large graph is laid out before its first
   * frame, and with undefined when that is over.
   */
  onLayoutProgress(share: number | undefined): void;
}

/**
 * Nodes from which the view draws for speed: the layout is computed before the first frame,
 * spheres have fewer faces, and links are drawn as lines without width or particles. 3d-force-graph draws each
 * node as its own mesh, and frame rates drop at about 5,000 nodes (its author's figure).
 */
export const LARGE_GRAPH_NODES = 1000;
/** Layout ticks after a change to a settled graph, while the nodes already placed stay pinned. */
const SETTLED_CHANGE_TICKS = 60;
/** Time without input, changes or layout movement after which the view stops drawing frames. */
const IDLE_AFTER_MS = 2000;
/** Time after the first data from which the layout counts as settled even if it never stopped. */
const SETTLE_AFTER_MS = 20_000;
/** Spread of a new node around the linked node it starts next to, in layout units. */
const NEW_NODE_SPREAD = 10;

/** One drawn graph. `destroy()` removes its canvas and frees its renderer. */
export interface GraphView {
  readonly mode: ViewMode;
  /** Hands the state's current nodes and links to the layout, which restarts it. */
  setData(): void;
  /**
   * Rebuilds node colours and sizes from the mutated objects without restarting the layout, and
   * link colours, widths and particles too when `links` is true.
   */
  restyle(links: boolean): void;
  /** Rebuilds only the node colours, which carry the flapping blink. */
  recolorNodes(): void;
  /** Re-applies the visibility accessors after the filters changed. */
  refilter(): void;
  focus(node: ViewNode): void;
  fit(): void;
  setPaused(paused: boolean): void;
  /** Returns whether the view draws frames, which it stops doing while nothing moves. */
  isAnimating(): boolean;
  /** Returns where a node is drawn, in CSS pixels relative to the canvas. */
  screenPosition(node: ViewNode): { x: number; y: number } | undefined;
  resize(width: number, height: number): void;
  destroy(): void;
}

/**
 * Returns whether the browser can create a WebGL context. The probe releases its context,
 * because browsers cap the number of live WebGL contexts.
 */
export function webglAvailable(): boolean {
  try {
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
    context?.getExtension('WEBGL_lose_context')?.loseContext();
    return context !== null;
  } catch {
    return false;
  }
}

/** Creates the 3D view. Throws when three.js cannot create its WebGL renderer. */
export function create3DView(container: HTMLElement, options: ViewOptions): GraphView {
  // The constructor's type fixes the default node and link types, so the page's own types are
  // set on the instance it returns.
  const graph = new ForceGraph3D(container) as unknown as ForceGraph;
  graph.showNavInfo(false).nodeOpacity(0.9).linkOpacity(0.6);
  const core = createViewCore(graph, container, options, {
    dimensions: 3,
    setPaused: (paused) => setLayoutPaused(graph, paused),
    beforeLoad(large) {
      graph.nodeResolution(large ? 4 : 8);
      // A width of 0 draws a line, while any other width draws a cylinder mesh per link.
      graph.linkWidth(large ? 0 : linkWidth);
    },
  });

  return {
    ...core,
    mode: '3d',
    focus(node) {
      flyTo(graph, node);
      core.wake(FLY_MS + IDLE_AFTER_MS);
    },
    fit() {
      fitToView(graph);
      core.wake(FIT_MS + IDLE_AFTER_MS);
    },
    screenPosition(node) {
      if (node.x === undefined || node.y === undefined) return undefined;
      return graph.graph2ScreenCoords(node.x, node.y, node.z ?? 0);
    },
    destroy() {
      core.destroy();
      // In 3d-force-graph 1.80, _destructor() leaves the renderer and the controls alive, so
      // they are freed here.
      graph.renderer().dispose();
      (graph.controls() as { dispose?: () => void }).dispose?.();
      container.replaceChildren();
    },
  };
}

/** Creates the 2D view, drawn on a canvas without WebGL. */
export function create2DView(container: HTMLElement, options: ViewOptions): GraphView {
  const graph = new ForceGraph2D<ViewNode, ViewLink>(container);
  graph.linkWidth(linkWidth);
  const core = createViewCore(graph, container, options, {
    dimensions: 2,
    setPaused: (paused) => setLayoutPaused2D(graph, paused),
    beforeLoad: () => {},
  });

  return {
    ...core,
    mode: '2d',
    focus(node) {
      graph.centerAt(node.x ?? 0, node.y ?? 0, FLY_MS);
      graph.zoom(FOCUS_ZOOM, FLY_MS);
      core.wake(FLY_MS + IDLE_AFTER_MS);
    },
    fit() {
      graph.zoomToFit(FIT_MS, FIT_PADDING_PX);
      core.wake(FIT_MS + IDLE_AFTER_MS);
    },
    screenPosition(node) {
      if (node.x === undefined || node.y === undefined) return undefined;
      return graph.graph2ScreenCoords(node.x, node.y);
    },
    destroy() {
      core.destroy();
      container.replaceChildren();
    },
  };
}

/**
 * The calls of 3d-force-graph and force-graph that both views make in the same way. Their types
 * differ between the libraries, so the accessors here are typed loosely: each is set once from
 * ViewOptions and then only read back and set again.
 */
interface SharedGraph {
  width(pixels: number): unknown;
  height(pixels: number): unknown;
  backgroundColor(color: string): unknown;
  nodeVal(accessor?: unknown): unknown;
  nodeColor(accessor?: unknown): unknown;
  nodeLabel(accessor: (node: ViewNode) => string): unknown;
  nodeVisibility(accessor?: unknown): unknown;
  linkColor(accessor?: unknown): unknown;
  linkWidth(accessor?: unknown): unknown;
  linkDirectionalParticles(accessor?: unknown): unknown;
  linkDirectionalParticleWidth(width: number): unknown;
  linkLabel(accessor: (link: ViewLink) => string): unknown;
  linkVisibility(accessor?: unknown): unknown;
  onNodeClick(callback: (node: ViewNode) => void): unknown;
  onEngineStop(callback: () => void): unknown;
  graphData(data: GraphData): unknown;
  cooldownTicks(ticks: number): unknown;
  pauseAnimation(): unknown;
  resumeAnimation(): unknown;
  _destructor(): void;
}

/** The part of a view that both modes share, plus `wake` for the mode's camera moves. */
type ViewCore = Omit<GraphView, 'mode' | 'focus' | 'fit' | 'screenPosition'> & {
  wake(ms?: number): void;
};

/**
 * Sets up what both views share: the style accessors, the layout control, the idle render loop,
 * and the update calls. `beforeLoad` adjusts the drawing to the graph's size before each load.
 */
function createViewCore(
  graphOfMode: object,
  container: HTMLElement,
  options: ViewOptions,
  mode: {
    dimensions: 2 | 3;
    setPaused(paused: boolean): void;
    beforeLoad(large: boolean): void;
  },
): ViewCore {
  const graph = graphOfMode as SharedGraph;
  const layout = createLayoutControl(graph, mode.dimensions, options.onLayoutProgress);
  let particles = false;
  const idle = createIdleAnimation(graph, container, () => !layout.running && !particles);
  const hasParticles = (data: GraphData) =>
    data.nodes.length < LARGE_GRAPH_NODES && data.links.some((link) => linkParticles(link) > 0);
  const reapply = (accessor: keyof SharedGraph & `${'node' | 'link'}${string}`) => {
    const call = graph[accessor] as (value?: unknown) => unknown;
    call.call(graph, call.call(graph));
  };

  graph.width(container.clientWidth || window.innerWidth);
  graph.height(container.clientHeight || window.innerHeight);
  graph.backgroundColor(BACKGROUND);
  graph.nodeVal(nodeSize);
  graph.nodeColor(options.nodeColor);
  graph.nodeLabel(options.nodeLabel);
  graph.nodeVisibility(options.nodeVisible);
  graph.linkColor(linkColor);
  graph.linkDirectionalParticleWidth(1.5);
  graph.linkLabel(options.linkLabel);
  graph.linkVisibility(options.linkVisible);
  graph.onNodeClick((node) => options.onNodeClick(node));
  graph.onEngineStop(() => {
    layout.settled();
    idle.wake();
    options.onSettled();
  });

  const setData = () => {
    const data = options.data();
    const large = data.nodes.length >= LARGE_GRAPH_NODES;
    mode.beforeLoad(large);
    graph.linkDirectionalParticles(large ? 0 : linkParticles);
    particles = hasParticles(data);
    layout.load(data, large);
    idle.wake();
  };
  setData();

  return {
    setData,
    // Re-setting an accessor rebuilds the drawn objects from the mutated data without
    // restarting the layout, which a graphData() call would do.
    restyle(links) {
      reapply('nodeColor');
      reapply('nodeVal');
      if (links) {
        reapply('linkColor');
        reapply('linkWidth');
        reapply('linkDirectionalParticles');
        particles = hasParticles(options.data());
      }
      idle.wake();
    },
    recolorNodes() {
      reapply('nodeColor');
      idle.wake();
    },
    refilter() {
      reapply('nodeVisibility');
      reapply('linkVisibility');
      idle.wake();
    },
    setPaused(paused) {
      layout.paused = paused;
      layout.running = !paused;
      mode.setPaused(paused);
      idle.wake();
    },
    resize(width, height) {
      graph.width(width);
      graph.height(height);
      idle.wake();
    },
    wake: idle.wake,
    isAnimating: () => !idle.paused,
    destroy() {
      layout.dispose();
      idle.stop();
      graph.pauseAnimation();
      graph._destructor();
    },
  };
}

// The same rule as setLayoutPaused for the 3D graph: `cooldownTicks(0)` keeps the layout
// stopped when new data arrives.
function setLayoutPaused2D(graph: ForceGraph2DType, paused: boolean): void {
  if (paused) {
    graph.cooldownTicks(0);
  } else {
    graph.cooldownTicks(Infinity);
    graph.d3ReheatSimulation();
  }
}

/** The calls that the layout control needs, which both graph libraries provide. */
interface LayoutGraph {
  graphData(data: GraphData): unknown;
  cooldownTicks(ticks: number): unknown;
}

interface LayoutControl {
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
function createLayoutControl(
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

/** The render loop calls that both graph libraries provide. */
interface AnimatedGraph {
  pauseAnimation(): unknown;
  resumeAnimation(): unknown;
}

/**
 * Stops the render loop while nothing moves. Both libraries draw every animation frame even when
 * the graph is still, which on a large graph keeps a core busy all day. The loop stops
 * IDLE_AFTER_MS after the last input or change, once `canIdle` allows it: while the layout
 * runs or particles travel along links it keeps drawing. Pointer input over the graph, which
 * the hover tooltips and camera controls need, starts it again.
 */
function createIdleAnimation(
  graph: AnimatedGraph,
  container: HTMLElement,
  canIdle: () => boolean,
): { wake(ms?: number): void; stop(): void; readonly paused: boolean } {
  let paused = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const check = () => {
    timer = undefined;
    if (!canIdle()) {
      wake();
      return;
    }
    graph.pauseAnimation();
    paused = true;
  };
  const wake = (ms = IDLE_AFTER_MS) => {
    if (paused) {
      graph.resumeAnimation();
      paused = false;
    }
    clearTimeout(timer);
    timer = setTimeout(check, ms);
  };
  const onInput = () => wake();
  const inputs = ['pointermove', 'pointerdown', 'wheel', 'touchstart'] as const;
  for (const type of inputs) container.addEventListener(type, onInput, { passive: true });

  return {
    wake,
    stop() {
      clearTimeout(timer);
      for (const type of inputs) container.removeEventListener(type, onInput);
    },
    get paused() {
      return paused;
    },
  };
}
