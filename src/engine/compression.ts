/**
 * HTTP compression of polling responses (features.md A1.9): gzip or deflate,
 * chosen from the request's Accept-Encoding with the same preference rules
 * as the `accepts` package engine.io uses (quality, then exact over `*`, then
 * the client's order, then gzip before deflate).
 */
import { deflate, gzip, type ZlibOptions } from "node:zlib";

export type Encoding = "gzip" | "deflate";

const CANDIDATES: readonly Encoding[] = ["gzip", "deflate"];

interface Choice {
  encoding: Encoding;
  q: number;
  /** 1 for an exact match, 0 for `*` */
  s: number;
  /** position in the header */
  o: number;
  /** position in CANDIDATES */
  i: number;
}

/** The encoding to use for a response, or null for none. */
export function negotiateEncoding(acceptEncoding: string | string[] | undefined): Encoding | null {
  if (!acceptEncoding) return null;
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(",") : acceptEncoding;
  const entries: Array<{ name: string; q: number; o: number }> = [];
  const parts = header.split(",");
  // Bounded work for hostile headers: real ones list a handful of codings.
  for (let o = 0; o < parts.length && o < 64; o++) {
    const [rawName, ...params] = parts[o].split(";");
    const name = rawName.trim().toLowerCase();
    if (!name) continue;
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf("=");
      if (eq !== -1 && param.slice(0, eq).trim().toLowerCase() === "q") {
        const value = parseFloat(param.slice(eq + 1).trim());
        q = Number.isFinite(value) ? value : 0;
      }
    }
    entries.push({ name, q, o });
  }
  let best: Choice | null = null;
  for (let i = 0; i < CANDIDATES.length; i++) {
    const encoding = CANDIDATES[i];
    let match: Choice | null = null;
    for (const entry of entries) {
      const s = entry.name === encoding ? 1 : entry.name === "*" ? 0 : -1;
      if (s < 0) continue;
      const better =
        !match || s > match.s || (s === match.s && (entry.q > match.q || (entry.q === match.q && entry.o > match.o)));
      if (better) {
        match = { encoding, q: entry.q, s, o: entry.o, i };
      }
    }
    if (!match || match.q <= 0) continue;
    if (!best || compare(match, best) < 0) best = match;
  }
  return best ? best.encoding : null;
}

function compare(a: Choice, b: Choice): number {
  return b.q - a.q || b.s - a.s || a.o - b.o || a.i - b.i;
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
