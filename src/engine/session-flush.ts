/**
 * A session's write path past the bound check: a packet joins the queue
 * (after "packetCreate"), and once per event-loop turn the whole queue goes
 * to the transport in one batch (after "flush", before "drain"). The queue
 * and its bound are in ./outbound-queue.ts; the session owns both.
 */
import { logger } from "../core/debug.js";
import { hasListeners } from "../core/listener-store.js";
import { rethrowLater } from "../core/rethrow.js";
import type { SendOptions } from "../core/types.js";
import { transportError } from "./close-cause.js";
import { scheduleFlush } from "./flush-scheduler.js";
import type { OutboundQueue } from "./outbound-queue.js";
import type { Packet, PacketType } from "./packet.js";
import type { Socket } from "./session.js";

// Same namespace as the session's: these messages were always logged under it.
const log = logger("engine", "session");

/** Packet options when the caller gave none (compression allowed, as engine.io). */
const DEFAULT_OPTIONS: SendOptions = Object.freeze({ compress: true });

/** The options `packetCreate` listeners see: `compress` is true unless false was given (engine.io's default). */
function withCompressFlag(options: SendOptions | undefined): SendOptions {
  if (options === undefined) return DEFAULT_OPTIONS;
  const compress = options.compress;
  return compress === true || compress === false ? options : { ...options, compress: true };
}

/** Queues a packet the bound admitted, counts it, and schedules the session's flush. */
export function queuePacket(
  session: Socket,
  out: OutboundQueue,
  type: PacketType,
  data: string | Buffer | undefined,
  options: SendOptions | undefined,
  cb: (() => void) | undefined,
): void {
  const cache = options?.cache;
  const create = hasListeners(session, "packetCreate");
  let packet: Packet;
  if (cache !== undefined && !create && typeof options!.compress === "boolean") {
    // A broadcast: every recipient's queue holds the same packet object (a flush listener gets copies).
    const shared = cache.packet as Packet | undefined;
    if (shared !== undefined && shared.data === data && shared.options === options && shared.type === type) packet = shared;
    else cache.packet = packet = { type, data, options };
  } else {
    packet = { type, data, options: withCompressFlag(options) };
  }
  if (create) {
    try {
      session.emit("packetCreate", packet);
    } catch (err) {
      // The packet still goes out: it may be a ping or a CONNECT reply the connection depends on.
      rethrowLater(err);
    }
    if (session.readyState === "closed") return;
  }
  out.push(packet, cb);
  if (type === "message") {
    const counters = session.server.counters;
    counters.packetsOut++;
    counters.bytesOut += data === undefined ? 0 : data.length;
  }
  scheduleFlush(session);
}

/**
 * Hands the whole queue to the transport if it can take it now. Returns
 * the Error that ends the session when encoding or writing threw (nothing
 * thrown there escapes a flush), else null.
 */
export function flushQueue(session: Socket, out: OutboundQueue): Error | null {
  if (session.readyState === "closed" || out.packets.length === 0) return null;
  const transport = session.transport;
  const server = session.server;
  if (!transport.writable) {
    out.hold(transport, server.opts.maxBufferedBytes);
    return null;
  }
  // A "flush" listener may still add packets: they join this batch.
  const packets = out.packets;
  if (hasListeners(session, "flush") || hasListeners(server, "flush")) {
    try {
      // Packets shared with other sessions (broadcasts): the listeners get this session's own copies.
      unshare(packets);
      session.emit("flush", packets);
      // A listener may have queued more (they join this batch).
      unshare(packets);
      server.emit("flush", session, packets);
    } catch (err) {
      rethrowLater(err);
    }
  }
  const callbacks = out.callbacks;
  out.take(transport, server.opts.maxBufferedBytes);
  const closeAfter = session.takeCloseAfterFlush();
  if (log.enabled) log("flushing %d packet(s) to %s over %s", packets.length, session.id, transport.name);
  try {
    transport.send(packets, callbacks, closeAfter, out.largeFrom, out.largeTo);
  } catch (err) {
    const message = `could not send ${packets.length} packet(s) to the client: ${(err as Error)?.message ?? err}`;
    return transportError(message, err);
  }
  if (hasListeners(session, "drain") || hasListeners(server, "drain")) {
    try {
      session.emit("drain");
      server.emit("drain", session);
    } catch (err) {
      rethrowLater(err);
    }
  }
  return null;
}

/** Replaces the packets that other sessions' queues share (broadcasts) with copies of this session's own. */
function unshare(packets: Packet[]): void {
  for (let i = 0; i < packets.length; i++) {
    const packet = packets[i];
    if (packet.options?.cache?.packet === packet) packets[i] = { type: packet.type, data: packet.data, options: packet.options };
  }
}
