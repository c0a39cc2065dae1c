// Camera and layout controls: fly to a node, fit the graph into view, pause and resume the
// force layout, the search box, and the keyboard shortcuts `/` (search) and `f` (fit).
import type { ForceGraph3DInstance } from '3d-force-graph';

import type { GraphState, ViewLink, ViewNode } from './merge.js';
import { isTypingTarget, searchNodes } from './search.js';
import type { GraphView } from './view.js';

export type ForceGraph = ForceGraph3DInstance<ViewNode, ViewLink>;

const FLY_MS = 1000;
const FIT_MS = 600;
const FIT_PADDING_PX = 40;
/** Distance from the camera to a node it flies to, in layout units. */
const FOCUS_DISTANCE = 90;

/** Moves the camera towards a node along the line from the origin, looking at the node. */
export function flyTo(graph: ForceGraph, node: ViewNode): void {
  const x = node.x ?? 0;
  const y = node.y ?? 0;
  const z = node.z ?? 0;
  const length = Math.hypot(x, y, z);
  // A node at the origin has no direction to approach from, so the camera comes from +z.
  const position =
    length === 0
      ? { x, y, z: z + FOCUS_DISTANCE }
      : {
          x: x * (1 + FOCUS_DISTANCE / length),
          y: y * (1 + FOCUS_DISTANCE / length),
          z: z * (1 + FOCUS_DISTANCE / length),
        };
  graph.cameraPosition(position, { x, y, z }, FLY_MS);
}

export function fitToView(graph: ForceGraph): void {
  graph.zoomToFit(FIT_MS, FIT_PADDING_PX);
}

/**
 * Stops or restarts the force layout. A paused layout stays paused when nodes arrive, because
 * `cooldownTicks(0)` stops the engine after the single tick that every graphData() call runs.
 */
export function setLayoutPaused(graph: ForceGraph, paused: boolean): void {
  if (paused) {
    graph.cooldownTicks(0);
  } else {
    graph.cooldownTicks(Infinity);
    graph.d3ReheatSimulation();
  }
}

export interface NavigationElements {
  search: HTMLInputElement;
  suggestions: HTMLDataListElement;
  fit: HTMLButtonElement;
  pause: HTMLButtonElement;
}

/**
 * Wires the search box, the fit and pause buttons and the keyboard shortcuts. `select` is
 * called with the node that a search picks. `currentView` returns the view drawn at the time of
 * each action, because the page can switch between 2D and 3D. The returned `isPaused` reports
 * whether the layout is paused, so a new view can start paused.
 */
export function bindNavigation(
  currentView: () => GraphView | undefined,
  state: GraphState,
  elements: NavigationElements,
  select: (node: ViewNode) => void,
  closePanel: () => void,
): { isPaused(): boolean } {
  const { search, suggestions, fit, pause } = elements;
  let paused = false;

  search.addEventListener('input', () => {
    search.setCustomValidity('');
    const options = searchNodes(state.nodes.values(), search.value).map((node) => {
      const option = document.createElement('option');
      option.value = node.name;
      return option;
    });
    suggestions.replaceChildren(...options);
  });

  search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      search.blur();
      return;
    }
    if (event.key !== 'Enter') return;
    const [best] = searchNodes(state.nodes.values(), search.value, 1);
    search.setCustomValidity(best ? '' : `no node named like "${search.value}"`);
    search.reportValidity();
    if (best) select(best);
  });

  fit.addEventListener('click', () => {
    currentView()?.fit();
  });

  pause.addEventListener('click', () => {
    const view = currentView();
    if (!view) return;
    paused = !paused;
    view.setPaused(paused);
    pause.textContent = paused ? 'resume layout' : 'pause layout';
    pause.setAttribute('aria-pressed', String(paused));
  });

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLElement && isTypingTarget(event.target)) return;
    if (event.key === '/') {
      event.preventDefault();
      search.focus();
      search.select();
    } else if (event.key === 'f') {
      currentView()?.fit();
    } else if (event.key === 'Escape') {
      closePanel();
    }
  });

  return { isPaused: () => paused };
}
