/**
 * The npm package socket.io-stream (0.9.1), unchanged, on the server's
 * sockets with socket.io-client on the other end: uploads, downloads,
 * streams inside acks and objects, error propagation, disconnects, and
 * coexistence with tidewire/stream on the same socket.
 */
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { streams } from "../../../src/stream/index.js";
import { closeAll, collect, connectPair, hashOf, randomSource, waitFor, withTimeout } from "./helpers.js";

const require = createRequire(import.meta.url);
const ss: any = require("socket.io-stream");

afterEach(closeAll);

describe("socket.io-stream on the server with socket.io-client", () => {
  it("uploads client → server with data and an ack", async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    const received = new Promise<{ hash: { bytes: number; sha256: string }; data: unknown }>((resolve, reject) =>
      ss(server).on("upload", (stream: Readable, data: unknown, ack: (reply: string) => void) => {
        hashOf(stream).then((hash) => {
          ack("stored");
          resolve({ hash, data });
        }, reject);
      }),
    );
    const stream = ss.createStream();
    const source = randomSource(5 * 1024 * 1024);
    const acked = new Promise((resolve) => ss(client).emit("upload", stream, { name: "big.bin" }, resolve));
    source.pipe(stream);
    const { hash, data } = await withTimeout(received, 10_000, "the upload");
    expect(data).toEqual({ name: "big.bin" });
    expect(hash).toEqual({ bytes: 5 * 1024 * 1024, sha256: source.digest() });
    expect(await withTimeout(acked, 5000, "the ack")).toBe("stored");
  });

  it("downloads server → client into a stream the client sent", async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    const source = randomSource(3 * 1024 * 1024 + 5);
    ss(server).on("download", (stream: NodeJS.WritableStream, name: string) => {
      expect(name).toBe("report.pdf");
      source.pipe(stream);
    });
    const stream = ss.createStream();
    ss(client).emit("download", stream, "report.pdf");
    const hash = await withTimeout(hashOf(stream), 10_000, "the download");
    expect(hash).toEqual({ bytes: 3 * 1024 * 1024 + 5, sha256: source.digest() });
  });

  it("works over long-polling too", async () => {
    const { server, client } = await connectPair({ transports: ["polling"] });
    const received = new Promise<Buffer>((resolve, reject) =>
      ss(server).on("up", (stream: Readable) => collect(stream).then(resolve, reject)),
    );
    const stream = ss.createStream();
    ss(client).emit("up", stream);
    stream.end(Buffer.from("over polling"));
    expect((await withTimeout(received, 5000, "the upload")).toString()).toBe("over polling");
  });

  it("works with forceBase64 (chunks as base64 strings)", async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    const writes: unknown[] = [];
    client.onAnyOutgoing((event: string, _id: unknown, chunk: unknown) => {
      if (event === "$stream-write") writes.push(chunk);
    });
    const received = new Promise<{ bytes: number; sha256: string }>((resolve, reject) =>
      ss(server).on("b64", (stream: Readable) => hashOf(stream).then(resolve, reject)),
    );
    const stream = ss.createStream();
    ss(client, { forceBase64: true }).emit("b64", stream);
    const source = randomSource(300 * 1024);
    source.pipe(stream);
    expect(await withTimeout(received, 5000, "the base64 upload")).toEqual({ bytes: 300 * 1024, sha256: source.digest() });
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((w) => typeof w === "string")).toBe(true);
  });

  it("passes streams through acks, inside objects and several at once", async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    ss(server).on("give", (ack: (s: unknown) => void) => {
      const out = ss.createStream();
      ack(out);
      out.end(Buffer.from("from the ack"));
    });
    ss(server).on("pair", (holder: { a: Readable; list: Readable[] }) => {
      Promise.all([collect(holder.a), collect(holder.list[0])]).then(([a, b]) => {
        server.emit("pair-result", a.toString(), b.toString());
      });
    });
    const viaAck = await withTimeout(
      new Promise<Buffer>((resolve, reject) => ss(client).emit("give", (s: Readable) => collect(s).then(resolve, reject))),
      5000,
      "the stream in the ack",
    );
    expect(viaAck.toString()).toBe("from the ack");
    const a = ss.createStream();
    const b = ss.createStream();
    const result = waitFor(client, "pair-result");
    ss(client).emit("pair", { a, list: [b] });
    a.end(Buffer.from("first"));
    b.end(Buffer.from("second"));
    expect(await result).toEqual(["first", "second"]);
  });

  it("propagates an error from either end to the other, marked remote", async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    const serverSide = new Promise<any>((resolve) => ss(server).on("e", (stream: any) => resolve(stream)));
    const stream = ss.createStream();
    stream.on("error", () => {});
    ss(client).emit("e", stream);
    const remote = await withTimeout(serverSide, 5000, "the server-side stream");
    const serverError = waitFor(remote, "error");
    stream.emit("error", new Error("client gave up"));
    const [err] = await serverError;
    expect(err.message).toBe("client gave up");
    expect(err.remote).toBe(true);

    const back = ss.createStream();
    const clientError = waitFor(back, "error");
    const downstream = new Promise<any>((resolve) => ss(server).on("e2", (s: any) => resolve(s)));
    ss(client).emit("e2", back);
    const onServer = await downstream;
    onServer.on("error", () => {});
    onServer.emit("error", new Error("server gave up"));
    const [err2] = await clientError;
    expect(err2.message).toBe("server gave up");
    expect(err2.remote).toBe(true);
  });

  it("errors the streams of both ends with 'Connection aborted' on disconnect", async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    const serverSide = new Promise<any>((resolve) => ss(server).on("d", (stream: any) => resolve(stream)));
    const stream = ss.createStream();
    ss(client).emit("d", stream);
    const remote = await withTimeout(serverSide, 5000, "the server-side stream");
    const errors = Promise.all([waitFor(stream, "error"), waitFor(remote, "error")]);
    client.disconnect();
    const [[clientErr], [serverErr]] = await errors;
    expect(clientErr.message).toBe("Connection aborted");
    expect(serverErr.message).toBe("Connection aborted");
  });

  it("coexists with tidewire/stream on the same socket", async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    const viaSs = new Promise<Buffer>((resolve, reject) => ss(server).on("same", (s: Readable) => collect(s).then(resolve, reject)));
    const viaTidewire = new Promise<Buffer>((resolve, reject) => streams(server).on("same", (s) => collect(s).then(resolve, reject)));
    const legacy = ss.createStream();
    ss(client).emit("same", legacy);
    const sent = streams(client).emit("same", Readable.from([Buffer.from("tidewire")]));
    legacy.end(Buffer.from("socket.io-stream"));
    expect((await viaSs).toString()).toBe("socket.io-stream");
    expect((await viaTidewire).toString()).toBe("tidewire");
    await expect(sent).resolves.toBe(8);
  });
});
