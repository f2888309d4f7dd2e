import { logger } from "../core/debug.js";
import { invalidOption } from "../core/errors.js";
import { rejectLater, rethrowLater } from "../core/rethrow.js";
import type { Adapter } from "../adapter/adapter.js";
import type { Room, SocketId } from "../adapter/types.js";
import { BroadcastOperator, type RemoteSocket } from "./broadcast-operator.js";
import type { Connection } from "./connection.js";
import { runMiddlewares } from "./middleware.js";
import { PacketType } from "./protocol/packet.js";
import { RESERVED_SERVER_SIDE_EVENTS, reservedEventError } from "./reserved.js";
import type { Server } from "./server.js";
import { Socket } from "./socket.js";
import type { NamespaceCounters } from "../observe/counters.js";
import { FACT_CONNECTION, facts } from "../observe/facts.js";
import { compileEvents, type EmitEventsOf, type EventSchemas, type ListenEventsOf } from "./policy/events.js";
import { setSchemas, schemasOf, type ValidationErrorInfo } from "./policy/rejection.js";
import {
  StrictEventEmitter,
  type AllButLast,
  type DecorateAcknowledgements,
  type DecorateAcknowledgementsWithTimeoutAndMultipleResponses,
  type DecorateAcknowledgementsWithMultipleResponses,
  type DefaultEventsMap,
  type EventNames,
  type EventNamesWithAck,
  type EventNamesWithoutAck,
  type EventParams,
  type EventsMap,
  type FirstNonErrorArg,
  type Last,
  type RemoveAcknowledgements,
} from "./typed-events.js";

const log = logger("io", "namespace");

/** An error passed to a middleware's `next()`; `message` and `data` reach the client. */
export interface ExtendedError extends Error {
  data?: any;
}

export interface NamespaceReservedEventsMap<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> {
  connect: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
  connection: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
  /**
   * An incoming event was refused by its schema (tidewire's own): log it,
   * or disconnect `info.socket`. Its ack was answered with
   * `{ error: "invalid_payload", event, issues }` already.
   */
  validation_error: (info: ValidationErrorInfo) => void;
}

export interface ServerReservedEventsMap<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> extends NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  new_namespace: (namespace: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

type Middleware<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> = (
  socket: Socket<L, E, S, D>,
  next: (err?: ExtendedError) => void,
) => void;

/** A communication channel: sockets connect to it by name and share its rooms and middleware. */
export class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends StrictEventEmitter<
  ServerSideEvents,
  RemoveAcknowledgements<EmitEvents>,
  NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
> {
  readonly name: string;
  /** The connected sockets of this namespace, by id. */
  readonly sockets: Map<SocketId, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> = new Map();
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  adapter!: Adapter;
  /** @internal Connection middlewares (socket.io's field name; private in its declarations). */
  _fns: Array<Middleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> = [];
  /** Ack id counter shared by every socket of the namespace and its broadcasts. */
  _ids = 0;
  /** @internal Sockets still in their connection middlewares. */
  readonly _preConnectSockets: Map<SocketId, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> = new Map();
  /** @internal set when this is a dynamic child of a parent namespace */
  parent?: { removeChild(nsp: Namespace<any, any, any, any>): void };
  /** @internal connections and disconnects of this namespace name (io.stats()) */
  readonly counters: NamespaceCounters;

  constructor(server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, name: string) {
    super();
    this.server = server;
    this.name = name;
    this.counters = server.counters.namespace(name);
    this._initAdapter();
  }

  /** (Re)creates this namespace's adapter from the server's `adapter` option. */
  _initAdapter(): void {
    const Factory = this.server.adapter() as any;
    // A class (or classic function) is constructed; an arrow factory is called.
    const adapter = Factory.prototype === undefined ? Factory(this) : new Factory(this);
    if (adapter === null || typeof adapter !== "object" || typeof adapter.addAll !== "function" || typeof adapter.init !== "function") {
      throw invalidOption(
        "adapter",
        "a class or factory creating an adapter (an object with init(), addAll(), broadcast()...)",
        adapter,
        typeof adapter === "function"
          ? "The factory returned a function: pass createAdapter(pubClient, subClient), not createAdapter itself."
          : undefined,
      );
    }
    this.adapter = adapter;
    Promise.resolve(this.adapter.init()).catch((err) => log("adapter init failed: %O", err));
  }

  /** Registers a connection middleware: `fn(socket, next)`. */
  use(fn: Middleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this._fns.push(fn);
    return this;
  }

  to(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).to(room);
  }

  in(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).in(room);
  }

  except(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).except(room);
  }

  compress(compress: boolean): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).compress(compress);
  }

  get volatile(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).volatile;
  }

  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).local;
  }

  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>, SocketData> {
    return new BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>(this.adapter).timeout(ms);
  }

  /** Emits to every connected socket of the namespace. */
  // @ts-ignore -- typed override of EventEmitter#emit
  override emit<Ev extends EventNamesWithoutAck<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).emit(ev, ...args);
  }

  /** Emits to every connected socket and resolves with one response per client. */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>>>> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).emitWithAck(ev, ...args) as Promise<any>;
  }

  send(...args: EventParams<EmitEvents, "message">): this {
    (this.emit as any)("message", ...args);
    return this;
  }

  write(...args: EventParams<EmitEvents, "message">): this {
    (this.emit as any)("message", ...args);
    return this;
  }

  /** Sends an event to the other nodes of the cluster (not to clients). */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<DecorateAcknowledgementsWithTimeoutAndMultipleResponses<ServerSideEvents>, Ev>
  ): boolean {
    if (RESERVED_SERVER_SIDE_EVENTS.has(ev)) throw reservedEventError(ev);
    this.adapter.serverSideEmit([ev, ...args]);
    return true;
  }

  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<ServerSideEvents, Ev>>>[]> {
    return new Promise((resolve, reject) => {
      (args as any[]).push((err: Error | null, responses: any) => (err ? reject(err) : resolve(responses)));
      (this.serverSideEmit as any)(ev, ...args);
    });
  }

  /**
   * Declares the schemas of events clients send to this namespace (from
   * `defineEvents`), on top of the server's `events` option: from now on
   * each such event is validated before any middleware or listener sees it,
   * sockets already connected included. Returns this namespace, typed by
   * the declaration.
   */
  events<E extends EventSchemas<any, any>>(declaration: E): Namespace<ListenEventsOf<E>, EmitEventsOf<E>, ServerSideEvents, SocketData> {
    const table = compileEvents(`io.of("${this.name}").events`, declaration);
    const inherited = schemasOf(this);
    setSchemas(this, inherited === undefined ? table : new Map([...inherited, ...table]));
    for (const socket of this.sockets.values()) socket.client.inbound();
    for (const socket of this._preConnectSockets.values()) socket.client.inbound();
    return this as any;
  }

  /** @internal Emits `validation_error` to this namespace's listeners; false if there are none. */
  reportValidationError(info: ValidationErrorInfo): boolean {
    return this.emitReserved("validation_error", info);
  }

  /** Called by cluster adapters with an event another node sent. */
  _onServerSideEmit(args: [string, ...any[]]): void {
    this.emitUntyped.apply(this, args);
  }

  /** @deprecated use fetchSockets(). */
  allSockets(): Promise<Set<SocketId>> {
    return new BroadcastOperator(this.adapter).allSockets();
  }

  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).fetchSockets();
  }

  socketsJoin(room: Room | Room[]): void {
    new BroadcastOperator(this.adapter).socketsJoin(room);
  }

  socketsLeave(room: Room | Room[]): void {
    new BroadcastOperator(this.adapter).socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    new BroadcastOperator(this.adapter).disconnectSockets(close);
  }

  // ---- internal -----------------------------------------------------------

  /**
   * @internal A client asked to connect: runs the middlewares, then either
   * answers CONNECT and emits "connection", or answers CONNECT_ERROR.
   */
  add(
    client: Connection,
    auth: Record<string, unknown> | undefined,
    onConnected: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): void {
    const recovery = this.server._opts.connectionStateRecovery;
    // A client that never received a packet sends its pid without an offset; adapters that
    // record where a session started (tidewire/redis-streams) can still recover it.
    const offset = auth?.offset === undefined ? "" : auth.offset;
    if (recovery && auth !== undefined && typeof auth.pid === "string" && typeof offset === "string") {
      this.adapter.restoreSession(auth.pid, offset).then(
        (session) => {
          if (client.conn.readyState !== "open") return;
          const socket = new Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this, client, auth, session ?? undefined);
          if (session && recovery.skipMiddlewares) this.#connected(socket, client, onConnected);
          else this.#runMiddlewares(socket, client, onConnected);
        },
        (err) => {
          log("session restore failed: %O", err);
          if (client.conn.readyState !== "open") return;
          const socket = new Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this, client, auth);
          if (err instanceof Error) socket.recoveryError = err;
          this.#runMiddlewares(socket, client, onConnected);
        },
      );
      return;
    }
    this.#runMiddlewares(new Socket(this, client, auth), client, onConnected);
  }

  #runMiddlewares(
    socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    client: Connection,
    onConnected: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): void {
    this._preConnectSockets.set(socket.id, socket);
    // 0: middlewares running, 1: they finished, 2: one threw first (the attempt is dropped).
    let state = 0;
    try {
      runMiddlewares(this._fns, socket, (err?: ExtendedError) => {
        if (state === 2) return;
        state = 1;
        // Middlewares may have been asynchronous: the connection may be gone.
        this._preConnectSockets.delete(socket.id);
        if (client.conn.readyState !== "open") {
          socket.cleanup();
          return;
        }
        if (err) {
          this.#refuse(socket, client, err);
          return;
        }
        this.#connected(socket, client, onConnected);
      });
    } catch (err) {
      // The application's error: socket.io runs middlewares inside an async
      // function, so it surfaces as an unhandled rejection. The client gets
      // no answer, as with socket.io, but nothing is kept for it.
      if (state === 0) {
        state = 2;
        this._preConnectSockets.delete(socket.id);
        socket.cleanup();
      }
      rejectLater(err);
    }
  }

  #connected(
    socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    _client: Connection,
    onConnected: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): void {
    this.sockets.set(socket.id, socket);
    this.counters.connections++;
    socket.onConnect();
    onConnected(socket);
    if ((facts.mask & FACT_CONNECTION) !== 0) {
      facts.connection({ socket, namespace: this.name, transport: socket.conn.transport.name, recovered: socket.recovered });
    }
    try {
      this.emitReserved("connect", socket);
      this.emitReserved("connection", socket);
    } catch (err) {
      rethrowLater(err);
    }
  }

  #refuse(socket: Socket<any, any, any, any>, client: Connection, err: ExtendedError): void {
    socket.cleanup();
    let data: unknown;
    if (client.conn.protocol === 3) {
      data = err.data !== undefined ? err.data : err.message;
    } else {
      data = err.data !== undefined ? { message: err.message, data: err.data } : { message: err.message };
    }
    client.sendPacket({ type: PacketType.CONNECT_ERROR, nsp: this.name, data }, {}, socket);
  }

  /** @internal `new_namespace` is emitted on the main namespace, where `io.on` listens. */
  emitNewNamespace(nsp: Namespace<any, any, any, any>): void {
    try {
      this.emitUntyped("new_namespace", nsp);
    } catch (err) {
      rethrowLater(err);
    }
  }

  /** @internal */
  removeSocket(socket: Socket<any, any, any, any>): void {
    this.sockets.delete(socket.id);
    this._preConnectSockets.delete(socket.id);
    if (this.parent && this.sockets.size === 0 && this._preConnectSockets.size === 0 && this.server._opts.cleanupEmptyChildNamespaces) {
      this.parent.removeChild(this);
    }
  }
}
