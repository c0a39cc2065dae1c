// The Thunderlink topology page: draws the registry's graph in 3D and keeps it current through
// the realtime stream, changing the drawn objects in place so the layout stays still. While the
// stream cannot connect, the page polls the graph endpoint instead.
import ForceGraph3D from '3d-force-graph';

import { nodeStatuses, type Graph } from '../../src/registry/model.js';
import { linkLabel, nodeLabel } from './labels.js';
import { applyPush, createLiveState, type LiveState } from './live.js';
import {
  createGraphState,
  graphArrays,
  readGraph,
  type Changes,
  type GraphState,
  type ViewNode,
} from './merge.js';
import { bindNavigation, flyTo, type ForceGraph } from './navigation.js';
import { createDetailsPanel } from './panel.js';
import { connectGraphStream, socketUrl, type ConnectionState } from './stream.js';
import {
  STATUS_COLORS,
  linkColor,
  linkParticles,
  linkWidth,
  nodeColor,
  nodeSize,
} from './style.js';

const POLL_INTERVAL_MS = 2000;

// The phoenix client retries every 5 s at most, so this lets it try a few times before the
// page falls back to polling.
const OFFLINE_AFTER_MS = 8000;

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  offline: 'offline, polling',
};

// A request that hangs would stall polling, because the next poll waits for this one.
const REQUEST_TIMEOUT_MS = 10_000;

const FLAPPING_BLINK_MS = 700;

const UNREACHABLE_MESSAGE = 'registry unreachable, retrying';

interface StatusBar {
  connection: HTMLElement;
  counts: Map<string, HTMLElement>;
  total: HTMLElement;
  refreshed: HTMLTimeElement;
  error: HTMLElement;
}

function main(): void {
  const statusBar = createStatusBar();
  const state = createGraphState();
  const live = createLiveState(state);
  const blink = { dim: false };
  const graph = createGraph(requireElement('graph', HTMLElement), state, blink);

  const nameOf = (id: string) => state.nodes.get(id)?.name ?? id;
  const panel = createDetailsPanel(requireElement('panel', HTMLElement), nameOf);
  const select = (node: ViewNode) => {
    if (graph) flyTo(graph, node);
    panel.open(node.id, node.name || node.id);
  };
  graph?.onNodeClick(select);
  bindNavigation(
    graph,
    state,
    {
      search: requireElement('search', HTMLInputElement),
      suggestions: requireElement('search-suggestions', HTMLDataListElement),
      fit: requireElement('fit', HTMLButtonElement),
      pause: requireElement('pause', HTMLButtonElement),
    },
    select,
    () => panel.close(),
  );
  if (graph) {
    startFlappingBlink(graph, state, blink);
    exposeDebugHook(graph, state);
  }

  const render = (changes: Changes) => {
    if (graph && changes.structureChanged) {
      graph.graphData(graphArrays(state));
    } else if (graph && changes.attributesChanged) {
      restyle(graph);
    }
    showCounts(statusBar, [...state.nodes.values()]);
    showRefreshed(statusBar, new Date());
  };

  const poller = createPoller(graphUrl(), statusBar, (incoming) =>
    applyPolled(live, incoming, render),
  );

  connectGraphStream(live, {
    url: socketUrl(document.baseURI),
    offlineAfterMs: OFFLINE_AFTER_MS,
    onChanges: render,
    onState: (connection) => {
      showConnection(statusBar, connection);
      if (connection === 'offline') {
        console.warn('graph stream unreachable, polling the graph endpoint instead');
        poller.start();
      } else if (connection === 'live') {
        poller.stop();
      }
    },
  });
}

/**
 * Blinks flapping nodes by switching their opacity every FLAPPING_BLINK_MS. The timer
 * re-styles the graph only while at least one node is flapping.
 *
 * NOTE: each blink rebuilds the material of every node, which has not been measured on large
 * graphs.
 */
function startFlappingBlink(graph: ForceGraph, state: GraphState, blink: { dim: boolean }): void {
  setInterval(() => {
    const anyFlapping = [...state.nodes.values()].some((node) => node.flapping === true);
    if (!anyFlapping && !blink.dim) return;
    blink.dim = anyFlapping && !blink.dim;
    graph.nodeColor(graph.nodeColor());
  }, FLAPPING_BLINK_MS);
}

/**
 * Sets `window.thunderlinkDebug` when the page URL ends in `#debug`. End-to-end tests use it
 * to find where a node is drawn on screen, so they can click it. Ordinary page loads leave it
 * unset. The flag is a fragment because the server rejects query parameters on `/`.
 */
function exposeDebugHook(graph: ForceGraph, state: GraphState): void {
  if (window.location.hash !== '#debug') return;
  const hook = {
    graph,
    /** Returns the node's position in CSS pixels relative to the graph canvas. */
    screenPosition(name: string): { x: number; y: number } | undefined {
      const node = [...state.nodes.values()].find((candidate) => candidate.name === name);
      if (!node || node.x === undefined || node.y === undefined) return undefined;
      const { x, y } = graph.graph2ScreenCoords(node.x, node.y, node.z ?? 0);
      return { x, y };
    },
  };
  Object.assign(window, { thunderlinkDebug: hook });
}

/**
 * Applies a polled graph as the stream applies a `topology_update`, so its `seq` becomes the
 * position the stream resumes from. A poll that finishes after the stream already moved past
 * its `seq` is dropped.
 */
function applyPolled(live: LiveState, incoming: Graph, render: (changes: Changes) => void): void {
  if (live.seq !== undefined && incoming.seq < live.seq) return;
  render(applyPush(live, { event: 'topology_update', payload: incoming }));
}

/** Returns the graph URL, relative to the page so the page also works behind a path prefix. */
function graphUrl(): URL {
  // The stream joins with `include_offline: true`, so the fallback requests the same graph.
  const url = new URL('api/thunderlink/graph', document.baseURI);
  url.searchParams.set('include_offline', 'true');
  return url;
}

/**
 * Creates the 3D graph, or returns undefined after showing a notice when the browser has no
 * WebGL. The counts and the refresh time keep working without the graph.
 */
function createGraph(
  container: HTMLElement,
  state: GraphState,
  blink: { dim: boolean },
): ForceGraph | undefined {
  if (!webglAvailable()) {
    showNotice('WebGL is not available in this browser, so the 3D graph cannot be drawn.');
    return undefined;
  }

  let graph: ForceGraph;
  try {
    // The constructor's type fixes the default node and link types, so the page's own types
    // are set on the instance it returns.
    graph = new ForceGraph3D(container) as unknown as ForceGraph;
  } catch (error) {
    console.error('failed to create the 3D graph', error);
    showNotice('The 3D graph could not start because WebGL failed to initialise.');
    return undefined;
  }

  graph
    .width(window.innerWidth)
    .height(window.innerHeight)
    .backgroundColor('#0b0e14')
    .showNavInfo(false)
    .nodeVal(nodeSize)
    .nodeColor((node) => nodeColor(node, blink.dim))
    .nodeOpacity(0.9)
    .nodeLabel(nodeLabel)
    .linkColor(linkColor)
    .linkOpacity(0.6)
    .linkWidth(linkWidth)
    .linkDirectionalParticles(linkParticles)
    .linkDirectionalParticleWidth(1.5)
    .linkLabel((link) => linkLabel(state, link));

  // 3d-force-graph sizes its canvas once, so the page keeps it matched to the window.
  window.addEventListener('resize', () => {
    graph.width(window.innerWidth).height(window.innerHeight);
  });
  return graph;
}

function webglAvailable(): boolean {
  try {
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
    // Browsers cap the number of live WebGL contexts, so the probe gives its own back.
    context?.getExtension('WEBGL_lose_context')?.loseContext();
    return context !== null;
  } catch {
    return false;
  }
}

// Re-setting an accessor rebuilds the nodes' and links' 3D objects from the mutated data
// without restarting the layout, which a graphData() call would do.
function restyle(graph: ForceGraph): void {
  graph
    .nodeColor(graph.nodeColor())
    .nodeVal(graph.nodeVal())
    .linkColor(graph.linkColor())
    .linkWidth(graph.linkWidth())
    .linkDirectionalParticles(graph.linkDirectionalParticles());
}

/**
 * Creates a poller that, once started, fetches the graph every POLL_INTERVAL_MS, sending the
 * last ETag so an unchanged graph costs a 304. A poll starts only after the previous one
 * finished, and none run while the page is hidden or after `stop()`. The ETag is kept only
 * after `apply` succeeds, so a failed update is fetched again.
 */
function createPoller(
  url: URL,
  statusBar: StatusBar,
  apply: (graph: Graph) => void,
): { start(): void; stop(): void } {
  let etag: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let active = false;
  let polling = false;
  let failures = 0;

  const fail = (message: string, error?: unknown) => {
    if (failures === 0) console.warn(`graph refresh failed: ${message}`, error ?? '');
    failures += 1;
    showError(statusBar, message);
  };

  const succeed = () => {
    if (failures > 0) console.info(`graph refresh recovered after ${failures} failed polls`);
    failures = 0;
    showRefreshed(statusBar, new Date());
  };

  const poll = async () => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (etag) headers['if-none-match'] = etag;

    let response: Response;
    try {
      response = await fetch(url, {
        headers,
        cache: 'no-store',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      fail(UNREACHABLE_MESSAGE, error);
      return;
    }

    if (response.status === 304) {
      succeed();
      return;
    }
    if (!response.ok) {
      fail(`registry returned HTTP ${response.status}, retrying`);
      return;
    }

    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      const message =
        error instanceof SyntaxError ? 'registry sent invalid JSON, retrying' : UNREACHABLE_MESSAGE;
      fail(message, error);
      return;
    }

    let incoming: Graph;
    try {
      incoming = readGraph(body);
    } catch (error) {
      fail('registry sent an invalid graph, retrying', error);
      return;
    }

    try {
      apply(incoming);
    } catch (error) {
      fail('failed to draw the graph, retrying', error);
      return;
    }
    etag = response.headers.get('etag') ?? undefined;
    succeed();
  };

  const run = async () => {
    clearTimeout(timer);
    if (polling || !active) return;
    polling = true;
    try {
      if (!document.hidden) await poll();
    } finally {
      polling = false;
      if (active) timer = setTimeout(() => void run(), POLL_INTERVAL_MS);
    }
  };

  // A page that comes back into view refreshes at once instead of showing stale data.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void run();
  });

  return {
    start() {
      if (active) return;
      active = true;
      void run();
    },
    stop() {
      active = false;
      clearTimeout(timer);
      // The stream changes the graph after the last poll, so the next outage starts with a full fetch.
      etag = undefined;
      if (failures > 0) statusBar.error.hidden = true;
      failures = 0;
    },
  };
}

function createStatusBar(): StatusBar {
  const list = requireElement('counts', HTMLElement);
  const counts = new Map<string, HTMLElement>();

  for (const status of nodeStatuses) {
    const item = document.createElement('li');
    item.dataset.status = status;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = STATUS_COLORS[status];
    const count = document.createElement('span');
    count.textContent = '0';
    item.append(swatch, `${status} `, count);
    list.append(item);
    counts.set(status, count);
  }

  return {
    connection: requireElement('connection', HTMLElement),
    counts,
    total: requireElement('total', HTMLElement),
    refreshed: requireElement('refreshed', HTMLTimeElement),
    error: requireElement('error', HTMLElement),
  };
}

function showCounts(statusBar: StatusBar, nodes: readonly ViewNode[]): void {
  const totals = new Map<string, number>();
  for (const node of nodes) totals.set(node.status, (totals.get(node.status) ?? 0) + 1);

  for (const [status, element] of statusBar.counts) {
    element.textContent = String(totals.get(status) ?? 0);
  }
  const total = nodes.length;
  statusBar.total.textContent =
    total === 0 ? 'no nodes registered' : `${total} ${total === 1 ? 'node' : 'nodes'}`;
}

function showConnection(statusBar: StatusBar, state: ConnectionState): void {
  statusBar.connection.dataset.state = state;
  statusBar.connection.textContent = CONNECTION_TEXT[state];
}

function showRefreshed(statusBar: StatusBar, at: Date): void {
  statusBar.refreshed.dateTime = at.toISOString();
  statusBar.refreshed.textContent = `updated ${at.toLocaleTimeString()}`;
  statusBar.error.hidden = true;
}

function showError(statusBar: StatusBar, message: string): void {
  statusBar.error.textContent = message;
  statusBar.error.hidden = false;
}

function showNotice(message: string): void {
  const notice = requireElement('notice', HTMLElement);
  notice.textContent = message;
  notice.hidden = false;
}

function requireElement<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) {
    throw new Error(`index.html has no ${type.name} with id "${id}"`);
  }
  return element;
}

main();
