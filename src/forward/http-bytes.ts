/**
 * The HTTP side of forwarding: reading a request body within a bound, the
 * bytes of a request head for a handed-over connection, and the headers a
 * relay passes on (hop-by-hop headers belong to one connection and stay).
 */
import type { IncomingMessage } from "node:http";

/** Headers of one connection (RFC 9110 §7.6.1), plus the framing ones a relay recomputes. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  // An interim 100 Continue was (or will be) sent by the node the client talks to.
  "expect",
]);

/**
 * `rawHeaders` without hop-by-hop headers (and without those the Connection
 * header names). HTTP/2 pseudo-headers go too; `:authority` becomes the Host
 * header an HTTP/1 request would have carried.
 */
export function endToEndHeaders(rawHeaders: readonly string[]): string[] {
  let named: Set<string> | null = null;
  let hasHost = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name === "host") hasHost = true;
    if (name !== "connection") continue;
    named ??= new Set();
    for (const token of rawHeaders[i + 1].split(",")) named.add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ":authority" && !hasHost) out.push("Host", rawHeaders[i + 1]);
      continue;
    }
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

/**
 * The head of `req` as the client sent it, for a connection handed to
 * another node: the body that follows is `bodyLength` bytes, already
 * de-chunked, so the framing headers are replaced by a Content-Length.
 */
export function requestHead(req: IncomingMessage, bodyLength: number): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersionMajor === 1 && req.httpVersionMinor === 0 ? "1.0" : "1.1"}\r\n`;
  let hadLength = false;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "content-length" || name === "transfer-encoding") {
      hadLength = true;
      continue;
    }
    // The receiving node already answered it with a 100 Continue.
    if (name === "expect") continue;
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (hadLength || bodyLength > 0) head += `Content-Length: ${bodyLength}\r\n`;
  // Header values are what node's parser accepted: no CR or LF; latin1 keeps their bytes.
  return Buffer.from(head + "\r\n", "latin1");
}

/** Why a body could not be read. */
export type BodyFailure = "too large" | "aborted";

/**
 * Reads the body of `req`, at most `limit` bytes: `done(body, null)`, or
 * `done(null, why)` when it is larger (the rest is not read) or the request
 * was aborted.
 */
export function readBody(req: IncomingMessage, limit: number, done: (body: Buffer | null, failure: BodyFailure | null) => void): void {
  if (req.readableEnded) return done(Buffer.alloc(0), null);
  if (Number(req.headers["content-length"]) > limit) return done(null, "too large");
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (body: Buffer | null, failure: BodyFailure | null) => {
    if (finished) return;
    finished = true;
    req.removeListener("data", onData);
    req.removeListener("end", onEnd);
    req.removeListener("close", onClose);
    done(body, failure);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      req.pause();
      return finish(null, "too large");
    }
    chunks.push(chunk);
  };
  const onEnd = () => finish(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), null);
  const onClose = () => finish(null, "aborted");
  req.on("data", onData);
  req.on("end", onEnd);
  req.on("close", onClose);
}
