import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { SerializeOptions } from "cookie";

export type Transport = "polling" | "websocket";

/** Options of the `cors` middleware, as socket.io documents them. */
export interface CorsOptions {
  /** Allowed origin(s): `true` reflects the request origin, `"*"` any. @default "*" */
  origin?:
    | boolean
    | string
    | RegExp
    | Array<string | RegExp | boolean>
    | ((origin: string | undefined, cb: (err: Error | null, allow?: boolean | string | RegExp | Array<string | RegExp>) => void) => void);
  /** @default "GET,HEAD,PUT,PATCH,POST,DELETE" */
  methods?: string | string[];
  /** @default the request's Access-Control-Request-Headers */
  allowedHeaders?: string | string[];
  /** @default none */
  exposedHeaders?: string | string[];
  /** @default false */
  credentials?: boolean;
  /** @default none */
  maxAge?: number;
  /** @default false */
  preflightContinue?: boolean;
  /** @default 204 */
  optionsSuccessStatus?: number;
}

export interface CookieOptions extends SerializeOptions {
  /** @default "io" */
  name?: string;
}

/** Engine.IO server options: the same names and defaults as engine.io 6.6. */
export interface EngineOptions {
  /** Milliseconds between server pings. @default 25000 */
  pingInterval?: number;
  /** Milliseconds to wait for a pong before closing with "ping timeout". @default 20000 */
  pingTimeout?: number;
  /** Milliseconds an upgrade may take before the new transport is dropped. @default 10000 */
  upgradeTimeout?: number;
  /** Largest accepted POST body / WebSocket message in bytes; advertised as maxPayload. @default 1e6 */
  maxHttpBufferSize?: number;
  /** Decide whether a handshake is accepted: `cb(errMessage, success)`. @default none */
  allowRequest?: (req: IncomingMessage, fn: (err: string | null | undefined, success: boolean) => void) => void;
  /** Allowed transports, in order of preference. @default ["polling", "websocket"] */
  transports?: Transport[];
  /** Whether polling sessions may upgrade to WebSocket. @default true */
  allowUpgrades?: boolean;
  /** permessage-deflate for WebSocket (`true` or ws options). @default false */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /** gzip/deflate for polling responses over the threshold. @default { threshold: 1024 } */
  httpCompression?: boolean | { threshold?: number; [k: string]: unknown };
  /** A ws-compatible Server class. @default ws.Server */
  wsEngine?: any;
  /** A message sent right after the open packet. @default none */
  initialPacket?: unknown;
  /** Sticky-session cookie on the polling handshake. @default false */
  cookie?: boolean | CookieOptions;
  /** CORS for polling requests; preflights are answered. @default false (no CORS headers) */
  cors?: CorsOptions | boolean;
  /** Accept Engine.IO v3 clients (socket.io-client v2). @default false */
  allowEIO3?: boolean;
  /**
   * Largest number of bytes queued for one connection before it is dropped
   * (volatile packets are dropped first, at half of it). tidewire only.
   * @default 4194304 (4 MiB)
   */
  maxBufferedBytes?: number;
}

/** Options of `attach()`. */
export interface AttachOptions {
  /** Where Engine.IO requests are served. @default "/engine.io" */
  path?: string;
  /** Destroy unhandled upgrade requests outside `path`. @default true */
  destroyUpgrade?: boolean;
  /** Milliseconds before such an upgrade is destroyed. @default 1000 */
  destroyUpgradeTimeout?: number;
  /** Append a trailing slash to `path`. @default true */
  addTrailingSlash?: boolean;
}

export type ServerOptions = EngineOptions & AttachOptions;

export type HeadersEventHandler = (headers: OutgoingHttpHeaders, req: IncomingMessage) => void;
