/**
 * io/policy: inbound policy, off by default. `limits` (options.ts): token
 * buckets on incoming events and bytes (inbound.ts, one InboundPolicy per
 * connection that needs one), admission of new handshakes through the
 * engine's one admission step (server-policy.ts: per-address connections
 * and handshake rate, global handshake rate, load shedding). Validated
 * events (events.ts, validate.ts, rejection.ts, validated-listener.ts):
 * Standard Schema declarations and `socket.on(event, schema, handler)`.
 *
 * Pay for what you configure: with no limit and no schema a connection has
 * no InboundPolicy (one null slot) and a socket nothing at all; the engine
 * asks no admission; no timer runs.
 */
export { defineEvents } from "./events.js";
export type {
  AckCallback,
  ArgSchemas,
  EmitEventsOf,
  EventDeclaration,
  EventSchemas,
  InputArgs,
  ListenEventsOf,
  ParsedArgs,
  StandardSchemaV1,
  ValidatedListener,
} from "./events.js";
export type { HandshakeRate, LimitAction, LimitsOptions, ProxyOptions, RateLimit, RateLimitInfo } from "./options.js";
export type { ValidationErrorInfo } from "./rejection.js";
export type { PayloadIssue } from "./validate.js";
