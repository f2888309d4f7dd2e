/**
 * serveClient: the official client bundle under `<path>/`, byte-identical to
 * the socket.io-client package's dist files, with content types, ETag/304 and
 * compression negotiated as socket.io does; everything else under the path is Engine.IO's (400 code 0), and no
 * path trick ever serves another file.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, createIoServer, rawRequest } from "../../helpers/io.js";

const require = createRequire(import.meta.url);
const clientDist = join(dirname(require.resolve("socket.io-client/package.json")), "dist");

const SOURCES = ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js", "socket.io.msgpack.min.js"];
const FILES = SOURCES.flatMap((name) => [name, `${name}.map`]);
const TRANSPORT_UNKNOWN = { code: 0, message: "Transport unknown" };

afterEach(closeAll);

describe("serveClient", { timeout: 10000 }, () => {
  it.each(FILES)("serves %s byte-identical to socket.io-client's dist, with its headers", async (name) => {
    const { url } = await createIoServer();
    const res = await rawRequest(`${url}/socket.io/${name}`);
    expect(res.status).toBe(200);
    const expectedType = name.endsWith(".map") ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8";
    expect(res.headers["content-type"]).toBe(expectedType);
    expect(res.headers["cache-control"]).toBe("public, max-age=0");
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.headers.etag).toMatch(/^"[^"]+"$/);
    expect(res.body.equals(readFileSync(join(clientDist, name)))).toBe(true);
  });

  it("answers 304 to If-None-Match with the ETag, strong or weak", async () => {
    const { url } = await createIoServer();
    const first = await rawRequest(`${url}/socket.io/socket.io.min.js`);
    const etag = first.headers.etag as string;
    for (const candidate of [etag, `W/${etag}`]) {
      const res = await rawRequest(`${url}/socket.io/socket.io.min.js`, { headers: { "if-none-match": candidate } });
      expect(res.status).toBe(304);
      expect(res.body.length).toBe(0);
    }
    const stale = await rawRequest(`${url}/socket.io/socket.io.min.js`, { headers: { "if-none-match": '"0.0.0-other"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBeGreaterThan(0);
  });

  it.each(["socket.io.js", "socket.io.esm.min.js.map"])("gzips %s when the client accepts gzip", async (name) => {
    const { url } = await createIoServer();
    const res = await rawRequest(`${url}/socket.io/${name}`, { headers: { "accept-encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(res.body).equals(readFileSync(join(clientDist, name)))).toBe(true);
  });

  it("ignores the query string", async () => {
    const { url } = await createIoServer();
    const res = await rawRequest(`${url}/socket.io/socket.io.js?v=123&t=abc`);
    expect(res.status).toBe(200);
    expect(res.body.equals(readFileSync(join(clientDist, "socket.io.js")))).toBe(true);
  });

  it("serves under a custom path", async () => {
    const { url } = await createIoServer({ path: "/rt" });
    const res = await rawRequest(`${url}/rt/socket.io.min.js`);
    expect(res.status).toBe(200);
    expect(res.body.equals(readFileSync(join(clientDist, "socket.io.min.js")))).toBe(true);
  });

  it("serveClient: false leaves the names to Engine.IO (400 code 0)", async () => {
    const { url } = await createIoServer({ serveClient: false });
    for (const name of ["socket.io.js", "socket.io.min.js.map"]) {
      const res = await rawRequest(`${url}/socket.io/${name}`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body.toString())).toEqual(TRANSPORT_UNKNOWN);
    }
  });

  it.each(["socket.io.esm.js", "socket.io.msgpack.js", "client.js", "socket.io.js.gz", "index.html", "socket.io.JS"])(
    "unknown name %s under the path is not a file (400 code 0)",
    async (name) => {
      const { url } = await createIoServer();
      const res = await rawRequest(`${url}/socket.io/${name}`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body.toString())).toEqual(TRANSPORT_UNKNOWN);
    },
  );

  it.each([
    "/socket.io/../package.json",
    "/socket.io/%2e%2e/package.json",
    "/socket.io/%2E%2E%2Fpackage.json",
    "/socket.io/..%2fpackage.json",
    "/socket.io/..%5cpackage.json",
    "/socket.io/socket.io.js/../../package.json",
    "/socket.io/../dist/socket.io.js",
    "/socket.io/../../../../../../../../etc/passwd",
    "/socket.io/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/socket.io/....//package.json",
    "/socket.io//etc/passwd",
    "/socket.io/%00socket.io.js",
    "/socket.io/socket.io.js%00.map",
  ])("path trick %s never serves a file", async (path) => {
    const { url } = await createIoServer();
    const res = await rawRequest(url, { path });
    expect(res.status).not.toBe(200);
    const body = res.body.toString();
    expect(body).not.toContain('"version"');
    expect(body).not.toContain("root:");
    expect(body).not.toContain("engine.io");
  });
});

const DECODE: Record<string, (b: Buffer) => Buffer> = { br: brotliDecompressSync, gzip: gunzipSync, deflate: inflateSync };

describe("serveClient: compression as socket.io negotiates it (accepts)", { timeout: 10000 }, () => {
  it.each([
    ["gzip, deflate, br, zstd", "gzip"], // Chrome: equal preference, the client's order wins
    ["gzip,br,deflate", "gzip"],
    ["br", "br"],
    ["br;q=1, gzip;q=0.8", "br"],
    ["deflate, gzip;q=0.5", "deflate"],
    ["identity", undefined],
  ])("Accept-Encoding %j is answered with %j", async (header, expected) => {
    const { url } = await createIoServer();
    const res = await rawRequest(`${url}/socket.io/socket.io.min.js`, { headers: { "accept-encoding": header } });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe(expected);
    const body = expected ? DECODE[expected](res.body) : res.body;
    expect(body.equals(readFileSync(join(clientDist, "socket.io.min.js")))).toBe(true);
  });
});
