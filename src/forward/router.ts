/**
 * The session router of a cluster adapter (see core/routing.ts): decides
 * what happens to a request for a session this node does not hold, and
 * dispatches what the link delivers. origin.ts forwards; owner.ts serves
 * what other nodes forward; handoff.ts moves connections between workers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Server as TlsServer } from "node:tls";
import { logger } from "../core/debug.js";
import { generateTag } from "../core/ids.js";
import { tagOf, type RoutingHost, type SessionRouter } from "../core/routing.js";
import { Kind, decodeFrame, type Frame } from "./codec.js";
import { adopt, discardHandle } from "./handoff.js";
import type { LinkReceiver, NodeLink } from "./link.js";
import type { ResolvedForwardingOptions } from "./options.js";
import { Origin, type ForwardingStats } from "./origin.js";
import { Owner, isRelayed } from "./owner.js";

const log = logger("forward", "router");

const LIMIT_HINT = "raise the cluster adapter's forwarding.maxPending, or add nodes";

export class ForwardingRouter implements SessionRouter {
  readonly tag: string;
  /** Cumulative counts of this router's work. */
  readonly stats: ForwardingStats = { handedOver: 0, relayed: 0, tunnelled: 0, served: 0, refused: 0 };
  readonly #link: NodeLink;
  readonly #opts: ResolvedForwardingOptions;
  readonly #origin: Origin;
  readonly #owner: Owner;
  #host: RoutingHost | null = null;
  #opened: Promise<void> | null = null;
  #closed = false;

  constructor(link: NodeLink, opts: ResolvedForwardingOptions, tag: string = generateTag()) {
    this.tag = tag;
    this.#link = link;
    this.#opts = opts;
    const ctx = { stats: this.stats, tag, link, opts, host: () => this.#host };
    this.#origin = new Origin(ctx);
    this.#owner = new Owner(ctx);
  }

  /** Requests and tunnels this node forwarded and still waits on / serves for others. */
  get pending(): { sent: number; served: number } {
    return { sent: this.#origin.size, served: this.#owner.size };
  }

  /** Starts receiving what other nodes send this one. */
  start(): Promise<void> {
    const receiver: LinkReceiver = {
      frame: (frame) => this.#onFrame(frame),
      connection: (handle, bytes) => this.#onConnection(handle, bytes),
      gone: (tag) => {
        this.#origin.nodeGone(tag);
        this.#owner.nodeGone(tag);
      },
    };
    this.#opened ??= this.#link.open(this.tag, receiver);
    return this.#opened;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#origin.closeAll();
    this.#owner.closeAll();
    await this.#link.close();
  }

  bind(host: RoutingHost): void {
    this.#host = host;
  }

  unbind(host: RoutingHost): void {
    if (this.#host === host) this.#host = null;
  }

  /** The node to forward `sid`'s requests to, or null (then the engine refuses them). */
  #ownerOf(sid: string, socket: unknown): string | null {
    const to = tagOf(sid);
    if (to === null || to === this.tag || this.#closed || this.#host === null) return null;
    // A forwarded request is never forwarded again: no loops, whatever the tags.
    if (isRelayed(socket)) return null;
    return this.#link.reachable(to) ? to : null;
  }

  forwardRequest(sid: string, req: IncomingMessage, res: ServerResponse): boolean {
    const to = this.#ownerOf(sid, req.socket);
    if (to === null) return false;
    if (this.#origin.size >= this.#opts.maxPending) {
      this.stats.refused++;
      (this.#host as RoutingHost).refuseRequest(req, res, { sid, name: "FORWARDING_FAILED", reason: "limit", hint: LIMIT_HINT });
      return true;
    }
    this.#origin.request(to, sid, req, res);
    return true;
  }

  forwardUpgrade(sid: string, req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const to = this.#ownerOf(sid, socket);
    if (to === null) return false;
    if (this.#origin.size >= this.#opts.maxPending) {
      this.stats.refused++;
      (this.#host as RoutingHost).refuseUpgrade(req, socket, { sid, name: "FORWARDING_FAILED", reason: "limit", hint: LIMIT_HINT });
      return true;
    }
    this.#origin.upgrade(to, sid, req, socket, head);
    return true;
  }

  #onFrame(raw: Buffer): void {
    if (this.#closed) return;
    let frame: Frame;
    try {
      frame = decodeFrame(raw);
    } catch (err) {
      return log("[%s] ignoring a malformed frame: %s", this.tag, (err as Error).message);
    }
    switch (frame.kind) {
      case Kind.REQUEST:
        return this.#owner.onRequest(frame);
      case Kind.OPEN:
        return this.#owner.onOpen(frame);
      case Kind.UP:
        return this.#owner.onUp(frame);
      case Kind.CANCEL:
        return this.#owner.onCancel(frame);
      case Kind.RESPONSE:
        return this.#origin.onResponse(frame);
      case Kind.DOWN:
        return this.#origin.onDown(frame);
      case Kind.CLOSE:
        return this.#origin.onClose(frame);
    }
  }

  /** A connection handed over by another worker joins this node's http server. */
  #onConnection(handle: unknown, bytes: Buffer): void {
    const host = this.#host;
    const server = host?.httpServer as { emit?: unknown } | undefined;
    // Only plain TCP connections are handed over: a TLS server could not read them.
    if (this.#closed || host === null || server === undefined || typeof server.emit !== "function" || server instanceof TlsServer) {
      log("[%s] a connection was handed over but no http server serves here: closed", this.tag);
      discardHandle(handle);
      return;
    }
    adopt(handle, bytes, server as never);
  }
}
