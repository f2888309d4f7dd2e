/**
 * Trace context across nodes. When an observer follows broadcasts and
 * requests (tidewire/otel), a message leaving this node carries the
 * observer's context fields (`trace`: W3C `traceparent`/`tracestate`), and
 * the node that acts on it does so inside a scope that continues the
 * sender's trace. Nothing is built, read or checked unless an observer
 * subscribed (facts.mask).
 *
 * The field is an addition official adapters ignore: an extra top-level key
 * of the envelope (sharded, streams, node:cluster), of a classic request, or
 * a fourth element after `[uid, packet, opts]` of a classic broadcast.
 */
import { FACT_INJECT, FACT_REMOTE, facts, within, type Carrier, type RemoteFact } from "../../observe/facts.js";
import { MessageType, isObject, type ClusterMessage } from "./messages.js";

/** Bounds of a carrier read from the wire: a hostile node cannot make the observer parse more. */
const MAX_FIELDS = 8;
const MAX_KEY = 64;
const MAX_VALUE = 1024;

/** A carrier from the wire, or undefined when absent or not a small object of strings. */
export function readCarrier(value: unknown): Carrier | undefined {
  if (!isObject(value)) return undefined;
  let count = 0;
  const carrier: Carrier = {};
  for (const key of Object.keys(value)) {
    const field = value[key];
    if (++count > MAX_FIELDS || key.length > MAX_KEY || typeof field !== "string" || field.length > MAX_VALUE) return undefined;
    carrier[key] = field;
  }
  return count > 0 ? carrier : undefined;
}

/** Message types that start work on other nodes (not heartbeats, not answers). */
const TRACED: Record<number, string> = {
  [MessageType.BROADCAST]: "broadcast",
  [MessageType.SOCKETS_JOIN]: "socketsJoin",
  [MessageType.SOCKETS_LEAVE]: "socketsLeave",
  [MessageType.DISCONNECT_SOCKETS]: "disconnectSockets",
  [MessageType.FETCH_SOCKETS]: "fetchSockets",
  [MessageType.SERVER_SIDE_EMIT]: "serverSideEmit",
  [MessageType.ALL_ROOMS]: "allRooms",
  [MessageType.SOCKETS]: "allSockets",
};

/** Adds the observers' context to a message about to be published, when someone follows it. */
export function stampContext(message: ClusterMessage): void {
  if ((facts.mask & FACT_INJECT) === 0 || TRACED[message.type] === undefined) return;
  const carrier = facts.inject();
  if (carrier !== undefined) message.trace = carrier;
}

/** Runs `act` (the handling of a message from another node) inside a remote scope when someone follows them. */
export function actOnRemote<T>(message: ClusterMessage, act: () => T): T {
  if ((facts.mask & FACT_REMOTE) === 0) return act();
  const kind = TRACED[message.type];
  if (kind === undefined) return act();
  const scope = facts.remote(remoteFact(kind, message));
  return scope === undefined ? act() : within(scope, act);
}

function remoteFact(kind: string, message: ClusterMessage): RemoteFact {
  const data = isObject(message.data) ? message.data : {};
  const fact: { -readonly [K in keyof RemoteFact]: RemoteFact[K] } = { namespace: message.nsp, message: kind, from: message.uid };
  const carrier = readCarrier(message.trace);
  if (carrier !== undefined) fact.carrier = carrier;
  if (message.type === MessageType.BROADCAST) {
    const packet = data.packet;
    if (isObject(packet) && Array.isArray(packet.data)) fact.event = packet.data[0];
    if (isObject(data.opts)) {
      if (Array.isArray(data.opts.rooms)) fact.rooms = data.opts.rooms;
      if (Array.isArray(data.opts.except)) fact.except = data.opts.except;
    }
    fact.ack = data.requestId !== undefined;
  } else if (message.type === MessageType.SERVER_SIDE_EMIT && Array.isArray(data.packet)) {
    fact.event = data.packet[0];
  }
  return fact;
}
