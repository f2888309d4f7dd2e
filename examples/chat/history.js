// Room history of the chat demo: the recent messages and attachments of each
// room, bounded in entries, bytes and rooms, so that people who join later
// (or come back after a server restart) see what was said and shown.
//
// Persistence: with a `file`, the whole history is written to it (JSON,
// attachments base64) shortly after every change, through a temporary file
// and a rename so a crash never leaves half a file, and once more,
// synchronously, by `flush()` at shutdown. Losing a process with SIGKILL
// loses at most the changes of the last `writeDelayMs`.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const HISTORY_LIMITS = {
  /** Entries (messages and attachments) kept per room. */
  entries: 100,
  /**
   * Bytes kept per room (text in UTF-8 plus attachment sizes). A newcomer
   * receives the whole room in its join acknowledgement: this stays well
   * under the server's per-connection send buffer (maxBufferedBytes, 4 MiB),
   * even base64-encoded over polling.
   */
  bytes: 2 * 1024 * 1024,
  /** Rooms kept; the one used least recently goes first. */
  rooms: 10,
  /** Client message ids remembered to recognise a message sent twice. */
  clientIds: 2000,
};

/** @typedef {{ kind: "text", id: number, cid?: string, nick: string, text: string, time: number }} TextEntry */
/** @typedef {{ kind: "file", id: number, cid?: string, nick: string, name: string, type: string, size: number, data: Buffer, time: number }} FileEntry */
/** @typedef {TextEntry | FileEntry} Entry */

function entryBytes(entry) {
  return entry.kind === "file" ? entry.size : Buffer.byteLength(entry.text);
}

export class RoomHistory {
  /** @type {Map<string, { entries: Entry[], bytes: number }>} insertion order = least recently used first */
  #rooms = new Map();
  /**
   * Client id -> what a resend is answered with, oldest first: a text entry
   * whole (at most a few KiB), a file as its id and size only, so that this
   * map never holds attachment bytes the room history has let go.
   * @type {Map<string, { room: string, entry: TextEntry | { kind: "file", id: number, size: number } }>}
   */
  #byClientId = new Map();
  #nextId = 1;
  #file;
  #writeDelayMs;
  #timer = null;
  #limits;

  /**
   * @param {{ file?: string | null, writeDelayMs?: number, limits?: Partial<typeof HISTORY_LIMITS> }} [options]
   */
  constructor({ file = null, writeDelayMs = 200, limits = {} } = {}) {
    this.#file = file;
    this.#writeDelayMs = writeDelayMs;
    this.#limits = { ...HISTORY_LIMITS, ...limits };
    if (file) this.#load(file);
  }

  /** A new server-wide message id, increasing across restarts. */
  nextId() {
    return this.#nextId++;
  }

  /** The entries of a room, oldest first (a copy). */
  get(room) {
    return [...(this.#rooms.get(room)?.entries ?? [])];
  }

  /** Number of entries kept over all rooms. */
  get size() {
    let n = 0;
    for (const { entries } of this.#rooms.values()) n += entries.length;
    return n;
  }

  /** What was stored for a client message id (a file: its id and size), if still remembered. */
  findByClientId(cid) {
    return this.#byClientId.get(cid) ?? null;
  }

  /** Stores an entry, dropping the oldest ones past the limits, and schedules a write. */
  add(room, entry) {
    let kept = this.#rooms.get(room);
    if (kept) this.#rooms.delete(room);
    else kept = { entries: [], bytes: 0 };
    this.#rooms.set(room, kept);
    kept.entries.push(entry);
    kept.bytes += entryBytes(entry);
    while (kept.entries.length > this.#limits.entries || (kept.bytes > this.#limits.bytes && kept.entries.length > 1)) {
      kept.bytes -= entryBytes(kept.entries.shift());
    }
    while (this.#rooms.size > this.#limits.rooms) this.#rooms.delete(this.#rooms.keys().next().value);
    if (entry.cid) this.#rememberClientId(entry.cid, room, entry);
    this.#scheduleWrite();
  }

  #rememberClientId(cid, room, entry) {
    this.#byClientId.delete(cid);
    this.#byClientId.set(cid, { room, entry: entry.kind === "file" ? { kind: "file", id: entry.id, size: entry.size } : entry });
    if (this.#byClientId.size > this.#limits.clientIds) this.#byClientId.delete(this.#byClientId.keys().next().value);
  }

  #scheduleWrite() {
    if (!this.#file || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#write();
    }, this.#writeDelayMs);
  }

  /** Writes pending changes now (call it at shutdown). */
  flush() {
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#write();
  }

  #write() {
    const rooms = {};
    for (const [room, { entries }] of this.#rooms) {
      rooms[room] = entries.map((e) => (e.kind === "file" ? { ...e, data: e.data.toString("base64") } : e));
    }
    const json = JSON.stringify({ version: 1, nextId: this.#nextId, rooms });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.#file), { recursive: true });
      writeFileSync(tmp, json);
      renameSync(tmp, this.#file);
    } catch (err) {
      // The chat goes on in memory; the history just will not survive a restart.
      console.error(`chat: could not write the room history to ${this.#file}: ${err.message}`);
    }
  }

  #load(file) {
    let saved;
    try {
      saved = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      if (err.code !== "ENOENT") console.error(`chat: ignoring the room history in ${file}: ${err.message}`);
      return;
    }
    if (saved?.version !== 1 || typeof saved.rooms !== "object" || saved.rooms === null) {
      console.error(`chat: ignoring the room history in ${file}: not a version 1 history file`);
      return;
    }
    let maxId = 0;
    for (const [room, entries] of Object.entries(saved.rooms)) {
      if (!Array.isArray(entries)) continue;
      for (const raw of entries) {
        const entry = revive(raw);
        if (!entry) continue;
        maxId = Math.max(maxId, entry.id);
        this.add(room, entry);
      }
    }
    this.#nextId = Math.max(maxId + 1, Number.isSafeInteger(saved.nextId) ? saved.nextId : 1);
    // Loading is not a change.
    clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** An entry read back from the file, checked field by field (null if malformed). */
function revive(raw) {
  if (typeof raw !== "object" || raw === null) return null;
  const { kind, id, cid, nick, time } = raw;
  if (!Number.isSafeInteger(id) || typeof nick !== "string" || !Number.isFinite(time)) return null;
  const base = { id, nick, time, ...(typeof cid === "string" ? { cid } : {}) };
  if (kind === "text" && typeof raw.text === "string") return { kind, ...base, text: raw.text };
  if (kind === "file" && typeof raw.name === "string" && typeof raw.type === "string" && typeof raw.data === "string") {
    const data = Buffer.from(raw.data, "base64");
    return { kind, ...base, name: raw.name, type: raw.type, size: data.length, data };
  }
  return null;
}
