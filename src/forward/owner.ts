/**
 * The node that holds a session (the owner) serving requests and tunnels
 * other nodes forwarded to it. Each one gets an in-memory connection to a
 * private http server whose listeners are the engine's own entry points, so
 * a forwarded request meets the same middlewares, CORS, checks and
 * transports as one that arrived directly:
 *
 * - REQUEST: replayed with node's http client over the connection; the
 *   response (status, end-to-end headers, body) goes back as RESPONSE.
 * - OPEN: the request bytes are written to the connection as they came;
 *   from then on the connection's bytes go back as DOWN frames and UP
 *   frames are written to it, until either side ends it (CLOSE / CANCEL).
 *
 * Bounded by maxPending entries and, for requests, by a deadline past the
 * origin's own (the origin normally cancels first).
 */
import http, { type ClientRequest, type IncomingMessage } from "node:http";
import { logger } from "../core/debug.js";
import type { RoutingHost } from "../core/routing.js";
import { timers, type TimerEntry } from "../core/timers.js";
import { Kind, encodeFrame, type Frame, type RequestMeta } from "./codec.js";
import { endToEndHeaders } from "./http-bytes.js";
import type { NodeLink } from "./link.js";
import { memoryConnection, type MemorySocket } from "./memory-socket.js";
import type { ResolvedForwardingOptions } from "./options.js";

const log = logger("forward", "owner");

/** Server ends of forwarded connections: requests on them are never forwarded again. */
const relayed = new WeakSet<object>();

/** Whether `socket` carries a request another node forwarded here. */
export function isRelayed(socket: unknown): boolean {
  return typeof socket === "object" && socket !== null && relayed.has(socket);
}

export interface OwnerContext {
  readonly stats: { served: number };
  readonly tag: string;
  readonly link: NodeLink;
  readonly opts: ResolvedForwardingOptions;
  host(): RoutingHost | null;
}

const kServed = Symbol("tidewire.served");
type Carrier = { [kServed]?: Served };

class Served implements TimerEntry {
  request: ClientRequest | null = null;

  constructor(
    readonly owner: Owner,
    readonly key: string,
    readonly from: string,
    readonly id: number,
    readonly client: MemorySocket,
  ) {}

  onTimeout(): void {
    this.owner.drop(this, true);
  }
}

export class Owner {
  readonly #ctx: OwnerContext;
  readonly #served = new Map<string, Served>();
  #server: http.Server | null = null;

  constructor(ctx: OwnerContext) {
    this.#ctx = ctx;
  }

  get size(): number {
    return this.#served.size;
  }

  /** The private server forwarded connections are fed to. */
  #privateServer(): http.Server {
    if (this.#server !== null) return this.#server;
    const server = http.createServer();
    server.on("request", (req, res) => {
      const host = this.#ctx.host();
      if (host !== null) return host.handleRequest(req, res);
      res.writeHead(503, { "Content-Type": "text/plain" });
      res.end("the server is not attached");
    });
    server.on("upgrade", (req, socket, head) => {
      const host = this.#ctx.host();
      if (host !== null) return host.handleUpgrade(req, socket, head);
      socket.destroy();
    });
    this.#server = server;
    return server;
  }

  /** Opens an in-memory connection to the private server; null when over the limit (the origin is told). */
  #open(frame: Frame): Served | null {
    const key = `${frame.from}:${frame.id}`;
    if (this.#served.has(key)) return null;
    if (this.#served.size >= this.#ctx.opts.maxPending) {
      log("[%s] refusing a forwarded request from %s: %d already served (forwarding.maxPending)", this.#ctx.tag, frame.from, this.#served.size);
      this.#reply(frame.from, frame.id, Kind.CLOSE, null);
      return null;
    }
    const meta = frame.meta as { a?: string; p?: number } | null;
    const [client, server] = memoryConnection({ address: meta?.a, port: meta?.p });
    relayed.add(server);
    const served = new Served(this, key, frame.from, frame.id, client);
    (client as MemorySocket & Carrier)[kServed] = served;
    this.#served.set(key, served);
    this.#ctx.stats.served++;
    this.#privateServer().emit("connection", server);
    return served;
  }

  #reply(to: string, id: number, kind: (typeof Kind)[keyof typeof Kind], meta: object | null, body?: Buffer): Promise<boolean> {
    return this.#ctx.link.send(to, encodeFrame(kind, this.#ctx.tag, id, meta, body)).catch((err) => {
      log("[%s] frame to %s not sent: %s", this.#ctx.tag, to, err?.message ?? err);
      return false;
    });
  }

  /** A forwarded HTTP request. */
  onRequest(frame: Frame): void {
    const served = this.#open(frame);
    if (served === null) return;
    const meta = frame.meta as unknown as RequestMeta;
    const host = this.#ctx.host();
    const waits = meta.m === "GET" && host !== null ? host.opts.pingInterval + host.opts.pingTimeout : 0;
    // Past the origin's own deadline: normally the origin cancels first.
    timers.arm(served, this.#ctx.opts.timeout * 2 + waits);
    let request: ClientRequest;
    try {
      request = http.request({
        method: meta.m,
        path: meta.u,
        headers: endToEndHeaders(meta.h) as unknown as http.OutgoingHttpHeaders,
        setHost: false,
        createConnection: () => served.client,
      });
    } catch (err) {
      // Headers or a path node refuses to send.
      log("[%s] forwarded request from %s not replayable: %s", this.#ctx.tag, frame.from, (err as Error).message);
      this.#reply(frame.from, frame.id, Kind.RESPONSE, { s: 400, h: ["Content-Type", "text/plain"] }, Buffer.from("Bad request"));
      return this.drop(served, false);
    }
    served.request = request;
    (request as ClientRequest & Carrier)[kServed] = served;
    request.on("response", onResponse);
    request.on("error", onRequestError);
    request.end(frame.body);
  }

  /** The private server answered a forwarded request: the answer goes back whole. */
  answered(served: Served, res: IncomingMessage): void {
    const limit = 4 * (this.#ctx.host()?.opts.maxBufferedBytes ?? 4 * 1024 * 1024);
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        log("[%s] answer for %s over %d bytes: dropped", this.#ctx.tag, served.key, limit);
        this.drop(served, true);
        return;
      }
      chunks.push(chunk);
    });
    res.on("end", () => {
      if (this.#served.get(served.key) !== served) return;
      const meta = { s: res.statusCode ?? 500, h: endToEndHeaders(res.rawHeaders) };
      this.#reply(served.from, served.id, Kind.RESPONSE, meta, Buffer.concat(chunks, size));
      this.drop(served, false);
    });
  }

  /** A WebSocket upgrade to tunnel. */
  onOpen(frame: Frame): void {
    const served = this.#open(frame);
    if (served === null) return;
    const client = served.client;
    client.on("data", onTunnelData);
    client.on("end", onTunnelEnd);
    client.on("close", onTunnelEnd);
    client.write(frame.body);
  }

  /** Bytes of what the private server wrote on a tunnel: to the origin, in order. */
  tunnelData(served: Served, chunk: Buffer): void {
    this.#reply(served.from, served.id, Kind.DOWN, null, chunk).then((delivered) => {
      if (!delivered) this.drop(served, false);
    });
  }

  /** The private server ended a tunnel. */
  tunnelEnded(served: Served): void {
    if (this.#served.get(served.key) !== served) return;
    this.#reply(served.from, served.id, Kind.CLOSE, null);
    this.drop(served, false);
  }

  /** Bytes from a tunnel's client. */
  onUp(frame: Frame): void {
    const served = this.#served.get(`${frame.from}:${frame.id}`);
    if (served === undefined || served.request !== null) return;
    served.client.write(frame.body);
    // The bus has no backpressure: a tunnel whose server side stopped reading is ended, not grown.
    const limit = this.#ctx.host()?.opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    if (served.client.writableLength > limit) {
      log("[%s] tunnel %s: %d bytes wait for the server side; closing it", this.#ctx.tag, served.key, served.client.writableLength);
      this.drop(served, true);
    }
  }

  /** The origin gave up a request or tunnel. */
  onCancel(frame: Frame): void {
    const served = this.#served.get(`${frame.from}:${frame.id}`);
    if (served !== undefined) this.drop(served, false);
  }

  /** Ends what is served for `served`; with `tell`, the origin hears it (CLOSE). */
  drop(served: Served, tell: boolean): void {
    if (this.#served.get(served.key) !== served) return;
    this.#served.delete(served.key);
    timers.disarm(served);
    if (tell) this.#reply(served.from, served.id, Kind.CLOSE, null);
    served.request?.destroy();
    served.client.destroy();
  }

  /** Node `tag` left: what it forwarded here has no one to answer. */
  nodeGone(tag: string): void {
    for (const served of [...this.#served.values()]) if (served.from === tag) this.drop(served, false);
  }

  closeAll(): void {
    for (const served of [...this.#served.values()]) this.drop(served, true);
  }
}

function onResponse(this: ClientRequest & Carrier, res: IncomingMessage): void {
  const served = this[kServed];
  if (served !== undefined) served.owner.answered(served, res);
}

function onRequestError(this: ClientRequest & Carrier): void {
  const served = this[kServed];
  if (served !== undefined) served.owner.drop(served, true);
}

function onTunnelData(this: MemorySocket & Carrier, chunk: Buffer): void {
  const served = this[kServed];
  if (served !== undefined) served.owner.tunnelData(served, chunk);
}

function onTunnelEnd(this: MemorySocket & Carrier): void {
  const served = this[kServed];
  if (served !== undefined) served.owner.tunnelEnded(served);
}
