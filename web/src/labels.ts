// Tooltips for nodes and links. The graph inserts these strings as HTML, and every value in
// them comes from the registry, where devices choose their own names, groups and metadata, so
// each value is escaped.
import { STATUS_SEVERITY, type CollapsedGroup } from './groups.js';
import { endpointId, escapeHtml, type ViewLink, type ViewNode } from './merge.js';

export function nodeLabel(node: ViewNode): string {
  if (node.collapsed) return groupLabel(node.name, node.collapsed);
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

/** Returns the tooltip of a collapsed group's super-node. */
export function groupLabel(name: string, group: CollapsedGroup): string {
  const counts = STATUS_SEVERITY.filter((status) => (group.counts[status] ?? 0) > 0)
    .map((status) => `${group.counts[status]} ${status}`)
    .join(', ');
  const rows: [string, string][] = [
    ['members', String(group.members.length)],
    ['status', counts],
  ];
  if (group.disrupted) rows.push(['mass failure', 'members held as disconnected']);
  rows.push(['click', 'to expand']);
  return labelHtml(`group ${name}`, rows);
}

/**
 * Returns a link's tooltip. `nameOf` finds the name of an end by id, which may be a collapsed
 * group's super-node.
 */
export function linkLabel(nameOf: (id: string) => string | undefined, link: ViewLink): string {
  const title = `${textOf(nameOf(endpointId(link.source)))} ↔ ${textOf(nameOf(endpointId(link.target)))}`;
  const rows: [string, string][] = [
    ['type', textOf(link.session_type)],
    ['status', link.failing === true ? 'failed' : textOf(link.status)],
    ['latency', formatNumber(link.latency_ms, 1, ' ms')],
    ['bandwidth', formatNumber(link.bandwidth_mbps, 1, ' Mbit/s')],
  ];
  if (link.merged_count !== undefined) rows.unshift(['links', String(link.merged_count)]);
  return labelHtml(title, rows);
}

function labelHtml(title: string, rows: [string, string][]): string {
  const body = rows
    .map(([key, value]) => `<div>${escapeHtml(key)}: ${escapeHtml(value)}</div>`)
    .join('');
  return `<div class="label"><strong>${escapeHtml(title)}</strong>${body}</div>`;
}

export function textOf(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

export function formatNumber(value: unknown, digits: number, unit: string): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) + unit : 'n/a';
}
