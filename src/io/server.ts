import type * as http from "node:http";
import { EventEmitter } from "node:events";
import { invalidOption } from "../core/errors.js";
import { sessionRouterOf } from "../core/routing.js";
import { Server as EngineServer, type Socket as EngineSocket } from "../engine/index.js";
import { checkPath, resolveOptions as resolveEngineOptions } from "../engine/options.js";
import { Adapter } from "../adapter/adapter.js";
import type { Room, SocketId } from "../adapter/types.js";
import type { BroadcastOperator, RemoteSocket } from "./broadcast-operator.js";
import { attachEngine, httpServerFor, type HttpLikeServer } from "./attach.js";
import { Connection } from "./connection.js";
import { IoCounters } from "../observe/counters.js";
import type { ServerStats } from "../observe/stats.js";
import { collectStats } from "./stats.js";
import { answerReadiness, connectionsOf, Drain, resolveDrainOptions, type DrainOptions } from "./drain.js";
import { Namespace, type ExtendedError, type ServerReservedEventsMap } from "./namespace.js";
import { NamespaceRegistry } from "./namespace-registry.js";
import type { ParentNspNameMatchFn } from "./parent-namespace.js";
import { checkAdapter, resolveAdapter, resolveParser, type AdapterConstructor, type ServerOptions } from "./options.js";
import { resolveLimits } from "./policy/options.js";
import { ServerPolicy } from "./policy/server-policy.js";
import { compileEvents } from "./policy/events.js";
import { setSchemas } from "./policy/rejection.js";
import * as defaultParser from "./protocol/index.js";
import { closeServer, type CloseOptions } from "./shutdown.js";
import type { Socket } from "./socket.js";
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

export type { CloseOptions } from "./shutdown.js";

/**
 * The Socket.IO server: socket.io 4.8's API. EventEmitter methods (`on`,
 * `once`, `off`, ...) act on the main namespace, as in socket.io.
 */
export class Server<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends StrictEventEmitter<
  ServerSideEvents,
  RemoveAcknowledgements<EmitEvents>,
  ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
> {
  /** The main namespace "/". */
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** The packet encoder shared by every connection. */
  readonly encoder: { encode(packet: any): any[] };
  /** @internal the parser module (Encoder/Decoder). */
  readonly _parser: any;
  /** Namespaces by name. Public for socket.io compatibility. */
  readonly _nsps: Map<string, Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> = new Map();
  /** The options given to the constructor. */
  readonly _opts: ServerOptions;
  /** The Engine.IO server, once attached or bound. */
  engine!: EngineServer;
  /** The HTTP server attached to, if any. */
  httpServer?: HttpLikeServer;
  _connectTimeout = 45000;
  /** @internal what this server counted (io.stats()) */
  readonly counters = new IoCounters();
  /** @internal the `limits` option at work; null when no limit is set */
  readonly policy: ServerPolicy | null;
  readonly #namespaces = new NamespaceRegistry<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this);
  #adapter: AdapterConstructor = Adapter;
  #path = "/socket.io";
  #serveClient = true;
  #drain: Drain | null = null;
  #closed = false;
  #detachBundle: (() => void) | null = null;
  #readyHandler?: (req: http.IncomingMessage, res: http.ServerResponse) => void;

  constructor(opts?: ServerOptions);
  constructor(srv?: HttpLikeServer | number | string, opts?: ServerOptions);
  constructor(srv?: any, opts: ServerOptions = {}) {
    super();
    if (srv !== null && typeof srv === "object" && typeof srv.listen !== "function" && !(srv instanceof EventEmitter)) {
      opts = srv;
      srv = undefined;
    }
    opts = opts ?? {};
    // The engine is created on attach(): its options are checked now, so that
    // a bad value fails here, next to the options, even before any attach.
    resolveEngineOptions(opts);
    this._opts = opts;
    this.path(opts.path ?? "/socket.io");
    this.connectTimeout(opts.connectTimeout ?? 45000);
    this.serveClient(opts.serveClient !== false);
    this._parser = resolveParser(opts, defaultParser);
    this.encoder = new this._parser.Encoder();
    const limits = resolveLimits(opts.limits);
    this.policy = limits !== null ? new ServerPolicy(limits) : null;
    if (opts.events !== undefined) setSchemas(this, compileEvents("events", opts.events));
    this.#adapter = resolveAdapter(opts);
    this.sockets = this.of("/");
    if (srv !== undefined && srv !== null) this.attach(srv);
  }

  /** The options (socket.io exposes them as `opts`). */
  get opts(): ServerOptions {
    return this._opts;
  }

  // ---- settings -------------------------------------------------------------

  serveClient(): boolean;
  serveClient(v: boolean): this;
  serveClient(v?: boolean): boolean | this {
    if (v === undefined) return this.#serveClient;
    this.#serveClient = v;
    return this;
  }

  path(): string;
  path(v: string): this;
  path(v?: string): string | this {
    if (v === undefined) return this.#path;
    if (typeof v !== "string") throw invalidOption("path", 'a string such as "/socket.io"', v);
    checkPath(v);
    this.#path = v.replace(/\/$/, "");
    return this;
  }

  connectTimeout(): number;
  connectTimeout(v: number): this;
  connectTimeout(v?: number): number | this {
    if (v === undefined) return this._connectTimeout;
    if (typeof v !== "number" || !(v > 0)) throw invalidOption("connectTimeout", "a positive number of milliseconds", v);
    this._connectTimeout = v;
    return this;
  }

  adapter(): AdapterConstructor;
  adapter(v: AdapterConstructor): this;
  adapter(v?: AdapterConstructor): AdapterConstructor | this {
    if (v === undefined) return this.#adapter;
    this.#adapter = checkAdapter(v) ?? Adapter;
    for (const nsp of this._nsps.values()) nsp._initAdapter();
    this.#routeSessions();
    return this;
  }

  // ---- attaching --------------------------------------------------------------

  /** Attaches to an HTTP server, or creates one listening on `port`. */
  listen(srv: HttpLikeServer | number | string, opts: ServerOptions = {}): this {
    return this.attach(srv, opts);
  }

  attach(srv: HttpLikeServer | number | string, opts: ServerOptions = {}): this {
    const server = httpServerFor(srv);
    // Options given to the constructor win over those given here.
    const merged = Object.assign({}, opts, this._opts) as ServerOptions & { path: string };
    merged.path = (this._opts.path ?? opts.path ?? this.#path).replace(/\/$/, "");
    this.#path = merged.path;
    const { engine, detachBundle } = attachEngine(server, merged, this.#serveClient);
    if (detachBundle !== null) this.#detachBundle = detachBundle;
    this.httpServer = server;
    this.bind(engine);
    return this;
  }

  /** Uses an already created Engine.IO server (any object emitting "connection"). */
  bind(engine: EngineServer): this {
    this.engine = engine;
    const policy = this.policy;
    if (policy !== null && policy.limits.admission && typeof engine.setAdmission === "function") {
      engine.setAdmission(policy);
      policy.start();
    }
    engine.on("connection", (conn: EngineSocket) => {
      new Connection(this, conn);
    });
    this.#routeSessions();
    return this;
  }

  /** Session forwarding: the engine gets the router the main namespace's adapter offers (cluster adapters), if any. */
  #routeSessions(): void {
    const engine = this.engine as EngineServer | undefined;
    if (engine !== undefined && typeof engine.setRouter === "function") engine.setRouter(sessionRouterOf(this.sockets?.adapter));
  }

  // ---- namespaces ---------------------------------------------------------------

  /** Gets or creates a namespace; a RegExp or function creates a parent of dynamic namespaces. */
  of(
    name: string | RegExp | ParentNspNameMatchFn,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    return this.#namespaces.of(name, fn);
  }

  /**
   * @internal Asks the parent namespaces, in registration order, whether
   * `name` is acceptable; `fn` gets the created child, or false.
   */
  _checkNamespace(
    name: string,
    auth: Record<string, unknown>,
    fn: (nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | false) => void,
  ): void {
    this.#namespaces.check(name, auth, fn);
  }

  // ---- the main namespace's API -------------------------------------------------

  use(fn: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, next: (err?: ExtendedError) => void) => void): this {
    this.sockets.use(fn);
    return this;
  }

  to(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.to(room);
  }

  in(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.in(room);
  }

  except(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.except(room);
  }

  compress(compress: boolean): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.compress(compress);
  }

  get volatile(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.volatile;
  }

  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.local;
  }

  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>, SocketData> {
    return this.sockets.timeout(ms);
  }

  // @ts-ignore -- typed override of EventEmitter#emit
  override emit<Ev extends EventNamesWithoutAck<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return this.sockets.emit(ev, ...args);
  }

  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>>>> {
    return this.sockets.emitWithAck(ev, ...args);
  }

  send(...args: EventParams<EmitEvents, "message">): this {
    this.sockets.send(...args);
    return this;
  }

  write(...args: EventParams<EmitEvents, "message">): this {
    this.sockets.write(...args);
    return this;
  }

  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<DecorateAcknowledgementsWithTimeoutAndMultipleResponses<ServerSideEvents>, Ev>
  ): boolean {
    return this.sockets.serverSideEmit(ev, ...args);
  }

  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<ServerSideEvents, Ev>>>[]> {
    return this.sockets.serverSideEmitWithAck(ev, ...args);
  }

  /** @deprecated use fetchSockets(). */
  allSockets(): Promise<Set<SocketId>> {
    return this.sockets.allSockets();
  }

  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return this.sockets.fetchSockets();
  }

  socketsJoin(room: Room | Room[]): void {
    this.sockets.socketsJoin(room);
  }

  socketsLeave(room: Room | Room[]): void {
    this.sockets.socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    this.sockets.disconnectSockets(close);
  }

  // ---- operations -------------------------------------------------------------------

  /**
   * Counters since the server started (handshakes, packets, bytes,
   * broadcasts, disconnects per namespace, cause and transport...) and
   * gauges read now (sessions and sockets per transport, bytes waiting for
   * clients). Plain data; see ServerStats. `tidewire/metrics` exports it to
   * Prometheus.
   */
  stats(): ServerStats {
    return collectStats(this as any);
  }

  /**
   * Times one acknowledgement in `every` for the round-trip histogram of
   * `stats().ackRtt` (0, the default, times none). `tidewire/metrics` sets it.
   */
  sampleAckRoundTrips(every: number): void {
    if (!Number.isInteger(every) || every < 0) throw invalidOption("sampleAckRoundTrips", "a whole number, 0 or more", every);
    this.counters.ackRtt.sampleEvery = every;
    this.counters.ackRtt.seq = 0;
  }

  /** Whether new handshakes are refused now because the event loop is overloaded (`limits.maxEventLoopDelayMs`). */
  get shedding(): boolean {
    return this.policy !== null && this.policy.shedding;
  }

  /** Whether `drain()` was called: new handshakes are refused with 503. */
  get draining(): boolean {
    return this.#drain !== null;
  }

  /**
   * Whether this node should get new clients: attached (or bound) to an
   * engine, not draining, not closed. For a load balancer's health check;
   * `readyHandler` answers it over HTTP.
   */
  get ready(): boolean {
    return this.engine !== undefined && this.#drain === null && !this.#closed;
  }

  /**
   * A request handler for a load balancer's readiness check: `200
   * {"ready":true}`, or `503 {"ready":false,"cause":"server_drain"}` with
   * `Retry-After` while draining. Mount it where the check looks:
   * `app.get("/ready", io.readyHandler)`. The same function every time.
   */
  get readyHandler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    return (this.#readyHandler ??= (_req, res) => {
      const cause = this.ready ? null : this.#drain !== null ? "server_drain" : this.#closed ? "server_close" : "not_attached";
      answerReadiness(res, cause, this.#drain !== null ? this.#drain.retryAfterS : undefined);
    });
  }

  /**
   * Takes this node out of service for a rolling deploy: from now on new
   * handshakes (polling and WebSocket) get `503` with `Retry-After` (and
   * `connection_error` on the engine), `draining` is true and `ready` false;
   * the clients connected now are closed at the transport level, spread over
   * `durationMs`, so that the official client reconnects by itself, to
   * another node. Acknowledgements in flight settle (or time out) first; with
   * connection-state recovery each session is saved before its transport
   * closes. Resolves when the last client is gone. Calling it again returns
   * the same promise.
   */
  drain(opts: DrainOptions = {}): Promise<void> {
    if (this.#drain !== null) return this.#drain.promise;
    const resolved = resolveDrainOptions(opts);
    const engine = this.engine as EngineServer | undefined;
    // Not attached yet: nothing to drain, but stay out of service.
    const find = engine === undefined ? () => new Map() : () => connectionsOf(this._nsps.values());
    this.#drain = new Drain(engine ?? null, find, resolved);
    this.#drain.start();
    return this.#drain.promise;
  }

  // ---- shutdown -------------------------------------------------------------------

  /**
   * Disconnects every socket ("server shutting down"), closes the adapters,
   * the engine and the HTTP server. `fn` receives the HTTP server's close
   * error, if any; the returned Promise always resolves.
   *
   * With `{ closeHttpServer: false }` the HTTP server is left running and
   * tidewire's listeners are taken off it: requests under the path reach the
   * application's own listeners again.
   */
  close(fn?: (err?: Error) => void): Promise<void>;
  close(opts: CloseOptions, fn?: (err?: Error) => void): Promise<void>;
  close(optsOrFn?: CloseOptions | ((err?: Error) => void), fn?: (err?: Error) => void): Promise<void> {
    let opts: CloseOptions = {};
    if (typeof optsOrFn === "function") fn = optsOrFn;
    else if (optsOrFn !== undefined && optsOrFn !== null) opts = optsOrFn;
    this.#closed = true;
    this.policy?.stop();
    return closeServer(this, opts, fn, () => {
      this.#detachBundle?.();
      this.#detachBundle = null;
    });
  }
}

// EventEmitter methods of the Server act on the main namespace, as in socket.io.
for (const method of ["on", "once", "off", "addListener", "removeListener", "prependListener", "prependOnceListener",
  "removeAllListeners", "listeners", "rawListeners", "listenerCount", "eventNames", "setMaxListeners", "getMaxListeners"] as const) {
  (Server.prototype as any)[method] = function (this: Server, ...args: any[]) {
    return (this.sockets as any)[method](...args);
  };
}
