// A raw Engine.IO v4 / Socket.IO v5 client over `ws`, default namespace only.
// It does what the official client does on the wire (open packet, CONNECT
// `40`, pong on ping, events, acks, binary attachments as separate binary
// frames) and nothing else: no reconnection, no buffering while offline.
import WebSocket from "ws";
import { EIO, SIO, parseSioHeader } from "./protocol.js";

/** Attachments accepted per binary packet (the reference parser allows 10). */
const MAX_ATTACHMENTS = 10;

// RFC 6455 asks clients for a random mask; servers cannot check it, and an
// all-zero key lets ws skip the XOR pass over every outgoing payload.
const zeroMask = (mask) => mask.fill(0);

const WS_OPTIONS = Object.freeze({
  perMessageDeflate: false,
  skipUTF8Validation: true,
  generateMask: zeroMask,
  handshakeTimeout: 15000,
});

/**
 * Flushes the writes a client made during one event-loop turn as one
 * `writev` (ws writes each frame separately otherwise).
 * @param {SioWsClient} client
 */
function uncork(client) {
  client.corked = false;
  const socket = client.rawSocket;
  if (socket !== null) socket.uncork();
}

/**
 * @typedef {object} SioWsClientOptions
 * @property {number} port server port on 127.0.0.1
 * @property {string} [sid] Engine.IO session id to upgrade (polling → websocket); omitted for a
 *   direct WebSocket handshake
 * @property {boolean} [connect] send CONNECT `40` after the open packet (direct handshakes only).
 *   @default true
 */

export class SioWsClient {
  /** Called once the CONNECT reply `40{"sid":…}` arrived. @type {() => void} */
  onconnect = noop;
  /** EVENT packets: the frame bytes and the index where the JSON array starts. @type {(data: Buffer, start: number) => void} */
  onevent = noop;
  /** ACK packets: ack id, frame bytes, index where the JSON array starts. @type {(id: number, data: Buffer, start: number) => void} */
  onack = noop;
  /** BINARY_ACK packets once all attachments arrived. @type {(id: number, header: Buffer, attachments: Buffer[]) => void} */
  onbinaryack = noop;
  /** `3probe` on an upgrading socket. @type {() => void} */
  onprobe = noop;
  /** Protocol or transport failure. @type {(err: Error) => void} */
  onerror = noop;
  /** Socket closed (after an error too). @type {(code: number) => void} */
  onclose = noop;

  /** Whether a cork is pending for this turn. */
  corked = false;
  /** @type {import("node:net").Socket | null} */
  rawSocket = null;
  connected = false;
  closed = false;

  #ws;
  #upgrading;
  #sendConnect;
  /** @type {{ type: number, ackId: number, header: Buffer, remaining: number, attachments: Buffer[] } | null} */
  #pendingBinary = null;

  /** @param {SioWsClientOptions} options */
  constructor(options) {
    const { port, sid, connect = true } = options;
    this.#upgrading = sid !== undefined;
    this.#sendConnect = connect && !this.#upgrading;
    const query = this.#upgrading ? `EIO=4&transport=websocket&sid=${sid}` : "EIO=4&transport=websocket";
    this.#ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?${query}`, WS_OPTIONS);
    this.#ws.on("open", () => this.#onOpen());
    this.#ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    this.#ws.on("error", (err) => this.#fail(err));
    this.#ws.on("close", (code) => {
      this.closed = true;
      this.connected = false;
      this.rawSocket = null;
      this.onclose(code);
    });
  }

  /** Sends one Engine.IO message (text with its type digit, or a binary attachment). */
  send(data) {
    if (this.closed) return;
    if (!this.corked && this.rawSocket !== null) {
      this.corked = true;
      this.rawSocket.cork();
      process.nextTick(uncork, this);
    }
    this.#ws.send(data);
  }

  /** Sends a binary packet: header text frame then each attachment as a binary frame. */
  sendBinary(header, attachments) {
    this.send(header);
    for (const a of attachments) this.send(a);
  }

  /** Finishes a polling → websocket upgrade (after `3probe` and the paused poll). */
  completeUpgrade() {
    this.#upgrading = false;
    this.connected = true;
    this.send("5");
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.#ws.terminate();
  }

  #onOpen() {
    // ws exposes the net.Socket only as a private field; corking it is how
    // the client batches a turn's frames into one write.
    this.rawSocket = this.#ws._socket ?? null;
    if (this.#upgrading) this.send("2probe");
  }

  #fail(err) {
    if (this.closed) return;
    this.onerror(err);
    this.close();
  }

  /** @param {Buffer} data @param {boolean} isBinary */
  #onMessage(data, isBinary) {
    if (isBinary) {
      const pending = this.#pendingBinary;
      if (pending === null) return this.#fail(new Error("unexpected binary frame"));
      pending.attachments.push(data);
      if (--pending.remaining === 0) {
        this.#pendingBinary = null;
        if (pending.type === SIO.BINARY_ACK) this.onbinaryack(pending.ackId, pending.header, pending.attachments);
      }
      return;
    }
    if (this.#pendingBinary !== null) return this.#fail(new Error("text frame while attachments were expected"));
    switch (data[0]) {
      case EIO.MESSAGE:
        return this.#onSioPacket(data);
      case EIO.PING:
        return this.send("3");
      case EIO.OPEN:
        if (this.#sendConnect) this.send("40");
        return;
      case EIO.PONG:
        if (this.#upgrading && data.length === 6) this.onprobe(); // "3probe"
        return;
      case EIO.NOOP:
        return;
      case EIO.CLOSE:
        return this.close();
      default:
        return this.#fail(new Error(`unknown Engine.IO packet type ${String.fromCharCode(data[0])}`));
    }
  }

  /** @param {Buffer} data */
  #onSioPacket(data) {
    const type = data[1];
    if (type === SIO.EVENT) return this.onevent(data, 2);
    const h = parseSioHeader(data, 1);
    switch (type) {
      case SIO.ACK:
        return this.onack(h.ackId, data, h.payloadStart);
      case SIO.CONNECT:
        this.connected = true;
        return this.onconnect();
      case SIO.BINARY_ACK:
      case SIO.BINARY_EVENT:
        if (h.attachments < 1 || h.attachments > MAX_ATTACHMENTS) {
          return this.#fail(new Error("bad attachment count"));
        }
        this.#pendingBinary = { type, ackId: h.ackId, header: data, remaining: h.attachments, attachments: [] };
        return;
      case SIO.CONNECT_ERROR:
        return this.#fail(new Error(`CONNECT refused: ${data.toString("utf8", 2, 200)}`));
      case SIO.DISCONNECT:
        return this.close();
      default:
        return this.#fail(new Error(`unknown Socket.IO packet type ${String.fromCharCode(type)}`));
    }
  }
}

function noop() {}
