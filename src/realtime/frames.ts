// Decoding and encoding of Phoenix V2 JSON frames. Decoding never throws. A frame that is not a
// valid message comes back with the reason, and with the ref and topic to reply on when readable.
import type { Frame } from './messages.js';

export interface InboundMessage {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

export type DecodeResult =
  | { ok: true; message: InboundMessage }
  | { ok: false; reason: string; ref: string | null; topic: string | null };

/** Maximum length of a topic or event name, in characters. Phoenix's binary format allows 255. */
export const maxNameLength = 255;

const frameShape = 'a JSON array [join_ref, ref, topic, event, payload]';

export function decodeFrame(text: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalidFrame(`the frame is not JSON; send ${frameShape}`, null, null);
  }
  if (!Array.isArray(value)) {
    return invalidFrame(`the frame is not ${frameShape}`, null, null);
  }
  const [joinRef, ref, topic, event, payload] = value as unknown[];
  const replyRef = typeof ref === 'string' ? ref : null;
  const replyTopic = typeof topic === 'string' && topic.length <= maxNameLength ? topic : null;
  if (value.length !== 5) {
    return invalidFrame(
      `the frame has ${value.length} elements; send ${frameShape}`,
      replyRef,
      replyTopic,
    );
  }
  if (!isRef(joinRef) || !isRef(ref)) {
    return invalidFrame('join_ref and ref must be strings or null', replyRef, replyTopic);
  }
  if (!isName(topic) || !isName(event)) {
    return invalidFrame(
      `topic and event must be strings of 1 to ${maxNameLength} characters`,
      replyRef,
      replyTopic,
    );
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return invalidFrame('the payload must be a JSON object', replyRef, replyTopic);
  }
  return {
    ok: true,
    message: { joinRef, ref, topic, event, payload: payload as Record<string, unknown> },
  };
}

function invalidFrame(reason: string, ref: string | null, topic: string | null): DecodeResult {
  return { ok: false, reason: `invalid message: ${reason}`, ref, topic };
}

function isRef(value: unknown): value is string | null {
  return value === null || (typeof value === 'string' && value.length <= maxNameLength);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxNameLength;
}

export function encodeFrame(frame: Frame): string {
  return JSON.stringify(frame);
}

/**
 * Encodes a frame around a payload that is already JSON text, so that a payload sent to many
 * sockets is serialised once.
 */
export function encodeFrameWithJson(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payloadJson: string,
): string {
  const head = JSON.stringify([joinRef, ref, topic, event]);
  return `${head.slice(0, -1)},${payloadJson}]`;
}

/** The payload of a `phx_reply`, around a response that is already JSON text. */
export function replyPayloadJson(status: 'ok' | 'error', responseJson: string): string {
  return `{"status":"${status}","response":${responseJson}}`;
}
