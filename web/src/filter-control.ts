// The filter control: a collapsible list of checkboxes per filter field, built from the values
// the current nodes have. Selections that no current node has stay listed, so they can still be
// cleared.
import { clusterTypes, nodeRoles, nodeStatuses } from '../../src/registry/model.js';
import {
  emptyFilters,
  filterFields,
  filterOptions,
  type FilterField,
  type Filters,
} from './filters.js';
import type { ViewNode } from './merge.js';

const FIELD_LABELS: Record<FilterField, string> = {
  status: 'status',
  role: 'role',
  domain: 'domain',
  cluster_type: 'cluster type',
  capability: 'capability',
  group: 'group',
};

// Fields with a fixed set of values list all of them, even those no node has yet.
const FIXED_OPTIONS: Partial<Record<FilterField, readonly string[]>> = {
  status: nodeStatuses,
  role: nodeRoles,
  cluster_type: clusterTypes,
};

export interface FilterControl {
  /** Rebuilds the choices when the set of values across `nodes` changed since the last call. */
  update(nodes: Iterable<ViewNode>): void;
}

/**
 * Binds the control inside `element`, which must contain a `summary`, a `.filter-fields`
 * container and a `button.clear`. `onChange` receives a new Filters object on every change.
 */
export function createFilterControl(
  element: HTMLDetailsElement,
  initial: Filters,
  onChange: (filters: Filters) => void,
): FilterControl {
  const summary = requireChild(element, 'summary');
  const container = requireChild(element, '.filter-fields');
  const clear = requireChild(element, 'button.clear');
  let filters = initial;
  let shownOptions = '';
  let options = emptyFilters();

  const showSummary = () => {
    const count = filterFields.reduce((sum, field) => sum + filters[field].length, 0);
    summary.textContent = count === 0 ? 'filters' : `filters (${count})`;
    element.dataset.active = String(count > 0);
  };

  const render = () => {
    const fieldsets = filterFields.map((field) => {
      const fieldset = document.createElement('fieldset');
      fieldset.dataset.field = field;
      const legend = document.createElement('legend');
      legend.textContent = FIELD_LABELS[field];
      fieldset.append(legend);

      const values = [...new Set([...options[field], ...filters[field]])].sort();
      if (values.length === 0) {
        const none = document.createElement('span');
        none.className = 'none';
        none.textContent = 'none';
        fieldset.append(none);
      }
      for (const value of values) {
        const label = document.createElement('label');
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.value = value;
        box.checked = filters[field].includes(value);
        box.addEventListener('change', () => {
          const selected = filters[field].filter((v) => v !== value);
          if (box.checked) selected.push(value);
          filters = { ...filters, [field]: selected };
          showSummary();
          onChange(filters);
        });
        // textContent, because devices choose their own domains, groups and capability keys.
        label.append(box, document.createTextNode(value));
        fieldset.append(label);
      }
      return fieldset;
    });
    container.replaceChildren(...fieldsets);
  };

  clear.addEventListener('click', () => {
    filters = emptyFilters();
    showSummary();
    render();
    onChange(filters);
  });

  showSummary();
  render();

  return {
    update(nodes) {
      const found = filterOptions(nodes);
      for (const field of filterFields) {
        const fixed = FIXED_OPTIONS[field];
        if (fixed) found[field] = [...new Set([...fixed, ...found[field]])];
      }
      const key = JSON.stringify(found);
      if (key === shownOptions) return;
      shownOptions = key;
      options = found;
      render();
    },
  };
}

function requireChild(parent: HTMLElement, selector: string): HTMLElement {
  const child = parent.querySelector<HTMLElement>(selector);
  if (!child) throw new Error(`the filter control has no element matching "${selector}"`);
  return child;
}
