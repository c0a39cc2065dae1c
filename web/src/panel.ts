// The details panel for one node. It fetches GET /api/thunderlink/nodes/:id each time a node
// is selected and writes every value with textContent, because devices choose their own
// names, metadata and capability values. Above the details it draws the node's metric sparklines.
import type { Socket } from 'phoenix';

import type { NodeDetails } from '../../src/registry/operations.js';
import { detailSections } from './details.js';
import { createSparklines } from './sparkline-view.js';

const REQUEST_TIMEOUT_MS = 10_000;

export interface DetailsPanel {
  /** Opens the panel for a node and loads its details. A later call cancels an earlier load. */
  open(id: string, name: string): void;
  /** Loads the shown node's details again, keeping the sparklines and the current details. */
  refresh(): void;
  close(): void;
  /** The id of the node that the panel shows, or undefined while it is closed. */
  readonly nodeId: string | undefined;
}

/** Creates the panel. Its sparklines join node channels on `socket`, the page's one socket. */
export function createDetailsPanel(
  element: HTMLElement,
  nameOf: (id: string) => string,
  socket: Socket,
): DetailsPanel {
  const title = requireChild(element, 'h2');
  const body = requireChild(element, '.panel-body');
  const closeButton = requireChild(element, 'button.close');
  const sparklines = createSparklines(requireChild(element, '.sparklines'), socket);
  let loading: AbortController | undefined;
  let nodeId: string | undefined;

  const close = () => {
    loading?.abort();
    sparklines.stop();
    nodeId = undefined;
    element.hidden = true;
  };
  closeButton.addEventListener('click', close);

  const load = async (id: string, controller: AbortController) => {
    const url = new URL(`api/thunderlink/nodes/${encodeURIComponent(id)}`, document.baseURI);
    try {
      const response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      if (response.status === 404) {
        if (!controller.signal.aborted) {
          body.replaceChildren(paragraph('This node is not registered any more.'));
        }
        return;
      }
      if (!response.ok) throw new Error(`GET ${url.pathname} returned HTTP ${response.status}`);
      const details = (await response.json()) as NodeDetails;
      if (!controller.signal.aborted) renderSections(body, details, nameOf);
    } catch (error) {
      if (controller.signal.aborted) return;
      console.warn(`failed to load the details of node ${id}`, error);
      body.replaceChildren(
        paragraph(`Failed to load the details (${String(error)}). Select the node again to retry.`),
      );
    }
  };

  return {
    open(id, name) {
      loading?.abort();
      loading = new AbortController();
      nodeId = id;
      title.textContent = name;
      body.replaceChildren(paragraph('loading…'));
      element.hidden = false;
      sparklines.show(id);
      void load(id, loading);
    },
    refresh() {
      if (nodeId === undefined) return;
      loading?.abort();
      loading = new AbortController();
      void load(nodeId, loading);
    },
    close,
    get nodeId() {
      return nodeId;
    },
  };
}

function renderSections(
  body: HTMLElement,
  details: NodeDetails,
  nameOf: (id: string) => string,
): void {
  const sections = detailSections(details, nameOf).map((section) => {
    const element = document.createElement('section');
    element.dataset.section = section.title.toLowerCase().replace(/\s+/g, '-');
    const heading = document.createElement('h3');
    heading.textContent = section.title;
    const list = document.createElement('dl');
    for (const [key, value] of section.rows) {
      const term = document.createElement('dt');
      term.textContent = key;
      const definition = document.createElement('dd');
      definition.textContent = value;
      list.append(term, definition);
    }
    element.append(heading, list);
    return element;
  });
  body.replaceChildren(...sections);
}

function paragraph(text: string): HTMLParagraphElement {
  const element = document.createElement('p');
  element.textContent = text;
  return element;
}

function requireChild(parent: HTMLElement, selector: string): HTMLElement {
  const child = parent.querySelector(selector);
  if (!(child instanceof HTMLElement)) {
    throw new Error(`index.html has no "${selector}" inside #${parent.id}`);
  }
  return child;
}
