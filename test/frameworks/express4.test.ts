/**
 * Express 4 (the `express4` alias of express@4): both attachment styles seen
 * in the wild, `http.createServer(app)` and the server returned by
 * `app.listen()`, with Express's routes, a `*` catch-all and its 404s
 * answering beside /socket.io/.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express4";
import { afterEach, describe, expect, it } from "vitest";
import { Server } from "../helpers/impl.js";
import {
  Teardown,
  TRANSPORT_MODES,
  againstReference,
  closeHttpServer,
  exerciseClient,
  installEcho,
  listen,
  request,
} from "./harness.js";

const teardown = new Teardown();
afterEach(() => teardown.run());

function buildApp() {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.get("/api/status", (_req, res) => {
    res.json({ framework: "express4", ok: true });
  });
  app.post("/form", (req, res) => {
    res.send(`hello ${String(req.body.name)}`);
  });
  // Express 4 catch-all syntax.
  app.get("*", (req, res) => {
    res.status(200).send(`catch-all ${req.path}`);
  });
  return app;
}

async function startWithCreateServer() {
  const httpServer = http.createServer(buildApp());
  const io = new Server(httpServer);
  teardown.add(() => io.close());
  installEcho(io, "express4");
  const port = await listen(httpServer);
  return { io, url: `http://127.0.0.1:${port}` };
}

async function startWithAppListen() {
  const app = buildApp();
  const httpServer = await new Promise<http.Server>((resolve, reject) => {
    const server = app.listen(0, "127.0.0.1", () => resolve(server));
    server.once("error", reject);
  });
  teardown.add(() => closeHttpServer(httpServer));
  // Attached after the server is already listening, as many apps do.
  const io = new Server(httpServer);
  teardown.add(() => io.close());
  installEcho(io, "express4");
  return { io, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}` };
}

describe.each([
  { style: "http.createServer(app)", start: startWithCreateServer },
  { style: "the server from app.listen()", start: startWithAppListen },
])("Express 4 attached to $style", ({ start }) => {
  it.each(TRANSPORT_MODES)("carries socket.io-client traffic over $mode", async (mode) => {
    const { url } = await start();
    await exerciseClient(url, mode, "express4", teardown);
  });

  it("keeps Express routes, the catch-all and 404s working beside /socket.io/", async () => {
    const { url } = await start();

    const status = await request(`${url}/api/status`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toEqual({ framework: "express4", ok: true });

    const form = await request(`${url}/form`, {
      method: "POST",
      body: "name=ada",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(200);
    expect(form.body).toBe("hello ada");

    const deep = await request(`${url}/a/b/c`);
    expect(deep.status).toBe(200);
    expect(deep.body).toBe("catch-all /a/b/c");

    const missing = await request(`${url}/nowhere`, { method: "DELETE" });
    expect(missing.status).toBe(404);
    expect(missing.body).toContain("Cannot DELETE /nowhere");

    const bundle = await request(`${url}/socket.io/socket.io.min.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.body).toContain("engine.io");

    const handshake = await request(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(handshake.body.startsWith('0{"sid":"')).toBe(true);
  });
});

describe("Express 4 misuse", () => {
  it("refuses the app function with socket.io's message naming http.Server", () => {
    const app = buildApp();
    const attach = () => new Server(app as never);
    expect(attach).toThrow(
      "You are trying to attach socket.io to an express request handler function. Please pass a http.Server instance.",
    );
    if (!againstReference) expect(attach).toThrow(TypeError);
  });
});
