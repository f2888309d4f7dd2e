import type { IncomingMessage } from "node:http";
import { generateId } from "../core/ids.js";
import { rethrowLater } from "../core/rethrow.js";
import type { Adapter } from "../adapter/adapter.js";
import type { BroadcastFlags, Room, Session, SocketId } from "../adapter/types.js";
import { BroadcastOperator } from "./broadcast-operator.js";
import type { Connection } from "./connection.js";
import type { Namespace } from "./namespace.js";
import { PacketType, type Packet } from "./protocol/packet.js";
import { RESERVED_EVENTS, reservedEventError } from "./reserved.js";
import { promiseAck, settleAck } from "./socket-acks.js";
import { ackResponder, NO_FLAGS, sendConnectReply, sendEvent } from "./socket-emit.js";
import { newHooks, removeListener, type SocketHooks } from "./socket-hooks.js";
import { CLIENT_NAMESPACE_DISCONNECT, closeSocket, disconnectSocket, emitSafely, NAMESPACE_DISCONNECT } from "./socket-disconnect.js";
import { dispatchEvent, observeEvent, runHooks } from "./socket-dispatch.js";
import {
  StrictEventEmitter,
  type AllButLast,
  type DecorateAcknowledgements,
  type DecorateAcknowledgementsWithMultipleResponses,
  type DefaultEventsMap,
  type EventNames,
  type EventNamesWithAck,
  type EventParams,
  type EventsMap,
  type FirstNonErrorArg,
  type Last,
  type ReservedOrUserEventNames,
  type ReservedOrUserListener,
} from "./typed-events.js";
import type { ArgSchemas, ValidatedListener } from "./policy/events.js";
import { validatedListener, withSchema } from "./policy/validated-listener.js";
import { buildHandshake, type Handshake } from "./handshake.js";
import type { DisconnectReason } from "./disconnect-reason.js";
import { withCause, type CauseRequest } from "../observe/causes.js";
import { FACT_EVENT, facts } from "../observe/facts.js";

export type { Handshake } from "./handshake.js";

export interface SocketReservedEventsMap {
  /**
   * `description` is socket.io's (an Error for "transport error") with a
   * `cause` added, or `{ cause }`: see DisconnectCause.
   */
  disconnect: (reason: DisconnectReason, description?: any) => void;
  disconnecting: (reason: DisconnectReason, description?: any) => void;
  error: (err: Error) => void;
}

export type Event = [string, ...any[]];

/**
 * One client's connection to one namespace. Created by the namespace when
 * the client sends CONNECT; `id` is fresh per namespace connection and is
 * never the Engine.IO session id.
 */
export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends StrictEventEmitter<ListenEvents, EmitEvents, SocketReservedEventsMap> {
  readonly id: SocketId;
  readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly client: Connection;
  readonly adapter: Adapter;
  /** True between the CONNECT reply and the disconnection. */
  connected = false;
  /** True when this socket was restored by connection-state recovery. */
  recovered = false;
  /** Private session id for connection-state recovery. @internal */
  pid?: string;
  /**
   * Why this socket is not `recovered` although its client asked to recover
   * a session: the adapter's refusal (tidewire/redis-streams gives a
   * SessionNotRecoveredError with a `reason`). Undefined otherwise.
   */
  declare recoveryError?: Error;
  #data?: SocketData;
  #acks?: Map<number, (...args: any[]) => void>;
  /** The CONNECT payload; undefined when the client sent none (the handshake then shows `{}`). */
  #auth: Record<string, unknown> | undefined;
  /** When the socket was created: the handshake's `issued` and `time`, however late it is built. */
  #issued = Date.now();
  #handshake?: Handshake;
  #flags: BroadcastFlags = NO_FLAGS;
  /** Middlewares and catch-all listeners: one field, most sockets have none. */
  #hooks?: SocketHooks;
  #closed = false;

  constructor(
    nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    client: Connection,
    auth: Record<string, unknown> | undefined,
    previousSession?: Session,
  ) {
    super();
    this.nsp = nsp;
    this.client = client;
    this.adapter = nsp.adapter;
    this.#auth = auth;
    if (previousSession) {
      this.id = previousSession.sid;
      this.pid = previousSession.pid;
      this.#data = previousSession.data as SocketData;
      this.adapter.addAll(this.id, new Set(previousSession.rooms));
      // Missed packets go out before the CONNECT reply, in their original order.
      for (const data of previousSession.missedPackets) {
        this.client.sendPacket({ type: PacketType.EVENT, nsp: nsp.name, data }, NO_FLAGS, this);
      }
      this.recovered = true;
    } else {
      this.id = client.conn.protocol === 3 ? legacyId(nsp.name, client.conn.id) : generateId();
      if (nsp.server._opts.connectionStateRecovery) this.pid = generateId();
    }
  }

  /** Pending acknowledgements, by packet id (created on first use). Read and written by adapters. */
  get acks(): Map<number, (...args: any[]) => void> {
    return (this.#acks ??= new Map());
  }

  /** Free-form per-socket data, included in fetchSockets() results (created on first use). */
  get data(): SocketData {
    return (this.#data ??= {} as SocketData);
  }

  set data(data: SocketData) {
    this.#data = data;
  }

  /**
   * What the client sent when it connected: headers, query, auth, address...
   * Built on first read, with the values of the connection time; the same
   * object on every read.
   */
  get handshake(): Handshake {
    return (this.#handshake ??= buildHandshake(this.client.request, this.client.conn, this.#auth ?? {}, this.#issued));
  }

  set handshake(handshake: Handshake) {
    this.#handshake = handshake;
  }

  get conn(): Connection["conn"] {
    return this.client.conn;
  }

  get request(): IncomingMessage {
    return this.client.request;
  }

  get disconnected(): boolean {
    return !this.connected;
  }

  /** The rooms this socket is in, its own id included. */
  get rooms(): Set<Room> {
    return this.adapter.socketRooms(this.id) ?? new Set();
  }

  // ---- listening -----------------------------------------------------------

  /**
   * Adds a listener. With a schema (tidewire's own) between the name and the
   * handler, `on(event, schema, handler)`: `schema` is a Standard Schema
   * (zod, valibot, arktype...) or an array of them, one per argument; the
   * handler gets the values they output, then an acknowledgement function
   * (one that does nothing if the client asked for none). An invalid
   * payload never reaches it: the client's ack gets `{ error:
   * "invalid_payload", event, issues }` and the namespace emits
   * `validation_error`.
   */
  override on<Ev extends ReservedOrUserEventNames<SocketReservedEventsMap, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<SocketReservedEventsMap, ListenEvents, Ev>,
  ): this;
  override on<S extends ArgSchemas>(ev: string, schema: S, listener: ValidatedListener<S>): this;
  override on(ev: any, listener: any, handler?: any): this {
    return super.on(ev, arguments.length > 2 && withSchema(listener) ? (validatedListener(this, ev, listener, handler) as any) : listener);
  }

  /** As `on`, for the next event only (with or without a schema). */
  override once<Ev extends ReservedOrUserEventNames<SocketReservedEventsMap, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<SocketReservedEventsMap, ListenEvents, Ev>,
  ): this;
  override once<S extends ArgSchemas>(ev: string, schema: S, listener: ValidatedListener<S>): this;
  override once(ev: any, listener: any, handler?: any): this {
    return super.once(ev, arguments.length > 2 && withSchema(listener) ? (validatedListener(this, ev, listener, handler) as any) : listener);
  }

  // ---- emitting ----------------------------------------------------------

  // @ts-ignore -- typed override of EventEmitter#emit
  override emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev)) throw reservedEventError(ev);
    const data: any[] = [ev, ...args];
    return sendEvent(this, data, this.#takeFlags());
  }

  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>> {
    const withTimeout = this.#flags.timeout !== undefined;
    return new Promise((resolve, reject) => {
      (args as any[]).push(promiseAck(withTimeout, resolve, reject));
      (this.emit as any)(ev, ...args);
    });
  }

  send(...args: EventParams<EmitEvents, "message">): this {
    (this.emit as any)("message", ...args);
    return this;
  }

  write(...args: EventParams<EmitEvents, "message">): this {
    (this.emit as any)("message", ...args);
    return this;
  }

  /** Sets the compress flag for the next emit. */
  compress(compress: boolean): this {
    this.#setFlag("compress", compress);
    return this;
  }

  /** The next emit is dropped rather than queued if the client cannot take it now. */
  get volatile(): this {
    this.#setFlag("volatile", true);
    return this;
  }

  /**
   * The next emit's acknowledgement fails with an Error after `ms`
   * milliseconds (rounded up to whole ms). More than 2^31-1 is kept as given;
   * `Infinity` never times out (socket.io times out such acks at once).
   */
  timeout(ms: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData> {
    this.#setFlag("timeout", ms);
    return this as any;
  }

  // ---- broadcasting from this socket (the sender is excluded) -------------

  to(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#broadcastOperator().to(room);
  }

  in(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#broadcastOperator().in(room);
  }

  except(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#broadcastOperator().except(room);
  }

  get broadcast(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#broadcastOperator();
  }

  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#broadcastOperator().local;
  }

  #broadcastOperator(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    const flags = this.#takeFlags();
    return new BroadcastOperator(this.adapter, new Set<Room>(), new Set<Room>([this.id]), { ...flags });
  }

  // ---- rooms --------------------------------------------------------------

  join(rooms: Room | Room[]): Promise<void> | void {
    if (this.#closed) return;
    return this.adapter.addAll(this.id, new Set(Array.isArray(rooms) ? rooms : [rooms]));
  }

  leave(room: Room): Promise<void> | void {
    return this.adapter.del(this.id, room);
  }

  // ---- middleware and catch-all listeners ---------------------------------

  /** Registers a middleware run for every incoming event: `fn([event, ...args], next)`. */
  use(fn: (event: Event, next: (err?: Error) => void) => void): this {
    (this.#hooksOf().fns ??= []).push(fn);
    return this;
  }

  onAny(listener: (...args: any[]) => void): this {
    (this.#hooksOf().any ??= []).push(listener);
    return this;
  }

  prependAny(listener: (...args: any[]) => void): this {
    (this.#hooksOf().any ??= []).unshift(listener);
    return this;
  }

  offAny(listener?: (...args: any[]) => void): this {
    const hooks = this.#hooks;
    if (hooks !== undefined) hooks.any = removeListener(hooks.any, listener);
    return this;
  }

  listenersAny(): Array<(...args: any[]) => void> {
    const listeners = this.#hooks?.any;
    return listeners ? listeners.slice() : [];
  }

  onAnyOutgoing(listener: (...args: any[]) => void): this {
    (this.#hooksOf().anyOutgoing ??= []).push(listener);
    return this;
  }

  prependAnyOutgoing(listener: (...args: any[]) => void): this {
    (this.#hooksOf().anyOutgoing ??= []).unshift(listener);
    return this;
  }

  offAnyOutgoing(listener?: (...args: any[]) => void): this {
    const hooks = this.#hooks;
    if (hooks !== undefined) hooks.anyOutgoing = removeListener(hooks.anyOutgoing, listener);
    return this;
  }

  listenersAnyOutgoing(): Array<(...args: any[]) => void> {
    const listeners = this.#hooks?.anyOutgoing;
    return listeners ? listeners.slice() : [];
  }

  /** Runs the outgoing catch-all listeners for a packet sent to this socket. Called by adapters. */
  notifyOutgoingListeners(packet: { data?: any[] }): void {
    const listeners = this.#hooks?.anyOutgoing;
    if (!listeners || listeners.length === 0 || !packet.data) return;
    for (const listener of listeners.slice()) listener.apply(this, packet.data);
  }

  // ---- disconnection ------------------------------------------------------

  /**
   * Leaves the namespace ("server namespace disconnect"). With `close`, the
   * whole connection is closed, every namespace of the client included.
   */
  disconnect(close = false): this {
    if (!this.connected) return this;
    if (close) this.client.disconnectAll();
    else this.disconnectWith(NAMESPACE_DISCONNECT);
    return this;
  }

  /** @internal Leaves the namespace ("server namespace disconnect"), for `cause`. */
  disconnectWith(cause: CauseRequest): void {
    disconnectSocket(this, cause);
  }

  // ---- calls from the namespace and the connection (internal) -------------

  /** @internal The CONNECT reply; from now on packets flow. */
  onConnect(): void {
    this.connected = true;
    try {
      this.join(this.id);
    } catch (err) {
      // An adapter "create-room"/"join-room" listener threw: the CONNECT reply still goes out.
      rethrowLater(err);
    }
    sendConnectReply(this);
  }

  /**
   * @internal A decoded packet for this namespace. Listeners, middlewares and
   * ack callbacks run synchronously from here: an exception they throw
   * propagates to the caller (the connection re-raises it).
   */
  onPacket(packet: Packet): void {
    switch (packet.type) {
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        this.#onEvent(packet);
        break;
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        settleAck(this, this.#acks, packet);
        break;
      case PacketType.DISCONNECT:
        this.onClose(
          "client namespace disconnect",
          withCause(undefined, { ...CLIENT_NAMESPACE_DISCONNECT, transport: this.client.conn.transport.name }),
        );
        break;
    }
  }

  /** @internal Reports an error to the application's "error" listeners. */
  onError(err: Error): void {
    // An unhandled "error" must never crash the process.
    if (this.listenerCount("error") > 0) emitSafely(this, "error", err);
  }

  /**
   * @internal Ends this socket; `reason` is one of socket.io's disconnect
   * reasons. Returns what the adapter's persistSession() returned (a Promise
   * for stores that write asynchronously), so that a drain can wait for it.
   */
  onClose(reason: DisconnectReason, description?: unknown): unknown {
    return closeSocket(this, reason, description);
  }

  /** @internal Whether the server waits for an acknowledgement from this client. */
  hasPendingAcks(): boolean {
    return this.#acks !== undefined && this.#acks.size > 0;
  }

  /** @internal Leaves every room and the namespace; joins become no-ops. */
  cleanup(): void {
    this.#closed = true;
    try {
      this.adapter.delAll(this.id);
    } catch (err) {
      // An adapter "leave-room"/"delete-room" listener threw.
      rethrowLater(err);
    }
    this.nsp.removeSocket(this);
  }

  #hooksOf(): SocketHooks {
    return (this.#hooks ??= newHooks());
  }

  #onEvent(packet: Packet): void {
    const args: any[] = packet.data ?? [];
    if ((facts.mask & FACT_EVENT) !== 0) return observeEvent(this, packet, args, () => this.#onEventArgs(args));
    if (packet.id != null) args.push(ackResponder(this, packet.id));
    this.#onEventArgs(args);
  }

  #onEventArgs(args: any[]): void {
    const hooks = this.#hooks;
    if (hooks === undefined) dispatchEvent(this, args);
    else runHooks(this, hooks, args);
  }

  #setFlag<K extends keyof BroadcastFlags>(key: K, value: BroadcastFlags[K]): void {
    if (this.#flags === NO_FLAGS) this.#flags = {};
    this.#flags[key] = value;
  }

  #takeFlags(): BroadcastFlags {
    const flags = this.#flags;
    this.#flags = NO_FLAGS;
    return flags;
  }
}

/** Socket ids for Socket.IO v2 clients: the engine id on "/", "<nsp>#<id>" elsewhere. */
function legacyId(nsp: string, sid: string): string {
  return nsp === "/" ? sid : `${nsp}#${sid}`;
}
