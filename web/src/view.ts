// The drawn graph, in 3D with 3d-force-graph or in 2D with force-graph. Both draw the same node
// and link objects from the page's GraphState, so switching keeps every node's position, and
// both take the same style and visibility accessors.
import ForceGraph3D from '3d-force-graph';
import ForceGraph2D from 'force-graph';

import type { ViewLink, ViewNode } from './merge.js';
import { fitToView, flyTo, setLayoutPaused, type ForceGraph } from './navigation.js';
import { createLayoutControl } from './layout-control.js';
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
/** Time without input, changes or layout movement after which the view stops drawing frames. */
const IDLE_AFTER_MS = 2000;

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
