// Messages and files this page sent and the server has not confirmed yet.
// Each carries a client id (cid). While the connection is down they wait;
// when it is back (and the room joined again) they are sent again with the
// same id, and the server answers a message it already has with that one,
// so nothing is posted twice. A send the server refused, or one it did not
// answer while connected, is marked failed with a retry button.
import * as messages from "./messages.js";

const ACK_TIMEOUT = { text: 5000, file: 15000 };
/** Most unconfirmed items, and most bytes of unconfirmed files, kept. */
const MAX_ITEMS = 50;
const MAX_FILE_BYTES = 2 * 1024 * 1024;

export class Outbox {
  /** @type {Map<string, { cid: string, kind: "text" | "file", room: string, payload: object, size: number, state: string }>} */
  #items = new Map();
  #socket;
  /** Whether the page may send now: connected and in its room. */
  #ready;
  /** Called with each server entry that confirms an item. */
  #onConfirmed;

  constructor(socket, { ready, onConfirmed }) {
    this.#socket = socket;
    this.#ready = ready;
    this.#onConfirmed = onConfirmed;
  }

  get size() {
    return this.#items.size;
  }

  #fileBytes() {
    let n = 0;
    for (const item of this.#items.values()) n += item.size;
    return n;
  }

  /**
   * Queues a message ({ text }) or a file ({ name, type, data }) and sends it
   * when possible. Returns an error text when the outbox is full.
   */
  add(cid, kind, room, payload) {
    const size = kind === "file" ? payload.data.byteLength : 0;
    if (this.#items.size >= MAX_ITEMS) return `${MAX_ITEMS} messages are already waiting to be sent`;
    if (size && this.#fileBytes() + size > MAX_FILE_BYTES) return "too many files are already waiting to be sent";
    this.#items.set(cid, { cid, kind, room, payload, size, state: "new" });
    this.#send(cid);
    return null;
  }

  /** Sends everything that waits (after a reconnection). */
  flush() {
    for (const [cid, item] of this.#items) if (item.state === "waiting") this.#send(cid);
  }

  /** The server has this entry (it came back in a broadcast or the history). */
  confirmed(cid) {
    this.#items.delete(cid);
  }

  /** Forgets what was queued for another room; returns how many. */
  dropOtherRooms(room) {
    let dropped = 0;
    for (const [cid, item] of this.#items) {
      if (item.room === room) continue;
      this.#items.delete(cid);
      messages.dropLocal(cid);
      dropped++;
    }
    return dropped;
  }

  /** Marks whatever waits for an answer as waiting for the connection. */
  disconnected() {
    for (const [cid, item] of this.#items) {
      if (item.state !== "failed") this.#setState(cid, item, "waiting");
    }
  }

  #setState(cid, item, state, reason) {
    item.state = state;
    messages.setLocalState(cid, state, { reason, onRetry: () => this.#send(cid) });
  }

  #send(cid) {
    const item = this.#items.get(cid);
    if (!item) return;
    if (!this.#ready()) return this.#setState(cid, item, "waiting");
    this.#setState(cid, item, "sending");
    const event = item.kind === "file" ? "file" : "message";
    this.#socket.timeout(ACK_TIMEOUT[item.kind]).emit(event, { cid, ...item.payload }, (err, res) => {
      if (this.#items.get(cid) !== item) return; // already confirmed, or dropped
      if (err) {
        // Disconnected meanwhile: sent again (same id) once the connection is back.
        if (!this.#socket.connected) return this.#setState(cid, item, "waiting");
        return this.#setState(cid, item, "failed", "no answer from the server");
      }
      if (!res.ok) return this.#setState(cid, item, "failed", res.error);
      this.#items.delete(cid);
      this.#onConfirmed(item, res);
    });
  }
}
