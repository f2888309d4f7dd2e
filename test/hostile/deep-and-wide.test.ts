/**
 * Class 9: a 20,000-deep nested array echoed back, and one event with
 * 100,000 arguments (both crash socket.io 4.8.4's process).
 *
 * JSON.parse reads the deep array; JSON.stringify cannot write it back, so
 * the encoder falls back to its iterative writer: the echo, the broadcast
 * and the broadcast from a timer (where a throw would be uncaught) all
 * deliver it. An event or ack with more than MAX_EVENT_ARGUMENTS arguments
 * closes its connection; MAX_EVENT_ARGUMENTS itself is accepted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MAX_EVENT_ARGUMENTS } from "../../src/io/reserved.js";
import {
  Canary,
  closeAll,
  echoServer,
  expectHeapNear,
  LeakTracker,
  RawWebSocket,
  settledHeap,
  withTimeout,
} from "./helpers.js";

afterEach(closeAll);

const DEPTH = 20_000;
const deepJson = (leaf: string) => "[".repeat(DEPTH) + leaf + "]".repeat(DEPTH);

/** Depth of nested single-element arrays, walked without recursion. */
function depthOf(value: unknown): number {
  let depth = 0;
  while (Array.isArray(value)) {
    depth++;
    value = value[0];
  }
  return depth;
}

const args = (n: number) => Array.from({ length: n }, (_, i) => i).join(",");

describe("hostile: very deep and very wide packets", () => {
  it("a 20,000-deep array is echoed back byte for byte by socket.emit, io.emit and an io.emit from a timer", async () => {
    const handle = await echoServer();
    const errors: unknown[] = [];
    handle.io.on("connection", (socket) => {
      socket.on("error", (err) => errors.push(err));
      socket.on("deep", (value: unknown) => socket.emit("deep", value));
      socket.on("deep-all", (value: unknown) => handle.io.emit("deep-all", value));
      // Nothing catches a throw here: it would be an uncaught exception.
      socket.on("deep-later", (value: unknown) => setImmediate(() => handle.io.emit("deep-later", value)));
    });
    const canary = await Canary.connect(handle);
    const broadcasts: number[] = [];
    canary.client.on("deep-all", (v: unknown) => broadcasts.push(depthOf(v)));
    canary.client.on("deep-later", (v: unknown) => broadcasts.push(depthOf(v)));
    const attacker = await RawWebSocket.socketIo(handle.port);

    await canary.during(async () => {
      for (const event of ["deep", "deep-all", "deep-later"]) {
        attacker.sendText(`42["${event}",${deepJson("1")}]`);
        expect(await attacker.nextMessage()).toBe(`42["${event}",${deepJson("1")}]`);
      }
    });
    await withTimeout(
      (async () => {
        while (broadcasts.length < 2) await canary.echo();
      })(),
      5000,
      "the canary receiving both deep broadcasts",
    );
    expect(broadcasts).toEqual([DEPTH, DEPTH]);
    expect(errors).toEqual([]);
  });

  it("a 20,000-deep array with a binary attachment at the bottom comes back with its attachment", async () => {
    const handle = await echoServer();
    handle.io.on("connection", (socket) => socket.on("deep", (value: unknown) => socket.emit("deep", value)));
    const canary = await Canary.connect(handle);
    const attacker = await RawWebSocket.socketIo(handle.port);
    await canary.during(async () => {
      attacker.sendText(`451-["deep",${deepJson('{"_placeholder":true,"num":0}')}]`);
      attacker.sendBinary(Buffer.from([1, 2, 3]));
      expect(await attacker.nextMessage()).toBe(`451-["deep",${deepJson('{"_placeholder":true,"num":0}')}]`);
      expect(await attacker.nextMessage()).toEqual(Buffer.from([1, 2, 3]));
    });
  });

  it(`an event with 100,000 arguments closes the connection; ${MAX_EVENT_ARGUMENTS} are accepted`, async () => {
    const handle = await echoServer();
    const seen: string[] = [];
    let accepted = -1;
    handle.io.on("connection", (socket) => {
      socket.on("error", (err: Error) => seen.push(`error: ${err.message}`));
      socket.on("disconnect", (reason: string) => seen.push(`disconnect: ${reason}`));
      socket.on("wide", (...received: unknown[]) => (accepted = received.length));
    });
    const canary = await Canary.connect(handle);

    const fine = await RawWebSocket.socketIo(handle.port);
    fine.sendText(`42["wide",${args(MAX_EVENT_ARGUMENTS - 1)}]`);
    fine.sendText(`421["echo","after"]`);
    expect(await fine.nextMessage()).toBe('431["after"]');
    expect(accepted).toBe(MAX_EVENT_ARGUMENTS - 1);

    const attacker = await RawWebSocket.socketIo(handle.port);
    await canary.during(async () => {
      attacker.sendText(`42["wide",${args(100_000)}]`);
      await withTimeout(attacker.closed, 5000, "the attacker's connection closing");
    });
    expect(seen.filter((s) => !s.startsWith("disconnect: client"))).toEqual([
      `error: packet has 100001 arguments, more than the limit of ${MAX_EVENT_ARGUMENTS}`,
      "disconnect: forced close",
    ]);
    expect(accepted).toBe(MAX_EVENT_ARGUMENTS - 1);
  });

  it("an ack or a binary event with 100,000 arguments closes the connection too", async () => {
    const handle = await echoServer();
    const acked: unknown[] = [];
    handle.io.on("connection", (socket) => {
      socket.on("ask-me", () => socket.emit("question", (...answer: unknown[]) => acked.push(answer.length)));
    });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const ack = await RawWebSocket.socketIo(handle.port);
      ack.sendText('42["ask-me"]');
      const question = (await ack.nextMessage()) as string;
      const id = /^42(\d+)\["question"\]$/.exec(question)?.[1];
      expect(id).toBeDefined();
      ack.sendText(`43${id}[${args(100_000)}]`);
      await withTimeout(ack.closed, 5000, "the acking connection closing");

      const binary = await RawWebSocket.socketIo(handle.port);
      binary.sendText(`451-["bin",{"_placeholder":true,"num":0},${args(100_000)}]`);
      binary.sendBinary(Buffer.from([9]));
      await withTimeout(binary.closed, 5000, "the binary connection closing");
    });
    expect(acked).toEqual([]);
  });

  it("leaves nothing behind: sockets and sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer();
    handle.io.on("connection", (socket) => socket.on("deep", (value: unknown) => socket.emit("deep", value)));
    const canary = await Canary.connect(handle);
    const attack = async () => {
      const deep = await RawWebSocket.socketIo(handle.port);
      deep.sendText(`42["deep",${deepJson("1")}]`);
      await deep.nextMessage();
      deep.reset();
      const wide = await RawWebSocket.socketIo(handle.port);
      wide.sendText(`42["wide",${args(100_000)}]`);
      await withTimeout(wide.closed, 5000, "the wide connection closing");
      await deep.closed;
    };
    await attack(); // warm-up: code paths compiled, lazy caches filled
    const baseline = await settledHeap();
    const tracker = new LeakTracker(handle);
    await canary.during(async () => {
      for (let i = 0; i < 5; i++) await attack();
    });
    expect(tracker.tracked).toBeGreaterThanOrEqual(20);
    await tracker.expectCollected();
    await expectHeapNear(baseline);
  });
});
