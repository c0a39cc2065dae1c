// The Thunderlink topology page: draws the registry's graph in 3D, or in 2D where WebGL is
// missing, and keeps it current through the realtime stream, changing the drawn objects in place
// so the layout stays still. While the stream cannot connect, the page polls the graph endpoint
// instead.
import { Socket, type Channel } from 'phoenix';

import { nodeStatuses, type Graph } from '../../src/registry/model.js';
import { filtersToStore, parseDeepLink, withLinkedGroup } from './deep-link.js';
import { createFilterControl } from './filter-control.js';
import {
  emptyFilters,
  filtersActive,
  linkMatches,
  loadFilters,
  nodeMatches,
  saveFilters,
  type Filters,
} from './filters.js';
import { applyPush, createLiveState, type LiveState } from './live.js';
import {
  createGraphState,
  readGraph,
  type Changes,
  type GraphState,
  type ViewNode,
} from './merge.js';
import { bindNavigation } from './navigation.js';
import { createDetailsPanel } from './panel.js';
import { connectGraphStream, socketUrl, type ConnectionState } from './stream.js';
import { STATUS_COLORS } from './style.js';
import {
  create2DView,
  create3DView,
  webglAvailable,
  type GraphView,
  type ViewMode,
  type ViewOptions,
} from './view.js';

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

const NO_WEBGL_MESSAGE = 'WebGL is not available in this browser, so the graph is drawn in 2D.';

interface ViewSwitch {
  current(): GraphView | undefined;
  show(mode: ViewMode): void;
}

function main(): void {
  const statusBar = createStatusBar();
  const state = createGraphState();
  const live = createLiveState(state);
  const blink = { dim: false };
  const storage = pageStorage();
  const link = parseDeepLink(window.location.search);
  const storedFilters: Filters = storage ? loadFilters(storage) : emptyFilters();
  let filters = link.group ? withLinkedGroup(storedFilters, link.group) : storedFilters;

  const nameOf = (id: string) => state.nodes.get(id)?.name ?? id;
  // One socket carries the graph stream and the details panel's node channel.
  const socket = new Socket(socketUrl(document.baseURI));
  const panel = createDetailsPanel(requireElement('panel', HTMLElement), nameOf, socket);
  // `select` and the view getter below read `views`, which is created further down. They run
  // only on user input or on graph updates, which start after `views` exists.
  const select = (node: ViewNode) => {
    views.current()?.focus(node);
    panel.open(node.id, node.name || node.id);
  };

  const navigation = bindNavigation(
    () => views.current(),
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

  const views = createViewSwitch(
    requireElement('graph', HTMLElement),
    requireElement('view-mode', HTMLButtonElement),
    {
      state,
      blink,
      nodeVisible: (node) => nodeMatches(node, filters),
      linkVisible: (link) => linkMatches(link, state.nodes, filters),
      onNodeClick: select,
    },
    navigation.isPaused,
  );
  const currentView = views.current;

  const filterControl = createFilterControl(
    requireElement('filters', HTMLDetailsElement),
    filters,
    (next) => {
      filters = next;
      const toStore = link.group ? filtersToStore(next, storedFilters, link.group) : next;
      if (storage && !saveFilters(storage, toStore)) {
        console.warn('failed to store the filters, so they will not survive a reload');
      }
      currentView()?.refilter();
      showCounts(statusBar, [...state.nodes.values()], filters);
    },
  );

  startFlappingBlink(currentView, state, blink);
  exposeDebugHook(currentView, live, socket);

  // `?node=` focuses its node on the first render that contains it.
  // NOTE: the camera flies to where the node is at that render. A layout that is still
  // spreading a large graph can move the node out of the centre afterwards.
  let pendingNode = link.node;
  const render = (changes: Changes) => {
    const view = currentView();
    if (view && changes.structureChanged) {
      view.setData();
    } else if (view && changes.attributesChanged) {
      view.restyle();
      // A changed status or group can move a node in or out of the filters.
      if (filtersActive(filters)) view.refilter();
    }
    filterControl.update(state.nodes.values());
    showCounts(statusBar, [...state.nodes.values()], filters);
    showRefreshed(statusBar, new Date());
    if (pendingNode !== undefined) {
      const node = findNode(state, pendingNode);
      if (node) {
        pendingNode = undefined;
        select(node);
      }
    }
  };

  const poller = createPoller(graphUrl(), statusBar, (incoming) =>
    applyPolled(live, incoming, render),
  );

  connectGraphStream(live, {
    socket,
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
 * Draws the graph in 3D where WebGL works and in 2D otherwise, and lets `toggle` switch
 * between them. A switch destroys the drawn view and draws the same objects in the other mode,
 * so nodes keep their positions, and a paused layout stays paused.
 */
function createViewSwitch(
  container: HTMLElement,
  toggle: HTMLButtonElement,
  options: ViewOptions,
  isPaused: () => boolean,
): ViewSwitch {
  let view: GraphView | undefined;
  const webgl = webglAvailable();

  const show = (mode: ViewMode) => {
    view?.destroy();
    view = undefined;
    if (mode === '3d') {
      try {
        view = create3DView(container, options);
      } catch (error) {
        console.error('failed to create the 3D graph, drawing it in 2D', error);
        showNotice(
          'The 3D graph could not start because WebGL failed, so the graph is drawn in 2D.',
        );
      }
    }
    view ??= create2DView(container, options);
    if (isPaused()) view.setPaused(true);

    const other = view.mode === '3d' ? '2D' : '3D';
    toggle.textContent = other;
    toggle.title = `Draw the graph in ${other}`;
    toggle.dataset.mode = view.mode;
  };

  if (webgl) {
    toggle.addEventListener('click', () => show(view?.mode === '3d' ? '2d' : '3d'));
  } else {
    showNotice(NO_WEBGL_MESSAGE);
    toggle.disabled = true;
  }
  show(webgl ? '3d' : '2d');
  if (!webgl) toggle.title = 'WebGL is not available, so only the 2D view works';

  // The graph libraries size their canvas once, so the page keeps it matched to the window.
  window.addEventListener('resize', () => view?.resize(window.innerWidth, window.innerHeight));

  return { current: () => view, show };
}

/** Returns the page's localStorage, or undefined where the browser blocks it. */
function pageStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch (error) {
    console.warn('localStorage is not available, so filters will not survive a reload', error);
    return undefined;
  }
}

/**
 * Blinks flapping nodes by switching their opacity every FLAPPING_BLINK_MS. The timer
 * re-styles the graph only while at least one node is flapping.
 *
 * NOTE: each blink rebuilds the material of every node, which has not been measured on large
 * graphs.
 */
function startFlappingBlink(
  currentView: () => GraphView | undefined,
  state: GraphState,
  blink: { dim: boolean },
): void {
  setInterval(() => {
    const anyFlapping = [...state.nodes.values()].some((node) => node.flapping === true);
    if (!anyFlapping && !blink.dim) return;
    blink.dim = anyFlapping && !blink.dim;
    currentView()?.recolorNodes();
  }, FLAPPING_BLINK_MS);
}

/** Finds a node by name, or by id when no node has that name. */
function findNode(state: GraphState, key: string): ViewNode | undefined {
  const nodes = [...state.nodes.values()];
  return nodes.find((node) => node.name === key) ?? state.nodes.get(key);
}

/**
 * Sets `window.thunderlinkDebug` when the page URL ends in `#debug`. End-to-end tests use it
 * to find where a node is drawn on screen, so they can click it. Ordinary page loads leave it
 * unset.
 */
function exposeDebugHook(
  currentView: () => GraphView | undefined,
  live: LiveState,
  socket: Socket,
): void {
  if (window.location.hash !== '#debug') return;
  const state = live.graph;
  const hook = {
    /** Returns the drawn view's mode, `2d` or `3d`. */
    mode: () => currentView()?.mode,
    /** Returns the stream position that the drawn graph reflects. */
    seq: () => live.seq,
    /** Returns the status the page holds for a node, by name. */
    status(name: string): string | undefined {
      return [...state.nodes.values()].find((candidate) => candidate.name === name)?.status;
    },
    /** Returns the node's position in CSS pixels relative to the graph canvas. */
    screenPosition(name: string): { x: number; y: number } | undefined {
      const node = [...state.nodes.values()].find((candidate) => candidate.name === name);
      return node ? currentView()?.screenPosition(node) : undefined;
    },
    /**
     * Returns the topics of the socket's channels. The phoenix client drops a channel from its
     * `channels` array once the server acknowledges the leave or the leave times out. The array
     * is missing from @types/phoenix.
     */
    channelTopics(): string[] {
      return (socket as unknown as { channels: Channel[] }).channels.map(
        (channel) => channel.topic,
      );
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

function showCounts(statusBar: StatusBar, nodes: readonly ViewNode[], filters: Filters): void {
  const totals = new Map<string, number>();
  for (const node of nodes) totals.set(node.status, (totals.get(node.status) ?? 0) + 1);

  for (const [status, element] of statusBar.counts) {
    element.textContent = String(totals.get(status) ?? 0);
  }
  const total = nodes.length;
  let text = total === 0 ? 'no nodes registered' : `${total} ${total === 1 ? 'node' : 'nodes'}`;
  if (total > 0 && filtersActive(filters)) {
    const visibleCount = nodes.filter((node) => nodeMatches(node, filters)).length;
    text += `, ${visibleCount} shown`;
  }
  statusBar.total.textContent = text;
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
