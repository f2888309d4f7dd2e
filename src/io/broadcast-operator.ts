import { timers, type TimerEntry } from "../core/timers.js";
import type { Adapter } from "../adapter/adapter.js";
import type { BroadcastFlags, BroadcastOptions, Room, SocketId } from "../adapter/types.js";
import type { IoCounters } from "../observe/counters.js";
import { FACT_BROADCAST, facts, within } from "../observe/facts.js";
import { PacketType } from "./protocol/packet.js";
import { RESERVED_EVENTS, reservedEventError } from "./reserved.js";
import type { Handshake } from "./handshake.js";
import type {
  AllButLast,
  DecorateAcknowledgements,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
  FirstNonErrorArg,
  Last,
  TypedEventBroadcaster,
} from "./typed-events.js";

/** The counters of the Socket.IO server behind `adapter` (none for an adapter on something else). */
function serverCounters(adapter: Adapter): IoCounters | undefined {
  return (adapter.nsp.server as { counters?: IoCounters }).counters;
}

/**
 * An immutable description of a broadcast target: rooms, excluded rooms and
 * flags. Every modifier returns a new operator.
 */
export class BroadcastOperator<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = any>
  implements TypedEventBroadcaster<EmitEvents>
{
  readonly adapter: Adapter;
  readonly rooms: Set<Room>;
  readonly exceptRooms: Set<Room>;
  readonly flags: BroadcastFlags;

  constructor(
    adapter: Adapter,
    rooms: Set<Room> = new Set(),
    exceptRooms: Set<Room> = new Set(),
    flags: BroadcastFlags = {},
  ) {
    this.adapter = adapter;
    this.rooms = rooms;
    this.exceptRooms = exceptRooms;
    this.flags = flags;
  }

  /** Targets the sockets in `room` (or any of `rooms`); calls compose as a union. */
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    const rooms = new Set(this.rooms);
    if (Array.isArray(room)) for (const r of room) rooms.add(r);
    else rooms.add(room);
    return new BroadcastOperator(this.adapter, rooms, this.exceptRooms, this.flags);
  }

  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.to(room);
  }

  /** Excludes the sockets in `room` (or any of `rooms`). */
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    const exceptRooms = new Set(this.exceptRooms);
    if (Array.isArray(room)) for (const r of room) exceptRooms.add(r);
    else exceptRooms.add(room);
    return new BroadcastOperator(this.adapter, this.rooms, exceptRooms, this.flags);
  }

  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, compress });
  }

  /** Drop the packet for clients that cannot take it right now. */
  get volatile(): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, volatile: true });
  }

  /** Keep the broadcast on this node (no other cluster node receives it). */
  get local(): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, local: true });
  }

  /**
   * Acknowledgements are collected for at most `ms` milliseconds (rounded up
   * to whole ms; more than 2^31-1 is kept as given; with `Infinity` the
   * callback waits for every response, where socket.io times out at once);
   * the callback then receives an Error first. (The operator's event map
   * already has one response per client, so only the Error is added here.)
   */
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, timeout: ms });
  }

  /**
   * Emits to every targeted socket, encoding the packet once. A last-argument
   * function collects one acknowledgement per client: `(err, responses)`.
   */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev)) throw reservedEventError(ev);
    const data: any[] = [ev, ...args];
    const packet = { type: PacketType.EVENT, data } as { type: number; data: any[]; nsp?: string; id?: number };
    const opts = { rooms: this.rooms, except: this.exceptRooms, flags: this.flags };
    const counters = serverCounters(this.adapter);
    if (counters !== undefined) counters.broadcasts++;
    const withAck = typeof data[data.length - 1] === "function";
    if ((facts.mask & FACT_BROADCAST) !== 0) {
      const scope = facts.broadcast({ namespace: this.adapter.nsp.name, event: ev, rooms: this.rooms, except: this.exceptRooms, flags: this.flags, ack: withAck });
      if (scope !== undefined) return within(scope, () => this.#send(packet, data, opts, counters));
    }
    return this.#send(packet, data, opts, counters);
  }

  #send(packet: { type: number; data: any[]; nsp?: string; id?: number }, data: any[], opts: BroadcastOptions, counters: IoCounters | undefined): boolean {
    if (typeof data[data.length - 1] !== "function") {
      this.adapter.broadcast(packet, opts);
      return true;
    }
    const ack = data.pop() as (err: Error | null, responses: any) => void;
    const single = this.flags.expectSingleResponse === true;
    const responses: any[] = [];
    let expectedServerCount = -1;
    let actualServerCount = 0;
    let expectedClientCount = 0;
    let done = false;
    // As socket.io: on time out the responses so far, or null where a single
    // response was expected (RemoteSocket); when complete, all of them, or
    // the single one (undefined if the socket was gone).
    const finish = (err: Error | null): void => {
      done = true;
      timers.disarm(timer);
      ack.call(this, err, single ? (err === null ? responses[0] : null) : responses);
    };
    // As in socket.io, a broadcast with an ack but without timeout() gets an
    // (almost) immediate timeout: the delay is not set, so it is minimal.
    const timer: TimerEntry = {
      onTimeout: () => {
        if (done) return;
        if (counters !== undefined) counters.ackTimeouts++;
        finish(new Error("operation has timed out"));
      },
    };
    timers.arm(timer, this.flags.timeout ?? 1);
    const check = (): void => {
      if (
        !done &&
        expectedServerCount !== -1 &&
        actualServerCount === expectedServerCount &&
        responses.length === expectedClientCount
      ) {
        finish(null);
      }
    };
    this.adapter.broadcastWithAck(
      packet,
      opts,
      (clientCount) => {
        expectedClientCount += clientCount;
        actualServerCount++;
        check();
      },
      (clientResponse: any) => {
        if (done) return;
        responses.push(clientResponse);
        check();
      },
    );
    this.adapter.serverCount().then(
      (count) => {
        expectedServerCount = count;
        check();
      },
      () => {
        /* the timeout reports the failure */
      },
    );
    return true;
  }

  /** Like emit with an acknowledgement, as a Promise of the responses. */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>> {
    return new Promise((resolve, reject) => {
      (args as any[]).push((err: Error | null, responses: any) => {
        if (err) {
          (err as any).responses = responses;
          reject(err);
        } else {
          resolve(responses);
        }
      });
      (this.emit as any)(ev, ...args);
    });
  }

  /** @deprecated use fetchSockets(). Ids of the targeted sockets. */
  allSockets(): Promise<Set<SocketId>> {
    return this.adapter.sockets(this.rooms);
  }

  /** The targeted sockets: local Socket objects, RemoteSocket for other nodes. */
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return this.adapter
      .fetchSockets({ rooms: this.rooms, except: this.exceptRooms, flags: this.flags })
      .then((sockets) =>
        sockets.map((socket: any) =>
          typeof socket.emit === "function" && typeof socket.join === "function"
            ? socket
            : new RemoteSocket(this.adapter, socket as SocketDetails<SocketData>),
        ),
      );
  }

  socketsJoin(room: Room | Room[]): void {
    this.adapter.addSockets(
      { rooms: this.rooms, except: this.exceptRooms, flags: this.flags },
      Array.isArray(room) ? room : [room],
    );
  }

  socketsLeave(room: Room | Room[]): void {
    this.adapter.delSockets(
      { rooms: this.rooms, except: this.exceptRooms, flags: this.flags },
      Array.isArray(room) ? room : [room],
    );
  }

  disconnectSockets(close = false): void {
    this.adapter.disconnectSockets({ rooms: this.rooms, except: this.exceptRooms, flags: this.flags }, close);
  }
}

/** What another node tells about one of its sockets. */
export interface SocketDetails<SocketData> {
  id: SocketId;
  handshake: Handshake;
  rooms: Room[];
  data: SocketData;
}

/**
 * A socket connected to another node of the cluster, as fetchSockets()
 * returns it: its details, and operations that act on it remotely.
 */
export class RemoteSocket<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = any>
  implements TypedEventBroadcaster<EmitEvents>
{
  readonly id: SocketId;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;
  readonly #operator: BroadcastOperator<EmitEvents, SocketData>;

  constructor(adapter: Adapter, details: SocketDetails<SocketData>) {
    this.id = details.id;
    this.handshake = details.handshake;
    this.rooms = new Set(details.rooms);
    this.data = details.data;
    this.#operator = new BroadcastOperator<EmitEvents, SocketData>(adapter, new Set([this.id]), new Set(), {
      expectSingleResponse: true,
    });
  }

  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return this.#operator.emit(ev, ...args);
  }

  /** The acknowledgement of this one socket, with an Error first after `ms` milliseconds. */
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData> {
    return this.#operator.timeout(ms);
  }

  join(room: Room | Room[]): void {
    this.#operator.socketsJoin(room);
  }

  leave(room: Room | Room[]): void {
    this.#operator.socketsLeave(room);
  }

  disconnect(close = false): this {
    this.#operator.disconnectSockets(close);
    return this;
  }
}
