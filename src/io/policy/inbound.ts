/**
 * The inbound policy of one connection: what happens to a client's packets
 * between the decoder and its sockets when limits or schemas are configured.
 * A connection with nothing configured has no InboundPolicy at all (its
 * `#inbound` slot stays null and its packets go straight to the socket).
 *
 * For each EVENT, in this order: the connection's bytes bucket, the socket's
 * `events` bucket, its `perEvent` bucket, the address's `eventsPerAddress`
 * bucket (an event over a limit goes no further); then the declared schema
 * of the event's namespace, if any; then the socket (middlewares, onAny,
 * listeners). ACK, DISCONNECT and other packets pass straight through.
 *
 * Ordering rule: the events of one socket reach its handlers in the order
 * they arrived. While an asynchronous schema (declared, or of a
 * `socket.on(event, schema, handler)` listener) has not answered, the
 * socket's later events wait behind it (rate limits are still applied on
 * arrival); at most `maxPendingEvents` wait, more disconnect the client
 * with the cause `rate_limited`. Events waiting when the socket disconnects
 * are dropped, as socket.io drops events after a disconnect.
 */
import { performance } from "node:perf_hooks";
import { logger } from "../../core/debug.js";
import { rethrowLater } from "../../core/rethrow.js";
import type { IoCounters } from "../../observe/counters.js";
import type { CauseRequest } from "../../observe/causes.js";
import type { Connection } from "../connection.js";
import { PacketType, type Packet } from "../protocol/packet.js";
import type { Socket } from "../socket.js";
import { TokenBucket } from "./bucket.js";
import type { CompiledEvent } from "./events.js";
import type { LimitAction, ResolvedLimits, ResolvedRate } from "./options.js";
import type { AddressState } from "./address-table.js";
import { reportRejected, schemasOf, NOOP_ACK } from "./rejection.js";
import { validateArgs, type Outcome } from "./validate.js";

const log = logger("io", "policy");

/** `maxPendingEvents` when no `limits` are set (schemas only). */
export const DEFAULT_MAX_PENDING = 100;

type LimitName = "events" | "perEvent" | "eventsPerAddress" | "bytes";

/** What the policy keeps per socket, created on the socket's first event that needs it. */
class SocketInbound {
  readonly socket: Socket<any, any, any, any>;
  next: SocketInbound | null = null;
  events: TokenBucket | null = null;
  perEvent: Map<string, TokenBucket> | null = null;
  /** Asynchronous validations not answered yet. */
  pending = 0;
  /** Events that arrived while `pending` > 0, in order. */
  queue: Packet[] | null = null;

  constructor(socket: Socket<any, any, any, any>) {
    this.socket = socket;
  }
}

export class InboundPolicy {
  readonly #connection: Connection;
  readonly #limits: ResolvedLimits | null;
  readonly #counters: IoCounters;
  readonly #address: AddressState | null;
  readonly #addressKey: string;
  readonly #bytes: TokenBucket | null;
  /** Bytes received since the last event was charged (charged with the next event, on its clock read). */
  #unpaidBytes = 0;
  /** The sockets' states: a short list (a connection rarely has more than one socket). */
  #first: SocketInbound | null = null;

  constructor(connection: Connection, limits: ResolvedLimits | null, counters: IoCounters, address: AddressState | null, addressKey: string) {
    this.#connection = connection;
    this.#limits = limits;
    this.#counters = counters;
    this.#address = address;
    this.#addressKey = addressKey;
    this.#bytes = limits !== null && limits.bytes !== null ? new TokenBucket(limits.bytes, performance.now()) : null;
  }

  /** An Engine.IO message of `size` arrived (before it is decoded): paid with the next event. */
  onMessage(size: number): void {
    this.#unpaidBytes += size;
  }

  /** A decoded packet for `socket`. */
  receive(socket: Socket<any, any, any, any>, packet: Packet): void {
    if (packet.type !== PacketType.EVENT && packet.type !== PacketType.BINARY_EVENT) {
      socket.onPacket(packet);
      return;
    }
    const event = (packet.data as unknown[])[0] as string;
    let state: SocketInbound | null = null;
    const limits = this.#limits;
    if (limits !== null && limits.perConnection) {
      const now = performance.now();
      const bytes = limits.bytes;
      if (bytes !== null) {
        // The bucket may go into debt: what arrived is paid for, and the next events wait for it.
        const wait = (this.#bytes as TokenBucket).take(bytes, now, this.#unpaidBytes, true);
        this.#unpaidBytes = 0;
        if (wait > 0) return this.#limited(socket, packet, event, "bytes", wait, bytes);
      }
      state = this.#stateOf(socket);
      const events = limits.events;
      if (events !== null) {
        const wait = (state.events ??= new TokenBucket(events, now)).take(events, now, 1, false);
        if (wait > 0) return this.#limited(socket, packet, event, "events", wait, events);
      }
      const perEvent = limits.perEvent?.get(event);
      if (perEvent !== undefined) {
        const buckets = (state.perEvent ??= new Map());
        let bucket = buckets.get(event);
        if (bucket === undefined) buckets.set(event, (bucket = new TokenBucket(perEvent, now)));
        const wait = bucket.take(perEvent, now, 1, false);
        if (wait > 0) return this.#limited(socket, packet, event, "perEvent", wait, perEvent);
      }
      const perAddress = limits.eventsPerAddress;
      const address = this.#address;
      if (perAddress !== null && address !== null) {
        const wait = (address.events ??= new TokenBucket(perAddress, now)).take(perAddress, now, 1, false);
        if (wait > 0) return this.#limited(socket, packet, event, "eventsPerAddress", wait, perAddress);
      }
    } else {
      state = this.#find(socket);
    }
    if (state !== null && (state.pending > 0 || state.queue !== null)) {
      const queue = (state.queue ??= []);
      if (queue.length >= (limits?.maxPendingEvents ?? DEFAULT_MAX_PENDING)) {
        if (log.enabled) log("%d events waiting behind an async schema on %s: disconnecting", queue.length, socket.id);
        this.#connection.close({ code: "rate_limited", limit: "pendingEvents", event });
        return;
      }
      queue.push(packet);
      return;
    }
    this.#validate(socket, packet, event);
  }

  /** An asynchronous validation began for `socket`: its later events wait until `release`. */
  hold(socket: Socket<any, any, any, any>): void {
    this.#stateOf(socket).pending++;
  }

  /** The validation `hold` announced answered: the waiting events go on, in order. */
  release(socket: Socket<any, any, any, any>): void {
    const state = this.#find(socket);
    if (state === null) return;
    state.pending--;
    while (state.pending === 0 && state.queue !== null) {
      const packet = state.queue.shift() as Packet;
      if (state.queue.length === 0) state.queue = null;
      if (!socket.connected) {
        state.queue = null;
        break;
      }
      try {
        this.#validate(socket, packet, (packet.data as unknown[])[0] as string);
      } catch (err) {
        // The application's exception; the events behind this one still go on.
        rethrowLater(err);
      }
    }
  }

  /** The socket left: its state goes. */
  forget(socket: Socket<any, any, any, any>): void {
    let previous: SocketInbound | null = null;
    for (let s = this.#first; s !== null; previous = s, s = s.next) {
      if (s.socket !== socket) continue;
      if (previous === null) this.#first = s.next;
      else previous.next = s.next;
      s.queue = null;
      return;
    }
  }

  #find(socket: Socket<any, any, any, any>): SocketInbound | null {
    for (let s = this.#first; s !== null; s = s.next) if (s.socket === socket) return s;
    return null;
  }

  #stateOf(socket: Socket<any, any, any, any>): SocketInbound {
    let state = this.#find(socket);
    if (state === null) {
      state = new SocketInbound(socket);
      state.next = this.#first;
      this.#first = state;
    }
    return state;
  }

  /** The declared schema of the event, if any, then the socket. */
  #validate(socket: Socket<any, any, any, any>, packet: Packet, event: string): void {
    const declared = schemasOf(socket.nsp)?.get(event);
    if (declared === undefined) {
      socket.onPacket(packet);
      return;
    }
    const outcome = validateArgs(declared.schemas, packet.data as unknown[], 1);
    if (!(outcome instanceof Promise)) {
      this.#settle(socket, packet, event, declared, outcome);
      return;
    }
    this.hold(socket);
    outcome.then((answer) => {
      try {
        if (socket.connected) this.#settle(socket, packet, event, declared, answer);
      } catch (err) {
        // A handler's exception is the application's: it reaches uncaughtException, as a synchronous one would.
        rethrowLater(err);
      }
      this.release(socket);
    });
  }

  #settle(socket: Socket<any, any, any, any>, packet: Packet, event: string, declared: CompiledEvent, outcome: Outcome): void {
    if (outcome.values !== undefined) {
      const data: unknown[] = [event];
      for (let i = 0; i < outcome.values.length; i++) data.push(outcome.values[i]);
      // A declared acknowledgement is always there for the handler; it does nothing if the client asked for none.
      if (declared.ack && packet.id == null) data.push(NOOP_ACK);
      packet.data = data;
      socket.onPacket(packet);
      return;
    }
    reportRejected(socket, event, outcome, this.#counters, (answer) => this.#answer(socket, packet, answer));
  }

  /** An event over a limit: counted, its ack answered, then the limit's action. */
  #limited(socket: Socket<any, any, any, any>, packet: Packet, event: string, limit: LimitName, retryAfterMs: number, rate: ResolvedRate): void {
    this.#counters.eventRefusals[limit === "bytes" ? "bytes_limited" : "rate_limited"]++;
    const action: LimitAction = rate.action;
    if (log.enabled) log("event %s of %s over the %s limit (retry in %d ms)", event, socket.id, limit, retryAfterMs);
    if (action === "disconnect") {
      const cause: CauseRequest = { code: "rate_limited", limit, event };
      this.#connection.close(cause);
      return;
    }
    this.#answer(socket, packet, { error: "rate_limited", event, limit, retryAfterMs });
    if (typeof action === "function") action({ socket, event, limit, retryAfterMs, address: this.#addressKey });
  }

  /** Answers the event's acknowledgement, if the client asked for one. */
  #answer(socket: Socket<any, any, any, any>, packet: Packet, answer: object): void {
    if (packet.id == null) return;
    this.#connection.sendPacket({ type: PacketType.ACK, nsp: socket.nsp.name, id: packet.id, data: [answer] }, {}, socket);
  }
}
