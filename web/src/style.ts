// The visual encoding of nodes and links. Nodes are coloured by status or group and sized by role
// or member count, and their opacity marks maintenance, flapping, disruption and isolation. Links
// get width and particles by load, and a bright colour once they failed. Every function
// here reads only the object it is given, so re-setting an accessor re-styles the graph.
import type { NodeRole, NodeStatus } from '../../src/registry/model.js';
import type { ViewLink, ViewNode } from './merge.js';

export const STATUS_COLORS: Record<NodeStatus, string> = {
  online: '#2ecc71',
  degraded: '#f5a623',
  offline: '#e74c3c',
  connecting: '#3498db',
  disconnected: '#95a5a6',
};
const UNKNOWN_STATUS_COLOR = '#ffffff';

/** Relative sphere volume per role, so controllers stand out and edge devices stay small. */
export const ROLE_SIZES: Record<NodeRole, number> = {
  controller: 8,
  gateway: 5,
  relay: 4,
  worker: 2,
  edge: 1,
};
const UNKNOWN_ROLE_SIZE = 2;

/** Opacity of a node in maintenance, which the registry does not expect to be up. */
export const MAINTENANCE_OPACITY = 0.3;
/** Opacity of a node without open links. */
export const ISOLATED_OPACITY = 0.55;
/** Opacity of a flapping node during the dim half of its blink. */
export const FLAPPING_DIM_OPACITY = 0.25;

/** Share of white mixed into the status colour of devices outside the BEAM cluster. */
export const EDGE_DEVICE_TINT = 0.45;

const LINK_COLORS: Record<string, string> = {
  established: '#7f8fa6',
  establishing: '#3498db',
  degraded: '#f5a623',
};
const DEFAULT_LINK_COLOR = '#7f8fa6';
/** Opacity of a degraded link. 3D lines cannot be dashed, so degraded links are dimmer. */
export const DEGRADED_LINK_OPACITY = 0.35;

/** Bandwidth from which a link counts as busy and carries particles, in Mbit/s. */
export const BUSY_LINK_MBPS = 100;
const MAX_PARTICLES = 4;
const MAX_LINK_WIDTH = 4;

/**
 * Returns the node's colour as an `rgba()` string. The alpha carries the markers, which
 * three-forcegraph multiplies into the material's opacity: maintenance, then flapping (dim
 * while `blinkDim` is true), then isolated.
 */
export function nodeColor(node: ViewNode, blinkDim = false): string {
  let rgb = hexToRgb(STATUS_COLORS[node.status] ?? UNKNOWN_STATUS_COLOR);
  if (node.cluster_type === 'out_of_cluster') rgb = mixWithWhite(rgb, EDGE_DEVICE_TINT);
  return rgba(rgb, nodeOpacity(node, blinkDim));
}

/**
 * Returns the node's colour when the page colours by group: the group's colour, faint for a node
 * that is offline or disconnected, with the same markers as `nodeColor`.
 */
export function groupedNodeColor(node: ViewNode, groupHex: string, blinkDim = false): string {
  const down = node.status === 'offline' || node.status === 'disconnected';
  const opacity = nodeOpacity(node, blinkDim) * (down ? DOWN_IN_GROUP_OPACITY : 1);
  return rgba(hexToRgb(groupHex), opacity);
}

/** Opacity factor of an offline or disconnected node when nodes are coloured by group. */
export const DOWN_IN_GROUP_OPACITY = 0.35;

/** Returns whether a node blinks: it is flapping, or it is the super-node of a disrupted group. */
export function nodeBlinks(node: ViewNode): boolean {
  return node.flapping === true || node.collapsed?.disrupted === true;
}

export function nodeOpacity(node: ViewNode, blinkDim = false): number {
  if (node.collapsed?.disrupted === true) return blinkDim ? FLAPPING_DIM_OPACITY : 1;
  if (node.maintenance === true) return MAINTENANCE_OPACITY;
  if (node.flapping === true) return blinkDim ? FLAPPING_DIM_OPACITY : 1;
  if (node.isolated === true) return ISOLATED_OPACITY;
  return 1;
}

/** Returns the sphere volume: by role, or for a collapsed group by its member count. */
export function nodeSize(node: ViewNode): number {
  if (node.collapsed) return Math.min(MAX_GROUP_SIZE, 4 + node.collapsed.members.length);
  return ROLE_SIZES[node.role] ?? UNKNOWN_ROLE_SIZE;
}

/** Largest sphere volume of a collapsed group, so a big group does not cover the graph. */
const MAX_GROUP_SIZE = 60;

/** Colour of a link that failed, drawn for a moment before it goes. */
export const FAILING_LINK_COLOR = '#ff2d55';

export function linkColor(link: ViewLink): string {
  if (link.failing === true) return FAILING_LINK_COLOR;
  const rgb = hexToRgb(LINK_COLORS[link.status] ?? DEFAULT_LINK_COLOR);
  return rgba(rgb, link.status === 'degraded' ? DEGRADED_LINK_OPACITY : 1);
}

/** Returns the line width for a link's `value` (its weight), from 0.5 up to MAX_LINK_WIDTH. */
export function linkWidth(link: ViewLink): number {
  const value = typeof link.value === 'number' && Number.isFinite(link.value) ? link.value : 1;
  return Math.min(MAX_LINK_WIDTH, 0.5 + Math.max(0, value) * 0.5);
}

/**
 * Returns the number of particles on a link: none below BUSY_LINK_MBPS, then one more for
 * every tenfold increase in bandwidth, up to MAX_PARTICLES.
 */
export function linkParticles(link: ViewLink): number {
  const mbps = link.bandwidth_mbps;
  if (typeof mbps !== 'number' || !Number.isFinite(mbps) || mbps < BUSY_LINK_MBPS) return 0;
  return Math.min(MAX_PARTICLES, 1 + Math.floor(Math.log10(mbps / BUSY_LINK_MBPS)));
}

type Rgb = [number, number, number];

function hexToRgb(hex: string): Rgb {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

function mixWithWhite([r, g, b]: Rgb, share: number): Rgb {
  const mix = (channel: number) => Math.round(channel + (255 - channel) * share);
  return [mix(r), mix(g), mix(b)];
}

function rgba([r, g, b]: Rgb, alpha: number): string {
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
