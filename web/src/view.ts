// The drawn graph, in 3D with 3d-force-graph or in 2D with force-graph. Both draw the same node
// and link objects from the page's GraphState, so switching keeps every node's position, and
// both take the same style and visibility accessors.
import ForceGraph3D from '3d-force-graph';
import ForceGraph2D from 'force-graph';

import { linkLabel, nodeLabel } from './labels.js';
import { graphArrays, type GraphState, type ViewLink, type ViewNode } from './merge.js';
import { fitToView, flyTo, setLayoutPaused, type ForceGraph } from './navigation.js';
import { linkColor, linkParticles, linkWidth, nodeColor, nodeSize } from './style.js';

export type ViewMode = '2d' | '3d';

type ForceGraph2DType = ForceGraph2D<ViewNode, ViewLink>;

const BACKGROUND = '#0b0e14';
const FLY_MS = 1000;
const FIT_MS = 600;
const FIT_PADDING_PX = 40;
/** Zoom factor of the 2D view after it centres on a node. */
const FOCUS_ZOOM = 4;

export interface ViewOptions {
  state: GraphState;
  /** Whether flapping nodes are in the dim half of their blink. */
  blink: { dim: boolean };
  nodeVisible(node: ViewNode): boolean;
  linkVisible(link: ViewLink): boolean;
  onNodeClick(node: ViewNode): void;
}

/** One drawn graph. `destroy()` removes its canvas and frees its renderer. */
export interface GraphView {
  readonly mode: ViewMode;
  /** Hands the state's current nodes and links to the layout, which restarts it. */
  setData(): void;
  /** Rebuilds colours, sizes and widths from the mutated objects without restarting the layout. */
  restyle(): void;
  /** Rebuilds only the node colours, which carry the flapping blink. */
  recolorNodes(): void;
  /** Re-applies the visibility accessors after the filters changed. */
  refilter(): void;
  focus(node: ViewNode): void;
  fit(): void;
  setPaused(paused: boolean): void;
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
  const { state, blink } = options;
  // The constructor's type fixes the default node and link types, so the page's own types are
  // set on the instance it returns.
  const graph = new ForceGraph3D(container) as unknown as ForceGraph;
  graph
    .width(container.clientWidth || window.innerWidth)
    .height(container.clientHeight || window.innerHeight)
    .backgroundColor(BACKGROUND)
    .showNavInfo(false)
    .nodeVal(nodeSize)
    .nodeColor((node) => nodeColor(node, blink.dim))
    .nodeOpacity(0.9)
    .nodeLabel(nodeLabel)
    .nodeVisibility(options.nodeVisible)
    .linkColor(linkColor)
    .linkOpacity(0.6)
    .linkWidth(linkWidth)
    .linkDirectionalParticles(linkParticles)
    .linkDirectionalParticleWidth(1.5)
    .linkLabel((link) => linkLabel(state, link))
    .linkVisibility(options.linkVisible)
    .onNodeClick((node) => options.onNodeClick(node))
    .graphData(graphArrays(state));

  return {
    mode: '3d',
    setData: () => void graph.graphData(graphArrays(state)),
    // Re-setting an accessor rebuilds the 3D objects from the mutated data without restarting
    // the layout, which a graphData() call would do.
    restyle: () =>
      void graph
        .nodeColor(graph.nodeColor())
        .nodeVal(graph.nodeVal())
        .linkColor(graph.linkColor())
        .linkWidth(graph.linkWidth())
        .linkDirectionalParticles(graph.linkDirectionalParticles()),
    recolorNodes: () => void graph.nodeColor(graph.nodeColor()),
    refilter: () =>
      void graph.nodeVisibility(graph.nodeVisibility()).linkVisibility(graph.linkVisibility()),
    focus: (node) => flyTo(graph, node),
    fit: () => fitToView(graph),
    setPaused: (paused) => setLayoutPaused(graph, paused),
    screenPosition(node) {
      if (node.x === undefined || node.y === undefined) return undefined;
      return graph.graph2ScreenCoords(node.x, node.y, node.z ?? 0);
    },
    resize: (width, height) => void graph.width(width).height(height),
    destroy() {
      graph.pauseAnimation();
      graph._destructor();
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
  const { state, blink } = options;
  const graph = new ForceGraph2D<ViewNode, ViewLink>(container);
  graph
    .width(container.clientWidth || window.innerWidth)
    .height(container.clientHeight || window.innerHeight)
    .backgroundColor(BACKGROUND)
    .nodeVal(nodeSize)
    .nodeColor((node) => nodeColor(node, blink.dim))
    .nodeLabel(nodeLabel)
    .nodeVisibility(options.nodeVisible)
    .linkColor(linkColor)
    .linkWidth(linkWidth)
    .linkDirectionalParticles(linkParticles)
    .linkDirectionalParticleWidth(1.5)
    .linkLabel((link) => linkLabel(state, link))
    .linkVisibility(options.linkVisible)
    .onNodeClick((node) => options.onNodeClick(node))
    .graphData(graphArrays(state));

  return {
    mode: '2d',
    setData: () => void graph.graphData(graphArrays(state)),
    // The canvas is redrawn every frame from the accessors, so re-setting them is enough.
    restyle: () =>
      void graph
        .nodeColor(graph.nodeColor())
        .nodeVal(graph.nodeVal())
        .linkColor(graph.linkColor())
        .linkWidth(graph.linkWidth())
        .linkDirectionalParticles(graph.linkDirectionalParticles()),
    recolorNodes: () => void graph.nodeColor(graph.nodeColor()),
    refilter: () =>
      void graph.nodeVisibility(graph.nodeVisibility()).linkVisibility(graph.linkVisibility()),
    focus(node) {
      graph.centerAt(node.x ?? 0, node.y ?? 0, FLY_MS);
      graph.zoom(FOCUS_ZOOM, FLY_MS);
    },
    fit: () => void graph.zoomToFit(FIT_MS, FIT_PADDING_PX),
    setPaused: (paused) => setLayoutPaused2D(graph, paused),
    screenPosition(node) {
      if (node.x === undefined || node.y === undefined) return undefined;
      return graph.graph2ScreenCoords(node.x, node.y);
    },
    resize: (width, height) => void graph.width(width).height(height),
    destroy() {
      graph.pauseAnimation();
      graph._destructor();
      container.replaceChildren();
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
