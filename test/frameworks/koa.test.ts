/**
 * Koa: attached to `http.createServer(app.callback())` and to the server
 * returned by `app.listen()`. Koa middleware routes and Koa's default 404
 * keep answering beside /socket.io/.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { Server } from "../helpers/impl.js";
import {
  Teardown,
  TRANSPORT_MODES,
  closeHttpServer,
  exerciseClient,
  installEcho,
  listen,
  request,
} from "./harness.js";

const teardown = new Teardown();
afterEach(() => teardown.run());

function buildApp(): Koa {
  const app = new Koa();
  // A header set after next() proves the request went through Koa's middleware stack.
  app.use(async (ctx, next) => {
    await next();
    ctx.set("x-handled-by", "koa");
  });
  app.use(async (ctx, next) => {
    if (ctx.method === "GET" && ctx.path === "/api/status") {
      ctx.body = { framework: "koa", ok: true };
      return;
    }
    if (ctx.method === "POST" && ctx.path === "/api/echo") {
      let raw = "";
      for await (const chunk of ctx.req) raw += chunk;
      ctx.status = 201;
      ctx.body = { received: raw };
      return;
    }
    await next();
  });
  return app;
}

async function startWithCallback() {
  const httpServer = http.createServer(buildApp().callback());
  const io = new Server(httpServer);
  teardown.add(() => io.close());
  installEcho(io, "koa");
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
  const io = new Server(httpServer);
  teardown.add(() => io.close());
  installEcho(io, "koa");
  return { io, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}` };
}

describe.each([
  { style: "http.createServer(app.callback())", start: startWithCallback },
  { style: "the server from app.listen()", start: startWithAppListen },
])("Koa attached to $style", ({ start }) => {
  it.each(TRANSPORT_MODES)("carries socket.io-client traffic over $mode", async (mode) => {
    const { url } = await start();
    await exerciseClient(url, mode, "koa", teardown);
  });

  it("keeps Koa routes and its 404 working beside /socket.io/", async () => {
    const { url } = await start();

    const status = await request(`${url}/api/status`);
    expect(status.status).toBe(200);
    expect(status.headers["x-handled-by"]).toBe("koa");
    expect(JSON.parse(status.body)).toEqual({ framework: "koa", ok: true });

    const echo = await request(`${url}/api/echo`, { method: "POST", body: "ping" });
    expect(echo.status).toBe(201);
    expect(JSON.parse(echo.body)).toEqual({ received: "ping" });

    const missing = await request(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.body).toBe("Not Found");
    expect(missing.headers["x-handled-by"]).toBe("koa");

    // Engine.IO answers its own path; Koa never sees it.
    const handshake = await request(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(handshake.headers["x-handled-by"]).toBeUndefined();
    expect(handshake.body.startsWith('0{"sid":"')).toBe(true);

    const bundle = await request(`${url}/socket.io/socket.io.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.body).toContain("engine.io");
  });

  it("serves Koa routes while clients are connected", async () => {
    const { url, io } = await start();
    const clients = TRANSPORT_MODES.map((mode) => exerciseClient(url, mode, "koa", teardown));
    const calls = Array.from({ length: 10 }, () => request(`${url}/api/status`));
    await Promise.all(clients);
    expect((await Promise.all(calls)).every((r) => r.status === 200)).toBe(true);
    expect(io.engine.clientsCount).toBe(3);
  });
});
