/**
 * Hapi 21: the server is attached to `hapiServer.listener` before
 * `hapiServer.start()`, with `new Server(listener)` and with the CommonJS
 * `require("tidewire")(listener)` form. Hapi's routes, payload parsing and
 * its JSON 404 keep answering beside /socket.io/.
 */
import Hapi from "@hapi/hapi";
import { afterEach, describe, expect, it } from "vitest";
import { Server, type ServerOptions } from "../helpers/impl.js";
import {
  Teardown,
  TRANSPORT_MODES,
  exerciseClient,
  installEcho,
  request,
  requireCallable,
} from "./harness.js";

const teardown = new Teardown();
afterEach(() => teardown.run());

type Attach = (listener: unknown, opts?: Partial<ServerOptions>) => InstanceType<typeof Server>;

const attachStyles: Array<{ style: string; attach: () => Attach }> = [
  { style: "new Server(hapi.listener)", attach: () => (listener, opts) => new Server(listener as never, opts) },
  { style: 'require("tidewire")(hapi.listener)', attach: () => requireCallable() as Attach },
];

async function start(attach: Attach) {
  const hapi = Hapi.server({ port: 0, host: "127.0.0.1" });
  hapi.route([
    { method: "GET", path: "/api/status", handler: () => ({ framework: "hapi", ok: true }) },
    {
      method: "POST",
      path: "/api/echo",
      handler: (req, h) => h.response({ received: req.payload }).code(201),
    },
    { method: "GET", path: "/files/{path*}", handler: (req) => `file ${String(req.params.path)}` },
  ]);
  const io = attach(hapi.listener);
  teardown.add(async () => {
    await io.close();
    await hapi.stop({ timeout: 1000 });
  });
  installEcho(io, "hapi");
  await hapi.start();
  return { io, hapi, url: `http://127.0.0.1:${hapi.info.port}` };
}

describe.each(attachStyles)("Hapi with $style before start()", ({ attach }) => {
  it.each(TRANSPORT_MODES)("carries socket.io-client traffic over $mode", async (mode) => {
    const { url } = await start(attach());
    await exerciseClient(url, mode, "hapi", teardown);
  });

  it("keeps Hapi routes, payloads and the JSON 404 working beside /socket.io/", async () => {
    const { url } = await start(attach());

    const status = await request(`${url}/api/status`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toEqual({ framework: "hapi", ok: true });

    const echo = await request(`${url}/api/echo`, {
      method: "POST",
      body: JSON.stringify({ hello: "hapi" }),
      headers: { "content-type": "application/json" },
    });
    expect(echo.status).toBe(201);
    expect(JSON.parse(echo.body)).toEqual({ received: { hello: "hapi" } });

    const wildcard = await request(`${url}/files/a/b.txt`);
    expect(wildcard.body).toBe("file a/b.txt");

    const missing = await request(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ statusCode: 404, error: "Not Found" });

    const bundle = await request(`${url}/socket.io/socket.io.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.body).toContain("engine.io");

    const handshake = await request(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(handshake.body.startsWith('0{"sid":"')).toBe(true);
  });

  it("serves Hapi routes while clients are connected", async () => {
    const { url, io } = await start(attach());
    const clients = TRANSPORT_MODES.map((mode) => exerciseClient(url, mode, "hapi", teardown));
    const calls = Array.from({ length: 10 }, () => request(`${url}/api/status`));
    await Promise.all(clients);
    expect((await Promise.all(calls)).every((r) => r.status === 200)).toBe(true);
    expect(io.engine.clientsCount).toBe(3);
  });
});
