import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { SerializeOptions } from "cookie";
import { logger } from "../core/debug.js";
import { invalidOption } from "../core/errors.js";
import { resolveCookie } from "./cookie.js";
import { resolveCors, type CorsOptions, type CorsOptionsDelegate } from "./cors.js";

export type { CorsOptions, CorsOptionsDelegate } from "./cors.js";

const log = logger("engine", "options");

export type Transport = "polling" | "websocket";

export interface CookieOptions extends SerializeOptions {
  /** @default "io" */
  name?: string;
}

/** Engine.IO server options: the same names and defaults as engine.io 6.6. */
export interface EngineOptions {
  /**
   * Milliseconds between server pings. `pingInterval + pingTimeout` may not
   * exceed 2147483647 (about 24.8 days): clients wait that long for a ping
   * with a timer that cannot hold more (they would drop at once).
   * @default 25000
   */
  pingInterval?: number;
  /** Milliseconds to wait for a pong before closing with "ping timeout" (see pingInterval for the bound). @default 20000 */
  pingTimeout?: number;
  /**
   * Milliseconds an upgrade may take before the new transport is dropped;
   * any positive finite number, including more than 2^31-1 (the deadline is kept).
   * @default 10000
   */
  upgradeTimeout?: number;
  /**
   * Largest POST body / WebSocket message accepted from a client, in bytes;
   * advertised as maxPayload. Messages to clients are not bounded by it (as
   * with engine.io); maxBufferedBytes judges those.
   * @default 1e6
   */
  maxHttpBufferSize?: number;
  /** Decide whether a handshake is accepted: `cb(errMessage, success)`. @default none */
  allowRequest?: (req: IncomingMessage, fn: (err: string | null | undefined, success: boolean) => void) => void;
  /**
   * Allowed transports, in order of preference. `"webtransport"` is
   * accepted and ignored (tidewire has no WebTransport).
   * @default ["polling", "websocket"]
   */
  transports?: Array<Transport | "webtransport">;
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
  /**
   * CORS for polling requests (and the client bundle); preflights are
   * answered. Options of the `cors` package, `true` for its defaults, or a
   * function `(req, callback)` answering options per request.
   * @default false (no CORS headers)
   */
  cors?: CorsOptions | CorsOptionsDelegate | boolean;
  /** Accept Engine.IO v3 clients (socket.io-client v2). @default false */
  allowEIO3?: boolean;
  /**
   * Bound of the backlog a client does not drain: bytes waiting for it,
   * queued or handed to the socket and not yet taken by the kernel.
   *
   * What the application writes to a client between two flushes (one
   * event-loop turn) is one write. Its packets are judged by what earlier
   * writes left that the client has not drained, never by their own size:
   * over this limit, the session closes with the reason "buffer overflow".
   * A write that takes the backlog past the limit is admitted whole (a
   * client that reads gets messages of any size) and is the large write:
   * what remains of it is not counted until it has drained, so packets may
   * follow it. A client that stops reading costs at most this limit plus
   * two writes (the large one and the one under way).
   *
   * (Volatile packets are dropped earlier, whenever anything waits for the
   * client, as in socket.io.) Strings count one byte per UTF-16 code unit.
   * tidewire only.
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
  /**
   * Milliseconds before such an upgrade is destroyed; more than 2^31-1 is
   * kept as given, `Infinity` never destroys it.
   * @default 1000
   */
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
  cors: false | true | CorsOptions | CorsOptionsDelegate;
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

/** The longest wait of a client timer (browsers and Node): 2^31-1 ms. */
const MAX_HEARTBEAT = 2 ** 31 - 1;

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
  if (resolved.pingInterval + resolved.pingTimeout > MAX_HEARTBEAT) {
    throw invalidOption(
      "pingInterval",
      `pingInterval + pingTimeout of at most ${MAX_HEARTBEAT} ms (clients cannot wait longer for a ping: their timers overflow and they drop at once)`,
      resolved.pingInterval,
    );
  }
  resolved.upgradeTimeout = positive("upgradeTimeout", opts.upgradeTimeout, DEFAULTS.upgradeTimeout);
  resolved.maxHttpBufferSize = positive("maxHttpBufferSize", opts.maxHttpBufferSize, DEFAULTS.maxHttpBufferSize);
  resolved.maxBufferedBytes = positive("maxBufferedBytes", opts.maxBufferedBytes, DEFAULTS.maxBufferedBytes);

  resolved.transports = resolveTransports(opts.transports);
  // engine.io reads both as truthy/falsy; an unset allowUpgrades means true.
  resolved.allowUpgrades = opts.allowUpgrades === undefined || !!opts.allowUpgrades;
  resolved.allowEIO3 = !!opts.allowEIO3;

  if (opts.allowRequest !== undefined && opts.allowRequest !== null && typeof opts.allowRequest !== "function") {
    throw invalidOption(
      "allowRequest",
      "a function (req, callback) that calls callback(null, true) to accept or callback(message, false) to refuse",
      opts.allowRequest,
    );
  }
  if (opts.wsEngine !== undefined && opts.wsEngine !== null && typeof opts.wsEngine !== "function") {
    throw invalidOption("wsEngine", 'a ws-compatible Server class, such as require("ws").Server', opts.wsEngine);
  }

  const pmd = opts.perMessageDeflate;
  resolved.perMessageDeflate = pmd ? { threshold: 1024, ...(pmd === true ? {} : pmd) } : false;

  const hc = opts.httpCompression;
  if (hc === false) resolved.httpCompression = false;
  else if (hc === undefined || hc === true) resolved.httpCompression = { ...DEFAULTS.httpCompression };
  else if (typeof hc === "object" && hc !== null) {
    resolved.httpCompression = { ...hc, threshold: hc.threshold ?? DEFAULTS.httpCompression.threshold };
  } else if (hc === null) resolved.httpCompression = { ...DEFAULTS.httpCompression };
  else throw invalidOption("httpCompression", "false, true or an object with a threshold", hc);

  resolved.cookie = resolveCookie(opts.cookie) ?? false;
  resolved.cors = resolveCors(opts.cors);
  return resolved;
}

const TRANSPORTS_EXPECTED = 'an array of "polling" and/or "websocket", in order of preference';

/** The transport names a misspelt one probably meant. */
function suggestTransport(name: string): string {
  const lower = name.toLowerCase();
  if (lower.includes("socket") || lower === "ws" || lower === "wss") return ' Did you mean "websocket"?';
  if (lower.includes("poll") || lower.includes("xhr")) return ' Did you mean "polling"?';
  return "";
}

/**
 * `transports`: known names only, so that a typo fails here rather than
 * refusing every client with "Transport unknown". "webtransport" (an
 * engine.io opt-in) is accepted and left out: tidewire has no WebTransport,
 * and clients offered it fall back to the other transports.
 */
function resolveTransports(value: unknown): Transport[] {
  if (value === undefined || value === null) return [...DEFAULTS.transports];
  if (!Array.isArray(value)) throw invalidOption("transports", TRANSPORTS_EXPECTED, value);
  const transports: Transport[] = [];
  for (const name of value) {
    if (SUPPORTED_TRANSPORTS.includes(name)) transports.push(name);
    else if (name === "webtransport") log("transports: webtransport is not implemented by tidewire, ignored");
    else {
      const hint = typeof name === "string" ? `"${name}" is not a transport name.${suggestTransport(name)}` : undefined;
      throw invalidOption("transports", TRANSPORTS_EXPECTED, value, hint);
    }
  }
  if (transports.length === 0) {
    throw invalidOption(
      "transports",
      TRANSPORTS_EXPECTED,
      value,
      value.length === 0 ? "An empty list refuses every client." : "tidewire has no WebTransport: add \"websocket\" and/or \"polling\".",
    );
  }
  return transports;
}

/** The request path prefix handled by the engine (features.md A2.1). */
export function computePath(opts: AttachOptions): string {
  checkPath(opts.path);
  let path = (opts.path || "/engine.io").replace(/\/$/, "");
  if (opts.addTrailingSlash !== false) path += "/";
  return path;
}

/**
 * A `path` is matched against request URLs, which start with "/": any
 * other string would never match, and every client would fail.
 */
export function checkPath(path: unknown): void {
  if (path === undefined || path === null || path === "") return;
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw invalidOption("path", 'a URL path starting with "/", such as "/socket.io"', path);
  }
}
