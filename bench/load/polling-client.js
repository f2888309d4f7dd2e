// A raw Engine.IO v4 long-polling session with Socket.IO on the default
// namespace, over two keep-alive connections (one for the held GET, one for
// POSTs), as a browser would. Like the official client it keeps at most one
// GET and one POST in flight and sends everything queued meanwhile as one
// `\x1e`-joined POST body.
import { HttpConn } from "./http-conn.js";
import { EIO, SIO, parseSioHeader, splitPayload, RECORD_SEPARATOR } from "./protocol.js";

/** Engine.IO messages queued for the next POST before the session counts as stuck. */
const MAX_QUEUED = 10000;

export class SioPollingClient {
  /** CONNECT reply received. @type {() => void} */
  onconnect = noop;
  /** EVENT packets: the message text and the index where the JSON array starts. @type {(data: string, start: number) => void} */
  onevent = noop;
  /** ACK packets. @type {(id: number, data: string, start: number) => void} */
  onack = noop;
  /** Any failure; the session is closed afterwards. @type {(err: Error) => void} */
  onerror = noop;

  sid = "";
  connected = false;
  closed = false;

  #getConn;
  #postConn;
  #path = "";
  /** @type {string[]} */
  #queue = [];
  #posting = false;
  #paused = false;
  /** @type {(() => void) | null} */
  #onPaused = null;

  /** @param {{ port: number }} options */
  constructor({ port }) {
    this.#getConn = new HttpConn(port);
    this.#postConn = new HttpConn(port);
  }

  /** Handshake, CONNECT to `/`, then keep a GET pending. Resolves on the CONNECT reply. */
  async open() {
    const res = await this.#getConn.request("GET", "/socket.io/?EIO=4&transport=polling");
    const body = res.body.toString("utf8");
    if (res.status !== 200 || body.charCodeAt(0) !== EIO.OPEN) {
      throw new Error(`polling handshake failed: ${res.status} ${body.slice(0, 120)}`);
    }
    const packets = splitPayload(body);
    this.sid = JSON.parse(packets[0].slice(1)).sid;
    this.#path = `/socket.io/?EIO=4&transport=polling&sid=${this.sid}`;
    const connected = new Promise((resolve, reject) => {
      this.onconnect = resolve;
      this.onerror = reject;
    });
    for (let i = 1; i < packets.length; i++) this.#dispatch(packets[i]);
    this.send("40");
    this.#pollLoop();
    await connected;
    this.onconnect = noop;
    this.onerror = noop;
  }

  /** Queues one Engine.IO text message (with its type digit) for the next POST. */
  send(message) {
    if (this.closed) return;
    if (this.#queue.length >= MAX_QUEUED) return this.#fail(new Error("POST queue full: the server stopped reading"));
    this.#queue.push(message);
    this.#flush();
  }

  /**
   * Stops polling for an upgrade: resolves once the pending GET has returned
   * (the server releases it with a noop after `3probe`) and no new GET is sent.
   */
  pause() {
    this.#paused = true;
    return new Promise((resolve) => {
      this.#onPaused = resolve;
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.#getConn.close();
    this.#postConn.close();
  }

  #fail(err) {
    if (this.closed) return;
    this.onerror(err);
    this.close();
  }

  async #pollLoop() {
    try {
      while (!this.closed && !this.#paused) {
        const res = await this.#getConn.request("GET", this.#path);
        if (res.status !== 200) throw new Error(`poll failed: ${res.status} ${res.body.toString("utf8", 0, 120)}`);
        const packets = splitPayload(res.body.toString("utf8"));
        for (let i = 0; i < packets.length && !this.closed; i++) this.#dispatch(packets[i]);
      }
    } catch (err) {
      return this.#fail(err);
    }
    const onPaused = this.#onPaused;
    this.#onPaused = null;
    if (onPaused !== null) onPaused();
  }

  #flush() {
    if (this.#posting || this.#queue.length === 0) return;
    const body = this.#queue.length === 1 ? this.#queue[0] : this.#queue.join(RECORD_SEPARATOR);
    this.#queue = [];
    this.#posting = true;
    this.#postConn.request("POST", this.#path, body).then(
      (res) => {
        this.#posting = false;
        if (res.status !== 200) return this.#fail(new Error(`POST failed: ${res.status} ${res.body.toString("utf8", 0, 120)}`));
        this.#flush();
      },
      (err) => this.#fail(err),
    );
  }

  /** @param {string} packet one Engine.IO packet of a polling payload */
  #dispatch(packet) {
    switch (packet.charCodeAt(0)) {
      case EIO.MESSAGE:
        return this.#onSioPacket(packet);
      case EIO.PING:
        return this.send("3");
      case EIO.NOOP:
        return;
      case EIO.CLOSE:
        return this.#fail(new Error("server closed the session"));
      default:
        return this.#fail(new Error(`unexpected polling packet ${JSON.stringify(packet.slice(0, 40))} (this client has no binary support)`));
    }
  }

  /** @param {string} packet */
  #onSioPacket(packet) {
    const type = packet.charCodeAt(1);
    if (type === SIO.EVENT) return this.onevent(packet, 2);
    const h = parseSioHeader(packet, 1);
    if (type === SIO.ACK) return this.onack(h.ackId, packet, h.payloadStart);
    if (type === SIO.CONNECT) {
      this.connected = true;
      return this.onconnect();
    }
    return this.#fail(new Error(`unexpected Socket.IO packet ${JSON.stringify(packet.slice(0, 80))}`));
  }
}

function noop() {}
