import type { IncomingMessage } from "node:http";
import { logger } from "../core/debug.js";
import { rethrowLater } from "../core/rethrow.js";
import { initTimerEntry, timers, type TimerEntry } from "../core/timers.js";
import { Socket as EngineSession, type Socket as EngineSocket } from "../engine/index.js";
import type { SocketId, WriteOptions } from "../adapter/types.js";
import { PacketType, type Packet } from "./protocol/packet.js";
import { DEFAULT_MAX_ATTACHMENTS, Decoder, decodeMessage, PendingBinary } from "./protocol/decoder.js";
import { MAX_EVENT_ARGUMENTS } from "./reserved.js";
import type { Server } from "./server.js";
import type { Socket } from "./socket.js";
import type { DisconnectReason } from "./disconnect-reason.js";
import { ParseError } from "../core/errors.js";
import { withCause, type CauseRequest } from "../observe/causes.js";
import { InboundPolicy } from "./policy/inbound.js";
import { schemasOf } from "./policy/rejection.js";
import { writeEncoded } from "./engine-write.js";

const CONNECT_TIMEOUT: CauseRequest = Object.freeze({ code: "connect_timeout" });
const SERVER_DISCONNECT: CauseRequest = Object.freeze({ code: "server_disconnect" });
const FOREIGN_NAMESPACE: CauseRequest = Object.freeze({
  code: "parse_error",
  rule: "a packet for a namespace the client has not joined (or a second CONNECT for one it has)",
});

const log = logger("io", "connection");

/**
 * One Engine.IO session seen from the Socket.IO layer: it decodes packets,
 * routes them to the socket of their namespace, and owns the write path to
 * the engine. socket.io calls this object `socket.client`.
 *
 * Protocol rules enforced here (each closes the whole connection): a packet
 * for a namespace the client has not joined, a second CONNECT for a joined
 * namespace, a CONNECT_ERROR from the client, undecodable input.
 */
export class Connection {
  readonly conn: EngineSocket;
  readonly server: Server<any, any, any, any>;
  /**
   * The sockets of this connection. A connection holds one socket in
   * #socket until a second one comes (a second namespace, or a CONNECT
   * repeated before the first one was answered); from then on, and once
   * `sockets` was read, the two maps hold them all instead, as they would
   * in socket.io: by socket id, and by namespace name.
   */
  #socket: Socket<any, any, any, any> | null = null;
  #sockets: Map<SocketId, Socket<any, any, any, any>> | null = null;
  #nsps: Map<string, Socket<any, any, any, any>> | null = null;
  /** The parser's Decoder, when the server's `parser` is not the built-in one. */
  readonly #decoder: any;
  /** Built-in parser: the binary packet waiting for its attachments. */
  #pending: PendingBinary | null = null;
  /** The connectTimeout, until a namespace is joined. */
  #connectTimer: ConnectTimer | null;
  /** @internal Events from the client whose acknowledgement the application has not sent yet. */
  repliesDue = 0;
  /** Its sockets were ended by a drain; the transport closes once their sessions are saved. */
  #draining = false;
  /** Rate limits and schemas between the decoder and the sockets; null (and free) when none apply. */
  #inbound: InboundPolicy | null = null;
  /*
   * Engine listeners. On tidewire's own sessions, functions shared by every
   * connection, which find theirs in `connections`; on another engine's
   * (io.bind), bound in the constructor. No closure context either way, and
   * no run-time name per instance as an arrow in a field initializer would
   * get from the bundle's keepNames (about 256 bytes each).
   */
  #onData: (data: string | Buffer) => void;
  readonly #onClose: (reason: DisconnectReason | string, description?: unknown) => void;

  constructor(server: Server<any, any, any, any>, conn: EngineSocket) {
    const shared = conn instanceof EngineSession;
    if (shared) {
      connections.set(conn, this);
      this.#onData = Connection.#onSessionData;
      this.#onClose = Connection.#onSessionClose;
    } else {
      this.#onData = this.#handleData.bind(this);
      this.#onClose = this.#handleClose.bind(this);
    }
    this.server = server;
    this.conn = conn;
    const parser = server._parser;
    if (parser.Decoder === Decoder) {
      this.#decoder = null;
    } else {
      this.#decoder = new parser.Decoder();
      this.#decoder.on("decoded", this.#handleDecoded.bind(this));
    }
    if (server.policy !== null && server.policy.limits.perConnection) {
      this.#inbound = this.#newInbound();
      if (server.policy.limits.bytes !== null) {
        this.#onData = shared ? Connection.#onSessionLimitedData : this.#handleLimitedData.bind(this);
      }
    }
    conn.on("data", this.#onData);
    conn.on("close", this.#onClose);
    this.#connectTimer = new ConnectTimer(this);
    timers.arm(this.#connectTimer, server._connectTimeout);
    // Socket.IO v2 clients are connected to the main namespace implicitly.
    if (conn.protocol === 3) this.#connect("/", {});
  }

  /* The listeners shared by the connections of tidewire's own sessions (`this` is the session). */
  static #onSessionData(this: EngineSocket, data: string | Buffer): void {
    const connection = connections.get(this);
    if (connection !== undefined) connection.#handleData(data);
  }

  static #onSessionLimitedData(this: EngineSocket, data: string | Buffer): void {
    const connection = connections.get(this);
    if (connection !== undefined) connection.#handleLimitedData(data);
  }

  static #onSessionClose(this: EngineSocket, reason: DisconnectReason | string, description?: unknown): void {
    const connection = connections.get(this);
    if (connection !== undefined) connection.#handleClose(reason, description);
  }

  /** The Engine.IO session id. */
  get id(): string {
    return this.conn.id;
  }

  /** The first HTTP request of the session. */
  get request(): IncomingMessage {
    return this.conn.request;
  }

  /** The sockets of this connection, by socket id (a live map, in join order). */
  get sockets(): ReadonlyMap<SocketId, Socket<any, any, any, any>> {
    return this.#maps();
  }

  /** @internal connectTimeout: a connection that joined no namespace in time is closed. */
  onConnectTimeout(): void {
    this.#connectTimer = null;
    if (this.#socket === null && (this.#nsps === null || this.#nsps.size === 0)) {
      if (log.enabled) log("no namespace joined in time, closing %s", this.id);
      this.close(CONNECT_TIMEOUT);
    }
  }

  /**
   * @internal The connection's inbound policy, created if it has none (an
   * asynchronous `socket.on(event, schema, handler)` needs one to hold the
   * socket's later events).
   */
  inbound(): InboundPolicy {
    return (this.#inbound ??= this.#newInbound());
  }

  #newInbound(): InboundPolicy {
    const policy = this.server.policy;
    const key = policy !== null ? policy.addressOf(this.conn.request) : "";
    const address = policy !== null && policy.limits.eventsPerAddress !== null ? policy.stateOf(this.conn.request) : null;
    return new InboundPolicy(this, policy?.limits ?? null, this.server.counters, address, key);
  }

  /** Encodes and sends one packet. An encoding failure is reported to `socket`. */
  sendPacket(packet: Packet, opts: WriteOptions, socket?: Socket<any, any, any, any>): void {
    if (this.conn.readyState !== "open") return;
    let encoded: any[];
    try {
      encoded = this.server.encoder.encode(packet);
    } catch (err) {
      if (log.enabled) log("cannot encode packet: %O", err);
      socket?.onError(err as Error);
      return;
    }
    writeEncoded(this.conn, encoded, opts);
  }

  /**
   * Writes encoded parts (a header and its binary attachments, or one
   * string) to the engine. Adapters call this for broadcasts (each call is
   * one delivery in `io.stats()`). A volatile packet is dropped whole when
   * the transport cannot take it now, never in part.
   */
  writeToEngine(encoded: any[], opts: WriteOptions): void {
    this.server.counters.deliveries++;
    writeEncoded(this.conn, encoded, opts);
  }

  /**
   * Closes the connection; every socket disconnects with "forced server
   * close". `cause` says why (default `server_disconnect`).
   */
  close(cause: CauseRequest = SERVER_DISCONNECT): void {
    const conn = this.conn;
    if (conn.readyState === "open") {
      const transport = conn.transport.name;
      conn.close(false, cause);
      this.#handleClose("forced server close", withCause(undefined, { ...cause, transport }));
    }
  }

  /** @internal Whether acknowledgements are in flight, either way (a drain waits for them). */
  hasAcksInFlight(): boolean {
    if (this.repliesDue > 0) return true;
    for (const socket of this.#list()) if (socket.hasPendingAcks()) return true;
    return false;
  }

  /**
   * @internal Ends every socket with "server shutting down" (connection-state
   * recovery saves their sessions), and resolves once the sessions' store
   * took them; the transport is closed by the caller after that.
   */
  disconnectForDrain(description: unknown): Promise<unknown> | undefined {
    this.#draining = true;
    let pending: Promise<unknown>[] | undefined;
    for (const socket of [...this.#list()]) {
      const persisted = socket.onClose("server shutting down", description);
      if (persisted instanceof Promise) (pending ??= []).push(persisted.catch(() => undefined));
    }
    return pending === undefined ? undefined : Promise.all(pending);
  }

  /** @internal Disconnects every namespace (DISCONNECT each), then closes the connection. */
  disconnectAll(): void {
    for (const socket of this.#list()) socket.disconnectWith(SERVER_DISCONNECT);
    this.#socket = null;
    this.#sockets?.clear();
    this.#nsps?.clear();
    this.close();
  }

  /** @internal */
  removeSocket(socket: Socket<any, any, any, any>): void {
    if (this.#inbound !== null) this.#inbound.forget(socket);
    if (this.#sockets === null) {
      if (this.#socket === socket) this.#socket = null;
    } else if (this.#sockets.get(socket.id) === socket) {
      this.#sockets.delete(socket.id);
      this.#nsps!.delete(socket.nsp.name);
    }
  }

  /** The socket joined to namespace `name`, if any. */
  #socketOf(name: string): Socket<any, any, any, any> | undefined {
    if (this.#nsps !== null) return this.#nsps.get(name);
    const socket = this.#socket;
    return socket !== null && socket.nsp.name === name ? socket : undefined;
  }

  #addSocket(socket: Socket<any, any, any, any>): void {
    if (this.#inbound === null && schemasOf(socket.nsp) !== undefined) this.#inbound = this.#newInbound();
    if (this.#sockets === null && this.#socket === null) {
      this.#socket = socket;
      return;
    }
    this.#maps();
    this.#sockets!.set(socket.id, socket);
    this.#nsps!.set(socket.nsp.name, socket);
  }

  /** Switches to the two maps (for good) and returns the one by socket id. */
  #maps(): Map<SocketId, Socket<any, any, any, any>> {
    if (this.#sockets === null) {
      this.#sockets = new Map();
      this.#nsps = new Map();
      const socket = this.#socket;
      if (socket !== null) {
        this.#sockets.set(socket.id, socket);
        this.#nsps.set(socket.nsp.name, socket);
        this.#socket = null;
      }
    }
    return this.#sockets;
  }

  /** The sockets, for iteration while they leave. */
  #list(): Iterable<Socket<any, any, any, any>> {
    if (this.#sockets !== null) return this.#sockets.values();
    return this.#socket === null ? [] : [this.#socket];
  }

  /** `auth` is the CONNECT payload, undefined when there was none. */
  #connect(name: string, auth: Record<string, unknown> | undefined): void {
    if (this.server._nsps.has(name)) {
      this.#join(name, auth);
      return;
    }
    // The parent namespace's matcher and the handshake see the same object.
    const payload = auth ?? {};
    this.server._checkNamespace(name, payload, (dynamic) => {
      if (this.conn.readyState !== "open") return;
      if (dynamic) {
        this.#join(name, payload);
      } else {
        this.sendPacket({ type: PacketType.CONNECT_ERROR, nsp: name, data: { message: "Invalid namespace" } }, {});
      }
    });
  }

  #join(name: string, auth: Record<string, unknown> | undefined): void {
    const nsp = this.server.of(name);
    nsp.add(this, auth, (socket) => {
      this.#addSocket(socket);
      if (this.#connectTimer !== null) {
        timers.disarm(this.#connectTimer);
        this.#connectTimer = null;
      }
    });
  }

  /**
   * Invalid input closes the connection. What the application throws while a
   * packet is delivered (handlers, ack callbacks, middlewares, listeners) is
   * not invalid input: #handleDecoded raises it again, the connection stays.
   */
  #handleData(data: string | Buffer): void {
    const decoder = this.#decoder;
    if (decoder !== null) {
      // A custom Decoder emits "decoded" synchronously; #handleDecoded throws nothing back into it.
      try {
        decoder.add(data);
      } catch (err) {
        this.#handleError(err as Error);
      }
      return;
    }
    let decoded: Packet | PendingBinary;
    try {
      decoded = decodeMessage(data, this.#pending, undefined, DEFAULT_MAX_ATTACHMENTS);
    } catch (err) {
      this.#handleError(err as Error);
      return;
    }
    if (decoded instanceof PendingBinary) {
      this.#pending = decoded;
      return;
    }
    this.#pending = null;
    this.#handleDecoded(decoded);
  }

  /** #handleData with a bytes limit: each message is counted before it is decoded. */
  #handleLimitedData(data: string | Buffer): void {
    if (this.#inbound !== null) this.#inbound.onMessage(data.length);
    this.#handleData(data);
  }

  #handleDecoded(packet: Packet): void {
    try {
      this.#route(packet);
    } catch (err) {
      // socket.io delivers each packet from a fresh tick: an exception of the application's is uncaught there.
      rethrowLater(err);
    }
  }

  #route(packet: Packet): void {
    let name: string;
    let auth: any;
    if (this.conn.protocol === 3) {
      // v2 clients put the auth in the namespace's query string: "/nsp?token=abc".
      const q = packet.nsp.indexOf("?");
      name = q === -1 ? packet.nsp : packet.nsp.slice(0, q);
      auth = Object.create(null);
      if (q !== -1) for (const [k, v] of new URLSearchParams(packet.nsp.slice(q + 1))) auth[k] = v;
    } else {
      name = packet.nsp;
      auth = packet.data;
    }
    const socket = this.#socketOf(name);
    if (!socket && packet.type === PacketType.CONNECT) {
      if (this.#draining) return;
      this.#connect(name, auth && typeof auth === "object" ? auth : undefined);
    } else if (socket && packet.type !== PacketType.CONNECT && packet.type !== PacketType.CONNECT_ERROR) {
      if (Array.isArray(packet.data) && packet.data.length > MAX_EVENT_ARGUMENTS) {
        this.#handleError(
          new ParseError(`packet has ${packet.data.length} arguments, more than the limit of ${MAX_EVENT_ARGUMENTS}`),
        );
        return;
      }
      const inbound = this.#inbound;
      if (inbound === null) socket.onPacket(packet);
      else inbound.receive(socket, packet);
    } else if (!this.#draining) {
      if (log.enabled) log("invalid packet for namespace %s (type %d), closing", name, packet.type);
      this.close(FOREIGN_NAMESPACE);
    }
    // Draining: packets for the sockets it ended are dropped until the transport closes.
  }

  #handleError(err: Error): void {
    if (log.enabled) log("connection error: %s", err?.message);
    for (const socket of this.#list()) socket.onError(err);
    // Sockets learn the reason from the engine's close ("forced close"), as in socket.io.
    this.conn.close(false, err instanceof ParseError || err?.name === "ParseError" ? { code: "parse_error", rule: err.message } : SERVER_DISCONNECT);
  }

  #handleClose(reason: DisconnectReason | string, description?: unknown): void {
    if (this.#connectTimer !== null) {
      timers.disarm(this.#connectTimer);
      this.#connectTimer = null;
    }
    this.conn.off("data", this.#onData);
    this.conn.off("close", this.#onClose);
    connections.delete(this.conn);
    for (const socket of this.#list()) socket.onClose(reason as DisconnectReason, description);
    this.#socket = null;
    this.#sockets?.clear();
    this.#nsps?.clear();
    this.#pending = null;
    this.#decoder?.destroy?.();
  }
}

/** The connection of each of tidewire's own engine sessions (see the shared listeners). */
const connections = new WeakMap<EngineSocket, Connection>();

/** The connectTimeout's timer entry; dropped once a namespace is joined. */
class ConnectTimer implements TimerEntry {
  readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
    initTimerEntry(this);
  }

  onTimeout(): void {
    this.connection.onConnectTimeout();
  }
}
