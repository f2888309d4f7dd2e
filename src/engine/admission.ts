/**
 * The engine's one admission step: every new handshake (polling or
 * WebSocket, after verification and `allowRequest`) is either admitted or
 * refused with a `Refusal` (status, Retry-After, a JSON body naming the
 * cause), reported by `connection_error` and counted per cause. `io.drain()`
 * refuses through it, and so do the limits of io/policy, which plug in here
 * through this interface: the engine knows nothing of what they count.
 */
import type { IncomingMessage } from "node:http";
import type { Refusal } from "./errors.js";
import type { Socket } from "./session.js";

/**
 * Invariant: for a session opened while an admission is installed,
 * `onOpen` is called once (before the server's "connection" event) and
 * `onClose` once (as it closes); a handshake `admit` refused opens nothing.
 */
export interface Admission {
  /** A new handshake: null admits it, a Refusal refuses it. Must not throw. */
  admit(req: IncomingMessage): Refusal | null;
  /** An admitted handshake became a session. */
  onOpen(session: Socket): void;
  /** A session opened under this admission closed. */
  onClose(session: Socket): void;
}
