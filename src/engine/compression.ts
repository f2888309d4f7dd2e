/**
 * HTTP compression of polling responses (features.md A1.9): gzip or deflate,
 * chosen from the request's Accept-Encoding by the rules of the `negotiator`
 * package, which engine.io (and socket.io, for the client bundle) use through
 * `accepts`: see `negotiate`.
 */
import { deflate, gzip, type ZlibOptions } from "node:zlib";

export type Encoding = "gzip" | "deflate";

const CANDIDATES: readonly Encoding[] = ["gzip", "deflate"];

/** One Accept-Encoding entry: its coding, its q and its position in the header. */
interface Entry {
  name: string;
  q: number;
  o: number;
}

/** How well an entry matches a candidate. */
interface Match {
  /** 1 for an exact name, 0 for `*` */
  s: number;
  q: number;
  /** position of the matching entry in the header (-1: none) */
  o: number;
  /** position of the candidate in the server's list */
  i: number;
}

// negotiator's entry syntax: a coding without spaces or ";", then parameters.
const ENTRY = /^\s*([^\s;]+)\s*(?:;(.*))?$/;

/** Real headers list a handful of codings: hostile ones are read this far only. */
const MAX_ENTRIES = 64;

function parseAcceptEncoding(header: string): Entry[] {
  const entries: Entry[] = [];
  const parts = header.split(",");
  for (let o = 0; o < parts.length && o < MAX_ENTRIES; o++) {
    const m = ENTRY.exec(parts[o].trim());
    if (m === null) continue;
    let q = 1;
    if (m[2] !== undefined) {
      // The first parameter spelled exactly "q=" counts (a NaN q accepts nothing).
      for (const param of m[2].split(";")) {
        const [key, value] = param.trim().split("=");
        if (key === "q") {
          q = parseFloat(value);
          break;
        }
      }
    }
    entries.push({ name: m[1].toLowerCase(), q, o });
  }
  return entries;
}

/**
 * The candidate the client accepts best, or null when it accepts none
 * (a missing header accepts none: identity is implied). Rules of
 * `negotiator`: for each candidate the entry naming it beats `*`, then the
 * higher q, then the later entry; candidates with q > 0 then rank by q, an
 * exact name over `*`, the client's order, and last the order of
 * `candidates`. So with equal q the client's order decides: Chrome's
 * "gzip, deflate, br, zstd" gets gzip even where br is offered first.
 */
export function negotiate<E extends string>(
  acceptEncoding: string | string[] | undefined,
  candidates: readonly E[],
): E | null {
  if (!acceptEncoding) return null;
  const entries = parseAcceptEncoding(Array.isArray(acceptEncoding) ? acceptEncoding.join(",") : acceptEncoding);
  let best: Match | null = null;
  for (let i = 0; i < candidates.length; i++) {
    let match: Match = { s: 0, q: 0, o: -1, i };
    for (const entry of entries) {
      const s = entry.name === candidates[i] ? 1 : entry.name === "*" ? 0 : -1;
      if (s < 0) continue;
      // negotiator's comparison, NaN included: a NaN q difference falls through to the position.
      if ((match.s - s || match.q - entry.q || match.o - entry.o) < 0) match = { s, q: entry.q, o: entry.o, i };
    }
    if (!(match.q > 0)) continue;
    if (best === null || rank(match, best) < 0) best = match;
  }
  return best === null ? null : candidates[best.i];
}

function rank(a: Match, b: Match): number {
  return b.q - a.q || b.s - a.s || a.o - b.o || a.i - b.i;
}

/** The encoding to use for a polling response, or null for none. */
export function negotiateEncoding(acceptEncoding: string | string[] | undefined): Encoding | null {
  return negotiate(acceptEncoding, CANDIDATES);
}

/** Compresses off the main thread (zlib's thread pool). */
export function compressBody(
  encoding: Encoding,
  body: Buffer | string,
  options: ZlibOptions,
  cb: (err: Error | null, result: Buffer) => void,
): void {
  if (encoding === "gzip") gzip(body, options, cb);
  else deflate(body, options, cb);
}
