/**
 * The server side of the WebSocket opening handshake (RFC 6455 §4.2), with
 * the same checks, status codes and subprotocol choice as the `ws` package,
 * so that clients see the same answers whichever path served them.
 */
import { createHash } from "node:crypto";
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

/** §1.3: appended to the client's key before hashing. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** A base64-encoded 16-byte nonce. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 7230 token characters, as allowed in a subprotocol name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface HandshakeRefusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** The refusal for a request that is not a valid WebSocket opening handshake, or null. */
export function checkHandshake(req: IncomingMessage): HandshakeRefusal | null {
  if (req.method !== "GET") return { status: 405, message: "Invalid HTTP method" };
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") {
    return { status: 400, message: "Invalid Upgrade header" };
  }
  const key = req.headers["sec-websocket-key"];
  if (key === undefined || !KEY.test(key)) {
    return { status: 400, message: "Missing or invalid Sec-WebSocket-Key header" };
  }
  const version = req.headers["sec-websocket-version"];
  if (version !== "13" && version !== "8") {
    return {
      status: 400,
      message: "Missing or invalid Sec-WebSocket-Version header",
      headers: { "Sec-WebSocket-Version": "13, 8" },
    };
  }
  const protocols = req.headers["sec-websocket-protocol"];
  if (protocols !== undefined && firstSubprotocol(protocols) === null) {
    return { status: 400, message: "Invalid Sec-WebSocket-Protocol header" };
  }
  return null;
}

/**
 * The first subprotocol the client offers (the server picks the first one,
 * as ws does without `handleProtocols`), or null if the header is malformed
 * (an empty or non-token element, a duplicate).
 */
export function firstSubprotocol(header: string): string | null {
  const seen = new Set<string>();
  for (const part of header.split(",")) {
    const name = part.trim();
    if (!TOKEN.test(name) || seen.has(name)) return null;
    seen.add(name);
  }
  return seen.values().next().value ?? null;
}

/** The header lines of the 101 answer (without the blank line). */
export function acceptLines(req: IncomingMessage): string[] {
  const key = req.headers["sec-websocket-key"] as string;
  const accept = createHash("sha1")
    .update(key + GUID)
    .digest("base64");
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${accept}`,
  ];
  const protocols = req.headers["sec-websocket-protocol"];
  if (protocols !== undefined) lines.push(`Sec-WebSocket-Protocol: ${firstSubprotocol(protocols)}`);
  return lines;
}

/** Answers a refused handshake with an HTTP error and closes the connection. */
export function refuseHandshake(socket: Duplex, refusal: HandshakeRefusal): void {
  const { status, message } = refusal;
  const headers: Record<string, string | number> = {
    Connection: "close",
    "Content-Type": "text/html",
    "Content-Length": Buffer.byteLength(message),
    ...refusal.headers,
  };
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`;
  for (const name of Object.keys(headers)) head += `${name}: ${headers[name]}\r\n`;
  socket.once("finish", socket.destroy);
  socket.end(`${head}\r\n${message}`);
}
