/**
 * Completes WebSocket upgrades: with the built-in framing (the default), or
 * through a ws server when permessage-deflate is on and the client offers it,
 * or when `wsEngine` names another implementation.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { ResolvedOptions } from "./options.js";
import type { Transport } from "./transports/transport.js";
import { WebSocketTransport } from "./transports/websocket.js";
import { WsLibraryTransport } from "./transports/ws-library.js";
import { acceptLines, checkHandshake, refuseHandshake } from "./ws-handshake.js";

/** Called with the 101's header lines before they are written; it may append lines. */
export type HeadersHook = (lines: string[], req: IncomingMessage) => void;

export class WebSocketAcceptor {
  readonly #opts: ResolvedOptions;
  readonly #onHeaders: HeadersHook;
  #server: any = null;

  constructor(opts: ResolvedOptions, onHeaders: HeadersHook) {
    this.#opts = opts;
    this.#onHeaders = onHeaders;
  }

  /**
   * Completes the handshake; `cb` runs with the new transport (not at all if
   * the handshake was refused or the client left).
   */
  accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    protocol: 3 | 4,
    supportsBinary: boolean,
    cb: (transport: Transport) => void,
  ): void {
    const opts = this.#opts;
    const deflate = opts.perMessageDeflate !== false && req.headers["sec-websocket-extensions"] !== undefined;
    if (opts.wsEngine !== undefined || deflate) {
      this.#server ??= this.#createServer();
      this.#server.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        cb(new WsLibraryTransport(ws, socket, protocol, supportsBinary));
      });
      return;
    }
    const refusal = checkHandshake(req);
    if (refusal !== null) return refuseHandshake(socket, refusal);
    // The client may have gone while the request was verified.
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    const lines = acceptLines(req);
    this.#onHeaders(lines, req);
    lines.push("", "");
    // The 101 and what the new session writes at once (its open packet) leave in one write.
    socket.cork();
    try {
      socket.write(lines.join("\r\n"));
      cb(new WebSocketTransport(socket, head, protocol, supportsBinary, opts));
    } finally {
      socket.uncork();
    }
  }

  #createServer(): any {
    const Engine = this.#opts.wsEngine ?? WebSocketServer;
    const server = new Engine({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: this.#opts.perMessageDeflate,
      maxPayload: this.#opts.maxHttpBufferSize,
    });
    if (typeof server.on === "function") server.on("headers", this.#onHeaders);
    return server;
  }

  /** Closes the ws server if one was created; a later upgrade creates a new one. */
  close(): void {
    const server = this.#server;
    this.#server = null;
    if (server !== null) server.close();
  }
}
