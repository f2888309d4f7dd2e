/**
 * Fastify 5: the server is attached to `fastify.server` (what the
 * fastify-socket.io plugin does), after `ready()` and before `listen()`, or
 * once Fastify is already listening. Fastify's routes, schema validation and
 * its JSON 404 keep answering beside /socket.io/.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Server } from "../helpers/impl.js";
import { Teardown, TRANSPORT_MODES, exerciseClient, installEcho, request } from "./harness.js";

const teardown = new Teardown();
afterEach(() => teardown.run());

function buildApp(): FastifyInstance {
  const fastify = Fastify({ logger: false });
  fastify.get("/api/status", async () => ({ framework: "fastify", ok: true }));
  fastify.post(
    "/api/echo",
    { schema: { body: { type: "object", required: ["n"], properties: { n: { type: "integer" } } } } },
    async (req, reply) => {
      reply.code(201);
      return { received: req.body };
    },
  );
  return fastify;
}

async function attachThenListen() {
  const fastify = buildApp();
  teardown.add(() => fastify.close());
  await fastify.ready();
  const io = new Server(fastify.server);
  teardown.add(() => io.close());
  installEcho(io, "fastify");
  await fastify.listen({ port: 0, host: "127.0.0.1" });
  return { io, url: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}` };
}

async function listenThenAttach() {
  const fastify = buildApp();
  teardown.add(() => fastify.close());
  await fastify.listen({ port: 0, host: "127.0.0.1" });
  const io = new Server(fastify.server);
  teardown.add(() => io.close());
  installEcho(io, "fastify");
  return { io, url: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}` };
}

describe.each([
  { style: "after ready(), before listen()", start: attachThenListen },
  { style: "after listen()", start: listenThenAttach },
])("Fastify with fastify.server attached $style", ({ start }) => {
  it.each(TRANSPORT_MODES)("carries socket.io-client traffic over $mode", async (mode) => {
    const { url } = await start();
    await exerciseClient(url, mode, "fastify", teardown);
  });

  it("keeps Fastify routes, validation and its 404 working beside /socket.io/", async () => {
    const { url } = await start();

    const status = await request(`${url}/api/status`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toEqual({ framework: "fastify", ok: true });

    const echo = await request(`${url}/api/echo`, {
      method: "POST",
      body: JSON.stringify({ n: 7 }),
      headers: { "content-type": "application/json" },
    });
    expect(echo.status).toBe(201);
    expect(JSON.parse(echo.body)).toEqual({ received: { n: 7 } });

    const invalid = await request(`${url}/api/echo`, {
      method: "POST",
      body: JSON.stringify({ n: "seven" }),
      headers: { "content-type": "application/json" },
    });
    expect(invalid.status).toBe(400);

    const missing = await request(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ statusCode: 404, message: "Route GET:/nowhere not found" });

    const bundle = await request(`${url}/socket.io/socket.io.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.body).toContain("engine.io");

    const handshake = await request(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(handshake.body.startsWith('0{"sid":"')).toBe(true);
  });

  it("serves Fastify routes while clients are connected", async () => {
    const { url, io } = await start();
    const clients = TRANSPORT_MODES.map((mode) => exerciseClient(url, mode, "fastify", teardown));
    const calls = Array.from({ length: 10 }, () => request(`${url}/api/status`));
    await Promise.all(clients);
    expect((await Promise.all(calls)).every((r) => r.status === 200)).toBe(true);
    expect(io.engine.clientsCount).toBe(3);
  });
});
