/**
 * tidewire: a drop-in replacement for the socket.io v4 server.
 * `import { Server } from "tidewire"` works where `import { Server } from "socket.io"` did.
 */
// The diagnostics_channel channels (tidewire:connection, ...): created at load, zero cost until subscribed.
import "./observe/diagnostics.js";
export { Server } from "./io/server.js";
export { Namespace } from "./io/namespace.js";
export { ParentNamespace } from "./io/parent-namespace.js";
export { Socket } from "./io/socket.js";
export { BroadcastOperator, RemoteSocket } from "./io/broadcast-operator.js";
export { Adapter } from "./adapter/adapter.js";
export { TidewireError, ErrorCodes } from "./core/errors.js";
export type { ServerOptions, ConnectionStateRecoveryOptions, AdapterConstructor } from "./io/options.js";
export type { ExtendedError, NamespaceReservedEventsMap, ServerReservedEventsMap } from "./io/namespace.js";
export type { Event, SocketReservedEventsMap, Handshake } from "./io/socket.js";
export type { DisconnectReason } from "./io/disconnect-reason.js";
export type { DrainOptions } from "./io/drain.js";
export { defineEvents } from "./io/policy/index.js";
export type {
  AckCallback,
  ArgSchemas,
  EmitEventsOf,
  EventDeclaration,
  EventSchemas,
  HandshakeRate,
  InputArgs,
  LimitAction,
  LimitsOptions,
  ListenEventsOf,
  ParsedArgs,
  PayloadIssue,
  ProxyOptions,
  RateLimit,
  RateLimitInfo,
  StandardSchemaV1,
  ValidatedListener,
  ValidationErrorInfo,
} from "./io/policy/index.js";
export type { ServerStats, NamespaceStats, AckRttStats } from "./observe/stats.js";
export { DIAGNOSTICS_CHANNELS } from "./observe/diagnostics.js";
export type { AdapterRequestFact, BroadcastFact, ConnectionFact, DisconnectFact, EventFact, FactSocket } from "./observe/facts.js";
export type { CauseTable, EventRefusalCause, PerTransport, RefusalCause } from "./observe/counters.js";
export type { DisconnectCause, DisconnectCauseCode, DisconnectDetails, TransportKind } from "./observe/causes.js";
export type { CloseOptions } from "./io/server.js";
export type { Room, SocketId, BroadcastFlags, BroadcastOptions } from "./adapter/types.js";
export type {
  EventsMap,
  DefaultEventsMap,
  EventNames,
  EventParams,
  EventNamesWithAck,
  EventNamesWithoutAck,
  EventNamesWithError,
  RemoveAcknowledgements,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithMultipleResponses,
  DecorateAcknowledgementsWithTimeoutAndMultipleResponses,
  AllButLast,
  Last,
  FirstNonErrorArg,
  TypedEventBroadcaster,
} from "./io/typed-events.js";
export { StrictEventEmitter } from "./io/typed-events.js";
