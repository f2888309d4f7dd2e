/**
 * The Engine.IO server: request and upgrade entry points, verification,
 * the session registry (new sessions open in ./handshake.ts).
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { logger } from "../core/debug.js";
import { generateId, generateTaggedId } from "../core/ids.js";
import { rethrowLater } from "../core/rethrow.js";
import type { RoutingFailure, RoutingHost, SessionRouter } from "../core/routing.js";
import { sessionCookie } from "./cookie.js";
import { corsMiddleware } from "./cors.js";
import type { Admission } from "./admission.js";
import { abortRequest, abortUpgrade, ErrorCodes, ErrorMessages, SERVICE_UNAVAILABLE, type ErrorCode, type ErrorContext } from "./errors.js";
import { Handshakes, ignoreError } from "./handshake.js";
import { attachToHttpServer, type HttpLikeServer } from "./http-attach.js";
import { runMiddlewares, UpgradeResponse, type Middleware } from "./middleware.js";
import { resolveOptions, type AttachOptions, type ResolvedOptions, type ServerOptions } from "./options.js";
import type { Socket } from "./session.js";
import { PollingTransport } from "./transports/polling.js";
import type { EngineContext, TransportName } from "./transports/transport.js";
import { WebSocketAcceptor } from "./ws-acceptor.js";
import { protocolOf, queryOf, verifyRequest } from "./verify.js";
import type { CauseRequest } from "../observe/causes.js";
import { EngineCounters } from "../observe/counters.js";

const log = logger("engine", "server");

/** Headers that middlewares set on an upgrade's stand-in response, until ws writes the 101. */
const upgradeHeaders = new WeakMap<IncomingMessage, OutgoingHttpHeaders>();

/** A header line is refused if it could split the response. */
const UNSAFE_HEADER = /[\r\n]/;

const SERVER_CLOSE: CauseRequest = Object.freeze({ code: "server_close" });

export class Server extends EventEmitter implements EngineContext {
  static readonly errors = ErrorCodes;
  static readonly errorMessages = ErrorMessages;

  /** The resolved options (defaults applied; unknown keys kept). */
  readonly opts: ResolvedOptions;
  /** Open sessions by id (null prototype: ids such as `__proto__` cannot collide with anything). */
  readonly clients: Record<string, Socket> = Object.create(null);
  clientsCount = 0;
  readonly middlewares: Middleware[] = [];
  /** The http server given to `attach()` (or created by `listen()`). */
  httpServer?: HttpLikeServer;
  /** What this server counted (read through `io.stats()`). @internal */
  readonly counters = new EngineCounters();
  readonly #acceptor: WebSocketAcceptor;
  /** Opens new sessions; holds the drain refusal and the admission step. */
  readonly #handshakes: Handshakes;
  #detach: (() => void) | null = null;
  /** Hands requests for other nodes' sessions to them (set by a cluster adapter), or null. */
  #router: SessionRouter | null = null;
  #routingHost: RoutingHost | null = null;

  constructor(opts: ServerOptions = {}) {
    super();
    this.opts = resolveOptions(opts);
    this.#acceptor = new WebSocketAcceptor(this.opts, this.#onWsHeaders);
    this.#handshakes = new Handshakes(this, this.#acceptor, (req, code, context) => this.#connectionError(req, code, context));
    if (this.opts.cors) this.use(corsMiddleware(this.opts.cors));
  }

  /**
   * The id of a new session: 20 unguessable base64url characters (with a
   * cluster adapter that forwards sessions, the last 6 name this node).
   * Override it (it may return a Promise); a throw or rejection refuses the
   * handshake. Sessions with ids of your own are not forwarded between nodes.
   */
  generateId(_req: IncomingMessage): string | Promise<string> {
    return this.#router !== null ? generateTaggedId(this.#router.tag) : generateId();
  }

  /**
   * Sets the router that hands requests for other nodes' sessions to them
   * (null: none). The Socket.IO server passes the one its adapter offers.
   * @internal
   */
  setRouter(router: SessionRouter | null): void {
    if (router === this.#router) return;
    this.#router?.unbind(this.#host());
    this.#router = router;
    router?.bind(this.#host());
  }

  /** What the router may use of this engine. */
  #host(): RoutingHost {
    if (this.#routingHost !== null) return this.#routingHost;
    const engine = this;
    this.#routingHost = {
      opts: this.opts,
      get httpServer() {
        return engine.httpServer;
      },
      handleRequest: (req, res) => this.handleRequest(req, res),
      handleUpgrade: (req, socket, head) => this.handleUpgrade(req, socket, head),
      refuseRequest: (req, res, failure) =>
        this.#runMiddlewares(
          req,
          res,
          () => this.#requestVerified(req, res, ErrorCodes.UNKNOWN_SID, failure),
          (context) => this.#requestVerified(req, res, ErrorCodes.BAD_REQUEST, context),
        ),
      refuseUpgrade: (req, socket, failure: RoutingFailure) => {
        this.#connectionError(req, ErrorCodes.UNKNOWN_SID, failure);
        abortUpgrade(socket, ErrorCodes.UNKNOWN_SID, failure);
      },
    };
    return this.#routingHost;
  }

  /** Adds an Express-style middleware, run before verification for requests and upgrades. */
  use(fn: Middleware): this {
    if (typeof fn !== "function") throw new TypeError("engine.use() expects a (req, res, next) function");
    this.middlewares.push(fn);
    return this;
  }

  /** The transports a session on `transport` may upgrade to. */
  upgrades(transport: TransportName): string[] {
    if (!this.opts.allowUpgrades || transport !== "polling") return [];
    return this.opts.transports.includes("websocket") ? ["websocket"] : [];
  }

  /** Attaches to an http/https/http2 server under `opts.path` (default "/engine.io"). */
  attach(server: HttpLikeServer, opts: AttachOptions = {}): this {
    this.#detach = attachToHttpServer(this, server, opts);
    this.httpServer = server;
    return this;
  }

  /**
   * Takes the engine's listeners off the HTTP server given to `attach()`:
   * requests under the path reach the application's own listeners again. @internal
   */
  detach(): void {
    this.#detach?.();
    this.#detach = null;
  }

  /** Whether new handshakes are refused because the server drains. */
  get draining(): boolean {
    return this.#handshakes.refusal !== null;
  }

  /**
   * From now on every new handshake (polling or WebSocket) is answered 503
   * with `Retry-After: retryAfterS` and reported by `connection_error`.
   * Existing sessions, and their upgrades, go on. @internal used by `io.drain()`
   */
  startDraining(retryAfterS: number): void {
    this.#handshakes.refusal ??= {
      cause: "server_drain",
      status: SERVICE_UNAVAILABLE,
      retryAfterS,
      message: "Server draining: this node is shutting down; connect again and another node will take the connection",
    };
  }

  /**
   * Installs the admission step every new handshake passes after the drain
   * check (see Admission). Set before any session opens. @internal used by
   * the `limits` option
   */
  setAdmission(admission: Admission | null): void {
    this.#handshakes.admission = admission;
  }

  /** Closes every session at once ("forced close") and the WebSocket server. */
  close(): this {
    for (const id in this.clients) this.clients[id].close(true, SERVER_CLOSE);
    this.#acceptor.close();
    this.setRouter(null);
    return this;
  }

  /** Handles an Engine.IO HTTP request (polling, or a refused plain websocket GET). */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    if (log.enabled) log('handling "%s" request "%s"', req.method, req.url);
    const sid = queryOf(req).sid;
    // Another node's session: its router hands the request over (before any middleware, which run there).
    if (sid && this.#router !== null && !Object.prototype.hasOwnProperty.call(this.clients, sid)) {
      if (this.#router.forwardRequest(sid, req, res)) return;
    }
    // Per-request callbacks are inline arrows calling methods: a named local
    // closure would get its name set at run time by the bundle (keepNames).
    this.#runMiddlewares(
      req,
      res,
      () => verifyRequest(this, req, false, (code, context) => this.#requestVerified(req, res, code, context)),
      (context) => this.#requestVerified(req, res, ErrorCodes.BAD_REQUEST, context),
    );
  }

  #requestVerified(req: IncomingMessage, res: ServerResponse, code?: ErrorCode, context?: ErrorContext): void {
    if (code !== undefined) {
      this.#connectionError(req, code, context);
      abortRequest(res, code, context);
      return;
    }
    const sid = queryOf(req).sid;
    if (!sid) return this.#handshakes.start(req, res, null, null);
    const transport = this.clients[sid].transport;
    if (transport instanceof PollingTransport) return transport.onRequest(req, res);
    // A plain GET naming the session's websocket transport: nothing to serve.
    this.#requestVerified(req, res, ErrorCodes.BAD_REQUEST, { name: "TRANSPORT_MISMATCH", transport: "websocket" });
  }

  /** Handles an HTTP upgrade for the engine's path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, upgradeHead: Buffer): void {
    const sid = queryOf(req).sid;
    // Node removed its own error listener when it emitted "upgrade": a reset
    // during an async verification step must not become an uncaught error.
    socket.on("error", ignoreError);
    // The parser may reuse this buffer once the event returns.
    const head = Buffer.from(upgradeHead);
    if (sid && this.#router !== null && !Object.prototype.hasOwnProperty.call(this.clients, sid)) {
      if (this.#router.forwardUpgrade(sid, req, socket, head)) return;
    }
    // The stand-in response exists only for middlewares: an idle connection must not keep one.
    const res = this.middlewares.length > 0 ? new UpgradeResponse(req, socket) : null;
    this.#runMiddlewares(
      req,
      res as unknown as ServerResponse,
      () =>
        verifyRequest(this, req, true, (code, context) => this.#upgradeVerified(req, socket, head, res, code, context)),
      (context) => this.#upgradeVerified(req, socket, head, res, ErrorCodes.BAD_REQUEST, context),
    );
  }

  #upgradeVerified(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    res: UpgradeResponse | null,
    code?: ErrorCode,
    context?: ErrorContext,
  ): void {
    if (code !== undefined) {
      this.#connectionError(req, code, context);
      abortUpgrade(socket, code, context);
      return;
    }
    // Middlewares such as express-session set their headers when writeHead() is called.
    if (res !== null) {
      res.writeHead();
      upgradeHeaders.set(req, res.headers);
    }
    const query = queryOf(req);
    if (query.sid || query.transport !== "websocket") this.#acceptUpgrade(req, socket, head);
    else this.#handshakes.start(req, null, socket, head);
  }

  #runMiddlewares(
    req: IncomingMessage,
    res: ServerResponse,
    next: () => void,
    fail: (context: ErrorContext) => void,
  ): void {
    if (this.middlewares.length === 0) return next();
    runMiddlewares(this.middlewares, req, res, (err) => {
      if (err) fail({ name: "MIDDLEWARE_FAILURE", error: err });
      else next();
    });
  }

  #connectionError(req: IncomingMessage, code: ErrorCode, context?: ErrorContext): void {
    if (log.enabled) {
      const hint = typeof context?.hint === "string" ? ` (${context.hint})` : "";
      log("refusing request %s: code %d, %s%s", req.url, code, ErrorMessages[code], hint);
    }
    try {
      this.emit("connection_error", { req, code, message: ErrorMessages[code], context });
    } catch (err) {
      rethrowLater(err);
    }
  }

  /** An upgrade of an existing session: 101, then either an upgrade attempt or an immediate close. */
  #acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const query = queryOf(req);
    this.#acceptor.accept(req, socket, head, protocolOf(query), !query.b64, (transport) => {
      socket.removeListener("error", ignoreError);
      const session = Object.prototype.hasOwnProperty.call(this.clients, query.sid) ? this.clients[query.sid] : null;
      // Only an open polling session with no upgrade behind or under way may move to this socket:
      // a session opened on WebSocket is never taken over by another one that knows its id.
      const acceptable =
        query.transport === "websocket" &&
        session !== null &&
        session.readyState === "open" &&
        session.transport.name === "polling" &&
        !session.upgrading &&
        !session.upgraded;
      if (!acceptable) {
        if (log.enabled) log("refusing upgrade of %s", query.sid);
        socket.on("error", ignoreError);
        transport.close();
        return;
      }
      session.maybeUpgrade(transport);
    });
  }

  /** Called by a session as it closes, before its "close" event. @internal */
  onSessionClose(session: Socket): void {
    if (this.clients[session.id] === session) {
      delete this.clients[session.id];
      this.clientsCount--;
      const admission = this.#handshakes.admission;
      if (admission !== null) admission.onClose(session);
    }
  }

  /** Cookie (handshake), `initial_headers` and `headers` for a polling response. @internal */
  emitResponseHeaders(headers: OutgoingHttpHeaders, req: IncomingMessage, sid: string | undefined): void {
    if (!queryOf(req).sid && this.opts.cookie && sid !== undefined) {
      headers["Set-Cookie"] = [sessionCookie(this.opts.cookie, sid)];
    }
    this.#emitHeaders(headers, req);
  }

  /** `initial_headers` (handshakes) and `headers`; a throwing listener does not stop the response. */
  #emitHeaders(headers: OutgoingHttpHeaders, req: IncomingMessage): void {
    try {
      if (!queryOf(req).sid) this.emit("initial_headers", headers, req);
      this.emit("headers", headers, req);
    } catch (err) {
      rethrowLater(err);
    }
  }

  /** ws is about to write a 101: add the middlewares' headers and those of the header events. */
  #onWsHeaders = (lines: string[], req: IncomingMessage): void => {
    const headers = upgradeHeaders.get(req) ?? Object.create(null);
    upgradeHeaders.delete(req);
    this.#emitHeaders(headers, req);
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) {
        const text = String(v);
        if (UNSAFE_HEADER.test(name) || UNSAFE_HEADER.test(text)) continue;
        lines.push(`${name}: ${text}`);
      }
    }
  };
}

