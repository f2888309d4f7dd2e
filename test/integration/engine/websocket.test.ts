import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import {
  closeAll,
  rawWebSocket,
  RawWs,
  startEngine,
  tidewireOnly,
  waitFor,
  wsUrl,
  type EngineHandle,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

/** A direct WebSocket session: the raw client (open packet consumed) and the server side. */
async function wsSession(h: EngineHandle, query: Record<string, string> = {}): Promise<{ ws: RawWs; conn: EngineSocket }> {
  const connection = waitFor<[EngineSocket]>(h.engine, "connection");
  const ws = await rawWebSocket(h, query);
  const [conn] = await connection;
  expect(((await ws.next()) as string)[0]).toBe("0");
  return { ws, conn };
}

describe("engine WebSocket transport", () => {
  it("text frames carry <type><data>, binary frames the raw bytes, both ways", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    conn.send("hi");
    conn.send(Buffer.from([1, 2, 3]));
    expect(await ws.next()).toBe("4hi");
    expect(await ws.next()).toEqual(Buffer.from([1, 2, 3]));
    const got: unknown[] = [];
    const two = new Promise<void>((resolve) =>
      conn.on("message", (m: unknown) => {
        got.push(m);
        if (got.length === 2) resolve();
      }),
    );
    ws.send("4hello");
    ws.send(Buffer.from([9, 8]));
    await two;
    expect(got).toEqual(["hello", Buffer.from([9, 8])]);
  });

  it("payload lengths across the 7/16/64-bit frame length boundaries", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const sizes = [0, 1, 124, 125, 126, 127, 65534, 65535, 65536, 100000];
    for (const n of sizes) {
      conn.send("y".repeat(n));
      conn.send(Buffer.alloc(n, 7));
    }
    for (const n of sizes) {
      expect(await ws.next()).toBe("4" + "y".repeat(n));
      const bin = (await ws.next()) as Buffer;
      expect(bin.length).toBe(n);
      expect(bin.every((b) => b === 7)).toBe(true);
    }
  });

  it("with b64, binary is sent as b<base64> text", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h, { b64: "1" });
    conn.send(Buffer.from([1, 2, 3, 4]));
    expect(await ws.next()).toBe("bAQIDBA==");
  });

  it("server close: a close frame without status (1005), reason 'forced close'", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const closed = waitFor(conn, "close");
    conn.close();
    expect(await ws.closed).toBe(1005);
    expect((await closed)[0]).toBe("forced close");
  });

  it("client close: reason 'transport close'", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const closed = waitFor(conn, "close");
    ws.ws.close();
    expect((await closed)[0]).toBe("transport close");
  });

  it("a TCP reset ends the session without an exception", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const closed = waitFor(conn, "close");
    (ws.ws as any)._socket.resetAndDestroy();
    expect((await closed)[0]).toMatch(/^transport (close|error)$/);
  });

  it("a close packet received over WebSocket is ignored", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    ws.send("1");
    ws.send("4after");
    expect((await waitFor(conn, "message"))[0]).toBe("after");
    expect(conn.readyState).toBe("open");
  });

  it("an undecodable packet closes the session ('parse error')", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const closed = waitFor(conn, "close");
    ws.send("x");
    expect((await closed)[0]).toBe("parse error");
    await ws.closed;
  });

  it("a frame over maxHttpBufferSize closes the socket with 1009", async () => {
    const h = await startEngine({ maxHttpBufferSize: 1000 });
    const { ws, conn } = await wsSession(h);
    const closed = waitFor(conn, "close");
    ws.send("4" + "z".repeat(1000));
    expect(await ws.closed).toBe(1009);
    expect((await closed)[0]).toMatch(/^transport (close|error)$/);
  });

  it("permessage-deflate: messages arrive intact through ws's compression", async () => {
    const h = await startEngine({ perMessageDeflate: { threshold: 0 } });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const ws = new RawWs(wsUrl(h), { perMessageDeflate: true });
    await ws.opened;
    const [conn] = await connection;
    expect(ws.ws.extensions).toContain("permessage-deflate");
    expect(((await ws.next()) as string)[0]).toBe("0");
    conn.send("a".repeat(5000));
    conn.send(Buffer.alloc(3000, 1));
    conn.send("small", { compress: false });
    expect(await ws.next()).toBe("4" + "a".repeat(5000));
    expect(await ws.next()).toEqual(Buffer.alloc(3000, 1));
    expect(await ws.next()).toBe("4small");
  });

  it("a custom wsEngine class is used for the upgrade and the frames", async () => {
    let created = 0;
    class CustomServer extends WebSocketServer {
      constructor(options: ConstructorParameters<typeof WebSocketServer>[0]) {
        super(options);
        created++;
      }
    }
    const h = await startEngine({ wsEngine: CustomServer });
    const { ws, conn } = await wsSession(h);
    expect(created).toBeGreaterThanOrEqual(1);
    const sent = new Promise<void>((resolve) => {
      conn.send("text");
      conn.send(Buffer.from([1, 2]), () => resolve());
    });
    expect(await ws.next()).toBe("4text");
    expect(await ws.next()).toEqual(Buffer.from([1, 2]));
    await sent;
  });

  it.skipIf(tidewireOnly)("all frames of one turn leave in one socket write", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const raw = conn.request.socket;
    const writes: number[] = [];
    const original = raw.write;
    raw.write = function (this: typeof raw, chunk: any, ...rest: any[]) {
      writes.push(chunk.length);
      return (original as any).call(this, chunk, ...rest);
    } as typeof raw.write;
    for (let i = 0; i < 200; i++) conn.send("m" + i);
    conn.send(Buffer.alloc(10, 1));
    for (let i = 0; i < 200; i++) expect(await ws.next()).toBe("4m" + i);
    expect(await ws.next()).toEqual(Buffer.alloc(10, 1));
    expect(writes).toHaveLength(1);
  });

  it.skipIf(tidewireOnly)("a shared frame cache builds a broadcast's frame once for every recipient", async () => {
    const h = await startEngine();
    const a = await wsSession(h);
    const b = await wsSession(h);
    const cache: { ws?: Buffer; polling?: string } = {};
    a.conn.send("shared", { cache });
    b.conn.send("shared", { cache });
    expect(await a.ws.next()).toBe("4shared");
    expect(await b.ws.next()).toBe("4shared");
    expect(cache.ws).toEqual(Buffer.from([0x81, 7, ...Buffer.from("4shared")]));
    // a filled cache is used as is
    const fake = { ws: Buffer.from([0x81, 3, ...Buffer.from("4ok")]) };
    a.conn.send("ignored", { cache: fake });
    expect(await a.ws.next()).toBe("4ok");
  });

  it("wsPreEncodedFrame (built with ws's Sender.frame) is written as is", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const { Sender } = (await import("ws")) as any;
    const frame = Sender.frame(Buffer.from("4pre"), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true });
    conn.send("4other", { wsPreEncodedFrame: frame } as any);
    expect(await ws.next()).toBe("4pre");
  });

  it("the send callback runs once the frame was written", async () => {
    const h = await startEngine();
    const { ws, conn } = await wsSession(h);
    const done = new Promise<void>((resolve) => conn.send("cb", () => resolve()));
    await done;
    expect(await ws.next()).toBe("4cb");
  });

  it("an upgrade request with transport=polling gets a 101 then an immediate close", async () => {
    const h = await startEngine();
    const ws = new RawWs(wsUrl(h, { transport: "polling" }));
    await ws.opened;
    expect(await ws.closed).toBe(1005);
    expect(h.engine.clientsCount).toBe(0);
  });

  it("an upgrade request for another path is ended after destroyUpgradeTimeout", async () => {
    const h = await startEngine({ destroyUpgradeTimeout: 50 } as any);
    const other = new WebSocket(`ws://127.0.0.1:${h.port}/elsewhere`);
    const err = await new Promise<string>((resolve) => {
      other.on("error", (e) => resolve(e.message));
    });
    expect(err).toMatch(/socket hang up|ECONNRESET|closed/i);
  });
});
