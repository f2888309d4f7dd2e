// Chat logic: nicknames, rooms, messages with acks, typing, presence and
// small binary attachments. Every payload from a client is validated here;
// a bad one gets an error in its ack and never reaches other clients.
//
// Messages and attachments carry a client id (`cid`): a page that did not get
// the acknowledgement (the connection dropped, the server restarted) sends
// the same message again with the same id, and the server answers with the
// one it already has instead of posting it twice.
import { RoomHistory } from "./history.js";

/** Rooms offered on the join screen; any other valid name can be typed. */
export const DEFAULT_ROOMS = ["general", "random", "help"];

const LIMITS = {
  nick: 24,
  room: 32,
  text: 1000,
  /** Largest attachment accepted, in bytes (the page checks it too). */
  fileBytes: 512 * 1024,
  fileName: 100,
};

/** Client message ids: what the page generates (random, URL-safe). */
const CLIENT_ID = /^[\w-]{8,64}$/;

/** Room names: letters, digits, dash and underscore after normalising. */
function normaliseRoom(value) {
  if (typeof value !== "string") return null;
  const room = value.trim().toLowerCase().replace(/^#/, "").replace(/\s+/g, "-");
  if (room.length === 0 || room.length > LIMITS.room) return null;
  return /^[\p{L}\p{N}_-]+$/u.test(room) ? room : null;
}

function normaliseNick(value) {
  if (typeof value !== "string") return null;
  const nick = value.trim().replace(/\s+/g, " ");
  if (nick.length === 0 || nick.length > LIMITS.nick) return null;
  // No control characters; everything else is shown with textContent.
  return /^[^\p{C}]+$/u.test(nick) ? nick : null;
}

/** Accepts Buffers (Node), and ArrayBuffers or typed arrays from other parsers. */
function toBuffer(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

function reply(ack, value) {
  if (typeof ack === "function") ack(value);
}

/** A client id from a payload, or null when absent or malformed. */
function clientId(payload) {
  const cid = payload?.cid;
  return typeof cid === "string" && CLIENT_ID.test(cid) ? cid : null;
}

/**
 * Installs the chat on a Socket.IO (or tidewire) server.
 * @param {import("tidewire").Server} io
 * @param {{ historyFile?: string | null }} [options] where the room history
 *   survives restarts (none: kept in memory only)
 * @returns {{ history: RoomHistory }}
 */
export function attachChat(io, { historyFile = null } = {}) {
  const history = new RoomHistory({ file: historyFile });

  /** Nicknames in a room, through the adapter (works across nodes too). */
  async function membersOf(room) {
    const sockets = await io.in(room).fetchSockets();
    return sockets.map((s) => s.data.nick).filter(Boolean).sort((a, b) => a.localeCompare(b));
  }

  async function announcePresence(room) {
    const users = await membersOf(room);
    io.to(room).emit("presence", { room, users });
    return users;
  }

  function system(room, text) {
    io.to(room).emit("system", { text, time: Date.now() });
  }

  io.on("connection", (socket) => {
    // A failing async handler answers its ack instead of becoming an
    // unhandled rejection.
    const guard = (handler) => async (payload, ack) => {
      try {
        await handler(payload, ack);
      } catch (err) {
        console.error("chat handler failed:", err);
        reply(ack, { ok: false, error: "the server could not handle that, please retry" });
      }
    };

    socket.emit("rooms", DEFAULT_ROOMS);

    // Connection state recovery brought this socket back after a short drop:
    // same id, same rooms, same data, and the broadcasts it missed replayed.
    if (socket.recovered && socket.data.room) {
      const { room, nick } = socket.data;
      socket.to(room).emit("system", { text: `${nick} is back`, time: Date.now() });
      announcePresence(room).catch((err) => console.error("presence update failed:", err));
    }

    // Round-trip time: the page times the acknowledgement.
    socket.on("ping", (...args) => {
      const ack = args[args.length - 1];
      if (typeof ack === "function") ack();
    });

    socket.on(
      "join",
      guard(async (payload, ack) => {
        const nick = normaliseNick(payload?.nick);
        const room = normaliseRoom(payload?.room);
        if (!nick) return reply(ack, { ok: false, error: `pick a nickname of 1 to ${LIMITS.nick} characters` });
        if (!room) {
          return reply(ack, {
            ok: false,
            error: `room names are 1 to ${LIMITS.room} letters, digits, "-" or "_"`,
          });
        }
        const others = (await io.in(room).fetchSockets()).filter((s) => s.id !== socket.id);
        // The client may have gone while the adapter answered.
        if (!socket.connected) return;
        if (others.some((s) => s.data.nick === nick)) {
          return reply(ack, { ok: false, error: `"${nick}" is already in #${room}, pick another nickname` });
        }
        const previous = socket.data.room;
        const previousNick = socket.data.nick;
        if (previous && previous !== room) {
          socket.leave(previous);
          socket.to(previous).emit("typing", { nick: previousNick, typing: false });
          system(previous, `${previousNick} went to #${room}`);
          await announcePresence(previous);
        }
        socket.data.nick = nick;
        socket.data.room = room;
        socket.join(room);
        if (previous !== room) socket.to(room).emit("system", { text: `${nick} joined`, time: Date.now() });
        else if (previousNick !== nick) system(room, `${previousNick} is now ${nick}`);
        const users = await announcePresence(room);
        reply(ack, { ok: true, nick, room, users, history: history.get(room) });
      }),
    );

    socket.on(
      "message",
      guard(async (payload, ack) => {
        const room = socket.data.room;
        if (!room) return reply(ack, { ok: false, error: "join a room first" });
        // A plain string, or { text, cid } from pages that resend.
        const text = typeof payload === "string" ? payload : payload?.text;
        const cid = clientId(payload);
        if (cid) {
          const known = history.findByClientId(cid);
          if (known?.entry.kind === "text") return reply(ack, { ok: true, message: known.entry, duplicate: true });
          if (known) return reply(ack, { ok: false, error: "this message id was already used for a file" });
        }
        if (typeof text !== "string" || text.trim().length === 0) {
          return reply(ack, { ok: false, error: "empty message" });
        }
        if (text.length > LIMITS.text) {
          return reply(ack, { ok: false, error: `messages are limited to ${LIMITS.text} characters` });
        }
        const message = { kind: "text", id: history.nextId(), ...(cid ? { cid } : {}), nick: socket.data.nick, text: text.trim(), time: Date.now() };
        history.add(room, message);
        socket.to(room).emit("message", message);
        reply(ack, { ok: true, message });
      }),
    );

    // Typing notices are volatile: losing one is harmless, queueing them is not.
    socket.on("typing", (typing) => {
      const room = socket.data.room;
      if (!room) return;
      socket.to(room).volatile.emit("typing", { nick: socket.data.nick, typing: typing === true });
    });

    socket.on(
      "file",
      guard(async (payload, ack) => {
        const room = socket.data.room;
        if (!room) return reply(ack, { ok: false, error: "join a room first" });
        const cid = clientId(payload);
        if (cid) {
          const known = history.findByClientId(cid);
          if (known?.entry.kind === "file") return reply(ack, { ok: true, id: known.entry.id, size: known.entry.size, duplicate: true });
          if (known) return reply(ack, { ok: false, error: "this file id was already used for a message" });
        }
        const data = toBuffer(payload?.data);
        if (!data) return reply(ack, { ok: false, error: "no file data received" });
        if (data.length === 0 || data.length > LIMITS.fileBytes) {
          return reply(ack, { ok: false, error: `files are limited to ${LIMITS.fileBytes / 1024} KiB` });
        }
        const name =
          typeof payload.name === "string" && payload.name.length > 0
            ? payload.name.slice(0, LIMITS.fileName)
            : "file";
        const type =
          typeof payload.type === "string" && /^[\w.+-]+\/[\w.+-]+$/.test(payload.type)
            ? payload.type
            : "application/octet-stream";
        const file = {
          kind: "file",
          id: history.nextId(),
          ...(cid ? { cid } : {}),
          nick: socket.data.nick,
          name,
          type,
          size: data.length,
          data,
          time: Date.now(),
        };
        // Kept like text, so that people who join later see it too.
        history.add(room, file);
        // Everyone in the room gets the bytes back from the server, the
        // sender included: what it shows is what actually made the trip.
        io.to(room).emit("file", file);
        reply(ack, { ok: true, id: file.id, size: file.size });
      }),
    );

    socket.on("disconnect", (reason) => {
      const { room, nick } = socket.data;
      // At shutdown everyone goes at once: no "left" notices to the others.
      if (!room || reason === "server shutting down") return;
      // socket.to() leaves this socket out even when its session comes back
      // (connection state recovery replays what the room got meanwhile).
      socket.to(room).emit("typing", { nick, typing: false });
      socket.to(room).emit("system", { text: `${nick} left`, time: Date.now() });
      announcePresence(room).catch((err) => console.error("presence update failed:", err));
    });
  });

  return { history };
}
