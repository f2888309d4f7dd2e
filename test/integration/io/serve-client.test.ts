/**
 * serveClient: the official client bundle under `<path>/`, byte-identical to
 * the socket.io-client package's dist files, with content types, ETag/304,
 * compression negotiated as socket.io does and the `cors` option's headers;
 * everything else under the path is Engine.IO's (400 code 0), and no path
 * trick ever serves another file.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import { closeAll, createIoServer, listen, onClose, rawRequest } from "../../helpers/io.js";
import { againstReference, Server } from "../../helpers/impl.js";

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

describe("serveClient: the cors option applies to the bundle", { timeout: 10000 }, () => {
  const ORIGIN = "https://good.example";

  it.each(FILES)("%s gets Access-Control-Allow-Origin (and 304s too)", async (name) => {
    const { url } = await createIoServer({ cors: { origin: ORIGIN, credentials: true, exposedHeaders: ["x-version"] } });
    const res = await rawRequest(`${url}/socket.io/${name}`, { headers: { origin: ORIGIN, "accept-encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(ORIGIN);
    expect(res.headers["access-control-allow-credentials"]).toBe("true");
    expect(res.headers["access-control-expose-headers"]).toBe("x-version");
    expect(res.headers["vary"]).toMatch(/^Origin\b/);
    // tidewire also says that the body depends on Accept-Encoding, next to Origin, and sends its length
    if (!againstReference) {
      expect(res.headers["vary"]).toBe("Origin, Accept-Encoding");
      expect(Number(res.headers["content-length"])).toBe(res.body.length);
    }
    expect(gunzipSync(res.body).equals(readFileSync(join(clientDist, name)))).toBe(true);
    const cached = await rawRequest(`${url}/socket.io/${name}`, { headers: { origin: ORIGIN, "if-none-match": res.headers.etag as string } });
    expect(cached.status).toBe(304);
    expect(cached.headers["access-control-allow-origin"]).toBe(ORIGIN);
  });

  it.skipIf(againstReference)("cors given to attach() applies to the bundle too (socket.io: only the constructor's)", async () => {
    const httpServer = createServer();
    const io = new Server();
    io.attach(httpServer, { cors: { origin: ORIGIN } });
    const port = await listen(httpServer);
    onClose(() => new Promise<void>((resolve) => io.close(() => resolve())));
    const res = await rawRequest(`http://127.0.0.1:${port}/socket.io/socket.io.js`, { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(ORIGIN);
  });

  it("a preflight for the bundle is answered by CORS (204), not with the file", async () => {
    const { url } = await createIoServer({ cors: { origin: ORIGIN } });
    const res = await rawRequest(`${url}/socket.io/socket.io.js`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "x-requested-with" },
    });
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe(ORIGIN);
    expect(res.headers["access-control-allow-methods"]).toBe("GET,HEAD,PUT,PATCH,POST,DELETE");
    expect(res.headers["access-control-allow-headers"]).toBe("x-requested-with");
    expect(res.headers["content-length"]).toBe("0");
    expect(res.body.length).toBe(0);
  });

  it("cors: true sends *; without cors there is no CORS header", async () => {
    const open = await createIoServer({ cors: true as any });
    const res = await rawRequest(`${open.url}/socket.io/socket.io.js`, { headers: { origin: "https://any.example" } });
    expect(res.headers["access-control-allow-origin"]).toBe("*");
    const plain = await createIoServer();
    const none = await rawRequest(`${plain.url}/socket.io/socket.io.js`, { headers: { origin: "https://any.example" } });
    expect(none.status).toBe(200);
    expect(Object.keys(none.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
  });

  it("a disallowed origin gets the file without an allow header; a failing origin function still serves it", async () => {
    const { url } = await createIoServer({ cors: { origin: [ORIGIN, /\.trusted\.example$/] } });
    const allowed = await rawRequest(`${url}/socket.io/socket.io.js`, { headers: { origin: "https://app.trusted.example" } });
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.trusted.example");
    const denied = await rawRequest(`${url}/socket.io/socket.io.js`, { headers: { origin: "https://evil.example" } });
    expect(denied.status).toBe(200);
    expect(denied.headers["access-control-allow-origin"]).toBeUndefined();
    const failing = await createIoServer({ cors: { origin: (_o: unknown, cb: (e: Error) => void) => cb(new Error("lookup failed")) } as any });
    const res = await rawRequest(`${failing.url}/socket.io/socket.io.js`, { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect(res.body.equals(readFileSync(join(clientDist, "socket.io.js")))).toBe(true);
  });

  it("the cors package's `headers` alias of allowedHeaders is honoured, for the bundle and for polling", async () => {
    const { url } = await createIoServer({ cors: { origin: ORIGIN, headers: ["x-token", "x-user"] } as any });
    for (const path of ["/socket.io/socket.io.js", "/socket.io/?EIO=4&transport=polling"]) {
      const res = await rawRequest(url, {
        path,
        method: "OPTIONS",
        headers: { origin: ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "x-other" },
      });
      expect(res.status).toBe(204);
      expect(res.headers["access-control-allow-headers"]).toBe("x-token,x-user");
      expect(res.headers["vary"]).toBe("Origin");
    }
  });

  it("a cors function (req, callback) answers the options per request, for the bundle and for polling", async () => {
    const { url } = await createIoServer({
      cors: ((req: any, cb: (err: Error | null, opts?: object) => void) =>
        setImmediate(() => cb(null, { origin: req.headers["x-tenant"] === "t1" ? "https://t1.example" : false }))) as any,
    });
    for (const path of ["/socket.io/socket.io.js", "/socket.io/?EIO=4&transport=polling"]) {
      const t1 = await rawRequest(url, { path, headers: { origin: "https://t1.example", "x-tenant": "t1" } });
      expect(t1.status).toBe(200);
      expect(t1.headers["access-control-allow-origin"]).toBe("https://t1.example");
      const other = await rawRequest(url, { path, headers: { origin: "https://t1.example" } });
      expect(other.status).toBe(200);
      expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    }
  });
});
