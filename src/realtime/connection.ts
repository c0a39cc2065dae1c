// One client socket speaking Phoenix Channels V2: the channels it joined, the order in which its
// frames are handled, and the bound on what the server buffers for it.
import type { RawData, WebSocket } from 'ws';

import type { Logger } from '../log.js';
import {
  type InboundMessage,
  decodeFrame,
  encodeFrame,
  encodeFrameWithJson,
  replyPayloadJson,
} from './frames.js';
import { channelEvents, heartbeatTopic } from './messages.js';

export interface ConnectionLimits {
  /** Channels one socket may have joined at once. */
  maxChannels: number;
  /** A socket that sends nothing for this long is closed, in milliseconds. */
  idleTimeoutMs: number;
  /**
   * Bytes queued for the socket beyond which pushes are dropped. The topic that dropped one sends a
   * fresh state once the queue has drained.
   */
  maxBufferedBytes: number;
  /** Bytes queued beyond which the socket is terminated, whatever is being sent. */
  hardMaxBufferedBytes: number;
  /** A socket whose queue does not drain for this long after a dropped push is closed, in ms. */
  slowClientTimeoutMs: number;
  /** Frames received and not yet handled beyond which the socket is closed. */
  maxPendingFrames: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  maxChannels: 100,
  idleTimeoutMs: 60_000,
  maxBufferedBytes: 1024 * 1024,
  hardMaxBufferedBytes: 64 * 1024 * 1024,
  slowClientTimeoutMs: 30_000,
  maxPendingFrames: 1000,
};

/** WebSocket close codes the server uses. Every one of them makes Phoenix clients reconnect. */
export const closeCodes = {
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
} as const;

/** The outcome of a client message: the reply's response as JSON text, or the error reason. */
export type ReplyResult = { ok: true; responseJson: string } | { ok: false; reason: string };

/** The outcome of a join; a successful one also names the channel's handler. */
export type JoinResult =
  { ok: true; responseJson: string; handler: ChannelHandler } | { ok: false; reason: string };

export interface ChannelHandler {
  /** Runs right after the join reply was queued, so pushes sent from here follow it. */
  start?(): void;
  /** Handles an event the client pushed on the topic and returns the reply's response. */
  handleIn?(event: string, payload: Record<string, unknown>): Promise<ReplyResult>;
  /** Runs once when the channel ends: left, replaced, failed, or its socket closed. */
  stop(): void;
}

export interface TopicRoute {
  matches(topic: string): boolean;
  join(channel: Channel, params: Record<string, unknown>): Promise<JoinResult>;
}

/** One joined topic on one socket. */
export class Channel {
  handler: ChannelHandler | undefined;
  ended = false;

  constructor(
    readonly connection: Connection,
    readonly topic: string,
    readonly joinRef: string,
  ) {}

  /**
   * Sends a push unless the socket's queue is over its bound, and returns whether it was sent. A
   * topic whose push was dropped waits for `onDrain` and then sends the client a fresh state.
   */
  push(event: string, payloadJson: string): boolean {
    if (this.ended) return false;
    const frame = encodeFrameWithJson(this.joinRef, null, this.topic, event, payloadJson);
    return this.connection.sendDroppable(frame);
  }

  /** Sends a push whatever the queue holds, for the one message that replaces dropped ones. */
  pushAlways(event: string, payloadJson: string): boolean {
    if (this.ended) return false;
    return this.connection.send(
      encodeFrameWithJson(this.joinRef, null, this.topic, event, payloadJson),
    );
  }

  /** Calls `listener` once the socket's queue has drained. */
  onDrain(listener: () => void): void {
    this.connection.onDrain(listener);
  }

  /** Ends the channel with `phx_error`, which makes the client rejoin. */
  fail(): void {
    this.connection.endChannel(this, channelEvents.error);
  }

  /** Ends the channel with `phx_close`, which the client does not rejoin. */
  close(): void {
    this.connection.endChannel(this, channelEvents.close);
  }
}

export class Connection {
  lastActivityMs: number;
  private readonly channels = new Map<string, Channel>();
  private inbound: Promise<void> = Promise.resolve();
  private pendingFrames = 0;
  private unflushedFrames = 0;
  private drainListeners: (() => void)[] = [];
  private stallTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onFlushed = (error?: Error) => this.flushed(error);

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly routes: TopicRoute[],
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.lastActivityMs = now();
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => this.teardown());
    ws.on('error', (error) => {
      this.logger.debug({ err: error, socket: id }, 'realtime socket error');
    });
  }

  get channelCount(): number {
    return this.channels.size;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Queues a frame whatever the buffer holds, up to the hard bound. */
  send(frame: string): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > this.limits.hardMaxBufferedBytes) {
      this.logger.warn(
        { socket: this.id, buffered_bytes: this.ws.bufferedAmount },
        'realtime socket terminated: its send buffer passed the hard limit',
      );
      this.ws.terminate();
      return false;
    }
    this.unflushedFrames += 1;
    this.ws.send(frame, this.onFlushed);
    return true;
  }

  /** Queues a frame unless the buffer is over the soft bound; a drop starts the stall timer. */
  sendDroppable(frame: string): boolean {
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.stallTimer ??= setTimeout(() => this.closeStalled(), this.limits.slowClientTimeoutMs);
      return false;
    }
    return this.send(frame);
  }

  onDrain(listener: () => void): void {
    if (this.closed) return;
    this.drainListeners.push(listener);
    if (this.unflushedFrames === 0) queueMicrotask(() => this.notifyDrained());
  }

  /** Ends a channel and sends the client `event` (`phx_close` or `phx_error`) on it. */
  endChannel(channel: Channel, event: string): void {
    if (channel.ended) return;
    this.removeChannel(channel);
    this.send(encodeFrame([channel.joinRef, channel.joinRef, channel.topic, event, {}]));
  }

  /** Closes the socket; its channels end at once, so nothing more is queued for it. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    this.teardown();
    // A client that does not read never completes the closing handshake.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** Closes the socket when nothing arrived for the idle timeout; returns whether it did. */
  closeIfIdle(nowMs: number): boolean {
    if (nowMs - this.lastActivityMs < this.limits.idleTimeoutMs) return false;
    this.logger.debug({ socket: this.id }, 'realtime socket idle, closing');
    this.close(
      closeCodes.goingAway,
      `idle timeout: no message for ${this.limits.idleTimeoutMs} ms`,
    );
    return true;
  }

  private receive(data: RawData, isBinary: boolean): void {
    this.lastActivityMs = this.now();
    if (isBinary) {
      this.close(closeCodes.unsupportedData, 'binary frames are not supported; send V2 JSON text');
      return;
    }
    if (this.pendingFrames >= this.limits.maxPendingFrames) {
      this.close(closeCodes.policyViolation, 'too many messages awaiting a reply');
      return;
    }
    const decoded = decodeFrame(rawText(data));
    if (!decoded.ok) {
      if (decoded.ref === null || decoded.topic === null) {
        this.close(closeCodes.invalidPayload, decoded.reason.slice(0, 120));
      } else {
        this.reply(null, decoded.ref, decoded.topic, { ok: false, reason: decoded.reason });
      }
      return;
    }
    this.pendingFrames += 1;
    this.inbound = this.inbound
      .then(() => this.dispatch(decoded.message))
      .catch((error: unknown) => {
        this.logger.error({ err: error, socket: this.id }, 'realtime message handling failed');
      })
      .finally(() => {
        this.pendingFrames -= 1;
      });
  }

  private async dispatch(message: InboundMessage): Promise<void> {
    if (this.closed) return;
    const { topic, event, ref } = message;
    if (topic === heartbeatTopic) {
      const result: ReplyResult =
        event === channelEvents.heartbeat
          ? { ok: true, responseJson: '{}' }
          : { ok: false, reason: `unknown event ${event} on topic ${heartbeatTopic}` };
      this.reply(null, ref, topic, result);
      return;
    }
    if (event === channelEvents.join) {
      await this.join(message);
      return;
    }
    const channel = this.channels.get(topic);
    // A message from an earlier join of the topic is stale: it must not act on the current one.
    if (!channel || (message.joinRef !== null && message.joinRef !== channel.joinRef)) {
      this.reply(null, ref, topic, { ok: false, reason: 'unmatched topic' });
      return;
    }
    if (event === channelEvents.leave) {
      this.removeChannel(channel);
      this.reply(channel.joinRef, ref, topic, { ok: true, responseJson: '{}' });
      this.send(encodeFrame([channel.joinRef, channel.joinRef, topic, channelEvents.close, {}]));
      return;
    }
    const handleIn = channel.handler?.handleIn;
    const result = handleIn
      ? await handleIn.call(channel.handler, event, message.payload)
      : { ok: false as const, reason: `unknown event ${event} on topic ${topic}` };
    this.reply(channel.joinRef, ref, topic, result);
  }

  private async join(message: InboundMessage): Promise<void> {
    const { topic, ref, payload } = message;
    const joinRef = message.joinRef ?? ref;

    if (joinRef === null) {
      this.reply(null, ref, topic, { ok: false, reason: 'invalid message: a join needs a ref' });
      return;
    }
    // As Phoenix does, a second join of a joined topic replaces the first channel.
    const existing = this.channels.get(topic);
    if (existing) this.endChannel(existing, channelEvents.close);
    if (this.channels.size >= this.limits.maxChannels) {
      const reason = `too many channels: a socket may join at most ${this.limits.maxChannels}`;
      this.reply(joinRef, ref, topic, { ok: false, reason });
      return;
    }

    const route = this.routes.find((candidate) => candidate.matches(topic));
    if (!route) {
      this.reply(null, ref, topic, { ok: false, reason: 'unmatched topic' });
      return;
    }

    const channel = new Channel(this, topic, joinRef);
    this.channels.set(topic, channel);
    let result: JoinResult;
    try {
      result = await route.join(channel, payload);
    } catch (error) {
      this.logger.error({ err: error, socket: this.id, topic }, 'realtime join failed');
      result = { ok: false, reason: 'join failed on the server; try again' };
    }

    if (channel.ended || this.closed) {
      if (result.ok) result.handler.stop();
      return;
    }
    if (!result.ok) {
      this.removeChannel(channel);
      this.reply(joinRef, ref, topic, result);
      return;
    }
    channel.handler = result.handler;
    this.reply(joinRef, ref, topic, result);
    result.handler.start?.();
  }

  private reply(
    joinRef: string | null,
    ref: string | null,
    topic: string,
    result: ReplyResult,
  ): void {
    const payload = result.ok
      ? replyPayloadJson('ok', result.responseJson)
      : replyPayloadJson('error', JSON.stringify({ reason: result.reason }));
    this.send(encodeFrameWithJson(joinRef, ref, topic, channelEvents.reply, payload));
  }

  private removeChannel(channel: Channel): void {
    if (channel.ended) return;
    channel.ended = true;
    if (this.channels.get(channel.topic) === channel) this.channels.delete(channel.topic);
    channel.handler?.stop();
  }

  private flushed(error?: Error): void {
    this.unflushedFrames -= 1;
    if (error) return;
    if (this.unflushedFrames === 0 && this.drainListeners.length > 0) this.notifyDrained();
  }

  private notifyDrained(): void {
    if (this.unflushedFrames > 0 || this.closed) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const listener of listeners) listener();
  }

  private closeStalled(): void {
    this.logger.warn(
      { socket: this.id, buffered_bytes: this.ws.bufferedAmount },
      'realtime socket closed: the client did not read its messages',
    );
    const seconds = Math.round(this.limits.slowClientTimeoutMs / 1000);
    this.close(
      closeCodes.policyViolation,
      `send buffer full: the client did not read its messages for ${seconds} s`,
    );
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.stallTimer);
    this.drainListeners = [];
    for (const channel of [...this.channels.values()]) this.removeChannel(channel);
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
