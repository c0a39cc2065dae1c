// Deep links into the page: `?node=NAME` focuses a node once it is in the graph, and
// `?group=NAME` selects that group in the filters for the current page load only.
import type { Filters } from './filters.js';

export interface DeepLink {
  /** Name or id of the node to focus. */
  node?: string;
  /** Group to select in the group filter. */
  group?: string;
}

/** Parses `node` and `group` from a URL query string. Blank values are treated as missing. */
export function parseDeepLink(search: string): DeepLink {
  const params = new URLSearchParams(search);
  const link: DeepLink = {};
  const node = params.get('node')?.trim();
  const group = params.get('group')?.trim();
  if (node) link.node = node;
  if (group) link.group = group;
  return link;
}

/** Returns a copy of `filters` whose group filter selects only `group`. */
export function withLinkedGroup(filters: Filters, group: string): Filters {
  return { ...filters, group: [group] };
}

/**
 * Returns the filters to store after the user changes them on a page opened with `?group=`.
 * While the group filter still contains only the linked group, the stored group selection is kept,
 * so the link does not replace it. A group selection that the user changed is stored as is.
 */
export function filtersToStore(current: Filters, stored: Filters, linkedGroup: string): Filters {
  const unchanged = current.group.length === 1 && current.group[0] === linkedGroup;
  return unchanged ? { ...current, group: stored.group } : current;
}
