/**
 * Validated events with official clients: declared schemas (the `events`
 * option, `io.of(nsp).events()`) and `socket.on(event, schema, handler)`,
 * with zod 4, valibot 1 and arktype 2; invalid payloads of every shape never
 * reach a handler (the ack gets the issues, the namespace emits
 * validation_error); parsed values replace the raw ones; asynchronous
 * schemas keep each socket's events in order; a schema that throws is
 * reported and never takes the process down.
 */
import { type } from "arktype";
import * as v from "valibot";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineEvents, type StandardSchemaV1 } from "../../../src/index.js";
import { closeAll, connectClient, waitFor, type IoServerHandle } from "../../helpers/io.js";
import { captureUncaught, releaseUncaught } from "../../helpers/uncaught.js";
import { ask, connectFrom, startServer, type PolicyServer } from "./helpers.js";

afterEach(async () => {
  releaseUncaught();
  await closeAll();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records validation_error events of a namespace (socket ids instead of sockets). */
function recordErrors(h: PolicyServer, nsp = "/"): any[] {
  const seen: any[] = [];
  h.io.of(nsp).on("validation_error", (info) => seen.push({ ...info, socket: info.socket.id }));
  return seen;
}

describe("validated events", () => {
  it("socket.on(event, schema, handler), as the issue sketches it: the handler gets the parsed text; an invalid one gets the issues", async () => {
    const h = await startServer();
    const errors = recordErrors(h);
    const received: unknown[] = [];
    let id = "";
    h.io.on("connection", (socket) => {
      id = socket.id;
      socket.on("chat", z.string().max(500), (text, ack) => {
        received.push(text);
        ack({ ok: text.length });
      });
    });
    const client = await connectFrom(h, "127.0.0.1");
    expect(await ask(client, "chat", "hello")).toEqual({ ok: 5 });
    const answer = await ask(client, "chat", 42);
    expect(answer).toEqual({ error: "invalid_payload", event: "chat", issues: [{ message: expect.any(String), path: [0] }] });
    expect(received).toEqual(["hello"]);
    expect(errors).toEqual([{ socket: id, event: "chat", issues: answer.issues }]);
    expect(h.io.stats().eventRefusals.invalid_payload).toBe(1);
  });

  it.each([
    ["zod", z.string().max(5)],
    ["valibot", v.pipe(v.string(), v.maxLength(5))],
    ["arktype", type("string <= 5")],
  ] as Array<[string, StandardSchemaV1<unknown, string>]>)("works with %s", async (_name, schema) => {
    const h = await startServer();
    h.io.on("connection", (socket) => socket.on("say", schema, (text, ack) => ack(`got ${text}`)));
    const client = await connectFrom(h, "127.0.0.1");
    expect(await ask(client, "say", "abc")).toBe("got abc");
    expect(await ask(client, "say", "too long")).toMatchObject({ error: "invalid_payload", issues: [{ path: [0] }] });
    expect(await ask(client, "say", { text: "abc" })).toMatchObject({ error: "invalid_payload" });
  });

  it("declared once (events option): every listener, onAny and middleware sees parsed values; undeclared events pass as they are", async () => {
    const events = defineEvents({
      move: [z.number().int(), z.number().int().default(0)],
      rename: { args: [z.string().trim().toUpperCase()], ack: z.object({ name: z.string() }) },
    });
    const h = await startServer({ events });
    const seen: unknown[][] = [];
    h.io.on("connection", (socket) => {
      socket.onAny((...args) => seen.push(["any", ...args.filter((a) => typeof a !== "function")]));
      socket.use(([event, ...args], next) => (seen.push(["use", event, ...args.filter((a) => typeof a !== "function")]), next()));
      socket.on("move", (x: number, y: number) => seen.push(["move", x, y]));
      socket.on("rename", (name: string, ack: (r: { name: string }) => void) => ack({ name }));
      socket.on("free", (...args: unknown[]) => seen.push(["free", ...args]));
    });
    const client = await connectFrom(h, "127.0.0.1");
    client.emit("move", 3);
    client.emit("move", 1.5, 2);
    client.emit("free", "anything", { goes: true });
    expect(await ask(client, "rename", "  bob ")).toEqual({ name: "BOB" });
    // rename without an ack: the handler still gets a (no-op) ack function, as declared.
    client.emit("rename", "al");
    expect(await ask(client, "rename", 7)).toMatchObject({ error: "invalid_payload", event: "rename" });
    expect(seen.filter((e) => e[0] === "move")).toEqual([["move", 3, 0]]);
    expect(seen).toContainEqual(["any", "move", 3, 0]);
    expect(seen).toContainEqual(["use", "move", 3, 0]);
    expect(seen).toContainEqual(["free", "anything", { goes: true }]);
    expect(h.io.stats().eventRefusals.invalid_payload).toBe(2);
  });

  it("invalid payloads of every shape never reach the handler", async () => {
    const h = await startServer({
      events: defineEvents({ profile: [z.object({ name: z.string().max(50), age: z.number().int().min(0) }), z.boolean().optional()] }),
    });
    const errors = recordErrors(h);
    const reached: unknown[] = [];
    h.io.on("connection", (socket) => socket.on("profile", (p: unknown, flag: unknown, ack: (r: unknown) => void) => (reached.push([p, flag]), ack("ok"))));
    const client = await connectFrom(h, "127.0.0.1");
    const invalid: unknown[][] = [
      [], // missing argument
      [null],
      ["a string"],
      [[1, 2, 3]],
      [{ name: 1, age: 2 }],
      [{ name: "n", age: -1 }],
      [{ name: "n", age: 1.5 }],
      [{ name: "x".repeat(200_000), age: 1 }], // huge string
      [{ name: "n", age: 1 }, "not a boolean"],
      [{ name: "n", age: 1 }, true, "extra"], // too many arguments
      [Buffer.from("binary")],
      [{ name: "n" }],
    ];
    for (const args of invalid) {
      const answer = await ask(client, "profile", ...args);
      expect(answer, JSON.stringify(args).slice(0, 80)).toMatchObject({ error: "invalid_payload", event: "profile" });
      expect(answer.issues.length).toBeGreaterThan(0);
      expect(answer.issues.length).toBeLessThanOrEqual(10);
      for (const issue of answer.issues) expect(issue.message.length).toBeLessThanOrEqual(200);
    }
    expect(reached).toEqual([]);
    expect(errors).toHaveLength(invalid.length);
    expect(await ask(client, "profile", { name: "n", age: 1 })).toBe("ok");
    expect(reached).toEqual([[{ name: "n", age: 1 }, undefined]]);
  });

  it("prototype keys: the handler gets the schema's output, a plain object with nothing polluted", async () => {
    const h = await startServer({ events: defineEvents({ save: [z.object({ text: z.string() })] }) });
    let got: any;
    h.io.on("connection", (socket) => socket.on("save", (doc: any, ack: () => void) => ((got = doc), ack())));
    const client = await connectFrom(h, "127.0.0.1");
    // Sent raw (a Socket.IO EVENT with ack id 77), so that "__proto__" is an own key of the JSON the server parses.
    const ackId = 77;
    const acked = new Promise<void>((resolve) => client.io.engine.on("message", (m: string) => m.startsWith(`3${ackId}`) && resolve()));
    client.io.engine.send(`2${ackId}["save",{"text":"t","__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}]`);
    await acked;
    expect(got).toEqual({ text: "t" });
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(got.admin).toBeUndefined();
    expect(({} as any).admin).toBeUndefined();
    expect(({} as any).x).toBeUndefined();
  });

  it("io.of(nsp).events() applies to sockets already connected, and validation_error fires on that namespace", async () => {
    const h = await startServer();
    const errors = recordErrors(h, "/chat");
    const got: unknown[] = [];
    h.io.of("/chat").on("connection", (socket) => socket.on("post", (text: unknown, ack: (r: unknown) => void) => (got.push(text), ack("ok"))));
    const client = await connectClient(h as unknown as IoServerHandle, "websocket", {}, "/chat");
    expect(await ask(client, "post", 1)).toBe("ok");
    h.io.of("/chat").events(defineEvents({ post: z.string() }));
    expect(await ask(client, "post", 2)).toMatchObject({ error: "invalid_payload" });
    expect(await ask(client, "post", "three")).toBe("ok");
    expect(got).toEqual([1, "three"]);
    expect(errors).toHaveLength(1);
  });

  it("asynchronous schemas: one socket's events reach the handlers in the order they were sent", async () => {
    const slow = z.number().refine(async (n) => (await sleep(n % 3 === 0 ? 15 : 1), true));
    const h = await startServer({ events: defineEvents({ slow: [slow] }) });
    const order: string[] = [];
    h.io.on("connection", (socket) => {
      socket.on("slow", (n: number) => order.push(`slow ${n}`));
      socket.on("fast", (n: number) => order.push(`fast ${n}`));
      socket.on("listener", z.number().refine(async () => (await sleep(2), true)), (n) => order.push(`listener ${n}`));
      socket.on("done", (ack: () => void) => ack());
    });
    const client = await connectFrom(h, "127.0.0.1");
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) {
      const event = ["slow", "fast", "listener"][i % 3];
      client.emit(event, i);
      sent.push(`${event} ${i}`);
    }
    await ask(client, "done");
    expect(order).toEqual(sent);
  });

  it("too many events waiting behind an async schema disconnect the client with rate_limited", async () => {
    const h = await startServer({ events: defineEvents({ slow: [z.number().refine(async () => (await sleep(200), true))] }), limits: { maxPendingEvents: 5 } });
    const disconnected = waitFor(h.io, "connection").then(([socket]) => waitFor(socket, "disconnect"));
    const client = await connectFrom(h, "127.0.0.1");
    for (let i = 0; i < 10; i++) client.emit("slow", i);
    const [, details] = await disconnected;
    expect(details.cause).toMatchObject({ code: "rate_limited", limit: "pendingEvents" });
  });

  it("a schema that throws (or rejects) is reported: the ack gets schema_error, validation_error carries the error, the process goes on", async () => {
    const throwing: StandardSchemaV1<unknown, string> = {
      "~standard": { version: 1, vendor: "test", validate: () => { throw new Error("schema bug"); } },
    };
    const rejecting: StandardSchemaV1<unknown, string> = {
      "~standard": { version: 1, vendor: "test", validate: () => Promise.reject(new Error("async schema bug")) },
    };
    const h = await startServer({ events: defineEvents({ a: throwing, b: rejecting }) });
    const errors = recordErrors(h);
    let reached = 0;
    h.io.on("connection", (socket) => {
      socket.on("a", () => reached++);
      socket.on("b", () => reached++);
      socket.on("ok", (ack: (r: string) => void) => ack("alive"));
    });
    const client = await connectFrom(h, "127.0.0.1");
    expect(await ask(client, "a", "x")).toEqual({ error: "schema_error", event: "a" });
    expect(await ask(client, "b", "x")).toEqual({ error: "schema_error", event: "b" });
    expect(await ask(client, "ok")).toBe("alive");
    expect(reached).toBe(0);
    expect(errors.map((e) => [e.event, e.issues, (e.error as Error).message])).toEqual([
      ["a", [], "schema bug"],
      ["b", [], "async schema bug"],
    ]);
    expect(h.io.stats().eventRefusals.schema_error).toBe(2);
  });

  it("with nobody listening to validation_error, a throwing schema gives one process warning", async () => {
    const throwing: StandardSchemaV1 = { "~standard": { version: 1, vendor: "test", validate: () => { throw new Error("boom"); } } };
    const h = await startServer();
    h.io.on("connection", (socket) => socket.on("x", throwing, () => undefined));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => w.name === "TidewireSchemaWarning" && warnings.push(w);
    process.on("warning", onWarning);
    try {
      const client = await connectFrom(h, "127.0.0.1");
      expect(await ask(client, "x", 1)).toEqual({ error: "schema_error", event: "x" });
      expect(await ask(client, "x", 2)).toEqual({ error: "schema_error", event: "x" });
      await sleep(10);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toMatch(/schema of event "x".*threw: boom/);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("multiple arguments and the trailing ack: the handler's parameters are always in place", async () => {
    const h = await startServer();
    const calls: unknown[][] = [];
    h.io.on("connection", (socket) =>
      socket.on("pair", [z.string(), z.number().optional()], (s, n, ack) => {
        calls.push([s, n, typeof ack]);
        ack(`${s}:${n}`);
      }),
    );
    const client = await connectFrom(h, "127.0.0.1");
    expect(await ask(client, "pair", "a", 1)).toBe("a:1");
    expect(await ask(client, "pair", "b")).toBe("b:undefined");
    client.emit("pair", "c", 3); // no ack: the handler gets a function that does nothing
    expect(await ask(client, "pair", "d", "x")).toMatchObject({ error: "invalid_payload", issues: [{ path: [1] }] });
    expect(calls).toEqual([
      ["a", 1, "function"],
      ["b", undefined, "function"],
      ["c", 3, "function"],
    ]);
  });

  it("socket.off(event, handler) removes a validated listener; once() with a schema runs once", async () => {
    const h = await startServer();
    let on = 0;
    let once = 0;
    h.io.on("connection", (socket) => {
      const handler = () => on++;
      socket.on("e", z.number(), handler);
      socket.once("e", z.number(), () => once++);
      socket.on("off", (ack: () => void) => (socket.off("e", handler), ack()));
      socket.on("sync", (ack: () => void) => ack());
    });
    const client = await connectFrom(h, "127.0.0.1");
    client.emit("e", 1);
    client.emit("e", 2);
    await ask(client, "off");
    client.emit("e", 3);
    await ask(client, "sync");
    expect([on, once]).toEqual([2, 1]);
  });

  it("a handler's exception after an async schema is the application's: it reaches uncaughtException; the connection and later events go on", async () => {
    const h = await startServer({ events: defineEvents({ slow: [z.number().refine(async () => true)] }) });
    const got: number[] = [];
    h.io.on("connection", (socket) => {
      socket.on("slow", (n: number) => {
        got.push(n);
        if (n === 1) throw new Error("handler bug");
      });
      socket.on("plain", (n: number) => {
        got.push(n);
        if (n === 3) throw new Error("waiting handler bug");
      });
      socket.on("sync", (ack: () => void) => ack());
    });
    const client = await connectFrom(h, "127.0.0.1");
    const uncaught = captureUncaught();
    client.emit("slow", 1);
    // These wait behind the async validation of 1; the first of them throws when released.
    client.emit("plain", 3);
    client.emit("slow", 2);
    client.emit("plain", 4);
    expect(((await uncaught.next()).error as Error).message).toBe("handler bug");
    expect(((await uncaught.next()).error as Error).message).toBe("waiting handler bug");
    await ask(client, "sync");
    expect(got).toEqual([1, 3, 2, 4]);
    expect(client.connected).toBe(true);
  });

  it("on(event, listener, extra) stays EventEmitter's on: only a schema in second place validates", async () => {
    const h = await startServer();
    const got: unknown[] = [];
    h.io.on("connection", (socket) => {
      (socket.on as any)("plain", (n: unknown, ack: (r: unknown) => void) => (got.push(n), ack("ok")), "ignored");
      expect(() => (socket.on as any)("bad", { not: "a schema" }, () => undefined)).toThrow(/Standard Schema/);
    });
    const client = await connectFrom(h, "127.0.0.1");
    expect(await ask(client, "plain", 1)).toBe("ok");
    expect(got).toEqual([1]);
  });

  it("the events option is checked at new Server()", async () => {
    const { Server } = await import("../../../src/index.js");
    expect(() => new Server({ events: { chat: [z.string()] } as any })).toThrow(/events.*defineEvents/);
    expect(() => defineEvents({ chat: ["not a schema"] as any })).toThrow(/defineEvents: "chat".*Standard Schema/);
  });
});
