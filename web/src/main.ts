// The Thunderlink topology page: draws the registry's graph in 3D and keeps it current through
// the realtime stream, changing the drawn objects in place so the layout stays still. While the
// stream cannot connect, the page polls the graph endpoint instead.
import ForceGraph3D, { type ForceGraph3DInstance } from '3d-force-graph';

import { nodeStatuses, type Graph, type NodeStatus } from '../../src/registry/model.js';
import { applyPush, createLiveState, type LiveState } from './live.js';
import {
  createGraphState,
  endpointId,
  escapeHtml,
  graphArrays,
  readGraph,
  type Changes,
  type GraphState,
  type ViewLink,
  type ViewNode,
} from './merge.js';
import { connectGraphStream, socketUrl, type ConnectionState } from './stream.js';

type ForceGraph = ForceGraph3DInstance<ViewNode, ViewLink>;

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

const STATUS_COLORS: Record<NodeStatus, string> = {
  online: '#2ecc71',
  degraded: '#f5a623',
  offline: '#e74c3c',
  connecting: '#3498db',
  disconnected: '#95a5a6',
};
const UNKNOWN_STATUS_COLOR = '#ffffff';

const LINK_COLORS: Record<string, string> = {
  established: '#7f8fa6',
  establishing: '#3498db',
  degraded: '#f5a623',
};
const DEFAULT_LINK_COLOR = '#7f8fa6';

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
  const graph = createGraph(requireElement('graph', HTMLElement), state);

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
function createGraph(container: HTMLElement, state: GraphState): ForceGraph | undefined {
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
    .nodeColor(nodeColor)
    .nodeLabel(nodeLabel)
    .linkColor(linkColor)
    .linkOpacity(0.6)
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
  graph.nodeColor(graph.nodeColor()).nodeVal(graph.nodeVal()).linkColor(graph.linkColor());
}

function nodeSize(node: ViewNode): number {
  return typeof node.val === 'number' && node.val > 0 ? node.val : 1;
}

function nodeColor(node: ViewNode): string {
  return STATUS_COLORS[node.status] ?? UNKNOWN_STATUS_COLOR;
}

function linkColor(link: ViewLink): string {
  return LINK_COLORS[link.status] ?? DEFAULT_LINK_COLOR;
}

// The tooltip inserts this string as HTML, and every value in it comes from the registry,
// where devices choose their own names, groups and metadata. Each value is escaped.
function nodeLabel(node: ViewNode): string {
  const flags = [
    node.maintenance === true ? 'maintenance' : '',
    node.flapping === true ? 'flapping' : '',
    node.isolated === true ? 'isolated' : '',
  ].filter(Boolean);
  const rows: [string, string][] = [
    ['role', `${textOf(node.role)}, ${textOf(node.cluster_type)}`],
    ['status', [textOf(node.status), ...flags].join(', ')],
    ['cpu', formatNumber(node.cpu_load, 2, '')],
    ['mem', formatNumber(node.mem_used_mb, 0, ' MB')],
    ['latency', formatNumber(node.latency_ms, 1, ' ms')],
  ];
  if (Array.isArray(node.groups) && node.groups.length > 0) {
    rows.push(['groups', node.groups.map(textOf).join(', ')]);
  }
  return labelHtml(textOf(node.name) || node.id, rows);
}

function linkLabel(state: GraphState, link: ViewLink): string {
  const source = state.nodes.get(endpointId(link.source));
  const target = state.nodes.get(endpointId(link.target));
  const title = `${textOf(source?.name)} ↔ ${textOf(target?.name)}`;
  return labelHtml(title, [
    ['type', textOf(link.session_type)],
    ['status', textOf(link.status)],
    ['latency', formatNumber(link.latency_ms, 1, ' ms')],
    ['bandwidth', formatNumber(link.bandwidth_mbps, 1, ' Mbit/s')],
  ]);
}

function labelHtml(title: string, rows: [string, string][]): string {
  const body = rows
    .map(([key, value]) => `<div>${escapeHtml(key)}: ${escapeHtml(value)}</div>`)
    .join('');
  return `<div class="label"><strong>${escapeHtml(title)}</strong>${body}</div>`;
}

function textOf(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function formatNumber(value: unknown, digits: number, unit: string): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) + unit : 'n/a';
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
