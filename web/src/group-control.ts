// The group control: a collapsible list of the group tree with each group's colour, member
// count and mass-failure mark, and a button per group that collapses it into one super-node or
// expands it again.
import { groupChain, type GroupTree } from './groups.js';

const MAX_INDENT_DEPTH = 6;

export interface GroupControlView {
  tree: GroupTree;
  /** Member count per group, counting the members of its descendants too. */
  memberCounts: ReadonlyMap<string, number>;
  collapsed: ReadonlySet<string>;
  colors: ReadonlyMap<string, string>;
}

export interface GroupControlHandlers {
  toggle(group: string): void;
  collapseAll(): void;
  expandAll(): void;
}

export interface GroupControl {
  /** Rebuilds the list when anything it shows changed since the last call. */
  update(view: GroupControlView): void;
}

/**
 * Binds the control inside `element`, which must contain a `summary`, a `.group-list` container
 * and the buttons `.collapse-all` and `.expand-all`.
 */
export function createGroupControl(
  element: HTMLDetailsElement,
  handlers: GroupControlHandlers,
): GroupControl {
  const summary = requireChild(element, 'summary');
  const list = requireChild(element, '.group-list');
  requireChild(element, 'button.collapse-all').addEventListener('click', handlers.collapseAll);
  requireChild(element, 'button.expand-all').addEventListener('click', handlers.expandAll);
  let renderedKey = '';

  return {
    update(view) {
      const rows = groupRows(view);
      const key = JSON.stringify(rows);
      if (key === renderedKey) return;
      renderedKey = key;

      const collapsedCount = rows.filter((row) => row.collapsed).length;
      summary.textContent =
        collapsedCount === 0 ? 'groups' : `groups (${collapsedCount} collapsed)`;
      element.dataset.disrupted = String(rows.some((row) => row.disrupted));
      if (rows.length === 0) {
        list.replaceChildren(paragraph('no groups'));
        return;
      }
      list.replaceChildren(...rows.map((row) => rowElement(row, handlers)));
    },
  };
}

interface GroupRow {
  name: string;
  type: string;
  depth: number;
  members: number;
  collapsed: boolean;
  disrupted: boolean;
  color: string | undefined;
}

/** Returns the groups in tree order: each root by name, followed by its descendants. */
function groupRows(view: GroupControlView): GroupRow[] {
  const children = new Map<string | undefined, string[]>();
  for (const group of view.tree.values()) {
    const parent =
      group.parent !== undefined && view.tree.has(group.parent) ? group.parent : undefined;
    const siblings = children.get(parent);
    if (siblings) siblings.push(group.name);
    else children.set(parent, [group.name]);
  }

  const rows: GroupRow[] = [];
  const visited = new Set<string>();
  const visit = (name: string) => {
    visited.add(name);
    const group = view.tree.get(name)!;
    rows.push({
      name,
      type: group.type,
      depth: groupChain(view.tree, name).length - 1,
      members: view.memberCounts.get(name) ?? 0,
      collapsed: view.collapsed.has(name),
      disrupted: group.disrupted,
      color: view.colors.get(name),
    });
    for (const child of (children.get(name) ?? []).sort()) {
      // A cycle, which the registry prevents, would revisit a group.
      if (!visited.has(child)) visit(child);
    }
  };
  for (const root of (children.get(undefined) ?? []).sort()) visit(root);
  return rows;
}

function rowElement(row: GroupRow, handlers: GroupControlHandlers): HTMLElement {
  const item = document.createElement('div');
  item.className = 'group-row';
  item.dataset.group = row.name;
  // Deep trees stop indenting at MAX_INDENT_DEPTH, so names keep their width.
  item.style.paddingLeft = `${Math.min(row.depth, MAX_INDENT_DEPTH) * 12}px`;
  if (row.depth > MAX_INDENT_DEPTH) item.title = `depth ${row.depth}`;

  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  if (row.color) swatch.style.background = row.color;
  // textContent, because clients choose their own group names.
  const name = document.createElement('span');
  name.className = 'group-name';
  name.textContent = row.name;
  const details = document.createElement('span');
  details.className = 'group-details';
  details.textContent = `${row.type}, ${row.members} ${row.members === 1 ? 'node' : 'nodes'}`;
  item.append(swatch, name, details);

  if (row.disrupted) {
    const mark = document.createElement('span');
    mark.className = 'disrupted';
    mark.textContent = 'mass failure';
    item.append(mark);
  }

  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = row.collapsed ? 'expand' : 'collapse';
  button.setAttribute('aria-label', `${button.textContent} ${row.name}`);
  button.addEventListener('click', () => handlers.toggle(row.name));
  item.append(button);
  return item;
}

function paragraph(text: string): HTMLParagraphElement {
  const element = document.createElement('p');
  element.className = 'none';
  element.textContent = text;
  return element;
}

function requireChild(parent: HTMLElement, selector: string): HTMLElement {
  const child = parent.querySelector<HTMLElement>(selector);
  if (!child) throw new Error(`the group control has no element matching "${selector}"`);
  return child;
}
