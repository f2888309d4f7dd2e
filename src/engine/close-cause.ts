/**
 * The disconnect cause of a session that ends (see observe/causes.ts), from
 * engine.io's reason string and what the transport and the closer knew.
 */
import type { CauseRequest, DisconnectCause } from "../observe/causes.js";
import type { CloseReason } from "./session.js";
import type { Transport } from "./transports/transport.js";

/** WebSocket close code for a connection that ended without a close frame (RFC 6455 §7.1.5). */
const ABNORMAL_CLOSURE = 1006;

/**
 * @param requested why the server closed it, for "forced close" (from
 *   `session.close(discard, cause)`; `server_disconnect` when nobody said).
 */
export function closeCause(
  reason: CloseReason,
  description: unknown,
  transport: Transport,
  requested: CauseRequest,
): DisconnectCause {
  const name = transport.name;
  const peer = transport.peerClose;
  switch (reason) {
    case "forced close":
      return { ...requested, transport: name };
    case "transport close":
      // A close frame, or a polling close packet, is an orderly close by the client.
      if (name === "polling" && peer === null) return { code: "client_closed", transport: name };
      if (peer?.wsCode !== undefined && peer.wsCode !== ABNORMAL_CLOSURE) {
        return { code: "client_closed", transport: name, wsCode: peer.wsCode };
      }
      if (peer?.errno !== undefined) {
        return { code: "transport_error", transport: name, errno: peer.errno, message: "the connection failed" };
      }
      return {
        code: "transport_error",
        transport: name,
        wsCode: ABNORMAL_CLOSURE,
        message: "the connection closed without a close frame",
      };
    case "transport error": {
      const cause: DisconnectCause = { code: "transport_error", transport: name };
      const message = (description as { message?: unknown } | undefined)?.message;
      if (typeof message === "string") cause.message = message;
      if (peer?.wsCode !== undefined) cause.wsCode = peer.wsCode;
      const underlying = (description as { description?: { code?: unknown } } | undefined)?.description;
      if (peer?.errno !== undefined) cause.errno = peer.errno;
      else if (typeof underlying?.code === "string") cause.errno = underlying.code;
      return cause;
    }
    default:
      return { ...requested, transport: name };
  }
}

/** An Error as engine.io reports transport failures in the "close" event. */
export function transportError(message: string, cause?: unknown): Error {
  const err = new Error(message) as Error & { type: string; description: unknown };
  err.type = "TransportError";
  err.description = cause;
  return err;
}
