import { ErrorCodes, TidewireError } from "../core/errors.js";
import { RESERVED_EVENTS as PROTOCOL_RESERVED_EVENTS } from "./protocol/packet.js";

/** Event names a socket cannot emit: the client library uses them itself (the decoder refuses them too). */
export const RESERVED_EVENTS: ReadonlySet<string | symbol> = PROTOCOL_RESERVED_EVENTS;

/** Event names `serverSideEmit` cannot use. */
export const RESERVED_SERVER_SIDE_EVENTS: ReadonlySet<string | symbol> = new Set([
  "connect",
  "connection",
  "new_namespace",
]);

export function reservedEventError(ev: string | symbol): TidewireError {
  // Same text as socket.io, so existing error handling keeps matching.
  return new TidewireError(ErrorCodes.RESERVED_EVENT, `"${String(ev)}" is a reserved event name`);
}

/**
 * Most arguments one incoming event or ack may carry. Dispatching to
 * listeners spreads the arguments on the stack; past ~100,000 V8 throws
 * RangeError, so a wider packet is treated as invalid input.
 */
export const MAX_EVENT_ARGUMENTS = 10_000;
