// Tooltips for nodes and links. The graph inserts these strings as HTML, and every value in
// them comes from the registry, where devices choose their own names, groups and metadata, so
// each value is escaped.
import { endpointId, escapeHtml, type GraphState, type ViewLink, type ViewNode } from './merge.js';

export function nodeLabel(node: ViewNode): string {
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

export function linkLabel(state: GraphState, link: ViewLink): string {
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

export function textOf(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

export function formatNumber(value: unknown, digits: number, unit: string): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) + unit : 'n/a';
}
