import { ErrorCodes, TidewireError } from "../core/errors.js";

/**
 * Why a session could not be recovered:
 * - "invalid-offset": the client sent an offset that is not one of this adapter's;
 * - "not-found": no such session (never saved, already recovered, or expired and removed);
 * - "expired": the session outlived maxDisconnectionDuration;
 * - "no-offset": the client sent no offset and the session has no start position;
 * - "trimmed": packets the client missed are no longer kept (the log was trimmed, or Redis lost it);
 * - "unknown-offset": the offset is not in the log;
 * - "unavailable": the store could not be reached.
 */
export type SessionNotRecoveredReason =
  | "invalid-offset"
  | "not-found"
  | "expired"
  | "no-offset"
  | "trimmed"
  | "unknown-offset"
  | "unavailable";

/**
 * A session-restoring adapter's refusal, with its reason. The client then
 * gets a fresh session; tidewire puts this error on the new socket as
 * `socket.recoveryError` so the application can tell why.
 */
export class SessionNotRecoveredError extends TidewireError {
  readonly reason: SessionNotRecoveredReason;
  constructor(reason: SessionNotRecoveredReason, message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.SESSION_NOT_RECOVERED, message, options);
    this.name = "SessionNotRecoveredError";
    this.reason = reason;
  }
}
