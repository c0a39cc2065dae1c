// The details panel's sparklines of one node's CPU load, memory and latency. They start from the
// node's recent heartbeat history and then follow its `thunderlink:node:<id>` channel on the
// page's socket. Every value is written with textContent, because devices send the metrics.
import type { Channel, Socket } from 'phoenix';

import { nodeTopicPrefix, type NodePushes } from '../../src/realtime/messages.js';
import type { HeartbeatHistory } from '../../src/registry/operations.js';
import { formatNumber } from './labels.js';
import {
  heartbeatPoint,
  historyPoints,
  mergePoints,
  plotSegments,
  polylinePoints,
  sparklineMetrics,
  summarize,
  type MetricFormat,
  type PlotPoint,
  type PlotSize,
  type SamplePoint,
} from './sparkline.js';

/**
 * Minutes of history the sparklines start from. Raw heartbeats stay for 24 hours by default, so
 * rollups fill in only on a server that keeps raw heartbeats for less than this.
 */
export const HISTORY_MINUTES = 15;

const REQUEST_TIMEOUT_MS = 10_000;

/** The SVG's user units. The SVG stretches to the panel's width, and strokes keep their width. */
const PLOT_SIZE: PlotSize = { width: 240, height: 32, padding: 2 };

const SVG_NS = 'http://www.w3.org/2000/svg';

export interface Sparklines {
  /** Shows a node's sparklines, leaving the channel of the node shown before. */
  show(nodeId: string): void;
  /** Leaves the node's channel and cancels the history request. */
  stop(): void;
}

interface Row {
  format: MetricFormat;
  element: HTMLElement;
  svg: SVGSVGElement;
  latest: HTMLElement;
  range: HTMLElement;
}

/** The state of the node that the sparklines show. Each `show` starts a new session. */
interface Session {
  nodeId: string;
  channel: Channel;
  /** Whether the page left the channel or the server closed it. */
  closed: boolean;
  loading: AbortController;
  historyLoaded: boolean;
  points: SamplePoint[];
  removed: boolean;
  /** A failure to show in place of the normal status. */
  failure: string | undefined;
}

/** Builds the sparklines inside `element` and draws them for the node that `show` names. */
export function createSparklines(element: HTMLElement, socket: Socket): Sparklines {
  const heading = document.createElement('h3');
  heading.textContent = 'Metrics';
  const status = document.createElement('p');
  status.className = 'sparkline-status';
  const rows = sparklineMetrics.map(createRow);
  element.replaceChildren(heading, status, ...rows.map((row) => row.element));
  let session: Session | undefined;

  const render = () => {
    const points = session?.points ?? [];
    for (const row of rows) renderRow(row, points);
    status.textContent = session ? statusText(session) : '';
    status.hidden = status.textContent === '';
    element.dataset.state = session ? sessionState(session) : 'stopped';
  };

  const add = (current: Session, incoming: SamplePoint[]) => {
    current.points = mergePoints(current.points, incoming);
    render();
  };

  const stop = () => {
    if (!session) return;
    session.loading.abort();
    leave(session);
    session = undefined;
  };

  render();
  return {
    show(nodeId) {
      stop();
      const current = startSession(socket, nodeId);
      session = current;
      const active = () => session === current;

      current.channel.on('heartbeat', (row: NodePushes['heartbeat']) => {
        const point = active() ? heartbeatPoint(row) : undefined;
        if (point) add(current, [point]);
      });
      current.channel.on('node_removed', () => {
        if (!active()) return;
        current.removed = true;
        render();
      });
      current.channel.onClose(() => {
        current.closed = true;
      });
      current.channel
        .join()
        // A rejoin after the socket reconnects also lands here, and the history request then
        // fills in the heartbeats sent while the page was away.
        .receive('ok', () => {
          if (!active()) return;
          void loadHistory(current).then(() => {
            if (active()) render();
          });
        })
        .receive('error', (reply: { reason?: unknown }) => {
          if (!active()) return;
          const reason = String(reply?.reason);
          console.warn(`joining ${current.channel.topic} failed: ${reason}`);
          current.failure = `Failed to follow the heartbeats (${reason}). Select the node again to retry.`;
          // The client would retry a rejected join forever, but the usual reason is a node that
          // is gone, so the sparklines leave instead.
          leave(current);
          render();
        });
      render();
    },
    stop,
  };
}

function startSession(socket: Socket, nodeId: string): Session {
  return {
    nodeId,
    channel: socket.channel(`${nodeTopicPrefix}${nodeId}`),
    closed: false,
    loading: new AbortController(),
    historyLoaded: false,
    points: [],
    removed: false,
    failure: undefined,
  };
}

/** Leaves the session's channel unless it was left already or the server closed it. */
function leave(session: Session): void {
  if (session.closed) return;
  session.closed = true;
  session.channel.leave();
}

/**
 * Loads the last HISTORY_MINUTES of heartbeats into the session. It runs after the join, because
 * the channel pushes only heartbeats stored after the join. Merging drops the rows both return.
 */
async function loadHistory(session: Session): Promise<void> {
  const path = `api/thunderlink/nodes/${encodeURIComponent(session.nodeId)}/heartbeats`;
  const url = new URL(path, document.baseURI);
  url.searchParams.set('minutes', String(HISTORY_MINUTES));
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.any([session.loading.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    if (!response.ok) throw new Error(`GET ${url.pathname} returned HTTP ${response.status}`);
    const history = (await response.json()) as HeartbeatHistory;
    session.points = mergePoints(session.points, historyPoints(history));
    session.historyLoaded = true;
    session.failure = undefined;
  } catch (error) {
    if (session.loading.signal.aborted) return;
    console.warn(`failed to load the heartbeat history of node ${session.nodeId}`, error);
    session.failure = `Failed to load the heartbeat history (${String(error)}). Live heartbeats still appear.`;
  }
}

function statusText(session: Session): string {
  if (session.removed) return 'The node was removed, so no more heartbeats will arrive.';
  if (session.failure) return session.failure;
  if (!session.historyLoaded) return 'loading…';
  if (session.points.length === 0) return `No heartbeats in the last ${HISTORY_MINUTES} minutes.`;
  return '';
}

/** Returns the state for styling and tests. Without a session it is `stopped`. */
function sessionState(session: Session): string {
  if (session.removed) return 'removed';
  if (session.failure) return 'failed';
  return session.historyLoaded ? 'live' : 'loading';
}

function createRow(format: MetricFormat): Row {
  const element = document.createElement('div');
  element.className = 'sparkline';
  element.dataset.metric = format.metric;

  const label = document.createElement('span');
  label.className = 'sparkline-label';
  label.textContent = format.label;
  const latest = document.createElement('span');
  latest.className = 'sparkline-latest';
  const range = document.createElement('span');
  range.className = 'sparkline-range';

  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${PLOT_SIZE.width} ${PLOT_SIZE.height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${format.label} over time`);

  element.append(label, latest, range, svg);
  return { format, element, svg, latest, range };
}

function renderRow(row: Row, points: readonly SamplePoint[]): void {
  const { metric, digits, unit } = row.format;
  const summary = summarize(points, metric);
  row.latest.textContent = formatNumber(summary.latest, digits, unit);
  row.range.textContent =
    summary.count > 0
      ? `min ${formatNumber(summary.min, digits, unit)} · max ${formatNumber(summary.max, digits, unit)}`
      : 'no values';
  row.svg.dataset.points = String(summary.count);
  row.svg.replaceChildren(...plotSegments(points, metric, PLOT_SIZE).map(polyline));
}

/** Draws a segment. A lone point becomes a zero-length line, which the round cap draws as a dot. */
function polyline(segment: PlotPoint[]): SVGPolylineElement {
  const element = document.createElementNS(SVG_NS, 'polyline');
  const drawn = segment.length === 1 ? [segment[0]!, segment[0]!] : segment;
  element.setAttribute('points', polylinePoints(drawn));
  element.setAttribute('vector-effect', 'non-scaling-stroke');
  return element;
}
