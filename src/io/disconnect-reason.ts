/** The reasons a socket disconnects, with socket.io's exact strings (they are API). */
export type DisconnectReason =
  | "transport error"
  | "transport close"
  | "forced close"
  | "ping timeout"
  | "parse error"
  | "server shutting down"
  | "forced server close"
  | "client namespace disconnect"
  | "server namespace disconnect"
  /** tidewire: the client did not read fast enough and its outbound buffer overflowed. */
  | "buffer overflow";

/** Reasons after which connection-state recovery keeps the session. */
export const RECOVERABLE_DISCONNECT_REASONS: ReadonlySet<string> = new Set([
  "transport error",
  "transport close",
  "forced close",
  "ping timeout",
  "server shutting down",
  "forced server close",
  "buffer overflow",
]);
