// Turns the node details that GET /api/thunderlink/nodes/:id returns into the sections of the
// details panel. The panel shows every value as text, so nothing here is escaped.
import type { NodeDetails } from '../../src/registry/operations.js';
import { formatNumber, textOf } from './labels.js';

export interface PanelSection {
  title: string;
  /** Key and value pairs, or a message such as "none" when the list is empty. */
  rows: [string, string][];
}

/** Returns the panel's sections: fields, metadata, capabilities, groups and open links. */
export function detailSections(
  details: NodeDetails,
  nameOf: (id: string) => string,
): PanelSection[] {
  return [
    { title: 'Fields', rows: fieldRows(details) },
    { title: 'Metadata', rows: orNone(metaRows(details.meta)) },
    { title: 'Capabilities', rows: orNone(capabilityRows(details)) },
    { title: 'Groups', rows: orNone(groupRows(details)) },
    { title: 'Open links', rows: orNone(linkRows(details, nameOf)) },
  ];
}

function fieldRows(details: NodeDetails): [string, string][] {
  const flags = [
    details.maintenance ? 'maintenance' : '',
    details.flapping ? 'flapping' : '',
  ].filter(Boolean);
  const summary = details.heartbeat_summary;
  return [
    ['id', textOf(details.id)],
    ['role', textOf(details.role)],
    ['domain', textOf(details.domain)],
    ['cluster type', textOf(details.cluster_type)],
    ['status', [textOf(details.status), ...flags].join(', ')],
    ['status since', textOf(details.status_changed_at)],
    ['last seen', textOf(details.last_seen_at) || 'never'],
    ['heartbeat interval', formatNumber(details.heartbeat_interval_ms, 0, ' ms')],
    ['cpu', formatNumber(details.last_cpu_load, 2, '')],
    ['mem', formatNumber(details.last_mem_used_mb, 0, ' MB')],
    ['latency', formatNumber(details.last_latency_ms, 1, ' ms')],
    [
      'heartbeats',
      summary ? `${textOf(summary.count)} in the last ${textOf(summary.minutes)} min` : 'n/a',
    ],
  ];
}

function metaRows(meta: unknown): [string, string][] {
  if (typeof meta !== 'object' || meta === null) return [];
  return Object.entries(meta).map(([key, value]) => [key, displayValue(value)]);
}

function capabilityRows(details: NodeDetails): [string, string][] {
  return (details.capabilities ?? []).map((capability) => {
    const value = capability.capability_value ?? '';
    const state = capability.enabled ? value : `${value} (disabled)`.trim();
    return [capability.capability_key, state];
  });
}

function groupRows(details: NodeDetails): [string, string][] {
  return (details.groups ?? []).map((group) => [group.name, textOf(group.group_type)]);
}

function linkRows(details: NodeDetails, nameOf: (id: string) => string): [string, string][] {
  return (details.links ?? []).map((link) => {
    const peerId = link.node_id === details.id ? link.remote_node_id : link.node_id;
    const latency = formatNumber(link.latency_ms, 1, ' ms');
    return [nameOf(peerId), `${link.session_type}, ${link.status}, ${latency}`];
  });
}

function orNone(rows: [string, string][]): [string, string][] {
  return rows.length > 0 ? rows : [['none', '']];
}

function displayValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '';
}
