// Node search by name for the search box.
import type { ViewNode } from './merge.js';

/**
 * Returns up to `limit` nodes whose name contains `query`, ignoring case. Exact names come
 * first, then names that start with the query, then the other matches, each sorted by name.
 * An empty query returns no nodes.
 */
export function searchNodes(nodes: Iterable<ViewNode>, query: string, limit = 20): ViewNode[] {
  const needle = query.trim().toLowerCase();
  if (needle === '') return [];

  const ranked: { node: ViewNode; rank: number; name: string }[] = [];
  for (const node of nodes) {
    const name = typeof node.name === 'string' ? node.name : '';
    const lower = name.toLowerCase();
    const at = lower.indexOf(needle);
    if (at < 0) continue;
    let rank = 2;
    if (lower === needle) rank = 0;
    else if (at === 0) rank = 1;
    ranked.push({ node, rank, name });
  }
  ranked.sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name));
  return ranked.slice(0, limit).map((entry) => entry.node);
}

/** Returns whether a key press should be left to the element that has focus. */
export function isTypingTarget(target: { tagName?: string; isContentEditable?: boolean }): boolean {
  const tag = target.tagName?.toUpperCase();
  return (
    tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable === true
  );
}
