/**
 * Why a connection or a socket ended, as a stable code plus what was known
 * at that moment. socket.io's reason strings stay as they are (they are API);
 * a cause travels next to them, as the `cause` field of the second argument
 * of `disconnect` / `disconnecting` and of the engine socket's `close` event.
 */

/** The stable codes. New codes may be added; existing ones never change meaning. */
export const DISCONNECT_CAUSES = [
  /** The client did not answer a ping within pingTimeout. */
  "ping_timeout",
  /** The client closed the connection in an orderly way (close frame, close packet). */
  "client_closed",
  /** The network or the transport failed: a reset, an aborted poll, a WebSocket protocol violation. */
  "transport_error",
  /** The client sent something that breaks the protocol. */
  "parse_error",
  /** The client did not read fast enough: more than maxBufferedBytes were waiting for it. */
  "buffer_overflow",
  /** `io.drain()` closed the connection so that the client reconnects elsewhere. */
  "server_drain",
  /** `io.close()` (or the HTTP server closing) ended every connection. */
  "server_close",
  /** The application closed the whole connection (`socket.disconnect(true)`, `conn.close()`). */
  "server_disconnect",
  /** The application disconnected the socket from its namespace (`socket.disconnect()`). */
  "namespace_disconnect",
  /** The client left the namespace (`socket.disconnect()` on the client). */
  "client_namespace_disconnect",
  /** No namespace was joined within connectTimeout. */
  "connect_timeout",
  /** A limit of the `limits` option with `action: "disconnect"` (or too many events waiting for an async schema). */
  "rate_limited",
] as const;

export type DisconnectCauseCode = (typeof DISCONNECT_CAUSES)[number];

export type TransportKind = "polling" | "websocket";
export const TRANSPORT_KINDS: readonly TransportKind[] = ["polling", "websocket"];

/**
 * A structured disconnect cause. `code` and `transport` are always set; the
 * other fields are present where they apply.
 */
export interface DisconnectCause {
  code: DisconnectCauseCode;
  /** The transport the connection was on when it ended. */
  transport: TransportKind;
  /** ping_timeout: the last measured ping round trip in ms, null if no pong ever came. */
  rttMs?: number | null;
  /** ping_timeout: how long the server had been waiting for the pong when it gave up (ms). */
  pongWaitMs?: number;
  /** buffer_overflow: bytes waiting for the client. */
  queuedBytes?: number;
  /** buffer_overflow: the limit (maxBufferedBytes). */
  limitBytes?: number;
  /** transport_error: the system error code (ECONNRESET, EPIPE...), when there was one. */
  errno?: string;
  /** transport_error / client_closed: the WebSocket close code (1000, 1001, 1006, 1009...). */
  wsCode?: number;
  /** transport_error: what failed, in words. */
  message?: string;
  /** parse_error: the rule the input broke. */
  rule?: string;
  /** rate_limited: which limit (`events`, `perEvent`, `eventsPerAddress`, `bytes`, `pendingEvents`). */
  limit?: string;
  /** rate_limited: the event that went over the limit, when there was one. */
  event?: string;
}

/** What a closer knows before the transport has ended (the session fills in the transport). */
export type CauseRequest = Omit<DisconnectCause, "transport">;

/** The second argument of `disconnect` when socket.io would pass none: `{ cause }`. */
export interface DisconnectDetails {
  cause: DisconnectCause;
}

/**
 * The second argument of a disconnect event: socket.io's own `description`
 * (an Error for "transport error") with `cause` added, or `{ cause }`.
 */
export function withCause(description: unknown, cause: DisconnectCause): any {
  if (description !== null && typeof description === "object") {
    (description as { cause?: unknown }).cause = cause;
    return description;
  }
  return { cause };
}

/** The cause carried by a disconnect event's second argument, if any. */
export function causeOf(description: unknown): DisconnectCause | undefined {
  if (description === null || typeof description !== "object") return undefined;
  const cause = (description as { cause?: unknown }).cause;
  return cause !== null && typeof cause === "object" && typeof (cause as DisconnectCause).code === "string"
    ? (cause as DisconnectCause)
    : undefined;
}
