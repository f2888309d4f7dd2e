/**
 * The node a client's request reached when another node holds its session
 * (the origin): it hands the request to the owner and answers the client
 * with what the owner says, or hands the whole connection over.
 *
 * - Handover (node:cluster workers, plain TCP HTTP/1): the body is read,
 *   the connection and the request bytes go to the owner (handoff.ts).
 * - Relay (between machines, or TLS/HTTP/2 connections): the request goes
 *   to the owner as a REQUEST frame, its answer comes back as a RESPONSE
 *   frame and is written to the client here.
 * - Tunnel (WebSocket upgrades that cannot be handed over): the connection's
 *   bytes travel both ways in UP/DOWN frames; the owner runs the WebSocket.
 *
 * Each forwarded request or tunnel is one entry, bounded in number
 * (maxPending) and in time (a relayed request waits `timeout`, plus
 * pingInterval + pingTimeout for a long-polling GET; a tunnel waits
 * `timeout` for the owner's first bytes). Whatever cannot be delivered
 * (owner gone, limit, timeout) is refused as for an unknown session, so the
 * client reconnects.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { logger } from "../core/debug.js";
import type { RoutingFailure, RoutingHost } from "../core/routing.js";
import { timers, type TimerEntry } from "../core/timers.js";
import { Kind, encodeFrame, type Frame } from "./codec.js";
import { canHandOverRequest, canHandOverUpgrade, detach, reattach } from "./handoff.js";
import {
  destroySocket,
  Forwarded,
  kEntry,
  onResponseClose,
  onTunnelData,
  onTunnelEnd,
  REQUEST,
  TUNNEL,
  type Carrier,
} from "./forwarded.js";
import { endToEndHeaders, readBody, requestHead } from "./http-bytes.js";
import type { NodeLink } from "./link.js";
import type { ResolvedForwardingOptions } from "./options.js";

const log = logger("forward", "origin");

/** Cumulative counts of a router's work, for monitoring and tests. */
export interface ForwardingStats {
  /** Connections handed to another worker (with the request they carried). */
  handedOver: number;
  /** Requests relayed to their owner. */
  relayed: number;
  /** WebSocket upgrades tunnelled to their owner. */
  tunnelled: number;
  /** Requests and tunnels served here for other nodes. */
  served: number;
  /** Requests and upgrades refused as for an unknown session (owner gone, limit, timeout...). */
  refused: number;
}

/** What the origin side uses of its router. */
export interface OriginContext {
  readonly stats: ForwardingStats;
  readonly tag: string;
  readonly link: NodeLink;
  readonly opts: ResolvedForwardingOptions;
  host(): RoutingHost | null;
}

/**
 * How often the nodes that forwarded requests wait on are checked (links
 * with `alive()`): a node that died without a word (SIGKILL, lost machine)
 * fails its requests and tunnels within this, so their clients reconnect
 * instead of waiting for their heartbeat to time out.
 */
export const LIVENESS_INTERVAL = 2000;

function failure(sid: string, reason: string, hint: string): RoutingFailure {
  return { sid, name: "FORWARDING_FAILED", reason, hint };
}

export class Origin {
  readonly #ctx: OriginContext;
  readonly #pending = new Map<number, Forwarded>();
  #nextId = 0;
  /** Owners being asked whether they are alive. */
  readonly #checking = new Set<string>();
  readonly #liveness: TimerEntry = { onTimeout: () => this.#checkOwners() };

  constructor(ctx: OriginContext) {
    this.#ctx = ctx;
  }

  /** Asks the link about every node something waits on; re-armed while anything waits. */
  #checkOwners(): void {
    const alive = this.#ctx.link.alive;
    if (alive === undefined || this.#pending.size === 0) return;
    const owners = new Set<string>();
    for (const entry of this.#pending.values()) if (!entry.handingOver) owners.add(entry.to);
    for (const tag of owners) {
      if (this.#checking.has(tag)) continue;
      this.#checking.add(tag);
      alive.call(this.#ctx.link, tag).then(
        (yes) => {
          this.#checking.delete(tag);
          if (!yes) this.nodeGone(tag);
        },
        (err) => {
          this.#checking.delete(tag);
          log("[%s] could not ask whether %s is alive: %s", this.#ctx.tag, tag, err?.message ?? err);
        },
      );
    }
    timers.arm(this.#liveness, LIVENESS_INTERVAL);
  }

  /** Requests and tunnels waiting on other nodes. */
  get size(): number {
    return this.#pending.size;
  }

  #add(kind: typeof REQUEST | typeof TUNNEL, to: string, sid: string, req: IncomingMessage, res: ServerResponse | null, socket: Duplex): Forwarded {
    do this.#nextId = (this.#nextId + 1) >>> 0;
    while (this.#nextId === 0 || this.#pending.has(this.#nextId));
    const entry = new Forwarded(this, this.#nextId, kind, to, sid, req, res, socket);
    this.#pending.set(entry.id, entry);
    if (this.#ctx.link.alive !== undefined && !timers.isArmed(this.#liveness)) timers.arm(this.#liveness, LIVENESS_INTERVAL);
    return entry;
  }

  /** Removes `entry`; false when it was already settled. */
  #settle(entry: Forwarded): boolean {
    if (this.#pending.get(entry.id) !== entry) return false;
    this.#pending.delete(entry.id);
    timers.disarm(entry);
    if (entry.res !== null) entry.res.removeListener("close", onResponseClose);
    else {
      const socket = entry.socket;
      socket.removeListener("data", onTunnelData);
      socket.removeListener("end", onTunnelEnd);
      socket.removeListener("close", onTunnelEnd);
    }
    return true;
  }

  #send(entry: Forwarded, kind: (typeof Kind)[keyof typeof Kind], meta: object | null, body?: Buffer): void {
    const frame = encodeFrame(kind, this.#ctx.tag, entry.id, meta, body);
    this.#ctx.link.send(entry.to, frame).then(
      (delivered) => {
        if (!delivered) this.#fail(entry, "owner gone", "the node holding the session left the cluster; its clients reconnect");
      },
      (err) => this.#fail(entry, "bus error", `the frame could not be sent: ${err?.message ?? err}`),
    );
  }

  /** Whether connections for node `to` can move there (a worker of this machine). */
  #handsOverTo(to: string): boolean {
    const link = this.#ctx.link;
    return link.handOver !== undefined && (link.canHandOver?.(to) ?? true);
  }

  // ---- requests -----------------------------------------------------------------

  /** Forwards a request for session `sid` of node `to`. */
  request(to: string, sid: string, req: IncomingMessage, res: ServerResponse): void {
    const entry = this.#add(REQUEST, to, sid, req, res, req.socket);
    (res as ServerResponse & Carrier)[kEntry] = entry;
    res.on("close", onResponseClose);
    const handOver = this.#handsOverTo(to) && canHandOverRequest(req, res);
    const host = this.#ctx.host();
    const limit = host?.opts.maxHttpBufferSize ?? 1e6;
    readBody(req, limit, (body, why) => {
      if (this.#pending.get(entry.id) !== entry) return;
      if (body === null) {
        this.#settle(entry);
        if (why === "too large" && !res.headersSent) {
          // As the owner would answer; unread body bytes would be taken for the next request.
          res.writeHead(413, { Connection: "close" });
          res.end();
        }
        return;
      }
      if (handOver) this.#handOverRequest(entry, body);
      else this.#relay(entry, body);
    });
  }

  #relay(entry: Forwarded, body: Buffer): void {
    const req = entry.req;
    const host = this.#ctx.host();
    const waits = req.method === "GET" && host !== null ? host.opts.pingInterval + host.opts.pingTimeout : 0;
    timers.arm(entry, this.#ctx.opts.timeout + waits);
    const meta = { m: req.method, u: req.url, h: endToEndHeaders(req.rawHeaders), a: req.socket.remoteAddress, p: req.socket.remotePort };
    this.#ctx.stats.relayed++;
    this.#send(entry, Kind.REQUEST, meta, body);
  }

  #handOverRequest(entry: Forwarded, body: Buffer): void {
    const detached = detach(entry.socket);
    if (detached === null) return void this.#settle(entry);
    entry.handingOver = true;
    const bytes = Buffer.concat([requestHead(entry.req, body.length), body]);
    (this.#ctx.link.handOver as NonNullable<NodeLink["handOver"]>)(entry.to, detached.handle, bytes, (err) => {
      this.#settle(entry);
      if (err === null) {
        this.#ctx.stats.handedOver++;
        // The owner has the connection now; this process closes its copy only.
        entry.socket.destroy();
        return;
      }
      reattach(entry.socket);
      this.#refuse(entry, failure(entry.sid, "handover failed", `the connection could not be passed on: ${err.message}`));
    });
  }

  /** The owner's answer to a relayed request. */
  onResponse(frame: Frame): void {
    const entry = this.#entryFor(frame, REQUEST);
    if (entry === null || !this.#settle(entry)) return;
    const res = entry.res as ServerResponse;
    if (res.headersSent || res.destroyed) return;
    const meta = frame.meta as { s: number; h: string[] };
    const headers = endToEndHeaders(meta.h);
    headers.push("Content-Length", String(frame.body.length));
    entry.answered = true;
    try {
      res.writeHead(meta.s, headers);
    } catch (err) {
      // Headers node refuses to write: the owner is not one we can trust.
      log("[%s] answer for %s from %s not writable: %s", this.#ctx.tag, entry.sid, entry.to, (err as Error).message);
      res.destroy();
      return;
    }
    res.end(frame.body);
  }

  // ---- tunnels ------------------------------------------------------------------

  /** Forwards an upgrade for session `sid` of node `to`: handed over, or tunnelled. */
  upgrade(to: string, sid: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const entry = this.#add(TUNNEL, to, sid, req, null, socket);
    (socket as Duplex & Carrier)[kEntry] = entry;
    if (this.#handsOverTo(to) && canHandOverUpgrade(req, socket)) {
      const detached = detach(socket);
      if (detached === null) return void this.#settle(entry);
      entry.handingOver = true;
      const bytes = Buffer.concat([requestHead(req, 0), head, ...detached.buffered]);
      (this.#ctx.link.handOver as NonNullable<NodeLink["handOver"]>)(to, detached.handle, bytes, (err) => {
        this.#settle(entry);
        if (err === null) {
          this.#ctx.stats.handedOver++;
          return void socket.destroy();
        }
        this.#refuse(entry, failure(sid, "handover failed", `the connection could not be passed on: ${err.message}`));
      });
      return;
    }
    socket.on("end", onTunnelEnd);
    socket.on("close", onTunnelEnd);
    timers.arm(entry, this.#ctx.opts.timeout);
    const meta = { a: (socket as Duplex & { remoteAddress?: string }).remoteAddress, p: (socket as Duplex & { remotePort?: number }).remotePort };
    this.#ctx.stats.tunnelled++;
    this.#send(entry, Kind.OPEN, meta, Buffer.concat([requestHead(req, 0), head]));
    // What the client sends next goes up in order, after the OPEN.
    socket.on("data", onTunnelData);
  }

  /** Bytes the client sent on a tunnel. @internal */
  clientData(entry: Forwarded, chunk: Buffer): void {
    if (this.#pending.get(entry.id) === entry) this.#send(entry, Kind.UP, null, chunk);
  }

  /** Bytes from the owner for a tunnel's client. */
  onDown(frame: Frame): void {
    const entry = this.#entryFor(frame, TUNNEL);
    if (entry === null) return;
    if (!entry.answered) {
      entry.answered = true;
      timers.disarm(entry);
    }
    const socket = entry.socket;
    socket.write(frame.body);
    const host = this.#ctx.host();
    if ((socket.writableLength ?? 0) > (host?.opts.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      // A client that does not read: the owner's backpressure cannot see it across the bus.
      log("[%s] tunnel for %s: the client does not read; closing it", this.#ctx.tag, entry.sid);
      this.cancel(entry);
      socket.destroy();
    }
  }

  /** The owner ended a tunnel, or refused a request. */
  onClose(frame: Frame): void {
    const entry = this.#entryFor(frame, null);
    if (entry === null) return;
    if (entry.kind === TUNNEL && entry.answered) {
      this.#settle(entry);
      entry.socket.end();
      entry.socket.once("finish", destroySocket);
      return;
    }
    this.#fail(entry, "refused by owner", "the node holding the session could not serve it (over its forwarding.maxPending limit?)");
  }

  /** The client of `entry` left, or stopped reading: tell the owner. */
  cancel(entry: Forwarded): void {
    // A connection being handed over is settled by the link's callback alone.
    if (entry.handingOver || !this.#settle(entry)) return;
    const frame = encodeFrame(Kind.CANCEL, this.#ctx.tag, entry.id, null);
    this.#ctx.link.send(entry.to, frame).catch(() => {});
  }

  // ---- failures -------------------------------------------------------------------

  timedOut(entry: Forwarded): void {
    if (this.#pending.get(entry.id) !== entry) return;
    const frame = encodeFrame(Kind.CANCEL, this.#ctx.tag, entry.id, null);
    this.#ctx.link.send(entry.to, frame).catch(() => {});
    this.#fail(entry, "timeout", `the node holding the session did not answer within forwarding.timeout (${this.#ctx.opts.timeout} ms)`);
  }

  /** Node `tag` left: everything waiting on it fails. */
  nodeGone(tag: string): void {
    for (const entry of [...this.#pending.values()]) {
      if (entry.to === tag && !entry.handingOver) this.#fail(entry, "owner gone", "the node holding the session left the cluster; its clients reconnect");
    }
  }

  /** The router closes: everything still waiting fails. */
  closeAll(): void {
    timers.disarm(this.#liveness);
    for (const entry of [...this.#pending.values()]) {
      if (!entry.handingOver) this.#fail(entry, "closing", "this node's cluster adapter was closed");
    }
  }

  #fail(entry: Forwarded, reason: string, hint: string): void {
    if (!this.#settle(entry)) return;
    if (entry.kind === TUNNEL && entry.answered) {
      entry.socket.destroy();
      return;
    }
    this.#refuse(entry, failure(entry.sid, reason, hint));
  }

  #refuse(entry: Forwarded, why: RoutingFailure): void {
    this.#ctx.stats.refused++;
    if (log.enabled) log("[%s] %s for %s (node %s): %s", this.#ctx.tag, entry.kind === REQUEST ? "request" : "upgrade", entry.sid, entry.to, why.reason);
    const host = this.#ctx.host();
    if (entry.kind === REQUEST) {
      const res = entry.res as ServerResponse;
      if (res.headersSent || res.destroyed) return;
      if (host !== null) host.refuseRequest(entry.req, res, why);
      else res.destroy();
    } else if (!entry.socket.destroyed) {
      if (host !== null) host.refuseUpgrade(entry.req, entry.socket, why);
      else entry.socket.destroy();
    }
  }

  /** The pending entry a frame from the owner is about, if it came from that owner. */
  #entryFor(frame: Frame, kind: typeof REQUEST | typeof TUNNEL | null): Forwarded | null {
    const entry = this.#pending.get(frame.id);
    if (entry === undefined || entry.to !== frame.from || entry.handingOver || (kind !== null && entry.kind !== kind)) return null;
    return entry;
  }
}
