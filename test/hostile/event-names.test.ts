/**
 * Class 4: non-string or object event names (CVE-2023-32695) and "error" as
 * an event name (CVE-2024-38355). Reference outcome: an EVENT whose name is
 * not a string or a number, or is reserved, is a protocol violation that
 * closes the connection (the socket gets an "error", then "forced close");
 * a number is a valid name; "error" is delivered like any event to the
 * application's "error" listeners and, without one, ignored: never an
 * unhandled 'error' crash.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Canary, closeAll, echoServer, expectNoLeak, RawWebSocket, withTimeout } from "./helpers.js";

afterEach(closeAll);

const INVALID: Array<[string, string[], Buffer?]> = [
  ["an object", ['42[{"a":1},"x"]']],
  ["an object with its own toString", ['42[{"toString":"x","valueOf":1},"y"]']],
  ["an array", ['42[["x"],"y"]']],
  ["null", ['42[null,"x"]']],
  ["true", ["42[true]"]],
  ["no name at all", ["42[]"]],
  ["an object payload", ['42{"0":"x"}']],
  ["a binary placeholder", ['451-[{"_placeholder":true,"num":0},"x"]'], Buffer.from([1])],
  ['"disconnect"', ['42["disconnect","x"]']],
  ['"connect"', ['42["connect"]']],
  ['"connect_error"', ['42["connect_error",{}]']],
  ['"disconnecting"', ['42["disconnecting"]']],
  ['"newListener"', ['42["newListener","x"]']],
  ['"removeListener"', ['42["removeListener","x"]']],
];

describe("hostile: event names", () => {
  it.each(INVALID)("an event named by %s closes the connection with an error, nothing else", async (_label, texts, binary) => {
    const handle = await echoServer();
    const log: string[] = [];
    handle.io.of("/victim").on("connection", (socket) => {
      socket.on("error", (err: unknown) => log.push(`error: ${err instanceof Error ? "Error" : typeof err}`));
      socket.on("disconnect", (reason: string) => log.push(`disconnect: ${reason}`));
      socket.onAny((event: unknown) => log.push(`event: ${String(event)}`));
    });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const ws = await RawWebSocket.socketIo(handle.port, "/victim");
      for (const text of texts) ws.sendText(text.replace(/^(4\d(?:\d+-)?)/, "$1/victim,"));
      if (binary) ws.sendBinary(binary);
      await withTimeout(ws.closed, 5000, "the server closing the connection");
    });
    expect(log).toEqual(["error: Error", "disconnect: forced close"]);
  });

  it("a number is a valid event name, delivered as a number", async () => {
    const handle = await echoServer();
    const got: unknown[] = [];
    handle.io.on("connection", (socket) => {
      socket.onAny((event: unknown, ...args: unknown[]) => {
        if (event !== "echo") got.push([event, ...args]);
      });
      socket.on("5" as string, (v: unknown) => got.push(["listener 5", v]));
    });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const ws = await RawWebSocket.socketIo(handle.port);
      ws.sendText('42[5,"five"]');
      ws.sendText('42[-1.5,"neg"]');
      ws.sendText('421["echo","after"]');
      expect(await ws.nextMessage()).toBe('431["after"]');
    });
    expect(got).toEqual([[5, "five"], ["listener 5", "five"], [-1.5, "neg"]]);
  });

  it('"error" from the client reaches the application\'s error listeners, or nothing: never a crash', async () => {
    const handle = await echoServer();
    const withListener: unknown[][] = [];
    handle.io.of("/listening").on("connection", (socket) => {
      socket.on("error", (...args: unknown[]) => withListener.push(args));
      socket.on("echo", (v: unknown, cb: (v: unknown) => void) => cb(v));
    });
    // No "error" listener at all on "/" (only the echo handler): an emitter would throw.
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const bare = await RawWebSocket.socketIo(handle.port);
      bare.sendText('42["error"]');
      bare.sendText('42["error","boom",{"x":1}]');
      bare.sendText('42["error",{"message":"fake"}]');
      bare.sendText('421["error","with ack"]');
      bare.sendText('422["echo","alive"]');
      expect(await bare.nextMessage()).toBe('432["alive"]');

      const listening = await RawWebSocket.socketIo(handle.port, "/listening");
      listening.sendText('42/listening,["error","boom"]');
      listening.sendText('42/listening,1["echo","alive"]');
      expect(await listening.nextMessage()).toBe('43/listening,1["alive"]');
    });
    expect(withListener).toEqual([["boom"]]);
  });

  it("the server may emit \"error\" to a client, but not reserved names (programmer error)", async () => {
    const handle = await echoServer();
    const side = new Promise<any>((resolve) => handle.io.once("connection", resolve));
    const ws = await RawWebSocket.socketIo(handle.port);
    const socket = await side;
    socket.emit("error", "to the client");
    expect(await ws.nextMessage()).toBe('42["error","to the client"]');
    expect(() => socket.emit("disconnect")).toThrow('"disconnect" is a reserved event name');
    expect(() => handle.io.emit("connect")).toThrow('"connect" is a reserved event name');
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await expectNoLeak(
      handle,
      canary,
      async () => {
        for (const [, texts, binary] of INVALID) {
          const ws = await RawWebSocket.socketIo(handle.port);
          for (const text of texts) ws.sendText(text);
          if (binary) ws.sendBinary(binary);
          await withTimeout(ws.closed, 5000, "the server closing the connection");
        }
        const ws = await RawWebSocket.socketIo(handle.port);
        ws.sendText('42["error","boom"]');
        ws.reset();
        await ws.closed;
      },
      { minTracked: (INVALID.length + 1) * 3 },
    );
  });
});
