import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { streams } from "../../../src/stream/index.js";
import { closeAll, collect, connectPair, type TransportMode } from "./helpers.js";

afterEach(closeAll);

describe.each<TransportMode>(["websocket", "polling"])("tidewire/stream basics over %s", (transport) => {
  it("sends a stream server → client with its arguments", async () => {
    const { server, client } = await connectPair({ transports: [transport] });
    const received = new Promise<{ data: Buffer; args: unknown[] }>((resolve, reject) => {
      streams(client).on("file", (stream, ...args) => {
        collect(stream).then((data) => resolve({ data, args }), reject);
      });
    });
    const payload = Buffer.from("hello, streams ".repeat(10_000));
    const bytes = await streams(server).emit("file", Readable.from([payload.subarray(0, 1000), payload.subarray(1000)]), { name: "a.txt" }, 42);
    expect(bytes).toBe(payload.length);
    const { data, args } = await received;
    expect(data.equals(payload)).toBe(true);
    expect(args).toEqual([{ name: "a.txt" }, 42]);
  });
});
