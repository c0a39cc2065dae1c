// Merges graph snapshots and single changes from the registry into long-lived node and link
// objects. The force layout stores positions and velocities on those objects and tracks them by
// identity, so every id keeps one object for as long as the registry reports it.
import type { Graph, GraphLink, GraphNode } from '../../src/registry/model.js';
import type { CollapsedGroup } from './groups.js';

/** A node as the page keeps it: the wire fields plus what the layout writes onto it. */
export interface ViewNode extends GraphNode {
  x?: number;
  y?: number;
  z?: number;
  vx?: number;
  vy?: number;
  vz?: number;
  /** A fixed position, which the layout keeps the node at. */
  fx?: number;
  fy?: number;
  fz?: number;
  /** Set on the super-node that the page draws for a collapsed group, never on a registry node. */
  collapsed?: CollapsedGroup;
}

/**
 * A link as the page keeps it. The layout replaces the `source` and `target` ids with the
 * node objects themselves once the simulation has run.
 */
export interface ViewLink extends Omit<GraphLink, 'source' | 'target'> {
  source: string | ViewNode;
  target: string | ViewNode;
  /** Set on a link that stands for several links through a collapsed group: how many. */
  merged_count?: number;
  /** Set on a link that failed and is drawn for a moment before it goes. */
  failing?: boolean;
}

/** The page's copy of the graph, mutated in place by `mergeGraph`. */
export interface GraphState {
  /** One object per node id. */
  nodes: Map<string, ViewNode>;
  /** Links whose two ends are both among `nodes`, which the graph draws. */
  links: Map<string, ViewLink>;
  /** Links in the latest snapshot with an end that is not among `nodes` yet. */
  heldLinks: Map<string, ViewLink>;
  /** The wire fields last copied onto each object, so fields that disappear are removed. */
  wireKeys: WeakMap<object, readonly string[]>;
}

export interface MergeResult extends Changes {
  nodes: ViewNode[];
  links: ViewLink[];
}

// Fields that d3-force writes on nodes. A snapshot never overwrites them, nor fields starting
// with `__`, where three-forcegraph keeps each object's 3D meshes, so a stray field in the
// registry's data cannot move a node or break its drawing.
const LAYOUT_KEYS = new Set(['x', 'y', 'z', 'vx', 'vy', 'vz', 'fx', 'fy', 'fz', 'index']);

// Keys that mergeGraph sets itself rather than copying them from the snapshot.
const IDENTITY_KEYS = new Set(['id', 'source', 'target']);

export function createGraphState(): GraphState {
  return { nodes: new Map(), links: new Map(), heldLinks: new Map(), wireKeys: new WeakMap() };
}

/**
 * Validates that a response body has the shape of a graph: `nodes` and `links` arrays of
 * objects with string ids, and links with string ends. Throws a TypeError that names the
 * first invalid value, so the caller can keep its current graph.
 */
export function readGraph(body: unknown): Graph {
  if (!isRecord(body)) throw new TypeError('invalid graph: the body is not a JSON object');
  const { nodes, links } = body;
  if (!Array.isArray(nodes)) throw new TypeError('invalid graph: nodes is not an array');
  if (!Array.isArray(links)) throw new TypeError('invalid graph: links is not an array');

  nodes.forEach((node: unknown, i) => {
    if (!isRecord(node) || !isId(node.id)) {
      throw new TypeError(`invalid graph: nodes[${i}].id is missing or not a string`);
    }
  });
  links.forEach((link: unknown, i) => {
    if (!isRecord(link) || !isId(link.id)) {
      throw new TypeError(`invalid graph: links[${i}].id is missing or not a string`);
    }
    if (!isId(link.source) || !isId(link.target)) {
      throw new TypeError(`invalid graph: links[${i}] lacks a string source or target`);
    }
  });
  return body as unknown as Graph;
}

/**
 * Merges a snapshot into the state. Existing objects get the new field values and are never
 * replaced. New ids get new objects, and ids missing from the snapshot are dropped. A link is
 * held back while one of its ends is missing and drawn as soon as both exist.
 */
export function mergeGraph(state: GraphState, incoming: Graph): MergeResult {
  const nodes = mergeNodes(state, incoming.nodes);
  const links = mergeLinks(state, incoming.links);
  return {
    structureChanged: nodes.structureChanged || links.structureChanged,
    attributesChanged: nodes.attributesChanged || links.attributesChanged,
    ...(links.linkAttributesChanged ? { linkAttributesChanged: true } : {}),
    nodes: [...state.nodes.values()],
    links: [...state.links.values()],
  };
}

/** Returns the arrays to hand to `graphData()`: every node and every drawn link. */
export function graphArrays(state: GraphState): { nodes: ViewNode[]; links: ViewLink[] } {
  return { nodes: [...state.nodes.values()], links: [...state.links.values()] };
}

/**
 * Stores one node: updates the kept object for its id, or creates one. A new node releases
 * the held links whose ends now both exist.
 */
export function upsertNode(state: GraphState, wire: GraphNode): Changes {
  const changes: Changes = { structureChanged: false, attributesChanged: false };
  const node = state.nodes.get(wire.id);
  if (node) {
    changes.attributesChanged = copyFields(state, node, wire);
    return changes;
  }

  const created = { id: wire.id } as ViewNode;
  copyFields(state, created, wire);
  state.nodes.set(wire.id, created);
  changes.structureChanged = true;

  for (const [id, link] of state.heldLinks) {
    const source = endpointId(link.source);
    const target = endpointId(link.target);
    if (state.nodes.has(source) && state.nodes.has(target)) {
      link.source = source;
      link.target = target;
      state.heldLinks.delete(id);
      state.links.set(id, link);
    }
  }
  return changes;
}

/** Deletes a node and every link, drawn or held, that has it as an end. */
export function removeNode(state: GraphState, id: string): Changes {
  const changes: Changes = { structureChanged: false, attributesChanged: false };
  if (state.nodes.delete(id)) changes.structureChanged = true;

  for (const [linkId, link] of state.links) {
    if (endpointId(link.source) === id || endpointId(link.target) === id) {
      state.links.delete(linkId);
      changes.structureChanged = true;
    }
  }
  for (const [linkId, link] of state.heldLinks) {
    if (endpointId(link.source) === id || endpointId(link.target) === id) {
      state.heldLinks.delete(linkId);
    }
  }
  return changes;
}

/** Stores one link, held back while one of its ends is missing. */
export function upsertLink(state: GraphState, wire: GraphLink): Changes {
  const changes: Changes = { structureChanged: false, attributesChanged: false };
  placeLink(state, wire, changes);
  return changes;
}

/** Deletes a link, drawn or held. */
export function removeLink(state: GraphState, id: string): Changes {
  state.heldLinks.delete(id);
  return { structureChanged: state.links.delete(id), attributesChanged: false };
}

/** Returns the node id at one end of a link, before or after the layout resolved it. */
export function endpointId(end: string | { id: string }): string {
  return typeof end === 'string' ? end : end.id;
}

/** Escapes text for use inside HTML content or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** The effect of one change on the drawn graph, which tells the caller whether to call `graphData()`. */
export interface Changes {
  /** True when the set of node ids or of drawn link ids changed, or a drawn link was rewired. */
  structureChanged: boolean;
  /** True when a field of a node or a drawn link changed while the id sets stayed the same. */
  attributesChanged: boolean;
  /** True when the changed fields include a drawn link's, so links need re-styling too. */
  linkAttributesChanged?: boolean;
}

function mergeNodes(state: GraphState, incoming: readonly GraphNode[]): Changes {
  const changes: Changes = { structureChanged: false, attributesChanged: false };
  const seen = new Set<string>();

  for (const wire of incoming) {
    seen.add(wire.id);
    const node = state.nodes.get(wire.id);
    if (node) {
      if (copyFields(state, node, wire)) changes.attributesChanged = true;
    } else {
      const created = { id: wire.id } as ViewNode;
      copyFields(state, created, wire);
      state.nodes.set(wire.id, created);
      changes.structureChanged = true;
    }
  }

  for (const id of state.nodes.keys()) {
    if (!seen.has(id)) {
      state.nodes.delete(id);
      changes.structureChanged = true;
    }
  }
  return changes;
}

function mergeLinks(state: GraphState, incoming: readonly GraphLink[]): Changes {
  const changes: Changes = { structureChanged: false, attributesChanged: false };
  const seen = new Set<string>();

  for (const wire of incoming) {
    seen.add(wire.id);
    placeLink(state, wire, changes);
  }

  if (dropUnseen(state.links, seen)) changes.structureChanged = true;
  dropUnseen(state.heldLinks, seen);
  return changes;
}

/**
 * Copies a link's fields onto its kept object and files it under `links` when both ends exist,
 * or under `heldLinks` otherwise. Records in `changes` what the move did to the drawn graph.
 */
function placeLink(state: GraphState, wire: GraphLink, changes: Changes): void {
  const drawn = state.links.get(wire.id);
  const link = drawn ?? state.heldLinks.get(wire.id) ?? newLink(wire);
  const fieldsChanged = copyFields(state, link, wire);
  const ready = state.nodes.has(wire.source) && state.nodes.has(wire.target);

  if (drawn && ready) {
    if (rewire(state, link, wire)) changes.structureChanged = true;
    else if (fieldsChanged) {
      changes.attributesChanged = true;
      changes.linkAttributesChanged = true;
    }
  } else if (drawn) {
    state.links.delete(wire.id);
    state.heldLinks.set(wire.id, link);
    changes.structureChanged = true;
  } else if (ready) {
    // The ids, not objects kept from an earlier layout, let the layout resolve the ends
    // to the node objects that exist now.
    link.source = wire.source;
    link.target = wire.target;
    state.heldLinks.delete(wire.id);
    state.links.set(wire.id, link);
    changes.structureChanged = true;
  } else {
    state.heldLinks.set(wire.id, link);
  }
}

function newLink(wire: GraphLink): ViewLink {
  return { id: wire.id, source: wire.source, target: wire.target } as ViewLink;
}

/**
 * Points a drawn link's ends at the snapshot's ids when they no longer match the current node
 * objects, and returns whether it did. The layout resolves the ids again on the next
 * `graphData()` call, which the caller makes because this counts as a structure change.
 */
function rewire(state: GraphState, link: ViewLink, wire: GraphLink): boolean {
  let changed = false;
  if (!endIsCurrent(state, link.source, wire.source)) {
    link.source = wire.source;
    changed = true;
  }
  if (!endIsCurrent(state, link.target, wire.target)) {
    link.target = wire.target;
    changed = true;
  }
  return changed;
}

function endIsCurrent(state: GraphState, end: string | ViewNode, id: string): boolean {
  return typeof end === 'string' ? end === id : end === state.nodes.get(id);
}

function dropUnseen(links: Map<string, ViewLink>, seen: ReadonlySet<string>): boolean {
  let dropped = false;
  for (const id of links.keys()) {
    if (!seen.has(id)) {
      links.delete(id);
      dropped = true;
    }
  }
  return dropped;
}

/**
 * Copies the snapshot's fields onto a kept object and deletes the fields that an earlier
 * snapshot set but this one omits. Returns whether any value changed.
 */
function copyFields(state: GraphState, target: object, wire: object): boolean {
  const fields = target as Record<string, unknown>;
  const values = wire as Record<string, unknown>;
  const previousKeys = state.wireKeys.get(target);
  const keys: string[] = [];
  let changed = false;

  for (const key in values) {
    if (!Object.hasOwn(values, key) || !isWireKey(key)) continue;
    keys.push(key);
    if (!jsonEqual(fields[key], values[key])) {
      fields[key] = values[key];
      changed = true;
    }
  }

  // The registry sends the same fields in the same order every time, so the key lists
  // usually match and the previous list is kept as it is.
  if (previousKeys && sameKeys(previousKeys, keys)) return changed;
  for (const key of previousKeys ?? []) {
    if (!Object.hasOwn(values, key)) {
      delete fields[key];
      changed = true;
    }
  }
  state.wireKeys.set(target, keys);
  return changed;
}

function isWireKey(key: string): boolean {
  return !IDENTITY_KEYS.has(key) && !LAYOUT_KEYS.has(key) && !key.startsWith('__');
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, i) => key === b[i]);
}

/** Compares two JSON values by content. Key order in objects does not matter. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;

  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }

  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const leftKeys = Object.keys(left);
  if (leftKeys.length !== Object.keys(right).length) return false;
  return leftKeys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
