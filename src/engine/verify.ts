/**
 * Request verification (protocol.md §8, features.md A4), in engine.io's order:
 * transport → Origin → (sid known → transport matches → same EIO) or
 * (GET → real upgrade for websocket → allowRequest).
 */
import type { IncomingMessage } from "node:http";
import { rethrowLater } from "../core/rethrow.js";
import { ErrorCodes, type ErrorCode, type ErrorContext } from "./errors.js";
import { SUPPORTED_TRANSPORTS, type ResolvedOptions, type Transport as TransportName } from "./options.js";
import type { Socket } from "./session.js";

export type Query = Record<string, string>;

/** Query parameters of an Engine.IO request, in a null-prototype object (last value wins). */
export function parseQuery(url: string | undefined): Query {
  const q = url ? url.indexOf("?") : -1;
  if (q === -1) return Object.create(null);
  const search = (url as string).slice(q + 1);
  if (isPlainQuery(search)) return splitQuery(search);
  const params = new URLSearchParams(search);
  // Filled first and given its null prototype after, the object stays in V8's
  // fast mode: about 130 bytes less than Object.create(null) for a query that
  // lives as long as the session (req._query). A "__proto__" key would hit
  // the inherited setter, so that query takes the dictionary path.
  const query = {} as Query;
  for (const [key, value] of params) {
    if (key === "__proto__") return dictionaryQuery(params);
    query[key] = value;
  }
  return Object.setPrototypeOf(query, null);
}

/**
 * ASCII without "%" or "+": form-urlencoded decoding leaves such a query as it
 * is, so splitting it by hand gives exactly what URLSearchParams gives (which
 * also drops a leading "?").
 */
function isPlainQuery(search: string): boolean {
  if (search.charCodeAt(0) === 0x3f /* ? */) return false;
  for (let i = 0; i < search.length; i++) {
    const c = search.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x2b /* + */ || c > 0x7e) return false;
  }
  return true;
}

/** Splits a plain query: "&" between pairs (empty ones skipped), the first "=" between name and value. */
function splitQuery(search: string): Query {
  const query = {} as Query;
  let start = 0;
  while (start <= search.length) {
    let end = search.indexOf("&", start);
    if (end === -1) end = search.length;
    if (end > start) {
      const eq = search.indexOf("=", start);
      const key = eq === -1 || eq > end ? search.slice(start, end) : search.slice(start, eq);
      const value = eq === -1 || eq > end ? "" : search.slice(eq + 1, end);
      if (key === "__proto__") return dictionaryQuery(new URLSearchParams(search));
      query[key] = common(value);
    }
    start = end + 1;
  }
  return Object.setPrototypeOf(query, null);
}

/**
 * The values every request carries, as one shared string each: the query
 * lives as long as the session, and a value cut from the URL would be a
 * string of its own (32 bytes for "websocket").
 */
function common(value: string): string {
  switch (value) {
    case "websocket":
      return "websocket";
    case "polling":
      return "polling";
    case "4":
      return "4";
    case "3":
      return "3";
    default:
      return value;
  }
}

function dictionaryQuery(params: URLSearchParams): Query {
  const query: Query = Object.create(null);
  for (const [key, value] of params) query[key] = value;
  return query;
}

/** The query of `req`, parsed once and kept on `req._query` as engine.io does. */
export function queryOf(req: IncomingMessage): Query {
  const holder = req as IncomingMessage & { _query?: Query };
  return (holder._query ??= parseQuery(req.url));
}

/** Revision 4 only for exactly `EIO=4`; anything else (missing included) is revision 3. */
export function protocolOf(query: Query): 3 | 4 {
  return query.EIO === "4" ? 4 : 3;
}

/** Whether `value` holds a character not allowed in an HTTP header value. */
export function hasInvalidHeaderChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return true;
  }
  return false;
}

export type VerifyCallback = (code?: ErrorCode, context?: ErrorContext) => void;

export interface VerifyScope {
  readonly opts: ResolvedOptions;
  readonly clients: Record<string, Socket>;
}

export function isTransportEnabled(opts: ResolvedOptions, name: unknown): name is TransportName {
  return (
    typeof name === "string" &&
    SUPPORTED_TRANSPORTS.includes(name as TransportName) &&
    opts.transports.includes(name as TransportName)
  );
}

/** Calls `fn()` when the request may proceed, `fn(code, context)` otherwise. */
export function verifyRequest(scope: VerifyScope, req: IncomingMessage, upgrade: boolean, fn: VerifyCallback): void {
  const query = queryOf(req);
  const transport = query.transport;
  if (!isTransportEnabled(scope.opts, transport)) return fn(ErrorCodes.UNKNOWN_TRANSPORT, { transport });

  const origin = req.headers.origin;
  if (origin !== undefined && hasInvalidHeaderChar(origin)) {
    // engine.io blanks the header so that nothing downstream echoes it.
    (req.headers as Record<string, unknown>).origin = undefined;
    return fn(ErrorCodes.BAD_REQUEST, { name: "INVALID_ORIGIN", origin });
  }

  const sid = query.sid;
  if (sid) {
    if (!Object.prototype.hasOwnProperty.call(scope.clients, sid)) return fn(ErrorCodes.UNKNOWN_SID, { sid });
    const session = scope.clients[sid];
    const previousTransport = session.transport.name;
    if (!upgrade && previousTransport !== transport) {
      return fn(ErrorCodes.BAD_REQUEST, { name: "TRANSPORT_MISMATCH", transport, previousTransport });
    }
    const protocol = protocolOf(query);
    if (protocol !== session.protocol) {
      return fn(ErrorCodes.BAD_REQUEST, { name: "PROTOCOL_MISMATCH", protocol, previousProtocol: session.protocol });
    }
    return fn();
  }

  if (req.method !== "GET") return fn(ErrorCodes.BAD_HANDSHAKE_METHOD, { method: req.method });
  if (transport === "websocket" && !upgrade) return fn(ErrorCodes.BAD_REQUEST, { name: "TRANSPORT_HANDSHAKE_ERROR" });
  const allowRequest = scope.opts.allowRequest;
  if (!allowRequest) return fn();
  let answered = false;
  try {
    allowRequest(req, (message, success) => {
      if (answered) return;
      answered = true;
      if (!success) fn(ErrorCodes.FORBIDDEN, { message: message ?? undefined });
      else fn();
    });
  } catch (err) {
    // The hook's exception is the application's (engine.io lets it escape); the request is refused meanwhile.
    if (!answered) {
      answered = true;
      fn(ErrorCodes.FORBIDDEN, { error: err });
    }
    rethrowLater(err);
  }
}
