/** The Engine.IO layer: engine.io 6.6's server surface. */
export { Server } from "./server.js";
export { Socket, type CloseReason, type ReadyState } from "./session.js";
export { attach, listen } from "./standalone.js";
export { ErrorCodes, ErrorMessages, type ConnectionError, type ErrorCode, type ErrorContext } from "./errors.js";
export { Transport, type TransportName } from "./transports/transport.js";
export type { Packet, PacketType } from "./packet.js";
export type { Middleware } from "./middleware.js";
export type { HttpLikeServer } from "./http-attach.js";
export type {
  AttachOptions,
  CookieOptions,
  CorsOptions,
  EngineOptions,
  HeadersEventHandler,
  ResolvedOptions,
  ServerOptions,
} from "./options.js";

/** The Engine.IO protocol revision spoken by default. */
export const protocol = 4;
