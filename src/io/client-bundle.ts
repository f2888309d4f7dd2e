import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { brotliCompressSync, constants as zlibConstants, deflateSync, gzipSync } from "node:zlib";
import type { IncomingMessage, ServerResponse } from "node:http";
import { logger } from "../core/debug.js";
import { negotiate } from "../engine/compression.js";
import { addVary } from "../engine/cors.js";

const log = logger("io", "client-bundle");

/**
 * The official socket.io-client browser bundles, served under `<path>/`.
 * Only these exact names are files: nothing in a URL ever becomes a file
 * system path, so traversal is impossible by construction.
 */
const FILE_NAMES: ReadonlySet<string> = new Set(
  ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js", "socket.io.msgpack.min.js"].flatMap((f) => [
    f,
    f + ".map",
  ]),
);

type Encoding = "br" | "gzip" | "deflate";

interface BundleFile {
  body: Buffer;
  contentType: string;
  compressed: Map<Encoding, Buffer>;
}

const require = createRequire(import.meta.url);
let distDir: string | undefined;
let version: string | undefined;
const cache = new Map<string, BundleFile>();

function clientPackage(): { distDir: string; version: string } {
  if (!distDir || !version) {
    const pkgPath = require.resolve("socket.io-client/package.json");
    version = JSON.parse(readFileSync(pkgPath, "utf8")).version as string;
    distDir = join(dirname(pkgPath), "dist");
  }
  return { distDir, version };
}

function load(name: string): BundleFile {
  let file = cache.get(name);
  if (!file) {
    file = {
      body: readFileSync(join(clientPackage().distDir, name)),
      contentType: name.endsWith(".map") ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8",
      compressed: new Map(),
    };
    cache.set(name, file);
  }
  return file;
}

function compressed(file: BundleFile, encoding: Encoding): Buffer {
  let body = file.compressed.get(encoding);
  if (!body) {
    if (encoding === "br") {
      body = brotliCompressSync(file.body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 6 } });
    } else if (encoding === "gzip") {
      body = gzipSync(file.body);
    } else {
      body = deflateSync(file.body);
    }
    file.compressed.set(encoding, body);
  }
  return body;
}

/** The bundle's encodings, in socket.io's order (which decides only between equal client preferences). */
const ENCODINGS: readonly Encoding[] = ["br", "gzip", "deflate"];

/** The bundle file name a URL asks for under `path` (with trailing slash), if any. */
export function bundleFileFor(url: string | undefined, path: string): string | undefined {
  if (!url || !url.startsWith(path)) return undefined;
  const end = url.indexOf("?");
  const name = url.slice(path.length, end === -1 ? undefined : end);
  return FILE_NAMES.has(name) ? name : undefined;
}

/** Answers a request for a bundle file: 200 (maybe compressed) or 304. */
export function serveBundleFile(name: string, req: IncomingMessage, res: ServerResponse): void {
  let file: BundleFile;
  try {
    file = load(name);
  } catch (err) {
    log("cannot read the client bundle %s: %O", name, err);
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end("socket.io-client bundle not found: reinstall the socket.io-client package");
    return;
  }
  const etag = `"${clientPackage().version}"`;
  const ifNoneMatch = req.headers["if-none-match"];
  res.setHeader("Cache-Control", "public, max-age=0");
  res.setHeader("ETag", etag);
  if (ifNoneMatch === etag || ifNoneMatch === "W/" + etag) {
    res.writeHead(304);
    res.end();
    return;
  }
  res.setHeader("Content-Type", file.contentType);
  // socket.io negotiates with `accepts`: the client's order wins between equal q values.
  const encoding = negotiate(req.headers["accept-encoding"], ENCODINGS);
  const body = encoding ? compressed(file, encoding) : file.body;
  if (encoding) res.setHeader("Content-Encoding", encoding);
  addVary(res, "Accept-Encoding");
  res.setHeader("Content-Length", body.length);
  res.writeHead(200);
  res.end(req.method === "HEAD" ? undefined : body);
}
