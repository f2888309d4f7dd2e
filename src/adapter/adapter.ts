import { EventEmitter } from "node:events";
import type { FrameCache } from "../core/types.js";
import { rethrowLater } from "../core/rethrow.js";
import { timers } from "../core/timers.js";
import type {
  AdapterNamespace,
  AdapterPacket,
  AdapterSocket,
  BroadcastOptions,
  PrivateSessionId,
  Room,
  Session,
  SessionToPersist,
  SocketId,
} from "./types.js";

/**
 * The in-memory adapter: room bookkeeping and fan-out for one namespace on
 * one node. Same interface and events as socket.io-adapter's `Adapter`, so
 * cluster adapters can extend it and applications can read `rooms`/`sids`.
 *
 * Invariants: `rooms` and `sids` mirror each other exactly; a room exists
 * only while it has a member; a socket only in its own room may use one Set
 * for both maps (see #ownRooms) until its rooms are changed or handed out
 * by socketRooms(); a broadcast encodes its packet once and
 * every recipient shares one frame cache, so per-recipient work is a queue
 * append.
 */
export class Adapter extends EventEmitter {
  readonly nsp: AdapterNamespace;
  readonly rooms: Map<Room, Set<SocketId>> = new Map();
  readonly sids: Map<SocketId, Set<Room>> = new Map();
  readonly encoder: { encode(packet: any): any[] };

  constructor(nsp: AdapterNamespace) {
    super();
    this.nsp = nsp;
    this.encoder = nsp.server.encoder;
  }

  /** Called once the namespace is ready. May return a Promise. */
  init(): Promise<void> | void {}

  /** Called when the namespace or the server closes. May return a Promise. */
  close(): Promise<void> | void {}

  /** How many nodes share this namespace (1 in memory). */
  serverCount(): Promise<number> {
    return Promise.resolve(1);
  }

  addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    let own = this.#ownRooms(id);
    if (own === undefined) {
      if (rooms.size === 1 && rooms.has(id) && !this.rooms.has(id) && this.listenerCount("create-room") === 0) {
        // A socket's first join, to its own room: one Set {id} for both maps.
        // Not while "create-room" has listeners: they see the new room empty
        // and the socket's rooms already holding it, as in socket.io.
        const shared = new Set<Room>().add(id);
        this.sids.set(id, shared);
        this.rooms.set(id, shared);
        this.#roomEvent("create-room", id);
        this.#roomEvent("join-room", id, id);
        return;
      }
      own = new Set();
      this.sids.set(id, own);
    }
    for (const room of rooms) {
      own.add(room);
      let members = this.#members(room);
      if (!members) {
        members = new Set();
        this.rooms.set(room, members);
        this.#roomEvent("create-room", room);
      }
      if (!members.has(id)) {
        members.add(id);
        this.#roomEvent("join-room", room, id);
      }
    }
  }

  del(id: SocketId, room: Room): Promise<void> | void {
    this.#ownRooms(id)?.delete(room);
    this.#leave(room, id);
  }

  delAll(id: SocketId): void {
    const own = this.#ownRooms(id);
    if (!own) return;
    for (const room of own) this.#leave(room, id);
    this.sids.delete(id);
  }

  #leave(room: Room, id: SocketId): void {
    const members = this.#members(room);
    if (!members || !members.delete(id)) return;
    this.#roomEvent("leave-room", room, id);
    if (members.size === 0 && this.rooms.delete(room)) this.#roomEvent("delete-room", room);
  }

  /**
   * Emits a room event. A listener that throws does not stop the change
   * under way (the maps must keep mirroring each other): its exception is
   * raised again once the change is done.
   */
  #roomEvent(event: string, room: Room, id?: SocketId): void {
    try {
      if (id === undefined) this.emit(event, room);
      else this.emit(event, room, id);
    } catch (err) {
      rethrowLater(err);
    }
  }

  /*
   * A socket only in its own room has a single Set {id} that is both
   * sids.get(id) and rooms.get(id): idle sockets need half the Sets. Every
   * change, and every hand-out of a socket's rooms, goes through these two,
   * which first give the socket a copy of its own in `sids` (Map#set on an
   * existing key keeps its position). So neither map ever sees the other's
   * changes, a Set in `rooms` is never replaced, and a socket's Set is
   * replaced only while shared, never after socketRooms() handed it out.
   */

  /** The rooms of socket `id`, as a Set not shared with `rooms`. */
  #ownRooms(id: SocketId): Set<Room> | undefined {
    const own = this.sids.get(id);
    if (own === undefined || own !== this.rooms.get(id)) return own;
    const copy = new Set(own);
    this.sids.set(id, copy);
    return copy;
  }

  /** The members of `room`, as a Set not shared with `sids`. */
  #members(room: Room): Set<SocketId> | undefined {
    const members = this.rooms.get(room);
    if (members !== undefined && members === this.sids.get(room)) this.sids.set(room, new Set(members));
    return members;
  }

  /** Sends a packet to every socket matched by `opts`, encoding it once. */
  broadcast(packet: AdapterPacket, opts: BroadcastOptions): void {
    const flags = opts.flags ?? {};
    const writeOpts = {
      preEncoded: true,
      volatile: flags.volatile,
      compress: flags.compress,
      caches: undefined as FrameCache[] | undefined,
    };
    packet.nsp = this.nsp.name;
    const encoded = this.encoder.encode(packet);
    writeOpts.caches = newCaches(encoded.length);
    this.apply(opts, (socket) => {
      socket.notifyOutgoingListeners(packet);
      socket.client.writeToEngine(encoded, writeOpts);
    });
  }

  /**
   * Broadcast expecting one acknowledgement per recipient. `clientCountCallback`
   * receives how many clients were targeted on this node; `ack` runs once per
   * response.
   */
  broadcastWithAck(
    packet: AdapterPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: any[]) => void,
  ): void {
    const flags = opts.flags ?? {};
    const writeOpts = {
      preEncoded: true,
      volatile: flags.volatile,
      compress: flags.compress,
      caches: undefined as FrameCache[] | undefined,
    };
    packet.nsp = this.nsp.name;
    // One id for the whole broadcast: every recipient answers with it.
    packet.id = this.nsp._ids++;
    const encoded = this.encoder.encode(packet);
    writeOpts.caches = newCaches(encoded.length);
    const id = packet.id;
    const targets: AdapterSocket[] = [];
    this.apply(opts, (socket) => {
      targets.push(socket);
      socket.acks.set(id, ack);
      socket.notifyOutgoingListeners(packet);
      socket.client.writeToEngine(encoded, writeOpts);
    });
    clientCountCallback(targets.length);
    if (targets.length > 0) {
      // Clients that never answer must leave nothing pending once the caller
      // stopped waiting.
      timers.arm(
        {
          onTimeout: () => {
            for (const socket of targets) if (socket.acks.get(id) === ack) socket.acks.delete(id);
          },
        },
        flags.timeout ?? 1,
      );
    }
  }

  /** Ids of the sockets in any of `rooms` (all sockets when empty). */
  sockets(rooms: Set<Room>): Promise<Set<SocketId>> {
    const ids = new Set<SocketId>();
    this.apply({ rooms }, (socket) => ids.add(socket.id));
    return Promise.resolve(ids);
  }

  /**
   * The rooms of socket `id`: the live Set that its joins and leaves change
   * (`socket.rooms`). A Set still shared with `rooms` is unshared here, so
   * the one handed out stays the socket's for as long as it is in a room.
   */
  socketRooms(id: SocketId): Set<Room> | undefined {
    return this.#ownRooms(id);
  }

  fetchSockets(opts: BroadcastOptions): Promise<any[]> {
    const found: AdapterSocket[] = [];
    this.apply(opts, (socket) => found.push(socket));
    return Promise.resolve(found);
  }

  addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    this.apply(opts, (socket) => socket.join(rooms));
  }

  delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    this.apply(opts, (socket) => {
      for (const room of rooms) socket.leave(room);
    });
  }

  disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    this.apply(opts, (socket) => socket.disconnect(close));
  }

  /** Sends an event to the other nodes. A single node has none. */
  serverSideEmit(_packet: any[]): void {
    console.warn("this adapter does not support the serverSideEmit() functionality");
  }

  /** Stores a session for connection-state recovery. This adapter keeps none. */
  persistSession(_session: SessionToPersist): void {}

  /** Restores a session for connection-state recovery. This adapter keeps none. */
  restoreSession(_pid: PrivateSessionId, _offset: string): Promise<Session | null> {
    return Promise.resolve(null);
  }

  /**
   * Calls `fn` once for every connected socket matched by `opts`: members of
   * any room in `opts.rooms` (every socket when empty), minus members of any
   * room in `opts.except`. Each socket is visited at most once.
   */
  protected apply(opts: BroadcastOptions, fn: (socket: AdapterSocket) => void): void {
    const rooms = opts.rooms;
    const except = this.computeExceptSids(opts.except);
    const sockets = this.nsp.sockets;
    if (rooms.size === 0) {
      for (const [id, socket] of sockets) {
        if (except === null || !except.has(id)) fn(socket);
      }
      return;
    }
    if (rooms.size === 1) {
      // A single room's member set already has each id once.
      const [room] = rooms;
      const members = this.rooms.get(room);
      if (!members) return;
      for (const id of members) {
        if (except !== null && except.has(id)) continue;
        const socket = sockets.get(id);
        if (socket) fn(socket);
      }
      return;
    }
    const seen = new Set<SocketId>();
    for (const room of rooms) {
      const members = this.rooms.get(room);
      if (!members) continue;
      for (const id of members) {
        if (seen.has(id) || (except !== null && except.has(id))) continue;
        seen.add(id);
        const socket = sockets.get(id);
        if (socket) fn(socket);
      }
    }
  }

  protected computeExceptSids(exceptRooms?: Set<Room>): Set<SocketId> | null {
    if (!exceptRooms || exceptRooms.size === 0) return null;
    if (exceptRooms.size === 1) {
      const [room] = exceptRooms;
      return this.rooms.get(room) ?? null;
    }
    const sids = new Set<SocketId>();
    for (const room of exceptRooms) {
      const members = this.rooms.get(room);
      if (members) for (const id of members) sids.add(id);
    }
    return sids;
  }
}

function newCaches(n: number): FrameCache[] {
  const caches: FrameCache[] = new Array(n);
  for (let i = 0; i < n; i++) caches[i] = {};
  return caches;
}
