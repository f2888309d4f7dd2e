/**
 * Limits and validated events as a user writes them (tidewire's own, never
 * compiled against socket.io): TypeScript infers a validated handler's
 * parameters from zod and valibot schemas, types a namespace from
 * defineEvents, and refuses handlers with the wrong parameter types.
 */
import { createServer } from "node:http";
import * as v from "valibot";
import { z } from "zod";
import { defineEvents, Server, type EmitEventsOf, type ListenEventsOf, type RateLimitInfo, type ValidationErrorInfo } from "tidewire";

// The issue's sketch, as written.
const io = new Server(createServer(), {
  limits: {
    events: { rate: 20, burst: 40, action: "drop" },
    perEvent: { chat: { rate: 2, burst: 5 } },
    connectionsPerAddress: 50,
    handshakesPerAddress: { rate: 10, burst: 20 },
    maxEventLoopDelayMs: 200,
  },
});
io.on("connection", (socket) => {
  socket.on("chat", z.string().max(500), (text, ack) => {
    const s: string = text;
    ack({ ok: s.length });
  });
  // @ts-expect-error zod: the text is a string, not a number
  socket.on("chat", z.string().max(500), (text: number) => void text);
  socket.on("move", [z.number(), z.number().optional()], (x, y, ack) => {
    const a: number = x;
    const b: number | undefined = y;
    ack(a, b);
  });
  // @ts-expect-error zod: y may be undefined
  socket.on("move", [z.number(), z.number().optional()], (_x, y: number) => void y);
  socket.on("profile", z.object({ name: z.string(), tags: z.array(z.string()).default([]) }), (p) => {
    const tags: string[] = p.tags;
    void tags;
  });
  // @ts-expect-error zod: no such field
  socket.on("profile", z.object({ name: z.string() }), (p) => p.missing);
  socket.on("say", v.pipe(v.string(), v.maxLength(5)), (text) => {
    const s: string = text;
    void s;
  });
  // @ts-expect-error valibot: the text is a string, not a boolean
  socket.on("say", v.pipe(v.string(), v.maxLength(5)), (text: boolean) => void text);
  socket.on("point", [v.object({ x: v.number() }), v.optional(v.string())], (point, label) => {
    const x: number = point.x;
    const l: string | undefined = label;
    void x, l;
  });
  // @ts-expect-error valibot: the label may be undefined
  socket.on("point", [v.object({ x: v.number() }), v.optional(v.string())], (_p, label: string) => void label);
  socket.once("once", z.number(), (n) => void (n + 1));
});

const limited = (info: RateLimitInfo): void => {
  if (info.limit === "perEvent") info.socket.disconnect(true);
};
export const withCallback = new Server({ limits: { events: { rate: 5, action: limited }, proxy: { header: "x-forwarded-for", hops: 1 } } });
// @ts-expect-error an action is "drop", "disconnect" or a function
export const wrongAction = new Server({ limits: { events: { rate: 5, action: "ban" } } });
// @ts-expect-error a handshake over the rate is always refused: no action
export const handshakeAction = new Server({ limits: { handshakesPerAddress: { rate: 5, action: "drop" } } });

// Declared once: the namespace's handlers, acks and emits are typed by the declaration.
const events = defineEvents(
  {
    chat: [z.string().max(500)],
    join: { args: [z.string()], ack: z.object({ ok: z.boolean() }) },
    vote: v.picklist(["up", "down"]),
  },
  { message: [z.string(), z.number()] },
);
const chat = io.of("/chat").events(events);
chat.on("connection", (socket) => {
  socket.on("chat", (text) => {
    const s: string = text;
    void s;
  });
  socket.on("join", (room, ack) => ack({ ok: room.length > 0 }));
  socket.on("vote", (choice) => {
    const c: "up" | "down" = choice;
    void c;
  });
  // @ts-expect-error the join acknowledgement takes { ok: boolean }
  socket.on("join", (_room, ack) => ack({ ok: "yes" }));
  // @ts-expect-error a vote is "up" or "down"
  socket.on("vote", (choice: number) => void choice);
  // @ts-expect-error not a declared event
  socket.on("unknown", () => undefined);
  socket.emit("message", "hi", 1);
  // @ts-expect-error message takes a string and a number
  socket.emit("message", 1, "hi");
});
chat.on("validation_error", (info: ValidationErrorInfo) => {
  const where: string = info.event;
  if (info.issues.length > 3) info.socket.disconnect();
  void where;
});

export const declared = new Server<ListenEventsOf<typeof events>, EmitEventsOf<typeof events>>(createServer(), { events });
declared.on("connection", (socket) => {
  socket.on("chat", (text) => socket.emit("message", text, text.length));
});
// @ts-expect-error the events option takes what defineEvents returns
export const wrongEvents = new Server({ events: { chat: [z.string()] } });
