// A keep-alive HTTP/1.1 client connection on a raw `net` socket, one request
// at a time. Node's http Agent costs more CPU per request than the servers
// under test spend answering it, so the polling scenarios use this instead.
import net from "node:net";

/** Largest response head accepted. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Largest response body accepted. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

const CRLFCRLF = Buffer.from("\r\n\r\n");

/**
 * @typedef {object} HttpResponse
 * @property {number} status
 * @property {Buffer} body
 */

export class HttpConn {
  #socket;
  #host;
  /** @type {{ resolve: (r: HttpResponse) => void, reject: (e: Error) => void } | null} */
  #pending = null;
  /** @type {Buffer[]} */
  #chunks = [];
  #buffered = 0;
  /** Parsed head of the response being read, or null while the head is incomplete. */
  #head = null;
  #closed = false;
  #connecting;

  /** @param {number} port */
  constructor(port) {
    this.#host = `127.0.0.1:${port}`;
    this.#socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    this.#connecting = new Promise((resolve, reject) => {
      this.#socket.once("connect", resolve);
      this.#socket.once("error", reject);
    });
    this.#connecting.catch(() => {});
    this.#socket.on("data", (chunk) => this.#onData(chunk));
    this.#socket.on("error", (err) => this.#fail(err));
    this.#socket.on("close", () => this.#fail(new Error("connection closed by the server")));
  }

  get busy() {
    return this.#pending !== null;
  }

  /**
   * Sends one request and resolves with the whole response.
   * @param {"GET"|"POST"} method
   * @param {string} path
   * @param {string} [body] UTF-8 text body (POST)
   * @returns {Promise<HttpResponse>}
   */
  async request(method, path, body) {
    if (this.#closed) throw new Error("connection closed");
    if (this.#pending !== null) throw new Error("HttpConn: one request at a time");
    await this.#connecting;
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.#host}\r\nConnection: keep-alive\r\n`;
    if (body !== undefined) {
      head += `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      this.#socket.write(head + body);
    } else {
      this.#socket.write(head + "\r\n");
    }
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
  }

  close() {
    this.#closed = true;
    this.#socket.destroy();
  }

  #fail(err) {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) pending.reject(err);
    this.#socket.destroy();
  }

  /** @param {Buffer} chunk */
  #onData(chunk) {
    if (this.#pending === null) return this.#fail(new Error("unsolicited data from the server"));
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#head === null) {
      const all = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks);
      const end = all.indexOf(CRLFCRLF);
      if (end === -1) {
        if (this.#buffered > MAX_HEAD_BYTES) this.#fail(new Error("response head too large"));
        return;
      }
      this.#head = parseHead(all.toString("latin1", 0, end));
      if (this.#head instanceof Error) return this.#fail(this.#head);
      this.#chunks = [all.subarray(end + 4)];
      this.#buffered = all.length - end - 4;
    }
    const head = this.#head;
    if (head.chunked) return this.#readChunked(head);
    if (this.#buffered > MAX_BODY_BYTES) return this.#fail(new Error("response body too large"));
    if (this.#buffered < head.length) return;
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    if (all.length > head.length) return this.#fail(new Error("extra bytes after the response body"));
    this.#complete(head, all);
  }

  #readChunked(head) {
    if (this.#buffered > MAX_BODY_BYTES) return this.#fail(new Error("response body too large"));
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [all];
    const parts = [];
    let i = 0;
    for (;;) {
      const eol = all.indexOf("\r\n", i);
      if (eol === -1) return;
      const size = parseInt(all.toString("latin1", i, eol), 16);
      if (!Number.isFinite(size) || size < 0) return this.#fail(new Error("bad chunk size"));
      if (all.length < eol + 2 + size + 2) return;
      if (size === 0) break; // no trailers expected from these servers
      parts.push(all.subarray(eol + 2, eol + 2 + size));
      i = eol + 2 + size + 2;
    }
    this.#complete(head, Buffer.concat(parts));
  }

  #complete(head, body) {
    const pending = this.#pending;
    this.#pending = null;
    this.#head = null;
    this.#chunks = [];
    this.#buffered = 0;
    if (head.close) this.close();
    pending.resolve({ status: head.status, body });
  }
}

/**
 * @param {string} text response head without the final blank line
 * @returns {{ status: number, length: number, chunked: boolean, close: boolean } | Error}
 */
function parseHead(text) {
  const lines = text.split("\r\n");
  const status = parseInt(lines[0].slice(9, 12), 10);
  if (!lines[0].startsWith("HTTP/1.") || !Number.isFinite(status)) return new Error(`bad status line: ${lines[0]}`);
  let length = 0;
  let chunked = false;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-length") length = parseInt(value, 10);
    else if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
    else if (name === "connection") close = value.toLowerCase() === "close";
  }
  if (!Number.isFinite(length) || length < 0 || length > MAX_BODY_BYTES) return new Error("bad content-length");
  return { status, length, chunked, close };
}
