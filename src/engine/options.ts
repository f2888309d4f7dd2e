import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { SerializeOptions } from "cookie";
import { invalidOption } from "../core/errors.js";
import { resolveCookie } from "./cookie.js";

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
  /**
   * A ws-compatible Server class; when set, every WebSocket connection goes through it.
   * @default tidewire's own framing (ws.Server for connections that negotiate permessage-deflate)
   */
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
   * Largest number of bytes waiting for one client (queued, or handed to the
   * socket and not yet taken by the kernel). Past it the session closes with
   * the reason "buffer overflow"; volatile messages are already dropped past
   * half of it. Strings count one byte per UTF-16 code unit. tidewire only.
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

/** The transports this server implements, in their default order. */
export const SUPPORTED_TRANSPORTS: readonly Transport[] = ["polling", "websocket"];

/**
 * Options after defaults: every key the user passed is kept (engine.io keeps
 * unknown keys in `opts` too), the known ones normalised.
 */
export interface ResolvedOptions
  extends Omit<ServerOptions, "cookie" | "cors" | "perMessageDeflate" | "httpCompression"> {
  pingInterval: number;
  pingTimeout: number;
  upgradeTimeout: number;
  maxHttpBufferSize: number;
  transports: Transport[];
  allowUpgrades: boolean;
  /** false, or the ws permessage-deflate options merged over `{ threshold: 1024 }` */
  perMessageDeflate: false | Record<string, unknown>;
  /** false, or zlib options with a byte `threshold` */
  httpCompression: false | { threshold: number; [k: string]: unknown };
  cookie: false | CookieOptions;
  cors: false | CorsOptions | true;
  allowEIO3: boolean;
  maxBufferedBytes: number;
  [key: string]: unknown;
}

export const DEFAULTS = Object.freeze({
  pingInterval: 25000,
  pingTimeout: 20000,
  upgradeTimeout: 10000,
  maxHttpBufferSize: 1e6,
  transports: SUPPORTED_TRANSPORTS,
  allowUpgrades: true,
  httpCompression: { threshold: 1024 },
  cors: false,
  allowEIO3: false,
  maxBufferedBytes: 4 * 1024 * 1024,
});

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw invalidOption(name, "a positive finite number", value);
  }
  return value;
}

/** Applies defaults and validates once; throws a clear TidewireError on a bad value. */
export function resolveOptions(opts: ServerOptions = {}): ResolvedOptions {
  if (opts === null || typeof opts !== "object") throw invalidOption("options", "an object", opts);
  const resolved = { ...opts } as ResolvedOptions;
  resolved.pingInterval = positive("pingInterval", opts.pingInterval, DEFAULTS.pingInterval);
  resolved.pingTimeout = positive("pingTimeout", opts.pingTimeout, DEFAULTS.pingTimeout);
  resolved.upgradeTimeout = positive("upgradeTimeout", opts.upgradeTimeout, DEFAULTS.upgradeTimeout);
  resolved.maxHttpBufferSize = positive("maxHttpBufferSize", opts.maxHttpBufferSize, DEFAULTS.maxHttpBufferSize);
  resolved.maxBufferedBytes = positive("maxBufferedBytes", opts.maxBufferedBytes, DEFAULTS.maxBufferedBytes);

  const transports = opts.transports ?? DEFAULTS.transports;
  if (!Array.isArray(transports) || transports.some((t) => typeof t !== "string")) {
    throw invalidOption("transports", 'an array of transport names such as ["polling", "websocket"]', transports);
  }
  resolved.transports = [...transports];
  resolved.allowUpgrades = opts.allowUpgrades !== false;
  resolved.allowEIO3 = opts.allowEIO3 === true;

  if (opts.allowRequest !== undefined && typeof opts.allowRequest !== "function") {
    throw invalidOption("allowRequest", "a function (req, callback)", opts.allowRequest);
  }

  const pmd = opts.perMessageDeflate;
  resolved.perMessageDeflate = pmd ? { threshold: 1024, ...(pmd === true ? {} : pmd) } : false;

  const hc = opts.httpCompression;
  if (hc === false) resolved.httpCompression = false;
  else if (hc === undefined || hc === true) resolved.httpCompression = { ...DEFAULTS.httpCompression };
  else if (typeof hc === "object" && hc !== null) {
    resolved.httpCompression = { ...hc, threshold: hc.threshold ?? DEFAULTS.httpCompression.threshold };
  } else throw invalidOption("httpCompression", "false, true or an object with a threshold", hc);

  resolved.cookie = resolveCookie(opts.cookie) ?? false;
  if (opts.cors !== undefined && opts.cors !== false && opts.cors !== true && typeof opts.cors !== "object") {
    throw invalidOption("cors", "false, true or cors options", opts.cors);
  }
  resolved.cors = opts.cors || false;
  return resolved;
}

/** The request path prefix handled by the engine (features.md A2.1). */
export function computePath(opts: AttachOptions): string {
  let path = (opts.path || "/engine.io").replace(/\/$/, "");
  if (opts.addTrailingSlash !== false) path += "/";
  return path;
}
