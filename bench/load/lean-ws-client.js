// A lean WebSocket session for the scale scenario's idle clients: the least
// work per received message, so that the latency of one broadcast to 18,000
// clients measures the server rather than the load generator.
//
// Compared with ws-client.js: no ws Receiver/Sender (a Writable stream per
// connection), no Readable 'data' events: the socket reads straight into one
// buffer shared by every client of the process (`onread`; reads are handled
// synchronously, so the buffer is free again when the callback returns) and
// frames are parsed in place. Only what an idle client sees is understood:
// unfragmented, unmasked text frames (open packet, CONNECT reply, pings,
// events) and close frames. A frame split across reads is reassembled in a
// per-client buffer. Pongs are written as ready-made masked frames.
import net from "node:net";
import { createHash, randomBytes } from "node:crypto";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Largest frame accepted (an idle client gets small ones). */
const MAX_FRAME = 1024 * 1024;
/** Largest HTTP response head accepted for the upgrade. */
const MAX_HEAD_BYTES = 8 * 1024;
/** Bytes one read may take: every client of the process reads into this one buffer. */
const shared = Buffer.allocUnsafe(256 * 1024);

/** A masked (all-zero key: the payload goes as is) text frame, client to server. */
function maskedTextFrame(text) {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new Error("lean client frames are short");
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}
const PONG = maskedTextFrame("3");
const CONNECT = maskedTextFrame("40");
const CLOSE = Buffer.from([0x88, 0x80, 0, 0, 0, 0]);

const KEYS = Array.from({ length: 16 }, () => {
  const key = randomBytes(16).toString("base64");
  return { key, accept: createHash("sha1").update(key + WS_GUID).digest("base64") };
});
let keyIndex = 0;

const CH_0 = 0x30;
const CH_2 = 0x32;
const CH_4 = 0x34;

export class LeanWsClient {
  /** CONNECT to `/` answered. @type {() => void} */
  onconnect = noop;
  /** An EVENT packet: the frame's bytes in `data` from `start` (the JSON array) to `end`. Valid during the call only. */
  onevent = noop;
  /** An Engine.IO PING arrived (the PONG is already written). */
  onping = noop;
  /** @type {(err: Error) => void} */
  onerror = noop;
  /** The TCP connection is gone. */
  onclose = noop;
  connected = false;
  closed = false;

  /** @type {net.Socket} */
  socket;
  #accept;
  /** Bytes of the upgrade response head so far, or null once upgraded. @type {Buffer[] | null} */
  #head = [];
  /** The start of a frame that a read cut, or null. @type {Buffer | null} */
  #partial = null;

  /** @param {{ port: number, localAddress?: string }} options */
  constructor({ port, localAddress }) {
    const { key, accept } = KEYS[keyIndex++ % KEYS.length];
    this.#accept = accept;
    const socket = net.connect({
      port,
      host: "127.0.0.1",
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
      onread: { buffer: shared, callback: (n, buf) => this.#onRead(buf, n) },
    });
    this.socket = socket;
    socket.once("connect", () => {
      socket.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\n` +
          `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      );
    });
    socket.on("error", (err) => this.#fail(err));
    socket.on("close", () => {
      this.closed = true;
      this.connected = false;
      this.onclose();
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }

  /** @param {Buffer} buf the shared read buffer @param {number} n bytes read into it */
  #onRead(buf, n) {
    if (this.#head !== null) {
      // The upgrade response: copied (rare, once per connection).
      this.#head.push(Buffer.from(buf.subarray(0, n)));
      const all = Buffer.concat(this.#head);
      const end = all.indexOf("\r\n\r\n");
      if (end === -1) {
        if (all.length > MAX_HEAD_BYTES) this.#fail(new Error("upgrade response head too large"));
        return;
      }
      const head = all.toString("latin1", 0, end);
      if (!head.startsWith("HTTP/1.1 101")) return this.#fail(new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
      if (!head.toLowerCase().includes(`sec-websocket-accept: ${this.#accept.toLowerCase()}`)) {
        return this.#fail(new Error("upgrade response without the right Sec-WebSocket-Accept"));
      }
      this.#head = null;
      const rest = all.subarray(end + 4);
      if (rest.length > 0) this.#frames(rest, 0, rest.length);
      return;
    }
    let data = buf;
    let length = n;
    if (this.#partial !== null) {
      data = Buffer.concat([this.#partial, buf.subarray(0, n)]);
      length = data.length;
      this.#partial = null;
    }
    this.#frames(data, 0, length);
  }

  /** Handles the complete frames in data[offset, end); keeps a copy of a cut one. */
  #frames(data, offset, end) {
    while (offset < end && !this.closed) {
      if (end - offset < 2) break;
      const b0 = data[offset];
      let len = data[offset + 1];
      let start = offset + 2;
      if (len & 0x80) return this.#fail(new Error("masked frame from the server"));
      if (len === 126) {
        if (end - offset < 4) break;
        len = data.readUInt16BE(offset + 2);
        start = offset + 4;
      } else if (len === 127) {
        if (end - offset < 10) break;
        len = data.readUInt32BE(offset + 2) * 0x100000000 + data.readUInt32BE(offset + 6);
        start = offset + 10;
      }
      if (len > MAX_FRAME) return this.#fail(new Error(`frame of ${len} bytes`));
      if (end - start < len) break;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x80) === 0 || (opcode !== 0x1 && opcode !== 0x8)) {
        return this.#fail(new Error(`unexpected frame (byte 0 = ${b0})`));
      }
      if (opcode === 0x8) {
        this.socket.write(CLOSE);
        this.close();
        return;
      }
      this.#message(data, start, start + len);
      offset = start + len;
    }
    if (offset < end && !this.closed) this.#partial = Buffer.from(data.subarray(offset, end));
  }

  /** One Engine.IO text packet in data[start, end). */
  #message(data, start, end) {
    const type = data[start];
    if (type === CH_2) {
      if (end - start === 1) {
        this.socket.write(PONG);
        this.onping();
      }
      return;
    }
    if (type === CH_4) {
      const sio = data[start + 1];
      if (sio === CH_2) return this.onevent(data, start + 2, end);
      if (sio === CH_0 && !this.connected) {
        this.connected = true;
        return this.onconnect();
      }
      return this.#fail(new Error(`unexpected Socket.IO packet ${data.toString("utf8", start, Math.min(end, start + 60))}`));
    }
    if (type === CH_0) {
      this.socket.write(CONNECT);
      return;
    }
    if (type === 0x31 /* close */) return this.close();
    // noop ("6") and anything else an idle client can ignore
  }

  #fail(err) {
    if (this.closed) return;
    this.onerror(err);
    this.close();
  }
}

/**
 * Opens a lean session and connects it to `/`.
 * @param {number} port
 * @param {(err: Error) => void} onLateError failures after the connection succeeded
 * @param {string} [localAddress]
 * @returns {Promise<LeanWsClient>}
 */
export function connectLean(port, onLateError, localAddress) {
  return new Promise((resolve, reject) => {
    const client = new LeanWsClient({ port, localAddress });
    client.onconnect = () => {
      client.onerror = onLateError;
      resolve(client);
    };
    client.onerror = reject;
    client.onclose = () => reject(new Error("closed before CONNECT"));
  });
}

function noop() {}
