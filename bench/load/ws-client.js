// A raw Engine.IO v4 / Socket.IO v5 client over ws's framing, default
// namespace only. It does what the official client does on the wire (open
// packet, CONNECT `40`, pong on ping, events, acks, binary attachments as
// separate binary frames) and nothing else: no reconnection, no buffering
// while offline.
//
// The HTTP upgrade is written and checked here on a plain net.Socket, and
// ws's Receiver and Sender do the framing: ws's full client goes through
// http.ClientRequest, which costs the load generator about as much CPU per
// connection as a lean server spends accepting it (measured), and a connect
// storm must measure the server.
import net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { Receiver, Sender } from "ws";
import { EIO, SIO, parseSioHeader } from "./protocol.js";

/** Attachments accepted per binary packet (the reference parser allows 10). */
const MAX_ATTACHMENTS = 10;
/** Largest frame accepted from the server. */
const MAX_PAYLOAD = 16 * 1024 * 1024;
/** Largest HTTP response head accepted for the upgrade. */
const MAX_HEAD_BYTES = 8 * 1024;
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const CRLFCRLF = Buffer.from("\r\n\r\n");

// A few random Sec-WebSocket-Key values with their expected accept values,
// computed once: the server cannot tell them from fresh ones.
const KEYS = Array.from({ length: 16 }, () => {
  const key = randomBytes(16).toString("base64");
  return { key, accept: createHash("sha1").update(key + WS_GUID).digest("base64") };
});
let keyIndex = 0;

// RFC 6455 asks clients for a random mask; servers cannot check it, and an
// all-zero key lets ws skip the XOR pass over every outgoing payload.
const zeroMask = (mask) => mask.fill(0);

/** Bytes a read of a client with `largeReads` may take. */
const LARGE_READ_BYTES = 256 * 1024;
/**
 * A fresh buffer for every read: the Receiver may keep views of a read until
 * its frame completes, so reads are never copied out of a shared buffer
 * (copying was 47-59% of the load generator's CPU in binary-echo, measured).
 */
const newReadBuffer = () => Buffer.allocUnsafe(LARGE_READ_BYTES);

const SEND_TEXT = Object.freeze({ binary: false, fin: true, mask: true, compress: false });
const SEND_BINARY = Object.freeze({ binary: true, fin: true, mask: true, compress: false });

/**
 * Flushes the frames a client wrote during one event-loop turn as one
 * `writev`.
 * @param {SioWsClient} client
 */
function uncork(client) {
  client.corked = false;
  client.socket.uncork();
}

/**
 * @typedef {object} SioWsClientOptions
 * @property {number} port server port on 127.0.0.1
 * @property {string} [sid] Engine.IO session id to upgrade (polling → websocket); omitted for a
 *   direct WebSocket handshake
 * @property {boolean} [connect] send CONNECT `40` after the open packet (direct handshakes only).
 *   @default true
 * @property {boolean} [largeReads] read up to 1 MiB per syscall (for large frames; each read is
 *   copied once). @default false
 * @property {string} [localAddress] source address of the TCP connection (e.g. 127.0.0.2: each
 *   loopback address has its own ephemeral ports). @default the kernel's choice
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
  /** BINARY_EVENT packets once all attachments arrived. @type {(header: Buffer, attachments: Buffer[]) => void} */
  onbinaryevent = noop;
  /** `3probe` on an upgrading socket. @type {() => void} */
  onprobe = noop;
  /** An Engine.IO PING arrived (the PONG is already sent). @type {() => void} */
  onping = noop;
  /** Protocol or transport failure. @type {(err: Error) => void} */
  onerror = noop;
  /** The TCP connection is gone, whatever the cause (called once, after onerror if any). @type {() => void} */
  onclose = noop;

  /** Whether a cork is pending for this turn. */
  corked = false;
  connected = false;
  closed = false;
  /** @type {net.Socket} */
  socket;

  /** @type {Sender | null} */
  #sender = null;
  /** @type {Receiver | null} set once the upgrade succeeded */
  #receiver = null;
  /** expected Sec-WebSocket-Accept */
  #accept;
  #upgrading;
  #sendConnect;
  /** @type {Buffer[]} response bytes until the end of the upgrade head */
  #head = [];
  /** @type {{ type: number, ackId: number, header: Buffer, remaining: number, attachments: Buffer[] } | null} */
  #pendingBinary = null;

  /** @param {SioWsClientOptions} options */
  constructor(options) {
    const { port, sid, connect = true } = options;
    this.#upgrading = sid !== undefined;
    this.#sendConnect = connect && !this.#upgrading;
    const query = this.#upgrading ? `EIO=4&transport=websocket&sid=${sid}` : "EIO=4&transport=websocket";
    const { key, accept } = KEYS[keyIndex++ % KEYS.length];
    // With largeReads, the kernel hands over up to LARGE_READ_BYTES per read
    // into one shared buffer and each read is copied out once; big frames
    // then mostly arrive whole, so the Receiver slices them instead of
    // concatenating 64 KiB pieces (measured: less load-generator CPU per MB).
    const socket = net.connect({
      port,
      host: "127.0.0.1",
      noDelay: true,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...(options.largeReads ? { onread: { buffer: newReadBuffer, callback: (n, buf) => this.#onBytes(buf.subarray(0, n)) } } : {}),
    });
    this.socket = socket;
    if (!options.largeReads) socket.on("data", (chunk) => this.#onBytes(chunk));
    this.#accept = accept;
    socket.once("connect", () => {
      socket.write(
        `GET /socket.io/?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      );
    });
    socket.on("error", (err) => this.#fail(err));
    socket.on("close", () => {
      this.closed = true;
      this.connected = false;
      this.onclose();
    });
  }

  /** Sends one Engine.IO message (text with its type digit, or a binary attachment as a Buffer). */
  send(data) {
    if (this.closed || this.#sender === null) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.#sender.send(data, typeof data === "string" ? SEND_TEXT : SEND_BINARY);
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
    this.socket.destroy();
  }

  /** @param {Buffer} chunk bytes read from the socket */
  #onBytes(chunk) {
    if (this.#receiver !== null) {
      if (!this.#receiver.write(chunk)) this.socket.pause();
      return;
    }
    this.#head.push(chunk);
    const all = this.#head.length === 1 ? chunk : Buffer.concat(this.#head);
    const end = all.indexOf(CRLFCRLF);
    if (end === -1) {
      if (all.length > MAX_HEAD_BYTES) this.#fail(new Error("upgrade response head too large"));
      return;
    }
    this.#head = [];
    const head = all.toString("latin1", 0, end);
    if (!head.startsWith("HTTP/1.1 101")) return this.#fail(new Error(`upgrade refused: ${head.split("\r\n")[0]} ${all.toString("utf8", end + 4, end + 124)}`));
    if (headerValue(head, "sec-websocket-accept") !== this.#accept) {
      return this.#fail(new Error("upgrade response without the right Sec-WebSocket-Accept"));
    }
    this.#open(all.subarray(end + 4));
  }

  /** @param {Buffer} rest bytes that followed the upgrade head */
  #open(rest) {
    const socket = this.socket;
    const receiver = new Receiver({ isServer: false, maxPayload: MAX_PAYLOAD, skipUTF8Validation: true, allowSynchronousEvents: true });
    this.#receiver = receiver;
    this.#sender = new Sender(socket, {}, zeroMask);
    receiver.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    receiver.on("ping", (data) => this.#sender.pong(data, true));
    receiver.on("conclude", () => this.close());
    receiver.on("error", (err) => this.#fail(err));
    receiver.on("drain", () => socket.resume());
    if (this.#upgrading) this.send("2probe");
    if (rest.length > 0) this.#onBytes(rest);
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
        else this.onbinaryevent(pending.header, pending.attachments);
      }
      return;
    }
    if (this.#pendingBinary !== null) return this.#fail(new Error("text frame while attachments were expected"));
    switch (data[0]) {
      case EIO.MESSAGE:
        return this.#onSioPacket(data);
      case EIO.PING:
        this.send("3");
        return this.onping();
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

/**
 * Value of a header in an HTTP response head (first occurrence), or null.
 * @param {string} head
 * @param {string} name lower-case header name
 */
function headerValue(head, name) {
  const lines = head.split("\r\n");
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    if (colon > 0 && lines[i].slice(0, colon).trim().toLowerCase() === name) return lines[i].slice(colon + 1).trim();
  }
  return null;
}

function noop() {}
