/**
 * Engine.IO request errors (protocol.md §8): numeric codes with fixed
 * messages, written as JSON on plain HTTP requests and as a raw HTTP/1.1 400
 * on upgrade requests, where no ServerResponse exists.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { RefusalCause } from "../observe/counters.js";

export const ErrorCodes = Object.freeze({
  UNKNOWN_TRANSPORT: 0,
  UNKNOWN_SID: 1,
  BAD_HANDSHAKE_METHOD: 2,
  BAD_REQUEST: 3,
  FORBIDDEN: 4,
  UNSUPPORTED_PROTOCOL_VERSION: 5,
} as const);

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const ErrorMessages: Readonly<Record<ErrorCode, string>> = Object.freeze({
  0: "Transport unknown",
  1: "Session ID unknown",
  2: "Bad handshake method",
  3: "Bad request",
  4: "Forbidden",
  5: "Unsupported protocol version",
});

/** Extra detail about a refused request, as engine.io reports it. */
export interface ErrorContext {
  /** A custom message (from `allowRequest`) replacing the standard one. */
  message?: string;
  name?: string;
  /** What the server's owner can do about it, where tidewire knows (never sent to the client). */
  hint?: string;
  [key: string]: unknown;
}

/**
 * The `code` of a handshake refused while the server drains or sheds load:
 * the HTTP status. Engine.IO's codes 0-5 are protocol errors; a refusal of
 * a valid handshake carries the status it was answered with instead.
 */
export const SERVICE_UNAVAILABLE = 503;
/** The `code` of a handshake refused by a per-address limit (`limits`). */
export const TOO_MANY_REQUESTS = 429;

/** The argument of the server's `connection_error` event. */
export interface ConnectionError {
  req: IncomingMessage;
  /** Engine.IO's error code, or the HTTP status (503, 429) of a refused handshake. */
  code: ErrorCode | typeof SERVICE_UNAVAILABLE | typeof TOO_MANY_REQUESTS;
  message: string;
  context?: ErrorContext;
}

/**
 * Why a valid handshake is refused before a session exists: the server
 * drains (503), is overloaded (503), or the client's address went over a
 * limit (429). Load balancers take a 503 as "try another node" and a 429
 * as "this client must slow down"; both carry Retry-After.
 */
export interface Refusal {
  /** The stable cause code, as in the JSON body, `connection_error`'s context and `io.stats()`. */
  cause: RefusalCause;
  status: typeof SERVICE_UNAVAILABLE | typeof TOO_MANY_REQUESTS;
  /** Sent as `Retry-After`. */
  retryAfterS: number;
  /** For the JSON body: what happened and what the client should do. */
  message: string;
}

const STATUS_LINES: Readonly<Record<Refusal["status"], string>> = {
  503: "503 Service Unavailable",
  429: "429 Too Many Requests",
};

function refusalBody(refusal: Refusal): string {
  return JSON.stringify({
    code: refusal.status,
    message: refusal.message,
    cause: refusal.cause,
    retryAfter: refusal.retryAfterS,
  });
}

/** The refusal's status with `Retry-After` and a JSON body naming the cause, on a plain HTTP handshake. */
export function refuseRequest(res: ServerResponse, refusal: Refusal): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = refusalBody(refusal);
  res.writeHead(refusal.status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    "Retry-After": String(refusal.retryAfterS),
    "Cache-Control": "no-store",
  });
  res.end(body);
}

/** The same answer, raw, to a WebSocket handshake; then the TCP connection is destroyed. */
export function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  socket.on("error", ignore);
  if (socket.writable) {
    const body = refusalBody(refusal);
    socket.write(
      "HTTP/1.1 " +
        STATUS_LINES[refusal.status] +
        "\r\nConnection: close\r\nRetry-After: " +
        refusal.retryAfterS +
        "\r\nCache-Control: no-store\r\nContent-Type: application/json\r\nContent-Length: " +
        Buffer.byteLength(body) +
        "\r\n\r\n" +
        body,
    );
  }
  socket.destroy();
}

function messageOf(code: ErrorCode, context?: ErrorContext): string {
  return context && typeof context.message === "string" && context.message ? context.message : ErrorMessages[code];
}

/** `400 {"code":n,"message":"..."}` (403 for FORBIDDEN) on a plain HTTP request. */
export function abortRequest(res: ServerResponse, code: ErrorCode, context?: ErrorContext): void {
  // A middleware may already have started (or finished) the response.
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = JSON.stringify({ code, message: messageOf(code, context) });
  res.writeHead(code === ErrorCodes.FORBIDDEN ? 403 : 400, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * The raw error answer to an upgrade request: always status 400, the message
 * as a text/html body, then the TCP connection is destroyed.
 */
export function abortUpgrade(socket: Duplex, code: ErrorCode, context?: ErrorContext): void {
  socket.on("error", ignore);
  if (socket.writable) {
    const message = messageOf(code, context);
    socket.write(
      "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: " +
        Buffer.byteLength(message) +
        "\r\n\r\n" +
        message,
    );
  }
  socket.destroy();
}

function ignore(): void {}
