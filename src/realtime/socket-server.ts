// The WebSocket endpoint for Phoenix clients, attached to the HTTP server's `upgrade` event. It
// checks the request before the upgrade (path, protocol version, origin, token), then hands each
// socket to a Connection.
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type WebSocket } from 'ws';

import type { Logger } from '../log.js';
import {
  type ConnectionLimits,
  type TopicRoute,
  Connection,
  closeCodes,
  defaultConnectionLimits,
} from './connection.js';
import { protocolVersion, socketPath } from './messages.js';

/** The prefix of the subprotocol in which the `phoenix` client's `authToken` option travels. */
const tokenProtocolPrefix = 'base64url.bearer.phx.';
/** Maximum frame size a client may send, in bytes. Joins and heartbeats are far smaller. */
const defaultMaxPayloadBytes = 64 * 1024;
/** How long shutdown waits for clients to complete the closing handshake, in milliseconds. */
const closeWaitMs = 1000;

export interface SocketServerOptions {
  routes: TopicRoute[];
  logger: Logger;
  limits?: Partial<ConnectionLimits>;
  /**
   * Rejects a browser connection whose `Origin` names another host than the request does, so a
   * page from another site cannot read the stream through the user's browser. Default true.
   */
  checkOrigin?: boolean;
  /** Decides whether a client may connect, given the token from `?token=` or the subprotocol. */
  authenticate?: (token: string | undefined) => boolean;
  maxPayloadBytes?: number;
  /** Monotonic milliseconds, for the idle timeout. */
  now?: () => number;
}

export class SocketServer {
  private readonly wss: WebSocketServer;
  private readonly limits: ConnectionLimits;
  private readonly connections = new Set<Connection>();
  private readonly idleTimer: NodeJS.Timeout;
  private readonly now: () => number;
  private attached: Server | undefined;
  private closing = false;
  private nextId = 1;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.upgrade(request, socket, head);

  constructor(private readonly options: SocketServerOptions) {
    this.limits = { ...defaultConnectionLimits, ...options.limits };
    this.now = options.now ?? (() => performance.now());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes ?? defaultMaxPayloadBytes,
      perMessageDeflate: false,
      // The phoenix client offers `phoenix` next to its token; a browser aborts unless the server
      // selects one of the offered subprotocols.
      handleProtocols: (protocols) => (protocols.has('phoenix') ? 'phoenix' : false),
    });
    const sweepMs = Math.min(5000, Math.max(10, Math.floor(this.limits.idleTimeoutMs / 4)));
    this.idleTimer = setInterval(() => this.closeIdle(), sweepMs);
    this.idleTimer.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes queued for all sockets and not yet handed to the operating system. */
  get bufferedBytes(): number {
    let total = 0;
    for (const connection of this.connections) total += connection.bufferedAmount;
    return total;
  }

  attach(server: Server): void {
    this.attached = server;
    server.on('upgrade', this.onUpgrade);
  }

  /** Stops accepting sockets and closes every open one with 1001 (going away). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.idleTimer);
    this.attached?.off('upgrade', this.onUpgrade);
    const open = [...this.wss.clients];
    const closed = Promise.all(
      open.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) resolve();
            else ws.once('close', () => resolve());
          }),
      ),
    );
    for (const connection of this.connections) {
      connection.close(closeCodes.goingAway, 'server shutting down');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, closeWaitMs);
    });
    await Promise.race([closed, timeout]);
    clearTimeout(timer);
    for (const ws of open) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const rejection = this.check(request);
    if (rejection) {
      this.options.logger.info(
        { url: redactToken(request.url ?? ''), status: rejection.status, reason: rejection.reason },
        'realtime connection rejected',
      );
      rejectUpgrade(socket, rejection.status, rejection.reason);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
  }

  private check(request: IncomingMessage): { status: number; reason: string } | undefined {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== socketPath) {
      return { status: 404, reason: `no WebSocket endpoint at ${url.pathname}; use ${socketPath}` };
    }
    if (this.closing) {
      return { status: 503, reason: 'the server is shutting down; reconnect to another replica' };
    }
    const vsn = url.searchParams.get('vsn');
    if (vsn === null) {
      return {
        status: 403,
        reason:
          'the V1 protocol is not supported: ' +
          `connect with vsn=${protocolVersion} (Phoenix V2 JSON)`,
      };
    }
    if (!/^2\.\d+\.\d+$/.test(vsn)) {
      return {
        status: 403,
        reason: `vsn ${vsn} is not supported; this server speaks ${protocolVersion}`,
      };
    }
    const origin = request.headers.origin;
    if (this.options.checkOrigin !== false && origin !== undefined && !sameHost(origin, request)) {
      return {
        status: 403,
        reason: `origin ${origin} is not allowed; connect from a page served by this server`,
      };
    }
    const token = url.searchParams.get('token') ?? tokenFromProtocols(request);
    if (this.options.authenticate && !this.options.authenticate(token)) {
      return { status: 403, reason: 'the token is missing or invalid' };
    }
    return undefined;
  }

  private accept(ws: WebSocket): void {
    if (this.closing) {
      ws.close(closeCodes.goingAway, 'server shutting down');
      return;
    }
    const id = this.nextId++;
    const { routes, logger } = this.options;
    const connection = new Connection(id, ws, routes, this.limits, logger, this.now);
    this.connections.add(connection);
    logger.debug({ socket: id, sockets: this.connections.size }, 'realtime socket opened');
    ws.on('close', (code) => {
      this.connections.delete(connection);
      logger.debug({ socket: id, code, sockets: this.connections.size }, 'realtime socket closed');
    });
  }

  private closeIdle(): void {
    const now = this.now();
    for (const connection of this.connections) connection.closeIfIdle(now);
  }
}

function sameHost(origin: string, request: IncomingMessage): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Reads the token from the `base64url.bearer.phx.<token>` subprotocol that the client offers. */
function tokenFromProtocols(request: IncomingMessage): string | undefined {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return undefined;
  for (const protocol of header.split(',')) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith(tokenProtocolPrefix)) {
      return Buffer.from(trimmed.slice(tokenProtocolPrefix.length), 'base64url').toString('utf8');
    }
  }
  return undefined;
}

function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&]*/, '$1***');
}

/** Rejects an upgrade request with a plain HTTP error response, before any WebSocket handshake. */
function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}
