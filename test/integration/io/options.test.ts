/**
 * Option validation: obviously wrong values fail at construction with a
 * TidewireError (code ERR_TIDEWIRE_INVALID_OPTION) naming the option and
 * saying what to pass, instead of failing later (every client refused with
 * "Transport unknown", `Factory is not a function`, a reflected origin...).
 * Values socket.io accepts and uses keep working, with real clients.
 */
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { createAdapter as createRedisAdapter } from "@socket.io/redis-adapter";
import { closeAll, connectClient, connectPair, createIoServer, onClose, rawRequest, waitFor } from "../../helpers/io.js";
import { Adapter, againstReference, Server } from "../../helpers/impl.js";

afterEach(closeAll);

const require = createRequire(import.meta.url);

/** The error `new Server(opts)` throws (fails the test when it does not throw). */
function constructionError(opts: Record<string, unknown>, attach = false): any {
  try {
    const io = attach ? new Server(createServer(), opts as any) : new Server(opts as any);
    io.close();
  } catch (err) {
    return err;
  }
  throw new Error(`new Server(${JSON.stringify(opts)}) did not throw`);
}

describe.skipIf(againstReference)("invalid options are refused at construction, naming the option", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["a misspelt transport", { transports: ["websockets"] }, /^Invalid option "transports": expected an array of "polling" and\/or "websocket".*got \["websockets"\]\. "websockets" is not a transport name\. Did you mean "websocket"\?$/],
    ["an old transport name", { transports: ["polling", "xhr-polling"] }, /"xhr-polling" is not a transport name\. Did you mean "polling"\?/],
    ["a transport that is not a string", { transports: [1] }, /^Invalid option "transports".*got \[1\]\.$/],
    ["transports as a string", { transports: "websocket" }, /^Invalid option "transports".*got "websocket"/],
    ["no transport at all", { transports: [] }, /^Invalid option "transports".*An empty list refuses every client\.$/],
    ["only webtransport", { transports: ["webtransport"] }, /tidewire has no WebTransport: add "websocket" and\/or "polling"/],
    ["a numeric cors origin", { cors: { origin: 42 } }, /^Invalid option "cors\.origin": expected true, false, "\*", an origin such as "https:\/\/example\.com", a RegExp, an array of those, or a function \(origin, callback\), got 42\.$/],
    ["a cors origin array holding a number", { cors: { origin: ["https://a.example", 7] } }, /^Invalid option "cors\.origin"/],
    ["cors as an origin string", { cors: "https://a.example" }, /^Invalid option "cors": expected true, cors options such as \{ origin: "https:\/\/example\.com" \}/],
    ["cors credentials as a string", { cors: { credentials: "true" } }, /^Invalid option "cors\.credentials": expected true or false/],
    ["cors methods as a number", { cors: { methods: 5 } }, /^Invalid option "cors\.methods"/],
    ["cors headers as an object", { cors: { headers: { "x-a": true } } }, /^Invalid option "cors\.headers"/],
    ["a preflight status that is not a status", { cors: { optionsSuccessStatus: "204" } }, /^Invalid option "cors\.optionsSuccessStatus": expected an HTTP status code/],
    ["an adapter object", { adapter: {} }, /^Invalid option "adapter": expected an adapter class or a factory \(nsp\) => adapter, got \{\}\. Pass what createAdapter\(\.\.\.\) returns/],
    ["a factory returning no adapter", { adapter: () => ({}) }, /^Invalid option "adapter": expected a class or factory creating an adapter.*got \{\}\.$/],
    ["createAdapter itself", { adapter: createRedisAdapter }, /The factory returned a function: pass createAdapter\(pubClient, subClient\), not createAdapter itself\./],
    ["a non-function allowRequest", { allowRequest: true }, /^Invalid option "allowRequest": expected a function \(req, callback\)/],
    ["a negative pingInterval", { pingInterval: -1 }, /^Invalid option "pingInterval": expected a positive finite number, got -1\.$/],
    ["a zero pingTimeout", { pingTimeout: 0 }, /^Invalid option "pingTimeout"/],
    ["a wsEngine that is not a class", { wsEngine: "ws" }, /^Invalid option "wsEngine": expected a ws-compatible Server class/],
    ["a connectTimeout that is not a number", { connectTimeout: "45s" }, /^Invalid option "connectTimeout"/],
  ])("%s", (_what, opts, message) => {
    const err = constructionError(opts);
    expect(err.name).toBe("TidewireError");
    expect(err.code).toBe("ERR_TIDEWIRE_INVALID_OPTION");
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/Factory is not a function/);
  });

  it('a path not starting with "/", given to the constructor, to attach() or to path()', () => {
    expect(constructionError({ path: "socket.io" }).message).toMatch(/^Invalid option "path": expected a URL path starting with "\/", such as "\/socket\.io", got "socket\.io"\.$/);
    const io = new Server();
    onClose(() => void io.close());
    expect(() => io.path("rt")).toThrow(/Invalid option "path"/);
    expect(() => io.attach(createServer(), { path: "rt" })).toThrow(/Invalid option "path"/);
  });

  it("adapter() refuses the same values as the option", () => {
    const io = new Server();
    onClose(() => void io.close());
    expect(() => io.adapter({} as any)).toThrow(/Invalid option "adapter".*got \{\}/);
    expect(() => io.adapter((() => 42) as any)).toThrow(/Invalid option "adapter".*got 42/);
  });
});

describe("values socket.io accepts keep working", { timeout: 10000 }, () => {
  it('transports ["websocket"] only, and a list naming webtransport (which tidewire ignores)', async () => {
    const ws = await createIoServer({ transports: ["websocket"] });
    const client = await connectClient(ws, "websocket");
    expect(client.io.engine.transport.name).toBe("websocket");
    const withWebTransport = await createIoServer({ transports: ["polling", "websocket", "webtransport"] as any });
    const upgraded = await connectClient(withWebTransport, "upgrade");
    expect(upgraded.io.engine.transport.name).toBe("websocket");
  });

  it("a factory function, a class and null for adapter (and an arrow factory in tidewire)", async () => {
    const adapters: unknown[] = [
      function factory(nsp: any) {
        return new Adapter(nsp);
      },
      Adapter,
      null,
    ];
    if (!againstReference) adapters.push((nsp: any) => new Adapter(nsp));
    for (const adapter of adapters) {
      const handle = await createIoServer({ adapter } as any);
      const { socket } = await connectPair(handle, "websocket");
      expect(handle.io.of("/").adapter).toBeInstanceOf(Adapter);
      expect([...socket.rooms]).toEqual([socket.id]);
    }
  });

  it('cors: "*" is the cors package defaults, as engine.io passes it on', async () => {
    const { url } = await createIoServer({ cors: "*" } as any);
    const res = await rawRequest(url, {
      path: "/socket.io/?EIO=4&transport=polling",
      method: "OPTIONS",
      headers: { origin: "https://a.example", "access-control-request-method": "GET" },
    });
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("*");
  });

  it("allowEIO3 and allowUpgrades are read as engine.io reads them (truthy / falsy)", async () => {
    const ioV2 = require("socket.io-client-v2");
    const handle = await createIoServer({ allowEIO3: 1, allowUpgrades: 0 } as any);
    const v2 = ioV2(handle.url, { transports: ["polling"], forceNew: true, reconnection: false });
    onClose(() => v2.close());
    await waitFor(v2, "connect", 4000);
    const res = await rawRequest(`${handle.url}/socket.io/?EIO=4&transport=polling`);
    expect(JSON.parse(res.body.toString().slice(1)).upgrades).toEqual([]);
  });
});
