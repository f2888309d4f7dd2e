/**
 * The frames forwarding nodes exchange over their link, in one binary form
 * for every bus (Redis channels carry bytes; node:cluster IPC carries them
 * as a Buffer with advanced serialization, base64 text otherwise):
 *
 *   u8 version (1) | u8 kind | 6 bytes: sender's tag | u32 id | u32 meta length | meta (JSON) | body
 *
 * `id` numbers a forwarded request or tunnel at the node that received it
 * from the client (the origin); frames from the owner carry the origin's id
 * back. Everything decoded is checked: a frame from the bus is untrusted.
 */
import { TAG_LENGTH, isTag } from "../core/routing.js";

export const Kind = {
  /** origin → owner: an HTTP request (meta RequestMeta, body: its body). */
  REQUEST: 1,
  /** owner → origin: the answer (meta ResponseMeta, body: its body). */
  RESPONSE: 2,
  /** origin → owner: the client left or the origin gave up; drop the request or tunnel. */
  CANCEL: 3,
  /** origin → owner: an upgrade to tunnel (meta AddressMeta, body: the request bytes). */
  OPEN: 4,
  /** origin → owner: bytes the client sent on a tunnel. */
  UP: 5,
  /** owner → origin: bytes for the client of a tunnel. */
  DOWN: 6,
  /** owner → origin: the owner ended the tunnel or the request (or knows nothing of it). */
  CLOSE: 7,
} as const;
export type FrameKind = (typeof Kind)[keyof typeof Kind];

const VERSION = 1;
const HEADER = 2 + TAG_LENGTH + 4 + 4;
/** Bounds of what a frame may describe (node's own HTTP parser bounds are lower). */
const MAX_URL = 64 * 1024;
const MAX_HEADER_STRINGS = 4000;

export interface AddressMeta {
  /** The client's address and port, as the receiving node saw them. */
  a?: string;
  p?: number;
}

export interface RequestMeta extends AddressMeta {
  m: string;
  u: string;
  /** Raw headers: name, value, name, value... */
  h: string[];
}

export interface ResponseMeta {
  s: number;
  h: string[];
}

export interface Frame {
  kind: FrameKind;
  from: string;
  id: number;
  meta: Record<string, unknown> | null;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

export function encodeFrame(kind: FrameKind, from: string, id: number, meta: object | null, body: Buffer = EMPTY): Buffer {
  const metaText = meta === null ? "" : JSON.stringify(meta);
  const metaLength = Buffer.byteLength(metaText);
  const frame = Buffer.allocUnsafe(HEADER + metaLength + body.length);
  frame[0] = VERSION;
  frame[1] = kind;
  frame.write(from, 2, TAG_LENGTH, "latin1");
  frame.writeUInt32BE(id >>> 0, 2 + TAG_LENGTH);
  frame.writeUInt32BE(metaLength, 6 + TAG_LENGTH);
  frame.write(metaText, HEADER, metaLength, "utf8");
  body.copy(frame, HEADER + metaLength);
  return frame;
}

/** A frame from the link; throws an Error saying what is wrong with a malformed one. */
export function decodeFrame(frame: Buffer): Frame {
  if (frame.length < HEADER) throw new Error(`frame of ${frame.length} bytes is shorter than its header`);
  if (frame[0] !== VERSION) throw new Error(`unknown frame version ${frame[0]}`);
  const kind = frame[1] as FrameKind;
  if (kind < Kind.REQUEST || kind > Kind.CLOSE) throw new Error(`unknown frame kind ${kind}`);
  const from = frame.toString("latin1", 2, 2 + TAG_LENGTH);
  if (!isTag(from)) throw new Error("malformed sender tag");
  const id = frame.readUInt32BE(2 + TAG_LENGTH);
  const metaLength = frame.readUInt32BE(6 + TAG_LENGTH);
  if (HEADER + metaLength > frame.length) throw new Error("meta runs past the end of the frame");
  let meta: Record<string, unknown> | null = null;
  if (metaLength > 0) {
    const parsed: unknown = JSON.parse(frame.toString("utf8", HEADER, HEADER + metaLength));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("meta is not an object");
    meta = parsed as Record<string, unknown>;
  }
  const body = frame.subarray(HEADER + metaLength);
  checkMeta(kind, meta);
  return { kind, from, id, meta, body };
}

function isHeaderList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length % 2 === 0 &&
    value.length <= MAX_HEADER_STRINGS &&
    value.every((s) => typeof s === "string")
  );
}

function checkAddress(meta: Record<string, unknown>): void {
  if (meta.a !== undefined && (typeof meta.a !== "string" || meta.a.length > 64)) throw new Error("malformed address");
  if (meta.p !== undefined && (typeof meta.p !== "number" || !Number.isInteger(meta.p) || meta.p < 0 || meta.p > 65535)) {
    throw new Error("malformed port");
  }
}

function checkMeta(kind: FrameKind, meta: Record<string, unknown> | null): void {
  switch (kind) {
    case Kind.REQUEST:
      if (meta === null) throw new Error("request without meta");
      if (typeof meta.m !== "string" || !/^[A-Z]{1,16}$/.test(meta.m)) throw new Error("malformed method");
      if (typeof meta.u !== "string" || meta.u.length > MAX_URL || meta.u[0] !== "/") throw new Error("malformed url");
      if (!isHeaderList(meta.h)) throw new Error("malformed headers");
      checkAddress(meta);
      return;
    case Kind.RESPONSE:
      if (meta === null) throw new Error("response without meta");
      if (typeof meta.s !== "number" || !Number.isInteger(meta.s) || meta.s < 100 || meta.s > 599) throw new Error("malformed status");
      if (!isHeaderList(meta.h)) throw new Error("malformed headers");
      return;
    case Kind.OPEN:
      if (meta !== null) checkAddress(meta);
      return;
  }
}
