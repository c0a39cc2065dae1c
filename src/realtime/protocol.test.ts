// Tests of the Phoenix V2 protocol layer over raw WebSocket frames: the checks before the upgrade,
// replies, joins and leaves, the channel limit, malformed frames, the idle timeout and shutdown.
import { Socket } from 'phoenix';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { type StreamServer, startStreamServer } from '../testing/stream.js';
import type { Frame } from './messages.js';

let testServer: StreamServer | undefined;
const sockets: WebSocket[] = [];

function server(): StreamServer {
  if (!testServer) throw new Error('the stream server did not start; see the beforeAll error');
  return testServer;
}

function socketUrl(base: string, query = 'vsn=2.0.0', path = '/socket/websocket'): string {
  return `${base.replace(/^http/, 'ws')}${path}?${query}`;
}

interface Rejection {
  status: number;
  body: string;
}

/** Opens a raw socket; rejects with the HTTP status and body when the upgrade is refused. */
function open(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<WebSocket> {
  const ws = new WebSocket(url, options.protocols, { headers: options.headers });
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => reject({ status: response.statusCode, body } as Rejection));
    });
    ws.once('error', reject);
  });
}

async function rejection(promise: Promise<WebSocket>): Promise<Rejection> {
  try {
    await promise;
  } catch (error) {
    return error as Rejection;
  }
  throw new Error('the upgrade was accepted');
}

/** Collects the frames a raw socket receives, so a test can await the next one. */
function frames(ws: WebSocket) {
  const queue: Frame[] = [];
  const waiting: ((frame: Frame) => void)[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    const next = waiting.shift();
    if (next) next(frame);
    else queue.push(frame);
  });
  return {
    next(): Promise<Frame> {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

async function connected(base = server().url) {
  const ws = await open(socketUrl(base));
  return { ws, frames: frames(ws) };
}

beforeAll(async () => {
  testServer = await startStreamServer();
});
afterAll(async () => {
  await testServer?.close();
});
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
});

describe('upgrade', () => {
  it('refuses the V1 protocol with 403 and the reason', async () => {
    const refused = await rejection(open(socketUrl(server().url, '')));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/V1 protocol is not supported.*vsn=2\.0\.0/);
  });

  it('refuses an unknown vsn with 403', async () => {
    const refused = await rejection(open(socketUrl(server().url, 'vsn=1.0.0')));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/vsn 1\.0\.0 is not supported/);
  });

  it('refuses a malformed vsn with 403', async () => {
    const refused = await rejection(open(socketUrl(server().url, 'vsn=2.0.0x')));
    expect(refused.status).toBe(403);
  });

  it('answers 404 on other paths', async () => {
    const refused = await rejection(open(socketUrl(server().url, 'vsn=2.0.0', '/socket/other')));
    expect(refused.status).toBe(404);
  });

  it('refuses a browser origin of another host', async () => {
    const url = socketUrl(server().url);
    const refused = await rejection(open(url, { headers: { origin: 'http://evil.example' } }));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/origin http:\/\/evil\.example is not allowed/);
    const host = new URL(server().url).host;
    await expect(open(url, { headers: { origin: `http://${host}` } })).resolves.toBeDefined();
  });

  it('selects the phoenix subprotocol next to a token', async () => {
    const ws = await open(socketUrl(server().url), {
      protocols: ['phoenix', 'base64url.bearer.phx.c2VjcmV0'],
    });
    expect(ws.protocol).toBe('phoenix');
  });

  it('accepts the phoenix client with authToken', async () => {
    const socket = new Socket(`${server().url.replace(/^http/, 'ws')}/socket`, {
      transport: WebSocket,
      authToken: 'secret',
    } as never);
    const opened = new Promise<void>((resolve) => socket.onOpen(() => resolve()));
    socket.connect();
    await opened;
    expect(socket.isConnected()).toBe(true);
    await new Promise<void>((resolve) => socket.disconnect(() => resolve()));
  });
});

describe('messages', () => {
  it('replies to the phoenix heartbeat', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]));
    expect(await inbox.next()).toEqual([
      null,
      '1',
      'phoenix',
      'phx_reply',
      { status: 'ok', response: {} },
    ]);
  });

  it('rejects other events on the phoenix topic', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify([null, '1', 'phoenix', 'nonsense', {}]));
    const [, , , , payload] = await inbox.next();
    expect(payload).toEqual({
      status: 'error',
      response: { reason: 'unknown event nonsense on topic phoenix' },
    });
  });

  it('answers unmatched topic for unknown and unjoined topics', async () => {
    const { ws, frames: inbox } = await connected();
    const unmatched = { status: 'error', response: { reason: 'unmatched topic' } };
    ws.send(JSON.stringify(['1', '1', 'chat:lobby', 'phx_join', {}]));
    expect(await inbox.next()).toEqual([null, '1', 'chat:lobby', 'phx_reply', unmatched]);
    ws.send(JSON.stringify([null, '2', 'thunderlink:graph', 'ping', {}]));
    expect(await inbox.next()).toEqual([null, '2', 'thunderlink:graph', 'phx_reply', unmatched]);
  });

  it('joins, leaves with a reply, then phx_close', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify(['7', '7', 'thunderlink:graph', 'phx_join', {}]));
    const [joinRef, ref, topic, event, payload] = await inbox.next();
    expect([joinRef, ref, topic, event]).toEqual(['7', '7', 'thunderlink:graph', 'phx_reply']);
    expect(payload).toMatchObject({ status: 'ok', response: { mode: 'snapshot' } });
    ws.send(JSON.stringify(['7', '8', 'thunderlink:graph', 'phx_leave', {}]));
    expect(await inbox.next()).toEqual([
      '7',
      '8',
      'thunderlink:graph',
      'phx_reply',
      { status: 'ok', response: {} },
    ]);
    expect(await inbox.next()).toEqual(['7', '7', 'thunderlink:graph', 'phx_close', {}]);
  });

  it('replaces a channel joined twice, closing the first', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify(['1', '1', 'thunderlink:graph', 'phx_join', {}]));
    await inbox.next();
    ws.send(JSON.stringify(['2', '2', 'thunderlink:graph', 'phx_join', {}]));
    expect(await inbox.next()).toEqual(['1', '1', 'thunderlink:graph', 'phx_close', {}]);
    const [joinRef, , , event, payload] = await inbox.next();
    expect([joinRef, event]).toEqual(['2', 'phx_reply']);
    expect(payload).toMatchObject({ status: 'ok' });
  });

  it('ignores a leave from an earlier join', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify(['1', '1', 'thunderlink:graph', 'phx_join', {}]));
    await inbox.next();
    ws.send(JSON.stringify(['9', '3', 'thunderlink:graph', 'phx_leave', {}]));
    expect(await inbox.next()).toEqual([
      null,
      '3',
      'thunderlink:graph',
      'phx_reply',
      { status: 'error', response: { reason: 'unmatched topic' } },
    ]);
    // The current join still answers.
    ws.send(JSON.stringify(['1', '4', 'thunderlink:graph', 'phx_leave', {}]));
    const [joinRef, ref, , event, payload] = await inbox.next();
    expect([joinRef, ref, event]).toEqual(['1', '4', 'phx_reply']);
    expect(payload).toEqual({ status: 'ok', response: {} });
  });

  it('describes a bad since without echoing it', async () => {
    const { ws, frames: inbox } = await connected();
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    ws.send(`["1","1","thunderlink:graph","phx_join",{"since":${deep}}]`);
    const [, , , , deepReply] = await inbox.next();
    expect(deepReply).toEqual({
      status: 'error',
      response: { reason: 'since must be a whole number of at least 0 (got an object)' },
    });
    ws.send(
      JSON.stringify(['2', '2', 'thunderlink:graph', 'phx_join', { since: 'z'.repeat(60_000) }]),
    );
    const [, , , , longReply] = await inbox.next();
    expect(JSON.stringify(longReply).length).toBeLessThan(200);
  });

  it('rejects unknown join parameters', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify(['1', '1', 'thunderlink:graph', 'phx_join', { bogus: true }]));
    const [, , , , payload] = await inbox.next();
    expect(payload).toEqual({
      status: 'error',
      response: {
        reason: 'unknown join parameter bogus; the parameters are since and include_offline',
      },
    });
  });

  it('rejects an unknown event on a joined topic', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify(['1', '1', 'thunderlink:graph', 'phx_join', {}]));
    await inbox.next();
    ws.send(JSON.stringify(['1', '2', 'thunderlink:graph', 'shout', {}]));
    expect(await inbox.next()).toEqual([
      '1',
      '2',
      'thunderlink:graph',
      'phx_reply',
      { status: 'error', response: { reason: 'unknown event shout on topic thunderlink:graph' } },
    ]);
  });

  it('limits a socket to 100 channels', async () => {
    const registry = server().registry;
    for (let i = 0; i <= 100; i += 1) await registry.ensureNode({ name: `limit-${i}` });
    const { ws, frames: inbox } = await connected();
    for (let i = 0; i <= 100; i += 1) {
      const ref = String(i + 1);
      ws.send(JSON.stringify([ref, ref, `thunderlink:node:limit-${i}`, 'phx_join', {}]));
    }
    const replies = [];
    for (let i = 0; i <= 100; i += 1) replies.push(await inbox.next());
    const statuses = replies.map(([, , , , payload]) => (payload as { status: string }).status);
    expect(statuses.filter((status) => status === 'ok')).toHaveLength(100);
    expect(replies[100]?.[4]).toEqual({
      status: 'error',
      response: { reason: 'too many channels: a socket may join at most 100' },
    });
  });
});

describe('malformed frames', () => {
  it('answers a frame that names its ref and topic with an error', async () => {
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify(['1', '1', 'thunderlink:graph', 'phx_join']));
    const [, ref, topic, event, payload] = await inbox.next();
    expect([ref, topic, event]).toEqual(['1', 'thunderlink:graph', 'phx_reply']);
    expect(payload).toMatchObject({ status: 'error' });
    expect((payload as { response: { reason: string } }).response.reason).toMatch(
      /^invalid message: the frame has 4 elements/,
    );
    ws.send(JSON.stringify(['1', '2', 'thunderlink:graph', 'phx_join', [1, 2]]));
    const [, , , , second] = await inbox.next();
    expect(second).toEqual({
      status: 'error',
      response: { reason: 'invalid message: the payload must be a JSON object' },
    });
  });

  it.each([
    ['text that is not JSON', 'hello'],
    ['a JSON object', '{"topic":"phoenix"}'],
    ['an array without ref or topic', '[null, null, 5, "heartbeat", {}]'],
  ])('closes with 1007 on %s', async (_name, text) => {
    const { ws } = await connected();
    const closing = closed(ws);
    ws.send(text);
    const { code, reason } = await closing;
    expect(code).toBe(1007);
    expect(reason).toMatch(/^invalid message/);
  });

  it('closes with 1003 on a binary frame', async () => {
    const { ws } = await connected();
    const closing = closed(ws);
    ws.send(Buffer.from([0, 1, 2]));
    expect((await closing).code).toBe(1003);
  });

  it('closes with 1009 on a frame over 64 KiB', async () => {
    const { ws } = await connected();
    const closing = closed(ws);
    ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', { pad: 'x'.repeat(70_000) }]));
    expect((await closing).code).toBe(1009);
  });

  it('keeps serving after many malformed frames', async () => {
    const garbage = ['', '[', 'null', '[]', '[1,2,3,4,5]', '["1","1","t","e",null]', '{}'];
    for (let round = 0; round < 20; round += 1) {
      const { ws } = await connected();
      for (const text of garbage) ws.send(text);
    }
    const { ws, frames: inbox } = await connected();
    ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]));
    expect((await inbox.next())[4]).toEqual({ status: 'ok', response: {} });
  });
});

describe('lifecycle', () => {
  it('closes an idle socket with 1001 and keeps one that sends heartbeats', async () => {
    const idle = await startStreamServer({ limits: { idleTimeoutMs: 400 } });
    try {
      const quiet = await open(socketUrl(idle.url));
      const busy = await open(socketUrl(idle.url));
      const busyFrames = frames(busy);
      const quietClosed = closed(quiet);
      let replies = 0;
      // The busy socket sends a heartbeat every 100 ms until the quiet one is closed.
      while (quiet.readyState === quiet.OPEN && replies < 50) {
        busy.send(JSON.stringify([null, String(replies), 'phoenix', 'heartbeat', {}]));
        await busyFrames.next();
        replies += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { code, reason } = await quietClosed;
      expect(code).toBe(1001);
      expect(reason).toMatch(/^idle timeout/);
      expect(busy.readyState).toBe(busy.OPEN);
    } finally {
      await idle.close();
    }
  });

  it('closes every socket with 1001 on shutdown', async () => {
    const stopping = await startStreamServer();
    const ws = await open(socketUrl(stopping.url));
    const closing = closed(ws);
    await stopping.close();
    const { code, reason } = await closing;
    expect(code).toBe(1001);
    expect(reason).toBe('server shutting down');
  });
});
