import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/** What a socket knows of the request that opened its connection. */
export interface Handshake {
  /** Headers of the first HTTP request of the connection. */
  headers: IncomingHttpHeaders;
  /** Creation date, as `Date#toString()`. */
  time: string;
  /** Remote address of the client. */
  address: string;
  /** Whether the request carried an Origin header. */
  xdomain: boolean;
  /** Whether the connection is over TLS. */
  secure: boolean;
  /** Creation time in milliseconds since the epoch. */
  issued: number;
  /** URL of the first request. */
  url: string;
  /** Query parameters of the first request. */
  query: Record<string, string | string[]>;
  /** The auth payload of the CONNECT packet (`{}` when none). */
  auth: Record<string, any>;
}

/** Parses a request's query into a null-prototype object (no prototype keys can leak). */
export function parseQuery(url: string | undefined): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  if (!url) return query;
  const q = url.indexOf("?");
  if (q === -1) return query;
  for (const [key, value] of new URLSearchParams(url.slice(q + 1))) {
    const prev = query[key];
    if (prev === undefined) query[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else query[key] = [prev, value];
  }
  return query;
}

export function buildHandshake(
  req: IncomingMessage | undefined,
  conn: { remoteAddress?: string },
  auth: Record<string, any>,
  issued: number,
): Handshake {
  const headers = req?.headers ?? {};
  const query = ((req as any)?._query as Record<string, string | string[]> | undefined) ?? parseQuery(req?.url);
  return {
    headers,
    time: new Date(issued).toString(),
    address: conn.remoteAddress ?? "",
    xdomain: !!headers.origin,
    secure: !req || !!(req.socket as any)?.encrypted,
    issued,
    url: req?.url ?? "",
    query,
    auth,
  };
}
