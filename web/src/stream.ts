// Keeps the page's graph current through the `thunderlink:graph` channel, using the official
// `phoenix` client, and reports the connection state for the indicator and the polling fallback.
import type { Channel, Socket } from 'phoenix';

import { graphPushEvents, graphTopic, type GraphJoinReply } from '../../src/realtime/messages.js';
import type { Changes } from './merge.js';
import { applyJoinReply, applyPush, joinParams, type LiveState } from './live.js';

/**
 * `connecting` until the first join, `live` while joined, `reconnecting` after the socket or the
 * channel dropped, and `offline` when that lasted longer than `offlineAfterMs`.
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface StreamOptions {
  /**
   * The page's socket, shared with the details panel. The stream connects it and never closes it.
   */
  socket: Socket;
  /** How long the stream may be down before the state becomes `offline`, in milliseconds. */
  offlineAfterMs: number;
  /** Called after a reply or push changed the graph. */
  onChanges: (changes: Changes) => void;
  onState: (state: ConnectionState) => void;
}

export interface GraphStream {
  /** Leaves the graph topic. The socket stays connected for its other channels. */
  close(): void;
}

/**
 * Connects to the socket and joins the graph topic with the live state's current `seq`. The
 * `phoenix` client reconnects and rejoins by itself, calling the join parameters again each time,
 * so a rejoin resumes from the last applied push. A reply or push that fails to apply makes the
 * page leave and join again without `since`, which replaces the graph with a fresh snapshot.
 */
export function connectGraphStream(live: LiveState, options: StreamOptions): GraphStream {
  const { socket } = options;
  let state: ConnectionState | undefined;
  let offlineTimer: ReturnType<typeof setTimeout> | undefined;
  let channel: Channel;

  const setState = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    options.onState(next);
  };

  // Starts the offline countdown once per outage, so repeated connection errors do not delay it.
  const markDown = () => {
    if (state === 'offline' || offlineTimer !== undefined) return;
    if (state === 'live') setState('reconnecting');
    offlineTimer = setTimeout(() => setState('offline'), options.offlineAfterMs);
  };

  const markLive = () => {
    clearTimeout(offlineTimer);
    offlineTimer = undefined;
    setState('live');
  };

  const resync = (error: unknown) => {
    console.error('failed to apply a graph update, joining again for a fresh snapshot', error);
    live.seq = undefined;
    channel.leave();
    channel = join();
  };

  const join = (): Channel => {
    const joined = socket.channel(graphTopic, () => joinParams(live));
    for (const event of graphPushEvents) {
      joined.on(event, (payload: unknown) => {
        if (joined !== channel) return;
        try {
          options.onChanges(applyPush(live, { event, payload } as Parameters<typeof applyPush>[1]));
        } catch (error) {
          resync(error);
        }
      });
    }
    joined.onError(() => markDown());

    joined
      .join()
      .receive('ok', (reply: GraphJoinReply) => {
        if (joined !== channel) return;
        markLive();
        try {
          options.onChanges(applyJoinReply(live, reply));
        } catch (error) {
          resync(error);
        }
      })
      .receive('error', (reply: { reason?: unknown }) => {
        // The client retries the join by itself. Without `since` the next try gets a snapshot,
        // which the server sends for any position.
        console.warn(`joining ${graphTopic} failed: ${String(reply?.reason)}`);
        live.seq = undefined;
        markDown();
      })
      .receive('timeout', () => markDown());
    return joined;
  };

  setState('connecting');
  const socketCallbacks = [socket.onError(() => markDown()), socket.onClose(() => markDown())];
  // Counts the first connection attempt towards the offline timeout too.
  markDown();
  socket.connect();
  channel = join();

  return {
    close() {
      clearTimeout(offlineTimer);
      channel.leave();
      socket.off(socketCallbacks);
    },
  };
}

/** Returns the socket URL next to the page, so the page also works behind a path prefix. */
export function socketUrl(baseUri: string): string {
  const url = new URL('socket', baseUri);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
