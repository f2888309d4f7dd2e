import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import {
  againstReference,
  closeAll,
  closeHttpServer,
  EngineServer,
  listenLocal,
  onCleanup,
  pollingHandshake,
  RawWs,
  request,
  startEngine,
  tidewireOnly,
  waitFor,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

describe("engine attach()", () => {
  it("the application's own request listeners still get every other URL, in order", async () => {
    const calls: string[] = [];
    const server = http.createServer((req, res) => {
      calls.push("first " + req.url);
    });
    server.on("request", (req, res) => {
      calls.push("second " + req.url);
      res.writeHead(404);
      res.end("app");
    });
    const h = await startEngine({}, server);
    const app = await request(h, { path: "/elsewhere?x=1" });
    expect(app.status).toBe(404);
    expect(app.text).toBe("app");
    expect(calls).toEqual(["first /elsewhere?x=1", "second /elsewhere?x=1"]);
    expect((await pollingHandshake(h)).sid).toBeTruthy();
    expect(calls).toHaveLength(2);
  });

  it("the path is a prefix test on the raw URL, with the trailing slash", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(404);
      res.end("app");
    });
    const h = await startEngine({ path: "/custom" }, server);
    expect((await request(h, { path: "/custom/?EIO=4&transport=polling" })).text[0]).toBe("0");
    expect((await request(h, { path: "/custom/anything?EIO=4&transport=polling" })).text[0]).toBe("0");
    expect((await request(h, { path: "/custom?EIO=4&transport=polling" })).text).toBe("app");
    expect((await request(h, { path: "/customer/?EIO=4&transport=polling" })).text).toBe("app");
  });

  it("addTrailingSlash: false also matches the bare path", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(404);
      res.end("app");
    });
    const h = await startEngine({ path: "/bare", addTrailingSlash: false }, server);
    expect((await request(h, { path: "/bare?EIO=4&transport=polling" })).text[0]).toBe("0");
    expect((await request(h, { path: "/bare/x/?EIO=4&transport=polling" })).text[0]).toBe("0");
  });

  it("Express routes keep working next to the engine", async () => {
    const app = express();
    app.get("/hello", (_req, res) => {
      res.send("world");
    });
    const h = await startEngine({}, http.createServer(app));
    expect((await request(h, { path: "/hello" })).text).toBe("world");
    expect((await request(h, { path: "/missing" })).status).toBe(404);
    expect((await pollingHandshake(h)).sid).toBeTruthy();
  });

  it.skipIf(tidewireOnly)("attaching to something that is not an http server throws a TypeError naming what is expected", () => {
    const engine = new EngineServer();
    const app = express();
    expect(() => engine.attach(app as any)).toThrow(TypeError);
    expect(() => engine.attach(app as any)).toThrow(/http\.Server, https\.Server or http2 server, got a function/);
    const tcp = net.createServer();
    expect(() => engine.attach(tcp as any)).toThrow(/got an instance of Server/);
    expect(() => engine.attach({} as any)).toThrow(TypeError);
    expect(() => engine.attach(null as any)).toThrow(TypeError);
  });

  it("closing the http server closes the engine's sessions", async () => {
    const h = await startEngine();
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    await pollingHandshake(h);
    const [conn] = await connection;
    const closed = waitFor(conn, "close");
    h.httpServer.close();
    h.httpServer.closeAllConnections();
    expect((await closed)[0]).toBe("forced close");
    expect(h.engine.clientsCount).toBe(0);
  });

  it("other upgrade requests are ended after destroyUpgradeTimeout, unless destroyUpgrade is false", async () => {
    const server = http.createServer();
    const h = await startEngine({ destroyUpgradeTimeout: 50 } as any, server);
    const dropped = new RawWs(`ws://127.0.0.1:${h.port}/other`);
    await expect(dropped.opened).rejects.toThrow();

    const server2 = http.createServer();
    const other = new WebSocketServer({ noServer: true });
    onCleanup(() => other.close());
    // the application answers its own upgrades, later than the timeout
    server2.on("upgrade", (req, socket, head) => {
      if (!req.url?.startsWith("/other")) return;
      setTimeout(() => other.handleUpgrade(req, socket, head, (ws) => ws.send("app ws")), 120);
    });
    const h2 = await startEngine({ destroyUpgradeTimeout: 50, destroyUpgrade: false } as any, server2);
    const kept = new RawWs(`ws://127.0.0.1:${h2.port}/other`);
    await kept.opened;
    expect(await kept.next()).toBe("app ws");
  });

  it("without the websocket transport no upgrade listener is added", async () => {
    const server = http.createServer();
    await startEngine({ transports: ["polling"] }, server);
    expect(server.listenerCount("upgrade")).toBe(0);
  });

  it("works on an http2 server through the compatibility API", async () => {
    const server = http2.createServer();
    const engine = new EngineServer();
    engine.attach(server as any);
    const port = await listenLocal(server as unknown as http.Server);
    onCleanup(async () => {
      engine.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const client = http2.connect(`http://127.0.0.1:${port}`);
    onCleanup(() => {
      client.destroy();
    });
    client.on("error", () => {});
    const text = await new Promise<string>((resolve, reject) => {
      const req = client.request({ ":path": "/engine.io/?EIO=4&transport=polling" });
      let data = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => (data += c));
      req.on("end", () => resolve(data));
      req.on("error", reject);
    });
    expect(text[0]).toBe("0");
    expect(engine.clientsCount).toBe(1);
  });
});

describe("engine listen()", () => {
  it("creates an http server that answers 501 outside the engine path", async () => {
    const mod: any = againstReference ? await import("engine.io") : await import("../../../src/engine/index.js");
    const listen = mod.listen ?? mod.default.listen;
    const engine = await new Promise<any>((resolve) => {
      const e = listen(0, { pingInterval: 1000 }, () => resolve(e));
    });
    const server = engine.httpServer as http.Server;
    onCleanup(async () => {
      engine.close();
      await closeHttpServer(server);
    });
    const port = (server.address() as net.AddressInfo).port;
    const h = { engine, httpServer: server, port, url: `http://127.0.0.1:${port}`, path: "/engine.io/" };
    const other = await request(h, { path: "/" });
    expect(other.status).toBe(501);
    expect((await pollingHandshake(h)).open.pingInterval).toBe(1000);
  });
});
