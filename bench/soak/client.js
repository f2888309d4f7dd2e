// One churning soak client (official socket.io-client): connects, lives a
// random time, disconnects on purpose, pauses, connects again as a new
// connection. Every connection's lifetime is checked on its own:
//   - room broadcasts follow on from the `welcome` sent when the server joined
//     the socket to its room: contiguous, no gap, duplicate or reordering;
//   - direct messages are numbered 1, 2, 3… per connection;
//   - each acked `work` emit gets exactly one ack with the right payload;
//     acks still in flight at a deliberate disconnect are excused, those in
//     flight at an unexpected one are counted apart, any other is missing.
import { io } from "socket.io-client";
import { SeqTrack, countReason } from "./checks.js";

/** connect_error after this long without a CONNECT answer. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** An ack older than this when its connection ends counts as missing even at a deliberate disconnect. */
const ACK_LATE_MS = 10_000;
/** Unexpected events kept with their details, per kind and worker. */
const MAX_INCIDENTS = 10;
/** Pause before retrying after a connect error (at least). */
const RETRY_MIN_MS = 200;
/** A connected client that receives nothing for this long is counted as silent (broadcasts come every tickMs). */
export const SILENT_MS = 10_000;
/** Socket.IO packet types of acks (plain and with binary attachments). */
const ACK_TYPES = new Set([3, 6]);

const uniform = (min, max) => min + Math.random() * (max - min);

/**
 * Shared state of a worker's clients.
 * @typedef {object} SoakContext
 * @property {string} url
 * @property {typeof import("./config.js").DEFAULTS} params
 * @property {ReturnType<typeof import("./checks.js").newCounters>} counters
 * @property {boolean} churning lifetimes end on their own (else connections stay up)
 * @property {boolean} emitting connected clients send acked `work` emits
 * @property {boolean} closed the worker is shutting down: nothing is counted any more
 * @property {number} connected clients currently connected
 * @property {import("node:perf_hooks").RecordableHistogram} ackLatency emit-to-ack times (µs)
 * @property {object[]} incidents details of the first unexpected events (connect errors, unexpected disconnects, silences)
 */

export class SoakClient {
  /** @type {"idle" | "connecting" | "connected" | "paused"} */
  state = "idle";
  /** Lifetime state of the current connection. */
  life = null;
  #timers = { life: null, work: null, pause: null };

  /**
   * @param {SoakContext} ctx
   * @param {number} room
   * @param {string[]} transports
   */
  constructor(ctx, room, transports) {
    this.ctx = ctx;
    this.room = room;
    this.transports = transports;
  }

  connect() {
    this.#clear("pause");
    this.state = "connecting";
    const socket = io(this.ctx.url, {
      forceNew: true,
      reconnection: false,
      transports: this.transports,
      auth: { room: this.room },
      timeout: CONNECT_TIMEOUT_MS,
    });
    const life = {
      socket,
      roomSeq: null,
      direct: new SeqTrack(0),
      inflight: new Map(),
      ackIds: new Set(),
      deliberate: false,
      n: 0,
      lastRx: 0,
      silent: false,
      connectedAt: 0,
    };
    this.life = life;
    const counters = this.ctx.counters;
    const live = () => this.life === life && !this.ctx.closed;
    socket.on("connect", () => live() && this.#onConnect());
    socket.on("connect_error", (err) => live() && this.#onConnectError(err));
    socket.on("disconnect", (reason) => live() && this.#onDisconnect(reason));
    socket.on("welcome", (r, seq) => {
      if (!live()) return;
      life.lastRx = Date.now();
      if (r !== this.room) counters.room.misrouted++;
      else if (life.roomSeq !== null) counters.room.duplicated++;
      else life.roomSeq = new SeqTrack(seq);
    });
    socket.on("tick", (r, seq) => {
      if (!live()) return;
      life.lastRx = Date.now();
      if (r !== this.room) counters.room.misrouted++;
      else if (life.roomSeq === null) {
        // a broadcast before the welcome: the join and the welcome were reordered
        counters.room.checked++;
        counters.room.outOfOrder++;
      } else life.roomSeq.see(seq, counters.room);
    });
    socket.on("direct", (seq) => {
      if (!live()) return;
      life.lastRx = Date.now();
      life.direct.see(seq, counters.direct);
    });
    // Acks at the packet level: socket.io-client drops an ack whose id it no
    // longer knows, so a duplicate would not reach the callback.
    socket.io.on("packet", (packet) => {
      if (!live() || !ACK_TYPES.has(packet.type) || packet.nsp !== "/") return;
      if (life.ackIds.has(packet.id)) counters.acks.duplicated++;
      else life.ackIds.add(packet.id);
    });
  }

  /** Connection up: count it; start churning and emitting if the soak runs. */
  #onConnect() {
    this.state = "connected";
    this.life.lastRx = this.life.connectedAt = Date.now();
    this.ctx.connected++;
    this.ctx.counters.connects++;
    if (this.ctx.churning) this.startLife();
  }

  /** Schedules this connection's deliberate end and its emits. */
  startLife() {
    const { lifeMinMs, lifeMaxMs } = this.ctx.params;
    this.#clear("life");
    this.#timers.life = setTimeout(() => this.#endLife(), uniform(lifeMinMs, lifeMaxMs));
    this.#scheduleWork();
  }

  #endLife() {
    if (this.state !== "connected" || !this.ctx.churning) return;
    this.life.deliberate = true;
    this.life.socket.disconnect(); // emits "disconnect" synchronously
  }

  #scheduleWork() {
    this.#clear("work");
    if (!this.ctx.emitting) return;
    const { workMs } = this.ctx.params;
    this.#timers.work = setTimeout(() => {
      this.#emitWork();
      this.#scheduleWork();
    }, uniform(0.5 * workMs, 1.5 * workMs));
  }

  #emitWork() {
    if (this.state !== "connected" || !this.ctx.emitting) return;
    const life = this.life;
    const n = ++life.n;
    const a = (Math.random() * 1e6) | 0;
    const b = (Math.random() * 1e6) | 0;
    const data = { a, b };
    if (n % 8 === 0) data.bin = Buffer.from([n & 255, a & 255, b & 255, 7, 0, 255]);
    life.inflight.set(n, { sum: a + b, bin: data.bin ?? null, t: Date.now(), t0: performance.now() });
    this.ctx.counters.acks.sent++;
    life.socket.emit("work", n, data, (rn, sum, bin) => {
      if (this.life !== life || this.ctx.closed) return;
      const expected = life.inflight.get(n);
      if (!expected) {
        this.ctx.counters.acks.duplicated++;
        return;
      }
      life.inflight.delete(n);
      this.ctx.ackLatency.record(Math.max(1, Math.round((performance.now() - expected.t0) * 1000)));
      const binOk = expected.bin === null ? bin === null : bin != null && Buffer.from(bin).equals(expected.bin);
      if (rn === n && sum === expected.sum && binOk) this.ctx.counters.acks.ok++;
      else this.ctx.counters.acks.wrong++;
    });
  }

  #onConnectError(err) {
    this.ctx.counters.connectErrors++;
    countReason(this.ctx.counters.errors, `${this.#kind}: ${err?.message ?? err}`);
    this.#incident("connect error", err?.message ?? err);
    this.life.socket.close();
    this.#pause(RETRY_MIN_MS);
  }

  #onDisconnect(reason) {
    const life = this.life;
    const c = this.ctx.counters;
    this.state = "paused";
    this.ctx.connected--;
    this.#clear("life");
    this.#clear("work");
    if (life.deliberate) {
      c.disconnects++;
      const now = Date.now();
      for (const { t } of life.inflight.values()) {
        if (now - t > ACK_LATE_MS) c.acks.missing++;
        else c.acks.excused++;
      }
    } else {
      c.unexpectedDisconnects++;
      countReason(c.reasons, reason);
      this.#incident("unexpected disconnect", reason);
      c.acks.cutByUnexpected += life.inflight.size;
    }
    life.inflight.clear();
    this.#pause(0);
  }

  /** Waits before the next connection (none while settling: reconnect at once). */
  #pause(minMs) {
    this.state = "paused";
    const ms = this.ctx.churning ? Math.max(minMs, uniform(0, this.ctx.params.pauseMaxMs)) : minMs;
    this.#timers.pause = setTimeout(() => this.connect(), ms);
  }

  /** Stops churning and emitting: the connection stays up; a paused client connects now. */
  settle() {
    this.#clear("life");
    this.#clear("work");
    if (this.state === "paused") this.connect();
  }

  /**
   * Counts the connection once as silent if it is up and has received
   * nothing for SILENT_MS; returns how long it has been silent (0 when not connected).
   */
  checkSilence(now) {
    if (this.state !== "connected") return 0;
    const silence = now - this.life.lastRx;
    if (silence > SILENT_MS && !this.life.silent) {
      this.life.silent = true;
      this.ctx.counters.silentConnections++;
      this.#incident("silent", `nothing received for ${SILENT_MS} ms`);
    }
    return silence;
  }

  /** Acks in flight on the current connection. */
  get inflight() {
    return this.life?.inflight.size ?? 0;
  }

  /** Closes the connection for good (nothing counted any more). */
  close() {
    for (const key of Object.keys(this.#timers)) this.#clear(key);
    this.life?.socket.disconnect();
    this.state = "idle";
  }

  get #kind() {
    return this.transports.length > 1 ? "polling" : "websocket";
  }

  /** Keeps the details of an unexpected event (the first few of each kind) for the report. */
  #incident(kind, reason) {
    const list = this.ctx.incidents;
    if (list.filter((i) => i.kind === kind).length >= MAX_INCIDENTS) return;
    const now = Date.now();
    const life = this.life;
    let oldestAck = 0;
    for (const { t } of life.inflight.values()) oldestAck = Math.max(oldestAck, now - t);
    list.push({
      at: new Date(now).toISOString(),
      kind,
      reason: String(reason),
      client: this.#kind,
      transport: life.socket.io.engine?.transport?.name ?? null,
      connectedForMs: life.connectedAt ? now - life.connectedAt : null,
      lastReceivedMsAgo: life.connectedAt ? now - life.lastRx : null,
      acksInFlight: life.inflight.size,
      oldestAckMs: oldestAck,
    });
  }

  #clear(key) {
    clearTimeout(this.#timers[key]);
    this.#timers[key] = null;
  }
}
