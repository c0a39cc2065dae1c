// The Thunderlink topology page: draws the registry's graph in 3D, or in 2D where WebGL is
// missing, and keeps it current through the realtime stream, changing the drawn objects in place
// so the layout stays still. While the stream cannot connect, the page polls the graph endpoint
// instead.
import { Socket, type Channel } from 'phoenix';

import { nodeStatuses, type Graph } from '../../src/registry/model.js';
import { filtersToStore, parseDeepLink, withLinkedGroup } from './deep-link.js';
import { createFilterControl } from './filter-control.js';
import {
  drawnNodeMatches,
  emptyFilters,
  filtersActive,
  linkMatches,
  loadFilters,
  nodeMatches,
  saveFilters,
  type Filters,
} from './filters.js';
import { createGroupControl } from './group-control.js';
import {
  collapsedGroupOf,
  colorGroupOf,
  createProjectionCache,
  groupChain,
  groupColors,
  groupsToCollapse,
  loadCollapsed,
  NO_GROUP_COLOR,
  project,
  readGroupTree,
  saveCollapsed,
  type GroupTree,
  type Projection,
  type ProjectionCache,
} from './groups.js';
import { linkLabel, nodeLabel } from './labels.js';
import {
  applyPush,
  createLiveState,
  expireFailingLinks,
  nextFailingExpiry,
  type LiveState,
} from './live.js';
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
import { groupedNodeColor, nodeBlinks, nodeColor, STATUS_COLORS } from './style.js';
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

/** How long a failed link stays drawn in the failing colour before it goes. */
const FAILING_LINK_MS = 2000;

/**
 * The shortest time between two redraws. Updates that arrive in between are applied to the
 * page's graph at once and drawn together, so a burst of changes costs one redraw.
 */
const RENDER_INTERVAL_MS = 200;

/**
 * Graphs with more nodes start with their groups collapsed (see `groupsToCollapse`), and no more
 * than this many groups are left drawn.
 */
export const COLLAPSE_ABOVE_NODES = 1500;

/** How often the page reloads the group tree, which no push describes in full. */
const GROUP_REFRESH_MS = 15_000;

/** Groups that the mass-failure banner names before it counts the rest. */
const BANNER_GROUPS = 3;

/** Time a notice about the page's own choices stays up, unless clicked away sooner. */
const NOTICE_MS = 15_000;

/** Interval at which the camera follows a deep-linked node until the layout settles. */
const FOLLOW_MS = 1500;

const UNREACHABLE_MESSAGE = 'registry unreachable, retrying';

const VIEW_MODE_STORAGE_KEY = 'thunderlink.view';
const COLOR_BY_STORAGE_KEY = 'thunderlink.colorBy';

type ColorBy = 'status' | 'group';

interface StatusBar {
  connection: HTMLElement;
  counts: Map<string, HTMLElement>;
  total: HTMLElement;
  refreshed: HTMLTimeElement;
  error: HTMLElement;
  disruptions: HTMLElement;
}

const NO_WEBGL_MESSAGE = 'WebGL is not available in this browser, so the graph is drawn in 2D.';

interface ViewSwitch {
  current(): GraphView | undefined;
  show(mode: ViewMode): void;
}

/** The groups on the page: the tree, which groups are collapsed, and the drawn projection. */
interface GroupView {
  tree: GroupTree;
  collapsed: Set<string>;
  /** Groups that a deep link expanded for this visit, which are not stored. */
  linked: Set<string>;
  /** Whether the collapsed groups came from storage or were chosen for the first snapshot. */
  decided: boolean;
  cache: ProjectionCache;
  projection: Projection;
  colors: Map<string, string>;
  colorBy: ColorBy;
}

async function main(): Promise<void> {
  const statusBar = createStatusBar();
  const state = createGraphState();
  const live = createLiveState(state, { failingLinkMs: FAILING_LINK_MS });
  const blink = { dim: false };
  const storage = pageStorage();
  const link = parseDeepLink(window.location.search);
  const storedFilters: Filters = storage ? loadFilters(storage) : emptyFilters();
  let filters = link.group ? withLinkedGroup(storedFilters, link.group) : storedFilters;

  const storedCollapsed = storage ? loadCollapsed(storage) : undefined;
  const groups: GroupView = {
    tree: new Map(),
    collapsed: storedCollapsed ?? new Set(),
    linked: new Set(),
    decided: storedCollapsed !== undefined,
    cache: createProjectionCache(),
    projection: { nodes: [], links: [], structureChanged: false },
    colors: new Map(),
    colorBy: storage?.getItem(COLOR_BY_STORAGE_KEY) === 'group' ? 'group' : 'status',
  };
  const effectiveCollapsed = () =>
    groups.linked.size === 0
      ? groups.collapsed
      : new Set([...groups.collapsed].filter((name) => !groups.linked.has(name)));
  const drawnById = new Map<string, ViewNode>();
  /** The status of each node as of the last redraw, by name, kept only for `#debug`. */
  const drawnStatuses = new Map<string, string>();
  let drawnSeq: number | undefined;

  const storeCollapsed = () => {
    if (storage && !saveCollapsed(storage, groups.collapsed)) {
      console.warn('failed to store the collapsed groups, so they will not survive a reload');
    }
  };

  const nameOf = (id: string) => drawnById.get(id)?.name ?? state.nodes.get(id)?.name ?? id;
  // One socket carries the graph stream and the details panel's node channel.
  const socket = new Socket(socketUrl(document.baseURI));
  const panel = createDetailsPanel(requireElement('panel', HTMLElement), nameOf, socket);

  // A node inside a collapsed group is drawn as its group, so selecting it expands the group.
  const reveal = (node: ViewNode) => {
    let group = collapsedGroupOf(node, groups.tree, effectiveCollapsed());
    if (group === undefined) return;
    while (group !== undefined) {
      groups.collapsed.delete(group);
      group = collapsedGroupOf(node, groups.tree, effectiveCollapsed());
    }
    storeCollapsed();
    renderNow();
  };

  // `select` and the view getter below read `views`, which is created further down. They run
  // only on user input or on graph updates, which start after `views` exists.
  const select = (node: ViewNode) => {
    if (node.collapsed) {
      toggleGroup(node.collapsed.group);
      return;
    }
    reveal(node);
    views.current()?.focus(node);
    panel.open(node.id, node.name || node.id);
  };

  const toggleGroup = (name: string) => {
    if (groups.collapsed.has(name) && !groups.linked.has(name)) groups.collapsed.delete(name);
    else {
      groups.linked.delete(name);
      groups.collapsed.add(name);
    }
    storeCollapsed();
    renderNow();
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

  const layoutProgress = requireElement('layout-progress', HTMLElement);
  // Settling is when a deep-linked node reaches its final place, so the camera follows it there.
  let settleFocus: ViewNode | undefined;
  const viewOptions: ViewOptions = {
    data: () => groups.projection,
    nodeColor: (node) => {
      if (groups.colorBy === 'status') return nodeColor(node, blink.dim);
      const group = node.collapsed?.group ?? colorGroupOf(node, groups.tree);
      const hex =
        group === undefined ? NO_GROUP_COLOR : (groups.colors.get(group) ?? NO_GROUP_COLOR);
      return groupedNodeColor(node, hex, blink.dim);
    },
    nodeLabel,
    linkLabel: (shown) => linkLabel((id) => drawnById.get(id)?.name, shown),
    nodeVisible: (node) => drawnNodeMatches(node, state.nodes, filters),
    linkVisible: (shown) => linkMatches(shown, drawnById, filters, state.nodes),
    onNodeClick: select,
    onSettled: () => {
      if (settleFocus === undefined) return;
      views.current()?.focus(settleFocus);
      settleFocus = undefined;
    },
    onLayoutProgress: (share) => {
      layoutProgress.hidden = share === undefined;
      if (share === undefined) return;
      const percent = Math.round(share * 100);
      const count = groups.projection.nodes.length;
      layoutProgress.textContent = `laying out ${count} nodes… ${percent} %`;
    },
  };
  const views = createViewSwitch(
    requireElement('graph', HTMLElement),
    requireElement('view-mode', HTMLButtonElement),
    storage,
    viewOptions,
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

  const groupControl = createGroupControl(requireElement('groups', HTMLDetailsElement), {
    toggle: toggleGroup,
    collapseAll: () => {
      groups.linked.clear();
      groups.collapsed = groupsToCollapse(state.nodes.values(), groups.tree, COLLAPSE_ABOVE_NODES);
      storeCollapsed();
      renderNow();
    },
    expandAll: () => {
      groups.collapsed = new Set();
      storeCollapsed();
      renderNow();
    },
  });

  const colorBy = requireElement('color-by', HTMLSelectElement);
  colorBy.value = groups.colorBy;
  colorBy.addEventListener('change', () => {
    groups.colorBy = colorBy.value === 'group' ? 'group' : 'status';
    storage?.setItem(COLOR_BY_STORAGE_KEY, groups.colorBy);
    document.body.dataset.colorBy = groups.colorBy;
    currentView()?.recolorNodes();
  });
  document.body.dataset.colorBy = groups.colorBy;

  startBlink(currentView, () => groups.projection.nodes, blink);

  // `?node=` focuses its node on the first render that contains it, and again once the layout
  // settles.
  let pendingNode = link.node;
  let pendingGroup = link.group;
  let pendingChanges: Changes = { structureChanged: false, attributesChanged: false };
  let renderTimer: ReturnType<typeof setTimeout> | undefined;
  let lastRender = -Infinity;
  let failingTimer: ReturnType<typeof setTimeout> | undefined;

  function renderNow(): void {
    const started = performance.now();
    clearTimeout(renderTimer);
    renderTimer = undefined;
    lastRender = performance.now();
    const changes = pendingChanges;
    pendingChanges = { structureChanged: false, attributesChanged: false };

    const groupsChanged = applyDisruptions(live, groups.tree);
    decideCollapsed(groups, state);
    groups.projection = project(state, groups.tree, effectiveCollapsed(), groups.cache);
    drawnById.clear();
    for (const node of groups.projection.nodes) drawnById.set(node.id, node);

    const view = currentView();
    if (view && groups.projection.structureChanged) {
      view.setData();
    } else if (view && (changes.attributesChanged || changes.structureChanged || groupsChanged)) {
      view.restyle(changes.linkAttributesChanged === true || changes.structureChanged);
      // A changed status or group can move a node in or out of the filters.
      if (filtersActive(filters)) view.refilter();
    }
    const nodes = [...state.nodes.values()];
    groups.colors = groupColors(groups.tree.keys());
    filterControl.update(nodes);
    groupControl.update({
      tree: groups.tree,
      memberCounts: memberCounts(nodes, groups.tree),
      collapsed: effectiveCollapsed(),
      colors: groups.colors,
    });
    // Before the first graph arrives, "loading…" stays rather than "no nodes registered".
    if (live.seq !== undefined) showCounts(statusBar, nodes, filters);
    showDisruptions(statusBar, groups.tree);
    showRefreshed(statusBar, new Date());
    if (hasUnknownGroup(nodes, groups.tree)) groupLoader.refreshSoon();
    scheduleFailingExpiry();
    refreshPanel();
    if (measureUpdates) {
      recordUpdateTimes(started);
      for (const node of nodes) drawnStatuses.set(node.name, node.status);
      drawnSeq = live.seq;
    }

    if (pendingNode !== undefined) {
      const node = findNode(state, pendingNode);
      if (node) {
        pendingNode = undefined;
        select(node);
        followUntilSettled(node);
      } else if (live.seq !== undefined) {
        // The first graph lacks the node, so the link names none that is registered.
        showNotice(`No node is named ${pendingNode}.`, NOTICE_MS);
        pendingNode = undefined;
      }
    }
    if (pendingGroup !== undefined && treeLoaded && live.seq !== undefined) {
      if (!groups.tree.has(pendingGroup)) {
        showNotice(`No group is named ${pendingGroup}, so no node passes the filters.`, NOTICE_MS);
      }
      pendingGroup = undefined;
    }
  }

  // The camera flies to a deep-linked node at once, but the layout then moves it, so the camera
  // follows the node every FOLLOW_MS until the layout settles.
  const followUntilSettled = (node: ViewNode) => {
    settleFocus = node;
    const timer = setInterval(() => {
      if (settleFocus !== node) {
        clearInterval(timer);
        return;
      }
      views.current()?.focus(node);
    }, FOLLOW_MS);
  };

  // Updates are applied to the page's graph as they come and drawn at most every
  // RENDER_INTERVAL_MS, in an animation frame so a hidden page does not draw at all.
  let lastRefreshShown = 0;
  const render = (changes: Changes) => {
    // Metrics and repeated pushes change nothing drawn, so they only move the refresh time.
    if (!changes.structureChanged && !changes.attributesChanged && lastRender > -Infinity) {
      if (renderTimer === undefined && performance.now() - lastRefreshShown > 1000) {
        lastRefreshShown = performance.now();
        showRefreshed(statusBar, new Date());
      }
      return;
    }
    pendingChanges.structureChanged ||= changes.structureChanged;
    pendingChanges.attributesChanged ||= changes.attributesChanged;
    if (changes.linkAttributesChanged) pendingChanges.linkAttributesChanged = true;
    if (renderTimer !== undefined) return;
    const wait = Math.max(0, lastRender + RENDER_INTERVAL_MS - performance.now());
    renderTimer = setTimeout(() => requestAnimationFrame(renderNow), wait);
  };

  // The panel's details come from GET /nodes/:id, so a change to the shown node in the graph
  // loads them again, at most once a second. Metrics are left out, as the sparklines show them.
  let panelNode: string | undefined;
  let panelSignature = '';
  let panelRefreshedAt = 0;
  let panelTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshPanel = () => {
    if (panel.nodeId === undefined) return;
    const node = state.nodes.get(panel.nodeId);
    if (!node) {
      // A snapshot without the node, such as after the registry lost it, leaves the panel stale.
      if (live.seq !== undefined && panelSignature !== 'gone') {
        panelSignature = 'gone';
        panel.refresh();
      }
      return;
    }

    const signature = JSON.stringify([
      node.status,
      node.flapping,
      node.maintenance,
      node.isolated,
      node.role,
      node.groups,
      node.capabilities,
      node.meta,
      node.val,
    ]);
    const opened = panelNode !== node.id;
    panelNode = node.id;
    if (signature === panelSignature) return;
    panelSignature = signature;
    // Opening the panel loads the details already.
    if (opened || panelTimer !== undefined) return;

    const wait = Math.max(0, panelRefreshedAt + 1000 - performance.now());
    panelTimer = setTimeout(() => {
      panelTimer = undefined;
      panelRefreshedAt = performance.now();
      panel.refresh();
    }, wait);
  };

  const scheduleFailingExpiry = () => {
    const due = nextFailingExpiry(live);
    clearTimeout(failingTimer);
    if (due === undefined) return;
    failingTimer = setTimeout(
      () => render(expireFailingLinks(live)),
      Math.max(0, due - Date.now()),
    );
  };

  let treeLoaded = false;
  const groupLoader = createGroupLoader(groupsUrl(), (tree) => {
    treeLoaded = true;
    groups.tree = tree;
    // A group that was renamed or deleted can no longer be collapsed under its old name.
    const stale = [...groups.collapsed].filter((name) => !tree.has(name));
    if (stale.length > 0) {
      for (const name of stale) groups.collapsed.delete(name);
      storeCollapsed();
    }
    // The loaded tree is newer than the disruptions that pushes reported before the load.
    live.disruptions.clear();
    render({ structureChanged: false, attributesChanged: true });
  });

  exposeDebugHook(currentView, live, {
    drawnNodes: () => groups.projection.nodes,
    collapsed: effectiveCollapsed,
    colorOf: viewOptions.nodeColor,
    statusOf: (name) => drawnStatuses.get(name),
    seq: () => drawnSeq,
    socket,
  });

  // The tree decides which groups start collapsed, so the graph waits for its first load.
  await groupLoader.load();
  if (link.group) {
    for (const name of groupChain(groups.tree, link.group)) groups.linked.add(name);
  }
  setInterval(() => groupLoader.refreshSoon(), GROUP_REFRESH_MS);

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

/** Whether the page records the duration of each update, which only `#debug` enables. */
const measureUpdates = window.location.hash === '#debug';

/**
 * Records two performance measures per update: `thunderlink:render`, the page's own work, and
 * `thunderlink:update`, which also covers the graph library rebuilding its objects in a task of
 * its own 1 ms later. An animation frame drawn between the two tasks is counted in the second.
 */
function recordUpdateTimes(started: number): void {
  performance.measure('thunderlink:render', { start: started, end: performance.now() });
  setTimeout(
    () => performance.measure('thunderlink:update', { start: started, end: performance.now() }),
    2,
  );
}

/**
 * Copies the disruptions that pushes reported into the group tree and returns whether any
 * group changed. A group missing from the tree waits for the next load of the tree.
 */
function applyDisruptions(live: LiveState, tree: GroupTree): boolean {
  let changed = false;
  for (const [name, disruption] of live.disruptions) {
    const group = tree.get(name);
    if (!group) continue;
    changed ||= group.disrupted !== disruption.disrupted || group.affected !== disruption.affected;
    group.disrupted = disruption.disrupted;
    group.affected = disruption.affected;
    live.disruptions.delete(name);
  }
  return changed;
}

/**
 * Collapses the groups when the first snapshot is larger than
 * COLLAPSE_ABOVE_NODES and no collapsed groups were stored. The choice is made once per visit
 * and stored only when the operator changes it.
 */
function decideCollapsed(groups: GroupView, state: GraphState): void {
  if (groups.decided || state.nodes.size === 0) return;
  groups.decided = true;
  if (state.nodes.size <= COLLAPSE_ABOVE_NODES) return;
  groups.collapsed = groupsToCollapse(state.nodes.values(), groups.tree, COLLAPSE_ABOVE_NODES);
  if (groups.collapsed.size > 0) {
    showNotice(
      `${state.nodes.size} nodes: groups start collapsed. Click a group, or use the groups menu, to expand it.`,
      NOTICE_MS,
    );
  }
}

/** Counts the nodes in each group, including those in the groups below it. */
function memberCounts(nodes: readonly ViewNode[], tree: GroupTree): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    if (!Array.isArray(node.groups)) continue;
    const seen = new Set<string>();
    for (const group of node.groups) for (const name of groupChain(tree, group)) seen.add(name);
    for (const name of seen) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function hasUnknownGroup(nodes: readonly ViewNode[], tree: GroupTree): boolean {
  return nodes.some((node) => Array.isArray(node.groups) && node.groups.some((g) => !tree.has(g)));
}

/**
 * Loads the group tree from GET /groups. `load()` resolves once the first attempt finished,
 * whether it succeeded or not, so the page never waits on it for long. `refreshSoon()` loads the
 * tree again, at most once per second, and a failed load is retried by the next call.
 */
function createGroupLoader(
  url: URL,
  onLoad: (tree: GroupTree) => void,
): { load(): Promise<void>; refreshSoon(): void } {
  let loading: Promise<void> | undefined;
  let lastStart = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const load = () => {
    if (loading) return loading;
    lastStart = performance.now();
    loading = (async () => {
      try {
        const response = await fetch(url, {
          headers: { accept: 'application/json' },
          cache: 'no-store',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        if (!response.ok) throw new Error(`GET ${url.pathname} returned HTTP ${response.status}`);
        onLoad(readGroupTree(await response.json()));
      } catch (error) {
        console.warn('failed to load the groups, so groups cannot be collapsed yet', error);
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  };

  return {
    load,
    refreshSoon() {
      if (loading || timer !== undefined) return;
      const wait = Math.max(0, lastStart + 1000 - performance.now());
      timer = setTimeout(() => {
        timer = undefined;
        void load();
      }, wait);
    },
  };
}

/**
 * Draws the graph in 3D where WebGL works and in 2D otherwise, and lets `toggle` switch
 * between them. A switch destroys the drawn view and draws the same objects in the other mode,
 * so nodes keep their positions, and a paused layout stays paused. The chosen mode is stored.
 */
function createViewSwitch(
  container: HTMLElement,
  toggle: HTMLButtonElement,
  storage: Storage | undefined,
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
    toggle.addEventListener('click', () => {
      const next = view?.mode === '3d' ? '2d' : '3d';
      storage?.setItem(VIEW_MODE_STORAGE_KEY, next);
      show(next);
    });
  } else {
    showNotice(NO_WEBGL_MESSAGE);
    toggle.disabled = true;
  }
  const stored = storage?.getItem(VIEW_MODE_STORAGE_KEY);
  show(webgl && stored !== '2d' ? '3d' : '2d');
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
 * Blinks flapping nodes and disrupted groups by switching their opacity every
 * FLAPPING_BLINK_MS. The timer re-styles the graph only while at least one drawn node blinks.
 *
 * NOTE: each blink rebuilds the material of every node, which has not been measured on large
 * graphs.
 */
function startBlink(
  currentView: () => GraphView | undefined,
  drawnNodes: () => readonly ViewNode[],
  blink: { dim: boolean },
): void {
  setInterval(() => {
    const anyBlinking = drawnNodes().some(nodeBlinks);
    if (!anyBlinking && !blink.dim) return;
    blink.dim = anyBlinking && !blink.dim;
    currentView()?.recolorNodes();
  }, FLAPPING_BLINK_MS);
}

/** Finds a node by name, or by id when no node has that name. */
function findNode(state: GraphState, key: string): ViewNode | undefined {
  const nodes = [...state.nodes.values()];
  return nodes.find((node) => node.name === key) ?? state.nodes.get(key);
}

/**
 * Sets `window.thunderlinkDebug` when the page URL ends in `#debug`. End-to-end tests and the
 * browser benchmark use it to find where a node is drawn on screen, so they can click it, and to
 * see what the page holds. Ordinary page loads leave it unset.
 */
function exposeDebugHook(
  currentView: () => GraphView | undefined,
  live: LiveState,
  page: {
    drawnNodes: () => readonly ViewNode[];
    collapsed: () => ReadonlySet<string>;
    colorOf: (node: ViewNode) => string;
    statusOf: (name: string) => string | undefined;
    seq: () => number | undefined;
    socket: Socket;
  },
): void {
  if (window.location.hash !== '#debug') return;
  const state = live.graph;
  const { drawnNodes, collapsed } = page;
  const drawn = (name: string) => drawnNodes().find((candidate) => candidate.name === name);
  const hook = {
    /** Returns the drawn view's mode, `2d` or `3d`. */
    mode: () => currentView()?.mode,
    /** Returns whether the view draws frames, which it stops doing while nothing moves. */
    animating: () => currentView()?.isAnimating(),
    /** Returns the stream position as of the last redraw. */
    seq: page.seq,
    /** Returns a node's status as the page last drew it, by name. */
    status: page.statusOf,
    /** Returns the names of the drawn nodes, with a collapsed group drawn under its name. */
    drawnNames: () => drawnNodes().map((node) => node.name),
    /** Returns the colour the view draws a node in, by name. */
    color(name: string): string | undefined {
      const node = drawn(name);
      return node ? page.colorOf(node) : undefined;
    },
    /** Returns the ids and statuses of the page's nodes and the ids of its links, sorted. */
    graph: () => ({
      nodes: [...state.nodes.values()].map((node) => `${node.id} ${node.status}`).sort(),
      links: [...state.links.keys()].sort(),
    }),
    /** Returns the collapsed groups, sorted by name. */
    collapsedGroups: () => [...collapsed()].sort(),
    /** Returns the drawn node's position in CSS pixels relative to the graph canvas. */
    screenPosition(name: string): { x: number; y: number } | undefined {
      const node = drawn(name);
      return node ? currentView()?.screenPosition(node) : undefined;
    },
    /**
     * Returns the topics of the socket's channels. The phoenix client drops a channel from its
     * `channels` array once the server acknowledges the leave or the leave times out. The array
     * is missing from @types/phoenix.
     */
    channelTopics(): string[] {
      return (page.socket as unknown as { channels: Channel[] }).channels.map(
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

/** Returns the group list URL, relative to the page like the graph URL. */
function groupsUrl(): URL {
  return new URL('api/thunderlink/groups', document.baseURI);
}

function createStatusBar(): StatusBar {
  // The bar wraps onto more rows in narrow windows, and the panel and notices sit below it.
  const bar = requireElement('status-bar', HTMLElement);
  const setBarHeight = () =>
    document.documentElement.style.setProperty('--bar-height', `${bar.offsetHeight}px`);
  new ResizeObserver(setBarHeight).observe(bar);
  setBarHeight();

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
    disruptions: requireElement('disruptions', HTMLElement),
  };
}

/** Shows the groups in a mass failure, whose members the registry keeps as disconnected. */
function showDisruptions(statusBar: StatusBar, tree: GroupTree): void {
  const disrupted = [...tree.values()]
    .filter((group) => group.disrupted)
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  statusBar.disruptions.hidden = disrupted.length === 0;
  const named = disrupted
    .slice(0, BANNER_GROUPS)
    .map((group) => `${group.name} (${group.affected} held)`);
  const more = disrupted.length - named.length;
  statusBar.disruptions.textContent =
    `mass failure in ${named.join(', ')}` + (more > 0 ? ` and ${more} more groups` : '');
  statusBar.disruptions.title = disrupted.map((group) => group.name).join(', ');
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

/** Shows a notice below the bar until it is clicked, or for `hideAfterMs` when given. */
function showNotice(message: string, hideAfterMs?: number): void {
  const notice = requireElement('notice', HTMLElement);
  notice.textContent = message;
  notice.hidden = false;
  notice.title = 'Click to hide';
  notice.onclick = () => (notice.hidden = true);
  if (hideAfterMs !== undefined) {
    setTimeout(() => {
      if (notice.textContent === message) notice.hidden = true;
    }, hideAfterMs);
  }
}

function requireElement<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) {
    throw new Error(`index.html has no ${type.name} with id "${id}"`);
  }
  return element;
}

void main();
