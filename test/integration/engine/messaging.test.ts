import { afterEach, describe, expect, it } from "vitest";
import { closeAll, collect, connectClient, MODES, startEngine, waitFor } from "../../helpers/engine.js";

afterEach(closeAll);

describe.each(MODES)("engine messaging with the official client (%s)", (mode) => {
  it("text and binary, both ways", async () => {
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode);
    const atServer = collect(conn, "message", 3);
    client.send("hello");
    client.send(new Uint8Array([1, 2, 3]));
    client.send("€ \u{1F600}");
    const got = await atServer;
    expect(got[0]).toBe("hello");
    expect(Buffer.isBuffer(got[1])).toBe(true);
    expect([...got[1]]).toEqual([1, 2, 3]);
    expect(got[2]).toBe("€ \u{1F600}");

    const atClient = collect(client, "message", 3);
    conn.send("world");
    conn.send(Buffer.from([4, 5, 6]));
    conn.send("x".repeat(70000));
    const back = await atClient;
    expect(back[0]).toBe("world");
    expect([...new Uint8Array(back[1])]).toEqual([4, 5, 6]);
    expect(back[2]).toBe("x".repeat(70000));
  });

  it("many messages keep their order", async () => {
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode);
    const n = 500;
    const atClient = collect<string>(client, "message", n);
    for (let i = 0; i < n; i++) conn.send(String(i));
    expect(await atClient).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    const atServer = collect<string>(conn, "message", n);
    for (let i = 0; i < n; i++) client.send(String(i));
    expect(await atServer).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });

  it("send callbacks run, in order", async () => {
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode);
    const order: number[] = [];
    const done = new Promise<void>((resolve) => {
      conn.send("a", () => order.push(1));
      conn.send("b", () => {
        order.push(2);
        resolve();
      });
    });
    await collect(client, "message", 2);
    await done;
    expect(order).toEqual([1, 2]);
  });

  it("server close: the client sees the session end; reason 'forced close'", async () => {
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode);
    const serverClosed = waitFor(conn, "close");
    const clientClosed = waitFor(client, "close");
    conn.close();
    expect((await serverClosed)[0]).toBe("forced close");
    await clientClosed;
    expect(h.engine.clientsCount).toBe(0);
  });

  it("client close: reason 'transport close'", async () => {
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode);
    const serverClosed = waitFor(conn, "close");
    client.close();
    expect((await serverClosed)[0]).toBe("transport close");
    expect(h.engine.clientsCount).toBe(0);
  });

  it("messages queued just before a server close are delivered first", async () => {
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode);
    const got = collect<string>(client, "message", 2);
    const clientClosed = waitFor(client, "close");
    conn.send("one");
    conn.send("two");
    conn.close();
    expect(await got).toEqual(["one", "two"]);
    await clientClosed;
  });
});
