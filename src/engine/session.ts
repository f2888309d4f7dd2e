/**
 * One Engine.IO session (class `Socket`, as engine.io names it): state
 * machine, heartbeat, upgrade and the outbound queue.
 *
 * Write path: `send()` appends to the queue and marks the session dirty; the
 * shared flush scheduler hands the whole queue to the transport once per
 * event-loop turn. Invariant: packets only ever leave through the current
 * transport, in queue order, so nothing is lost or reordered across an
 * upgrade (the queue waits while neither transport can take it).
 * The queue and its bound (maxBufferedBytes) are in ./outbound-queue.ts,
 * queueing and flushing in ./session-flush.ts, the heartbeat's phases and
 * clock in ./heartbeat.ts.
 *
 * Listeners are the application's: an exception thrown by one is raised
 * again from a fresh stack (core/rethrow.ts) once the session's own work
 * is done, and never closes the session.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { logger } from "../core/debug.js";
import { useLightListenerStore } from "../core/listener-store.js";
import { initTimerEntry, timers, type TimerEntry } from "../core/timers.js";
import { rethrowLater } from "../core/rethrow.js";
import type { SendOptions } from "../core/types.js";
import type { Flushable } from "./flush-scheduler.js";
import { OutboundQueue, overflowError } from "./outbound-queue.js";
import { openPacketData, toMessageData, type DecodedPacket, type MessageData, type Packet, type PacketType } from "./packet.js";
import type { Server } from "./server.js";
import type { Transport, TransportHost } from "./transports/transport.js";
import { UpgradeAttempt, type UpgradeOwner } from "./upgrade.js";
import { withCause, type CauseRequest } from "../observe/causes.js";
import { closeCause, transportError } from "./close-cause.js";
import { clockMs, elapsedMs, HB_AWAIT_CLIENT_PING, HB_AWAIT_PING_TIME, HB_AWAIT_PONG, HB_IDLE, pingDelay } from "./heartbeat.js";
import { flushQueue, queuePacket } from "./session-flush.js";

const log = logger("engine", "session");

export type ReadyState = "opening" | "open" | "closing" | "closed";

/** Why a session ended; engine.io's reasons plus "buffer overflow". */
export type CloseReason =
  | "transport close"
  | "transport error"
  | "parse error"
  | "ping timeout"
  | "forced close"
  | "buffer overflow";

const NOOP: Packet = Object.freeze({ type: "noop" }) as Packet;

const SERVER_DISCONNECT: CauseRequest = Object.freeze({ code: "server_disconnect" });

export class Socket extends EventEmitter implements TimerEntry, Flushable, TransportHost, UpgradeOwner {
  readonly id: string;
  /** Engine.IO revision of the client: 4, or 3 for Socket.IO v2 clients. */
  readonly protocol: 3 | 4;
  readonly server: Server;
  /** The first request of the session. */
  readonly request: IncomingMessage;
  readonly remoteAddress: string;
  readyState: ReadyState = "opening";
  /** The current transport: `name` and `writable` are public. */
  transport: Transport;
  upgrading = false;
  upgraded = false;

  readonly #out = new OutboundQueue();
  #closeAfterFlush = false;
  #heartbeat = HB_IDLE;
  /** v4: whether the pong deadline was already extended once for this ping. */
  #pongGrace = false;
  #upgrade: UpgradeAttempt | null = null;
  /** When the last ping left (ms, from clockMs()), and the last ping's round trip (-1: none yet). */
  #pingAt = 0;
  #rtt = -1;
  /** Why the server closes this session, given by whoever asked (drain, io.close, a protocol rule...). */
  #closeCause: CauseRequest | null = null;

  /** @internal flush scheduler state */
  _flushQueued = false;

  /** @internal created by the server during a handshake */
  constructor(id: string, server: Server, transport: Transport, req: IncomingMessage, protocol: 3 | 4) {
    super();
    useLightListenerStore(this);
    initTimerEntry(this); // the heartbeat
    this.id = id;
    this.server = server;
    this.request = req;
    this.protocol = protocol;
    this.remoteAddress = req.socket?.remoteAddress ?? "";
    this.transport = transport;
    transport.sid = id;
    transport.host = this;
    this.readyState = "open";
    const opts = server.opts;
    this.#enqueue("open", openPacketData(id, server.upgrades(transport.name), opts), undefined, undefined);
    const initial = opts.initialPacket;
    if (initial) this.#enqueue("message", toMessageData(initial), undefined, undefined);
    if (protocol === 3) {
      this.#heartbeat = HB_AWAIT_CLIENT_PING;
      timers.arm(this, opts.pingInterval + opts.pingTimeout);
    } else {
      this.#heartbeat = HB_AWAIT_PING_TIME;
      timers.arm(this, pingDelay(opts.pingInterval));
    }
  }

  /** Bytes queued and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.#out.bytes + this.transport.pendingBytes;
  }

  /**
   * Queues a message: text, binary data (Buffer, ArrayBuffer, typed array,
   * DataView), or another value sent as its string form (`null`,
   * `undefined`, `0`, `false` as an empty message), as engine.io does.
   * `cb` runs once the batch containing it was handed to the kernel; it is
   * dropped if the session closes first.
   */
  send(data: MessageData, options?: SendOptions | (() => void), callback?: () => void): this {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    }
    this.#sendPacket("message", toMessageData(data), options, callback);
    return this;
  }

  /** Alias of `send`. */
  write(data: MessageData, options?: SendOptions | (() => void), callback?: () => void): this {
    return this.send(data, options, callback);
  }

  /**
   * Closes the session after flushing the queue (polling: the close packet
   * goes in the GET after the one carrying the queue, or the session ends
   * after 30 s). With `discard` the queue is not waited for. `cause` (a
   * tidewire addition) says why, for the disconnect cause; without it the
   * cause is `server_disconnect`.
   */
  close(discard = false, cause?: CauseRequest): void {
    if (this.readyState === "closed") return;
    this.#closeCause ??= cause ?? SERVER_DISCONNECT;
    if (discard) {
      this.readyState = "closing";
      this.#upgradeOnClose();
      this.transport.discard();
      this.transport.close();
      return;
    }
    if (this.readyState !== "open") return;
    this.readyState = "closing";
    if (this.#out.packets.length === 0) {
      this.#upgradeOnClose();
      this.transport.close();
      return;
    }
    // The queue leaves first (polling: in the next GET), then the transport
    // closes. An upgrade under way may still complete, as with engine.io: the
    // client has paused polling by then, so the queue leaves on the new transport.
    this.#closeAfterFlush = true;
    if (this.transport.writable) this.flushNow();
  }

  /**
   * Whether a volatile packet is dropped now: the connection is busy, as
   * socket.io judges it (engine.io's transport is not writable from the
   * moment it writes until the write completed): the transport cannot take
   * it, a packet already waits for this turn's flush, or bytes handed to the
   * socket have not left yet. @internal
   */
  dropsVolatile(): boolean {
    const transport = this.transport;
    return !transport.writable || this.#out.packets.length > 0 || transport.pendingBytes > 0;
  }

  #sendPacket(type: PacketType, data: string | Buffer | undefined, options: SendOptions | undefined, cb?: () => void): void {
    if (this.readyState !== "open") return;
    if (options?.volatile && this.dropsVolatile()) {
      if (log.enabled) log("dropping volatile packet for %s", this.id);
      return;
    }
    this.#enqueue(type, data, options, cb);
  }

  #enqueue(type: PacketType, data: string | Buffer | undefined, options: SendOptions | undefined, cb?: () => void): void {
    const max = this.server.opts.maxBufferedBytes;
    const backlog = this.#out.admit(this.transport, max);
    if (backlog !== -1) {
      return this.#onClose("buffer overflow", overflowError(backlog, max), {
        code: "buffer_overflow",
        queuedBytes: backlog,
        limitBytes: max,
      });
    }
    queuePacket(this, this.#out, type, data, options, cb);
  }

  /** Hands the whole queue to the transport if it can take it now. @internal */
  flushNow(): void {
    const error = flushQueue(this, this.#out);
    if (error !== null) this.#onClose("transport error", error);
  }

  /** Whether the transport closes after the batch being flushed; reading it resets it. @internal */
  takeCloseAfterFlush(): boolean {
    const closeAfter = this.#closeAfterFlush;
    this.#closeAfterFlush = false;
    return closeAfter;
  }

  /** Heartbeat deadline. @internal */
  onTimeout(): void {
    if (this.#heartbeat === HB_AWAIT_PING_TIME) {
      this.#heartbeat = HB_AWAIT_PONG;
      this.#pongGrace = false;
      this.#pingAt = clockMs();
      this.#sendPacket("ping", undefined, undefined);
      if (this.readyState !== "closed") timers.arm(this, this.server.opts.pingTimeout);
    } else if (this.#heartbeat !== HB_IDLE) {
      const v4 = this.#heartbeat === HB_AWAIT_PONG;
      this.#onClose("ping timeout", undefined, {
        code: "ping_timeout",
        rttMs: this.#rtt < 0 ? null : this.#rtt,
        pongWaitMs: v4 ? elapsedMs(this.#pingAt) : undefined,
      });
    }
  }

  // ---- TransportHost -------------------------------------------------------

  /** @internal */
  onTransportPacket(transport: Transport, packet: DecodedPacket): void {
    if (transport !== this.transport) {
      if (this.#upgrade !== null && transport === this.#upgrade.transport) this.#onUpgradePacket(this.#upgrade, packet);
      return;
    }
    if (this.readyState !== "open") return;
    if (this.listenerCount("packet") > 0) this.#notify("packet", packet);
    // engine.io 6.6.12: traffic while a pong is due extends the deadline once.
    if (this.#heartbeat === HB_AWAIT_PONG && !this.#pongGrace && packet.type !== "pong") {
      this.#pongGrace = true;
      timers.arm(this, this.server.opts.pingTimeout);
    }
    switch (packet.type) {
      case "message": {
        const counters = this.server.counters;
        counters.packetsIn++;
        counters.bytesIn += packet.data === undefined ? 0 : packet.data.length;
        // The io layer's "data" listener raises what the application throws itself.
        try {
          this.emit("data", packet.data);
        } catch (err) {
          rethrowLater(err);
        }
        try {
          this.emit("message", packet.data);
        } catch (err) {
          rethrowLater(err);
        }
        break;
      }
      case "pong":
        if (this.protocol === 3) return this.#onClose("transport error", transportError("invalid heartbeat direction"));
        if (this.#heartbeat === HB_AWAIT_PONG) {
          this.#rtt = elapsedMs(this.#pingAt);
          this.#heartbeat = HB_AWAIT_PING_TIME;
          timers.arm(this, pingDelay(this.server.opts.pingInterval));
        }
        this.#notify("heartbeat");
        break;
      case "ping":
        if (this.protocol === 4) return this.#onClose("transport error", transportError("invalid heartbeat direction"));
        timers.arm(this, this.server.opts.pingInterval + this.server.opts.pingTimeout);
        this.#sendPacket("pong", undefined, undefined);
        this.#notify("heartbeat");
        break;
      case "error":
        this.#onClose("parse error", undefined, { code: "parse_error", rule: "an Engine.IO packet that cannot be decoded" });
        break;
      // open, upgrade and noop carry nothing here; a close packet over WebSocket is ignored as by engine.io.
    }
  }

  /** @internal */
  onTransportError(transport: Transport, message: string, cause?: unknown): void {
    if (log.enabled) log("transport error on %s: %s", this.id, message);
    if (transport === this.transport) this.#onClose("transport error", transportError(message, cause));
    else if (this.#upgrade !== null && transport === this.#upgrade.transport) this.#abortUpgrade();
  }

  /** @internal */
  onTransportClose(transport: Transport, requested: boolean): void {
    if (transport === this.transport) this.#onClose(requested ? "forced close" : "transport close");
    else if (this.#upgrade !== null && transport === this.#upgrade.transport) this.#abortUpgrade();
  }

  /** @internal */
  onTransportReady(transport: Transport): void {
    if (transport !== this.transport) return;
    if (this.#out.packets.length > 0) this.flushNow();
    else if (this.#upgrade?.probed) this.#releasePoll();
    // A backed-up socket drained with nothing queued behind it: bufferedAmount fell.
    else if (transport.name === "websocket") this.#notify("drain");
  }

  /** @internal */
  onTransportDelivered(transport: Transport): void {
    if (transport === this.transport) this.flushNow();
  }

  // ---- upgrade ---------------------------------------------------------------

  /** Starts an upgrade to `transport` (the server checked that none is under way). @internal */
  maybeUpgrade(transport: Transport): void {
    this.upgrading = true;
    transport.sid = this.id;
    transport.host = this;
    const attempt = new UpgradeAttempt(this, transport);
    this.#upgrade = attempt;
    timers.arm(attempt, this.server.opts.upgradeTimeout);
  }

  /** @internal */
  onUpgradeTimeout(attempt: UpgradeAttempt): void {
    if (attempt !== this.#upgrade) return;
    if (log.enabled) log("upgrade of %s timed out", this.id);
    this.#abortUpgrade();
  }

  #onUpgradePacket(attempt: UpgradeAttempt, packet: DecodedPacket): void {
    if (packet.type === "ping" && packet.data === "probe") {
      attempt.transport.send([{ type: "pong", data: "probe" }], null, false);
      this.#notify("upgrading", attempt.transport);
      attempt.probed = true;
      this.#releasePoll();
    } else if (packet.type === "upgrade" && (this.readyState === "open" || this.readyState === "closing")) {
      timers.disarm(attempt);
      this.#upgrade = null;
      this.upgrading = false;
      const previous = this.transport;
      this.transport = attempt.transport;
      this.#out.transportChanged();
      this.upgraded = true;
      this.server.counters.upgrades++;
      previous.host = null;
      previous.discard();
      previous.close();
      if (log.enabled) log("%s upgraded to %s", this.id, this.transport.name);
      this.#notify("upgrade", this.transport);
      // Closing: nothing can be queued any more; if the queue already left
      // on polling, the close is due now.
      if (this.readyState === "closing" && this.#out.packets.length === 0) this.transport.close();
      else this.flushNow();
    } else {
      this.#abortUpgrade();
    }
  }

  /**
   * The client pauses polling before it sends `5`, and only once its pending
   * GET has returned: answer that GET now (with the queue, or a noop).
   */
  #releasePoll(): void {
    const transport = this.transport;
    if (transport.name !== "polling" || !transport.writable) return;
    if (this.#out.packets.length > 0) this.flushNow();
    else transport.send([NOOP], null, false);
  }

  /**
   * The session ends during an upgrade. After the probe, the official client
   * has paused polling and a failed probe never resumes it: the new socket
   * is left for the client's `5` (or any packet, or upgradeTimeout) to close,
   * once the client listens to it. Before the probe, it closes now.
   */
  #upgradeOnClose(): void {
    if (this.#upgrade !== null && !this.#upgrade.probed) this.#abortUpgrade();
  }

  #abortUpgrade(): void {
    const attempt = this.#upgrade;
    if (attempt === null) return;
    timers.disarm(attempt);
    this.#upgrade = null;
    this.upgrading = false;
    attempt.transport.host = null;
    attempt.transport.close();
  }

  // ---- end -------------------------------------------------------------------

  #onClose(reason: CloseReason, description?: unknown, known?: CauseRequest): void {
    if (this.readyState === "closed") return;
    if (log.enabled) log("session %s closed: %s", this.id, reason);
    const cause =
      known !== undefined
        ? { ...known, transport: this.transport.name }
        : closeCause(reason, description, this.transport, this.#closeCause ?? SERVER_DISCONNECT);
    this.readyState = "closed";
    timers.disarm(this);
    this.#heartbeat = HB_IDLE;
    this.#upgradeOnClose();
    this.#out.clear();
    this.#closeAfterFlush = false;
    const transport = this.transport;
    if (reason === "buffer overflow") {
      // The client does not read: a close frame queued behind megabytes of
      // unread data would hold them (and this session) until ws gives up.
      transport.abort();
    } else {
      // A pending GET still gets the close packet; nothing else waits for the client.
      transport.discard();
      transport.close();
    }
    this.server.onSessionClose(this);
    this.server.counters.closed(cause.code, cause.transport);
    this.#notify("close", reason, withCause(description, cause));
  }

  /** Emits an event; a listener's exception is raised again later and the session's work goes on. */
  #notify(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      rethrowLater(err);
    }
  }

}
