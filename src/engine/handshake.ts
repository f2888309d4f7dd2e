/**
 * Opening a new Engine.IO session once its request is verified: the drain
 * and admission checks, the protocol check, id generation (possibly
 * asynchronous), then the session on polling or WebSocket
 * (features.md A4 order), and the refusals along the way.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { logger } from "../core/debug.js";
import { rejectLater } from "../core/rethrow.js";
import type { Admission } from "./admission.js";
import {
  abortRequest,
  abortUpgrade,
  ErrorCodes,
  ErrorMessages,
  refuseRequest,
  refuseUpgrade,
  SERVICE_UNAVAILABLE,
  type ErrorCode,
  type ErrorContext,
  type Refusal,
} from "./errors.js";
import type { Server } from "./server.js";
import { Socket } from "./session.js";
import { PollingTransport } from "./transports/polling.js";
import type { Transport } from "./transports/transport.js";
import type { WebSocketAcceptor } from "./ws-acceptor.js";
import { protocolOf, queryOf } from "./verify.js";
import { FACT_HANDSHAKE, endScope, facts, type Scope } from "../observe/facts.js";

const log = logger("engine", "server");

/** Why a v3 handshake is refused, for the debug line and `connection_error` (the client's answer stays engine.io's). */
const EIO3_HINT =
  "an Engine.IO v3 client (socket.io-client v2) is refused unless the server is created with the option allowEIO3: true";

/** The open handshake spans, while a sink follows handshakes (nothing is stored otherwise). */
const handshakeScopes = new WeakMap<IncomingMessage, Scope>();

function endHandshake(req: IncomingMessage, error?: unknown): void {
  const scope = handshakeScopes.get(req);
  if (scope === undefined) return;
  handshakeScopes.delete(req);
  endScope(scope, error);
}

/** Reports a refused request as `connection_error` (the server's own reporter). */
export type ConnectionErrorReporter = (req: IncomingMessage, code: ErrorCode, context?: ErrorContext) => void;

/** The handshakes of one engine server, with the drain refusal and the admission step they pass. */
export class Handshakes {
  /** Set while draining: every new handshake gets this refusal. */
  refusal: Refusal | null = null;
  /** The admission step of the `limits` option (io/policy), if configured. */
  admission: Admission | null = null;
  readonly #server: Server;
  readonly #acceptor: WebSocketAcceptor;
  readonly #connectionError: ConnectionErrorReporter;

  constructor(server: Server, acceptor: WebSocketAcceptor, connectionError: ConnectionErrorReporter) {
    this.#server = server;
    this.#acceptor = acceptor;
    this.#connectionError = connectionError;
  }

  /** Protocol check, id generation, session creation (features.md A4 order). */
  start(req: IncomingMessage, res: ServerResponse | null, socket: Duplex | null, head: Buffer | null): void {
    if ((facts.mask & FACT_HANDSHAKE) !== 0) {
      const scope = facts.handshake({ req, transport: res !== null ? "polling" : "websocket" });
      if (scope !== undefined) handshakeScopes.set(req, scope);
    }
    const refusal = this.refusal ?? (this.admission !== null ? this.admission.admit(req) : null);
    if (refusal !== null) return this.#refuse(req, res, socket, refusal);
    const query = queryOf(req);
    const protocol = protocolOf(query);
    if (protocol === 3 && !this.#server.opts.allowEIO3) {
      return this.#failed(req, res, socket, ErrorCodes.UNSUPPORTED_PROTOCOL_VERSION, { protocol, hint: EIO3_HINT });
    }
    let id: string | Promise<string>;
    try {
      id = this.#server.generateId(req);
    } catch (error) {
      return this.#failed(req, res, socket, ErrorCodes.BAD_REQUEST, { name: "ID_GENERATION_ERROR", error });
    }
    if (id !== null && typeof id === "object" && typeof (id as Promise<string>).then === "function") {
      (id as Promise<string>).then(
        (value) => this.#open(value, req, res, socket, head, protocol, query),
        (error) => this.#failed(req, res, socket, ErrorCodes.BAD_REQUEST, { name: "ID_GENERATION_ERROR", error }),
      );
    } else {
      this.#open(id, req, res, socket, head, protocol, query);
    }
  }

  #refuse(req: IncomingMessage, res: ServerResponse | null, socket: Duplex | null, refusal: Refusal): void {
    this.#server.counters.handshakeRefusals[refusal.cause]++;
    endHandshake(req, new Error(refusal.message));
    if (log.enabled) log("refusing handshake %s: %s", req.url, refusal.cause);
    const draining = refusal.cause === "server_drain";
    this.#server.emit("connection_error", {
      req,
      code: refusal.status,
      message: draining ? "Server draining" : refusal.status === SERVICE_UNAVAILABLE ? "Server overloaded" : "Too many requests",
      context: { name: draining ? "SERVER_DRAINING" : "HANDSHAKE_REFUSED", cause: refusal.cause, retryAfterS: refusal.retryAfterS },
    });
    if (res !== null) refuseRequest(res, refusal);
    else refuseUpgrade(socket as Duplex, refusal);
  }

  #failed(
    req: IncomingMessage,
    res: ServerResponse | null,
    socket: Duplex | null,
    code: ErrorCode,
    context: ErrorContext,
  ): void {
    endHandshake(req, context.error ?? new Error(ErrorMessages[code]));
    this.#connectionError(req, code, context);
    if (res !== null) abortRequest(res, code, context);
    else abortUpgrade(socket as Duplex, code, context);
  }

  /** Opens the session once its id is known. */
  #open(
    id: unknown,
    req: IncomingMessage,
    res: ServerResponse | null,
    socket: Duplex | null,
    head: Buffer | null,
    protocol: 3 | 4,
    query: Record<string, string>,
  ): void {
    if (typeof id !== "string" || id === "" || Object.prototype.hasOwnProperty.call(this.#server.clients, id)) {
      const error = new Error(
        typeof id === "string" && id !== ""
          ? `generateId() returned "${id}", which is already in use: ids must be unique`
          : `generateId() must return a non-empty string (or a Promise of one), got ${typeof id}`,
      );
      return this.#failed(req, res, socket, ErrorCodes.BAD_REQUEST, { name: "ID_GENERATION_ERROR", error });
    }
    // A drain may have begun while an asynchronous generateId() ran.
    if (this.refusal !== null) return this.#refuse(req, res, socket, this.refusal);
    if (res !== null) this.#openPolling(id, req, res, protocol, query);
    else this.#openWebSocket(id, req, socket as Duplex, head as Buffer, protocol, query);
  }

  #openPolling(
    id: string,
    req: IncomingMessage,
    res: ServerResponse,
    protocol: 3 | 4,
    query: Record<string, string>,
  ): void {
    // The client may have left while an async hook ran.
    if (res.writableEnded || res.destroyed || req.socket?.destroyed) return endHandshake(req, new Error("the client left during the handshake"));
    const server = this.#server;
    const transport = new PollingTransport(server, protocol, !query.b64);
    const session = this.#register(new Socket(id, server, transport, req, protocol));
    // The GET is answered right here with the open packet (and initialPacket).
    transport.onRequest(req, res);
    if (session.readyState === "open") this.#emitConnection(session);
  }

  #openWebSocket(
    id: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    protocol: 3 | 4,
    query: Record<string, string>,
  ): void {
    this.#acceptor.accept(req, socket, head, protocol, !query.b64, (transport: Transport) => {
      socket.removeListener("error", ignoreError);
      if (Object.prototype.hasOwnProperty.call(this.#server.clients, id)) {
        endHandshake(req, new Error("the session id is already in use"));
        transport.close();
        return;
      }
      const session = this.#register(new Socket(id, this.#server, transport, req, protocol));
      session.flushNow();
      if (session.readyState === "open") this.#emitConnection(session);
    });
  }

  /**
   * engine.io's handshake is an async function: what a "connection" listener
   * throws surfaces as an unhandled rejection there, and the session lives on.
   */
  #emitConnection(session: Socket): void {
    try {
      this.#server.emit("connection", session);
    } catch (err) {
      rejectLater(err);
    }
  }

  #register(session: Socket): Socket {
    const server = this.#server;
    server.clients[session.id] = session;
    server.clientsCount++;
    server.counters.handshakes[session.transport.name]++;
    if (this.admission !== null) this.admission.onOpen(session);
    endHandshake(session.request);
    return session;
  }
}

/**
 * The "error" listener an upgrading socket carries until ws takes it over:
 * Node removed its own when it emitted "upgrade", and a reset during an
 * async step must not become an uncaught error.
 */
export function ignoreError(): void {}
