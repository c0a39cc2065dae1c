// Groups on the page: the group tree read from GET /groups, the colour of each group, and the
// projection that draws every collapsed group as one super-node. The projection keeps one object
// per super-node and per merged link across updates, because the force layout tracks objects by
// identity and stores their positions on them.
import type { NodeStatus } from '../../src/registry/model.js';
import { endpointId, type GraphState, type ViewLink, type ViewNode } from './merge.js';

/** One group as the page keeps it. Nodes name their groups, so the tree is keyed by name. */
export interface GroupInfo {
  name: string;
  type: string;
  /** The parent group's name, or undefined for a root group. */
  parent: string | undefined;
  /** Whether the group is in a mass failure. */
  disrupted: boolean;
  /** Members the mass failure keeps as disconnected. */
  affected: number;
}

export type GroupTree = Map<string, GroupInfo>;

/** The contents of a super-node: a collapsed group and the members drawn inside it. */
export interface CollapsedGroup {
  group: string;
  /** The ids of the member nodes drawn inside the super-node. */
  members: string[];
  /** Member count per status. */
  counts: Partial<Record<NodeStatus, number>>;
  disrupted: boolean;
}

/** Statuses from worst to best, which decides a super-node's status. */
export const STATUS_SEVERITY: readonly NodeStatus[] = [
  'offline',
  'disconnected',
  'degraded',
  'connecting',
  'online',
];

export const SUPER_NODE_PREFIX = 'group:';
export const COLLAPSED_STORAGE_KEY = 'thunderlink.collapsed';

/**
 * Colours for colouring by group: blues, teals, purples, pinks and browns, which stay apart from
 * each other on a dark background and from the status colours (green, amber, red).
 */
export const GROUP_PALETTE = [
  '#4e79a7',
  '#76b7b2',
  '#b07aa1',
  '#c5b0d5',
  '#9c755f',
  '#a0cbe8',
  '#d4a6c8',
  '#499894',
  '#17becf',
  '#6a7fdb',
  '#8e6c8a',
  '#86bcb6',
];
export const NO_GROUP_COLOR = '#5c6370';

/**
 * Reads the body of GET /groups into a tree. Throws a TypeError naming the first invalid entry,
 * so the caller keeps its current tree. A parent id that names no listed group makes the group a
 * root.
 */
export function readGroupTree(body: unknown): GroupTree {
  if (!isRecord(body) || !Array.isArray(body.groups)) {
    throw new TypeError('invalid group list: groups is not an array');
  }
  const namesById = new Map<string, string>();
  body.groups.forEach((group: unknown, i) => {
    if (!isRecord(group) || typeof group.id !== 'string' || typeof group.name !== 'string') {
      throw new TypeError(`invalid group list: groups[${i}] lacks a string id or name`);
    }
    namesById.set(group.id, group.name);
  });

  const tree: GroupTree = new Map();
  for (const group of body.groups as Record<string, unknown>[]) {
    const parentId = group.parent_group_id;
    tree.set(group.name as string, {
      name: group.name as string,
      type: typeof group.group_type === 'string' ? group.group_type : 'custom',
      parent: typeof parentId === 'string' ? namesById.get(parentId) : undefined,
      disrupted: typeof group.disrupted_since === 'string',
      affected: typeof group.disrupted_affected === 'number' ? group.disrupted_affected : 0,
    });
  }
  return tree;
}

/**
 * Returns the group and its ancestors, nearest first. A group missing from the tree is its own chain,
 * and a cycle, which the registry prevents, ends the walk.
 */
export function groupChain(tree: GroupTree, name: string): string[] {
  const chain: string[] = [];
  let current: string | undefined = name;
  while (current !== undefined && !chain.includes(current)) {
    chain.push(current);
    current = tree.get(current)?.parent;
  }
  return chain;
}

/** Returns the number of ancestors of a group, 0 for a root. */
export function groupDepth(tree: GroupTree, name: string): number {
  return groupChain(tree, name).length - 1;
}

/**
 * Returns the collapsed group that a node is drawn inside, or undefined when it is in none. A
 * node inside several collapsed groups, through its own groups or their ancestors, goes to the
 * outermost one, and between equally deep groups to the first by name.
 */
export function collapsedGroupOf(
  node: ViewNode,
  tree: GroupTree,
  collapsed: ReadonlySet<string>,
): string | undefined {
  if (collapsed.size === 0 || !Array.isArray(node.groups)) return undefined;
  let best: string | undefined;
  let bestDepth = Infinity;
  for (const group of node.groups) {
    if (typeof group !== 'string') continue;
    const chain = groupChain(tree, group);
    chain.forEach((name, i) => {
      if (!collapsed.has(name)) return;
      const depth = chain.length - 1 - i;
      if (depth < bestDepth || (depth === bestDepth && best !== undefined && name < best)) {
        best = name;
        bestDepth = depth;
      }
    });
  }
  return best;
}

/**
 * Returns the group that colours a node: the deepest of its own groups, and between equally
 * deep groups the first by name. Undefined for a node in no group.
 */
export function colorGroupOf(node: ViewNode, tree: GroupTree): string | undefined {
  if (!Array.isArray(node.groups)) return undefined;
  let best: string | undefined;
  let bestDepth = -1;
  for (const group of node.groups) {
    if (typeof group !== 'string') continue;
    const depth = groupDepth(tree, group);
    if (depth > bestDepth || (depth === bestDepth && best !== undefined && group < best)) {
      best = group;
      bestDepth = depth;
    }
  }
  return best;
}

/**
 * Returns a colour per group name: the palette in the order of the sorted names, so a group keeps
 * its colour while the set of groups stays the same.
 */
export function groupColors(names: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(names)].sort();
  return new Map(sorted.map((name, i) => [name, GROUP_PALETTE[i % GROUP_PALETTE.length]!]));
}

/** Returns the worst status among the counted ones, or undefined when nothing is counted. */
export function worstStatus(counts: Partial<Record<NodeStatus, number>>): NodeStatus | undefined {
  return STATUS_SEVERITY.find((status) => (counts[status] ?? 0) > 0);
}

/**
 * Returns the groups to collapse so that every node in a group is folded: the deepest own group
 * of each node. A node whose deepest group lies inside another collapsed group is folded into
 * the outer one, so a zone with members of its own folds its racks too. When that still leaves
 * more than `maxDrawn` groups, the root groups are returned instead.
 */
export function groupsToCollapse(
  nodes: Iterable<ViewNode>,
  tree: GroupTree,
  maxDrawn: number,
): Set<string> {
  const deepest = new Set<string>();
  for (const node of nodes) {
    const group = colorGroupOf(node, tree);
    if (group !== undefined) deepest.add(group);
  }
  // Each collapsed group is drawn inside the outermost collapsed group above it, if any.
  const outermost = new Set(
    [...deepest].map((name) =>
      groupChain(tree, name)
        .filter((group) => deepest.has(group))
        .at(-1),
    ),
  );
  if (outermost.size <= maxDrawn) return deepest;
  return new Set([...deepest].map((name) => groupChain(tree, name).at(-1)!));
}

/** The arrays to draw and whether their node or link sets differ from the previous projection. */
export interface Projection {
  nodes: ViewNode[];
  links: ViewLink[];
  structureChanged: boolean;
}

/** The objects a projection keeps between calls. */
export interface ProjectionCache {
  superNodes: Map<string, ViewNode>;
  mergedLinks: Map<string, ViewLink>;
  /** The id each node was drawn as last time: its own id or its super-node's id. */
  owners: Map<string, string>;
  linkIds: Set<string>;
}

export function createProjectionCache(): ProjectionCache {
  return { superNodes: new Map(), mergedLinks: new Map(), owners: new Map(), linkIds: new Set() };
}

/**
 * Returns the nodes and links to draw with the collapsed groups folded into super-nodes. Links
 * inside a super-node disappear, and the links between two drawn objects that pass through a
 * super-node merge into one link that carries their count, summed bandwidth, worst status and
 * highest latency. A node whose group just collapsed hands its position to the super-node, and a
 * node whose group just expanded starts where its super-node was.
 */
export function project(
  state: GraphState,
  tree: GroupTree,
  collapsed: ReadonlySet<string>,
  cache: ProjectionCache,
): Projection {
  const owners = new Map<string, string>();
  const members = new Map<string, ViewNode[]>();
  const nodes: ViewNode[] = [];
  let structureChanged = false;

  for (const node of state.nodes.values()) {
    const group = collapsedGroupOf(node, tree, collapsed);
    if (group === undefined) {
      owners.set(node.id, node.id);
      nodes.push(node);
    } else {
      owners.set(node.id, SUPER_NODE_PREFIX + group);
      const list = members.get(group);
      if (list) list.push(node);
      else members.set(group, [node]);
    }
    const previous = cache.owners.get(node.id);
    if (previous !== owners.get(node.id)) {
      structureChanged = true;
      if (previous?.startsWith(SUPER_NODE_PREFIX)) {
        placeNear(node, cache.superNodes.get(previous.slice(SUPER_NODE_PREFIX.length)));
      }
    }
  }
  if (cache.owners.size !== owners.size) structureChanged = true;

  const superNodes = new Map<string, ViewNode>();
  for (const [group, list] of members) {
    const superNode = cache.superNodes.get(group) ?? newSuperNode(group, list);
    updateSuperNode(superNode, group, list, tree);
    superNodes.set(group, superNode);
    nodes.push(superNode);
  }

  const drawn = (id: string) =>
    id.startsWith(SUPER_NODE_PREFIX)
      ? superNodes.get(id.slice(SUPER_NODE_PREFIX.length))
      : state.nodes.get(id);
  const { links, mergedLinks, rewired } = projectLinks(state, owners, drawn, cache.mergedLinks);
  if (rewired) structureChanged = true;
  const linkIds = new Set(links.map((link) => link.id));
  if (linkIds.size !== cache.linkIds.size || [...linkIds].some((id) => !cache.linkIds.has(id))) {
    structureChanged = true;
  }

  cache.superNodes = superNodes;
  cache.mergedLinks = mergedLinks;
  cache.owners = owners;
  cache.linkIds = linkIds;
  return { nodes, links, structureChanged };
}

function projectLinks(
  state: GraphState,
  owners: ReadonlyMap<string, string>,
  drawn: (id: string) => ViewNode | undefined,
  previous: ReadonlyMap<string, ViewLink>,
): { links: ViewLink[]; mergedLinks: Map<string, ViewLink>; rewired: boolean } {
  let rewired = false;
  const links: ViewLink[] = [];
  const parts = new Map<string, ViewLink[]>();

  for (const link of state.links.values()) {
    const sourceId = endpointId(link.source);
    const targetId = endpointId(link.target);
    const source = owners.get(sourceId) ?? sourceId;
    const target = owners.get(targetId) ?? targetId;
    if (source === target) continue;
    if (source === sourceId && target === targetId) {
      links.push(link);
      continue;
    }
    const key = source < target ? `${source}|${target}` : `${target}|${source}`;
    const list = parts.get(key);
    if (list) list.push(link);
    else parts.set(key, [link]);
  }

  const mergedLinks = new Map<string, ViewLink>();
  for (const [key, list] of parts) {
    const [source, target] = key.split('|') as [string, string];
    const merged = previous.get(key) ?? ({ id: `merged:${key}`, source, target } as ViewLink);
    // The layout swaps the ids of the ends for node objects. Ends that are not the objects drawn
    // now go back to ids, which the next graphData() call resolves.
    if (!endIsDrawn(merged.source, source, drawn) || !endIsDrawn(merged.target, target, drawn)) {
      merged.source = source;
      merged.target = target;
      rewired = true;
    }
    mergeLinkFields(merged, list);
    mergedLinks.set(key, merged);
    links.push(merged);
  }
  return { links, mergedLinks, rewired };
}

function endIsDrawn(
  end: string | ViewNode,
  id: string,
  drawn: (id: string) => ViewNode | undefined,
): boolean {
  return typeof end === 'string' ? end === id : end === drawn(id);
}

function mergeLinkFields(merged: ViewLink, parts: readonly ViewLink[]): void {
  merged.status = 'established';
  if (parts.some((link) => link.status === 'establishing')) merged.status = 'establishing';
  if (parts.some((link) => link.status === 'degraded')) merged.status = 'degraded';
  merged.session_type = parts[0]?.session_type ?? 'cluster';
  merged.value = parts.reduce((sum, link) => sum + (numberOr(link.value, 1) || 0), 0);
  merged.bandwidth_mbps = parts.reduce((sum, link) => sum + numberOr(link.bandwidth_mbps, 0), 0);
  const latencies = parts.map((link) => link.latency_ms).filter(isFiniteNumber);
  merged.latency_ms = latencies.length > 0 ? Math.max(...latencies) : null;
  merged.merged_count = parts.length;
}

function newSuperNode(group: string, list: readonly ViewNode[]): ViewNode {
  const node = { id: SUPER_NODE_PREFIX + group } as ViewNode;
  const placed = list.filter((member) => isFiniteNumber(member.x) && isFiniteNumber(member.y));
  if (placed.length > 0) {
    node.x = average(placed.map((member) => member.x!));
    node.y = average(placed.map((member) => member.y!));
    node.z = average(placed.map((member) => member.z ?? 0));
  }
  return node;
}

function updateSuperNode(
  node: ViewNode,
  group: string,
  list: readonly ViewNode[],
  tree: GroupTree,
): void {
  const counts: Partial<Record<NodeStatus, number>> = {};
  for (const member of list) counts[member.status] = (counts[member.status] ?? 0) + 1;
  const info = tree.get(group);
  node.name = group;
  node.status = worstStatus(counts) ?? 'online';
  node.role = 'controller';
  node.cluster_type = list.some((member) => member.cluster_type === 'in_cluster')
    ? 'in_cluster'
    : 'out_of_cluster';
  node.groups = [group];
  node.collapsed = {
    group,
    members: list.map((member) => member.id),
    counts,
    disrupted: info?.disrupted ?? false,
  };
}

/** Puts an expanded member next to where its super-node was drawn, keeping a little spread. */
function placeNear(node: ViewNode, superNode: ViewNode | undefined): void {
  if (!superNode || !isFiniteNumber(superNode.x) || !isFiniteNumber(superNode.y)) return;
  const spread = () => (Math.random() - 0.5) * 20;
  node.x = superNode.x + spread();
  node.y = superNode.y + spread();
  node.z = (superNode.z ?? 0) + spread();
  node.vx = 0;
  node.vy = 0;
  node.vz = 0;
}

/** Reads the stored collapsed groups, or undefined when none were stored or they are invalid. */
export function loadCollapsed(storage: Storage): Set<string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(storage.getItem(COLLAPSED_STORAGE_KEY) ?? 'null');
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return new Set(parsed.filter((name): name is string => typeof name === 'string'));
}

/** Stores the collapsed groups and returns whether the browser accepted them. */
export function saveCollapsed(storage: Storage, collapsed: ReadonlySet<string>): boolean {
  try {
    storage.setItem(COLLAPSED_STORAGE_KEY, JSON.stringify([...collapsed].sort()));
    return true;
  } catch {
    return false;
  }
}

function average(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function numberOr(value: unknown, fallback: number): number {
  return isFiniteNumber(value) ? value : fallback;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
