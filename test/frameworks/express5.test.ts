/**
 * Express 5: `http.createServer(app)` then `new Server(server)`, the way the
 * Express guide shows it. Express's own routes (JSON API, body parsing, a
 * catch-all and its 404s) must keep answering beside /socket.io/.
 */
import http from "node:http";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { Server } from "../helpers/impl.js";
import {
  Teardown,
  TRANSPORT_MODES,
  againstReference,
  exerciseClient,
  installEcho,
  listen,
  request,
} from "./harness.js";

const teardown = new Teardown();
afterEach(() => teardown.run());

function buildApp(): express.Express {
  const app = express();
  app.use(express.json());
  app.get("/api/status", (_req, res) => {
    res.json({ framework: "express5", ok: true });
  });
  app.post("/api/echo", (req, res) => {
    res.status(201).json({ received: req.body });
  });
  // SPA-style catch-all for every other GET: must not swallow /socket.io/.
  app.get("/{*splat}", (req, res) => {
    res.type("html").send(`<!doctype html><title>spa</title><p>route ${req.path}</p>`);
  });
  return app;
}

async function start() {
  const app = buildApp();
  const httpServer = http.createServer(app);
  const io = new Server(httpServer);
  teardown.add(() => io.close());
  installEcho(io, "express5");
  const port = await listen(httpServer);
  return { io, httpServer, url: `http://127.0.0.1:${port}` };
}

describe("Express 5 with http.createServer(app)", () => {
  it.each(TRANSPORT_MODES)("carries socket.io-client traffic over $mode", async (mode) => {
    const { url } = await start();
    await exerciseClient(url, mode, "express5", teardown);
  });

  it("keeps Express routes, body parsing, the catch-all and 404s working beside /socket.io/", async () => {
    const { url } = await start();

    const status = await request(`${url}/api/status`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toEqual({ framework: "express5", ok: true });

    const echo = await request(`${url}/api/echo`, {
      method: "POST",
      body: JSON.stringify({ a: 1 }),
      headers: { "content-type": "application/json" },
    });
    expect(echo.status).toBe(201);
    expect(JSON.parse(echo.body)).toEqual({ received: { a: 1 } });

    const spa = await request(`${url}/some/deep/link?x=1`);
    expect(spa.status).toBe(200);
    expect(spa.body).toContain("route /some/deep/link");

    // `/socket.io` without the trailing slash is not the endpoint: the app owns it.
    const bare = await request(`${url}/socket.io`);
    expect(bare.body).toContain("route /socket.io");

    // No route for POST here: Express's own 404.
    const missing = await request(`${url}/nowhere`, { method: "POST" });
    expect(missing.status).toBe(404);
    expect(missing.body).toContain("Cannot POST /nowhere");
  });

  it("answers the endpoint itself before the catch-all: handshake and client bundle", async () => {
    const { url } = await start();

    const handshake = await request(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(handshake.body.startsWith("0{")).toBe(true);
    expect(JSON.parse(handshake.body.slice(1))).toMatchObject({ upgrades: ["websocket"], maxPayload: 1e6 });

    const bundle = await request(`${url}/socket.io/socket.io.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers["content-type"]).toMatch(/javascript/);
    expect(bundle.body).toContain("engine.io");

    const unknownTransport = await request(`${url}/socket.io/?EIO=4&transport=carrier-pigeon`);
    expect(unknownTransport.status).toBe(400);
    expect(JSON.parse(unknownTransport.body)).toEqual({ code: 0, message: "Transport unknown" });
  });

  it("serves HTTP requests while clients are connected over every transport", async () => {
    const { url, io } = await start();
    const clients = TRANSPORT_MODES.map((mode) => exerciseClient(url, mode, "express5", teardown));
    const pages = Array.from({ length: 10 }, (_, i) => request(`${url}/page/${i}`));
    await Promise.all(clients);
    const answered = await Promise.all(pages);
    expect(answered.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(io.engine.clientsCount).toBe(3);
  });

  it("refuses the Express app function itself with a message naming http.Server", () => {
    const app = buildApp();
    let thrown: unknown;
    try {
      new Server(app as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toBe(
      "You are trying to attach socket.io to an express request handler function. Please pass a http.Server instance.",
    );
    // socket.io throws a plain Error here; tidewire makes it a TypeError.
    if (!againstReference) expect(thrown).toBeInstanceOf(TypeError);
  });
});
