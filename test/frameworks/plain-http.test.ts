/**
 * Plain Node servers: `require("tidewire")(server)`, `new Server(httpServer)`,
 * `new Server()` + `attach()`, `new Server(port)`, https and http2 (with
 * HTTP/1.1 allowed), beside the server's own request handler. Attaching to
 * something that cannot carry HTTP fails loudly instead of hanging.
 */
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Server, againstReference } from "../helpers/impl.js";
import {
  Teardown,
  TRANSPORT_MODES,
  exerciseClient,
  installEcho,
  listen,
  request,
  requireCallable,
  tls,
} from "./harness.js";

const teardown = new Teardown();
afterEach(() => teardown.run());

/** The application's own handler: one route, 404 for the rest. */
function appHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === "/hello") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hello from the app");
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("app: not found");
}

async function checkAppRoutes(url: string): Promise<void> {
  const hello = await request(`${url}/hello`);
  expect(hello.status).toBe(200);
  expect(hello.body).toBe("hello from the app");
  const missing = await request(`${url}/nowhere`);
  expect(missing.status).toBe(404);
  expect(missing.body).toBe("app: not found");
  const bundle = await request(`${url}/socket.io/socket.io.js`);
  expect(bundle.status).toBe(200);
  expect(bundle.body).toContain("engine.io");
}

describe('require("tidewire")(server) with http.createServer()', () => {
  it.each(TRANSPORT_MODES)("carries traffic over $mode beside the app's handler", async (mode) => {
    const httpServer = http.createServer(appHandler);
    const io = requireCallable()(httpServer);
    teardown.add(() => io.close());
    installEcho(io, "require");
    const url = `http://127.0.0.1:${await listen(httpServer)}`;
    await exerciseClient(url, mode, "require", teardown);
    await checkAppRoutes(url);
  });

  it("exposes Server on the callable export", () => {
    const callable = requireCallable() as unknown as { Server: unknown };
    expect(typeof callable).toBe("function");
    expect(typeof callable.Server).toBe("function");
  });
});

describe("new Server(httpServer)", () => {
  it.each(TRANSPORT_MODES)("carries traffic over $mode beside the app's handler", async (mode) => {
    const httpServer = http.createServer(appHandler);
    const io = new Server(httpServer);
    teardown.add(() => io.close());
    installEcho(io, "http");
    const url = `http://127.0.0.1:${await listen(httpServer)}`;
    await exerciseClient(url, mode, "http", teardown);
    await checkAppRoutes(url);
  });

  it("serves a custom path and leaves the default one to the app", async () => {
    const httpServer = http.createServer(appHandler);
    const io = new Server(httpServer, { path: "/realtime" });
    teardown.add(() => io.close());
    installEcho(io, "custom-path");
    const url = `http://127.0.0.1:${await listen(httpServer)}`;
    await exerciseClient(url, TRANSPORT_MODES[2], "custom-path", teardown, { path: "/realtime" });
    const hello = await request(`${url}/hello`);
    expect(hello.body).toBe("hello from the app");
    // The default path is now just another app URL.
    const old = await request(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(old.status).toBe(404);
    expect(old.body).toBe("app: not found");
  });
});

describe("new Server() then attach(httpServer)", () => {
  it("carries traffic once attached", async () => {
    const io = new Server();
    const httpServer = http.createServer(appHandler);
    io.attach(httpServer);
    teardown.add(() => io.close());
    installEcho(io, "attach");
    const url = `http://127.0.0.1:${await listen(httpServer)}`;
    await exerciseClient(url, TRANSPORT_MODES[2], "attach", teardown);
    await checkAppRoutes(url);
  });
});

describe("new Server(port)", () => {
  it("creates and listens on its own http server, answering 404 outside its path", async () => {
    const io = new Server(0);
    teardown.add(() => io.close());
    installEcho(io, "port");
    const httpServer = io.httpServer;
    if (!httpServer.listening) await new Promise((resolve) => httpServer.once("listening", resolve));
    const port = (httpServer.address() as AddressInfo).port;
    expect(port).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${port}`;
    for (const mode of TRANSPORT_MODES) await exerciseClient(url, mode, "port", teardown);
    const other = await request(`${url}/anything`);
    expect(other.status).toBe(404);
  });
});

describe("https", () => {
  it.each(TRANSPORT_MODES)("carries traffic over $mode with a TLS server", async (mode) => {
    const httpsServer = https.createServer(tls, appHandler);
    const io = new Server(httpsServer);
    teardown.add(() => io.close());
    installEcho(io, "https");
    const url = `https://127.0.0.1:${await listen(httpsServer)}`;
    await exerciseClient(url, mode, "https", teardown, { ca: tls.cert.toString("utf8") });
    await checkAppRoutes(url);
  });
});

describe("http2 secure server with allowHTTP1", () => {
  it.each(TRANSPORT_MODES)("carries HTTP/1.1 client traffic over $mode", async (mode) => {
    const h2 = http2.createSecureServer({ ...tls, allowHTTP1: true }, (req, res) => {
      res.writeHead(req.url === "/hello" ? 200 : 404, { "content-type": "text/plain" });
      res.end(req.url === "/hello" ? "hello from the app" : "app: not found");
    });
    const io = new Server(h2 as never);
    teardown.add(() => io.close());
    installEcho(io, "http2");
    const port = await new Promise<number>((resolve) =>
      h2.listen(0, "127.0.0.1", () => resolve((h2.address() as AddressInfo).port)),
    );
    const url = `https://127.0.0.1:${port}`;
    await exerciseClient(url, mode, "http2", teardown, { ca: tls.cert.toString("utf8") });
    await checkAppRoutes(url);
  });
});

describe("attaching to something that is not an HTTP server", () => {
  // socket.io accepts a net.Server silently and then never answers: clients
  // hang. tidewire refuses it up front.
  it.skipIf(againstReference)("throws a TypeError naming http.Server for a net.Server", () => {
    const tcp = net.createServer();
    teardown.add(() => new Promise<void>((resolve) => (tcp.listening ? tcp.close(() => resolve()) : resolve())));
    let thrown: unknown;
    try {
      new Server(tcp as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/http\.Server/);
  });

  it("refuses a request handler function with socket.io's message", () => {
    const attach = () => new Server(appHandler as never);
    expect(attach).toThrow(/Please pass a http\.Server instance/);
    if (!againstReference) expect(attach).toThrow(TypeError);
  });
});
