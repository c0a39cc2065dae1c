// Node filters by status, role, domain, cluster type, capability and group. An empty selection
// for a field lets every node through, and a node passes only when it matches every field that
// has a selection. The page stores the selection in localStorage so it survives a reload.
import type { ViewLink, ViewNode } from './merge.js';

export const filterFields = [
  'status',
  'role',
  'domain',
  'cluster_type',
  'capability',
  'group',
] as const;
export type FilterField = (typeof filterFields)[number];

/** The values selected per field. An empty list means the field does not filter. */
export type Filters = Record<FilterField, string[]>;

export const FILTERS_STORAGE_KEY = 'thunderlink.filters';

export function emptyFilters(): Filters {
  return { status: [], role: [], domain: [], cluster_type: [], capability: [], group: [] };
}

/** Returns the values a node has for a field: one for scalar fields, any number for the lists. */
export function nodeValues(node: ViewNode, field: FilterField): string[] {
  switch (field) {
    case 'capability':
      return isRecord(node.capabilities) ? Object.keys(node.capabilities) : [];
    case 'group':
      return Array.isArray(node.groups) ? node.groups.filter((g) => typeof g === 'string') : [];
    default: {
      const value: unknown = node[field];
      return typeof value === 'string' ? [value] : [];
    }
  }
}

/** Returns whether a node has at least one selected value in every field that filters. */
export function nodeMatches(node: ViewNode, filters: Filters): boolean {
  for (const field of filterFields) {
    const selected = filters[field];
    if (selected.length === 0) continue;
    if (!nodeValues(node, field).some((value) => selected.includes(value))) return false;
  }
  return true;
}

/**
 * Returns whether a drawn node passes the filters. The super-node of a collapsed group passes
 * when any of its members does, and `members` finds those by id.
 */
export function drawnNodeMatches(
  node: ViewNode,
  members: ReadonlyMap<string, ViewNode>,
  filters: Filters,
): boolean {
  if (!node.collapsed) return nodeMatches(node, filters);
  return node.collapsed.members.some((id) => {
    const member = members.get(id);
    return member !== undefined && nodeMatches(member, filters);
  });
}

/**
 * Returns whether a link is drawn, which needs both ends to pass the filters. An end is either
 * a node id or, once the layout has run, the node object itself. An end not in `drawn` hides the
 * link. `members` finds the members of collapsed groups, as in `drawnNodeMatches`.
 */
export function linkMatches(
  link: ViewLink,
  drawn: ReadonlyMap<string, ViewNode>,
  filters: Filters,
  members: ReadonlyMap<string, ViewNode> = drawn,
): boolean {
  const end = (value: string | ViewNode) => (typeof value === 'string' ? drawn.get(value) : value);
  const source = end(link.source);
  const target = end(link.target);
  return (
    source !== undefined &&
    target !== undefined &&
    drawnNodeMatches(source, members, filters) &&
    drawnNodeMatches(target, members, filters)
  );
}

/** Returns whether any field filters. */
export function filtersActive(filters: Filters): boolean {
  return filterFields.some((field) => filters[field].length > 0);
}

/** Collects the sorted distinct values of each field across the nodes, for the filter choices. */
export function filterOptions(nodes: Iterable<ViewNode>): Record<FilterField, string[]> {
  const sets = Object.fromEntries(
    filterFields.map((field) => [field, new Set<string>()]),
  ) as Record<FilterField, Set<string>>;
  for (const node of nodes) {
    for (const field of filterFields) {
      for (const value of nodeValues(node, field)) sets[field].add(value);
    }
  }
  return Object.fromEntries(
    filterFields.map((field) => [field, [...sets[field]].sort()]),
  ) as Record<FilterField, string[]>;
}

/**
 * Parses stored filters. Unknown fields and non-string values are dropped, and text that is
 * not JSON gives empty filters, so a stale or edited entry cannot break the page.
 */
export function parseFilters(text: string | null): Filters {
  const filters = emptyFilters();
  if (text === null) return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return filters;
  }
  if (!isRecord(parsed)) return filters;
  for (const field of filterFields) {
    const values = parsed[field];
    if (Array.isArray(values)) {
      filters[field] = [...new Set(values.filter((v): v is string => typeof v === 'string'))];
    }
  }
  return filters;
}

export function serializeFilters(filters: Filters): string {
  return JSON.stringify(filters);
}

/** Reads the filters from storage. A storage that throws (blocked cookies) gives empty filters. */
export function loadFilters(storage: Pick<Storage, 'getItem'>): Filters {
  try {
    return parseFilters(storage.getItem(FILTERS_STORAGE_KEY));
  } catch {
    return emptyFilters();
  }
}

/** Writes the filters to storage and returns false when the storage rejects the write. */
export function saveFilters(storage: Pick<Storage, 'setItem'>, filters: Filters): boolean {
  try {
    storage.setItem(FILTERS_STORAGE_KEY, serializeFilters(filters));
    return true;
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
