/**
 * The in-memory connection forwarded requests run on (forward/memory-socket.ts),
 * against a plain model: each end reads exactly the bytes the other wrote,
 * in order, whatever the interleaving of writes, pauses and ends; a reader
 * that does not read holds its writer back (bounded buffering); closing one
 * end closes the other.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { memoryConnection, type MemorySocket } from "../../src/forward/memory-socket.js";

type Op =
  | { op: "write" | "corked"; side: 0 | 1; bytes: Uint8Array }
  | { op: "pause" | "resume"; side: 0 | 1 }
  | { op: "tick" };

const side = fc.constantFrom(0 as const, 1 as const);
const ops = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constantFrom("write" as const, "corked" as const), side, bytes: fc.uint8Array({ minLength: 1, maxLength: 40_000 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom("pause" as const, "resume" as const), side }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("tick" as const) }) },
  ),
  { maxLength: 40 },
);

const tick = () => new Promise((r) => setImmediate(r));
const ended = (s: MemorySocket) => new Promise<void>((resolve) => (s.readableEnded ? resolve() : s.once("end", () => resolve())));

describe("memory connection", () => {
  it("delivers each end's bytes to the other, in order, whatever the interleaving (model)", async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (list: Op[]) => {
        const ends = memoryConnection();
        const received: Buffer[][] = [[], []];
        const sent: Buffer[][] = [[], []];
        ends.forEach((s, i) => s.on("data", (c: Buffer) => received[i].push(c)));
        for (const step of list) {
          if (step.op === "write") {
            const bytes = Buffer.from(step.bytes);
            sent[step.side].push(bytes);
            ends[step.side].write(bytes);
          } else if (step.op === "corked") {
            // Three writes in one cork: they arrive through _writev.
            const bytes = Buffer.from(step.bytes);
            const parts = [bytes.subarray(0, 7), bytes.subarray(7, 20), bytes.subarray(20)];
            sent[step.side].push(bytes);
            ends[step.side].cork();
            for (const part of parts) ends[step.side].write(part);
            ends[step.side].uncork();
          } else if (step.op === "pause") ends[step.side].pause();
          else if (step.op === "resume") ends[step.side].resume();
          else await tick();
        }
        for (const s of ends) s.resume();
        for (const s of ends) s.end();
        await Promise.all(ends.map(ended));
        expect(Buffer.concat(received[1]).equals(Buffer.concat(sent[0]))).toBe(true);
        expect(Buffer.concat(received[0]).equals(Buffer.concat(sent[1]))).toBe(true);
        for (const s of ends) s.destroy();
      }),
      { numRuns: 150 },
    );
  });

  it("holds a writer back while its reader does not read, and lets it go on when it does", async () => {
    const [client, server] = memoryConnection();
    server.pause();
    let completed = 0;
    const chunk = Buffer.alloc(16 * 1024, 1);
    let accepted = true;
    let written = 0;
    while (accepted && written < 10_000_000) {
      accepted = client.write(chunk, () => completed++);
      written += chunk.length;
    }
    await tick();
    expect(written).toBeLessThan(1_000_000);
    expect(completed * chunk.length).toBeLessThan(200 * 1024);
    let read = 0;
    server.on("data", (c: Buffer) => (read += c.length));
    server.resume();
    await new Promise((r) => client.once("drain", r));
    await tick();
    expect(read).toBe(written);
    expect(completed * chunk.length).toBe(written);
    client.destroy();
  });

  it("closes the other end, without an error, when one end is destroyed; reports the client's address", async () => {
    const [client, server] = memoryConnection({ address: "10.1.2.3", port: 4567 });
    expect([server.remoteAddress, server.remotePort, server.remoteFamily]).toEqual(["10.1.2.3", 4567, "IPv4"]);
    const errors: unknown[] = [];
    server.on("error", (e) => errors.push(e));
    const closed = new Promise((r) => server.once("close", r));
    client.destroy();
    await closed;
    expect(errors).toEqual([]);
    expect(server.destroyed).toBe(true);
    // Writing to a closed connection fails the write, not the process.
    const [a, b] = memoryConnection();
    b.destroy();
    await tick();
    const failed = await new Promise((r) => a.write("x", (err) => r(err)));
    expect(failed).toBeInstanceOf(Error);
    a.destroy();
  });
});
