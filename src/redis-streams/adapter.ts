/**
 * The cluster core over the streams transport, plus connection state
 * recovery across nodes.
 *
 * Recovery, and its invariants:
 * - Every node delivers the broadcasts of its namespace in stream order (its
 *   own included: they are delivered when read back), so the offset a client
 *   last received tells exactly what it has: the entries after it are what
 *   it missed.
 * - The session of every connected socket is in Redis: written when its
 *   rooms change, rewritten every `recovery.snapshotInterval` (socket.data
 *   changes and the TTL), finalized at a recoverable disconnection, removed
 *   at a deliberate one. A node that dies loses none; its clients recover
 *   elsewhere. The session records the stream position the socket started
 *   at, so a client that never received a packet recovers too.
 * - A restore reads the missed range in pages of `recovery.pageSize` up to
 *   this node's reader position, then (synchronously) registers the session
 *   as "restoring": entries the reader hands over until the socket has
 *   joined its rooms are appended to its missed packets, entries after that
 *   reach it live. Nothing is missed, nothing comes twice.
 */
import { logger } from "../core/debug.js";
import {
  BusAdapter,
  MessageType,
  isBroadcastablePacket,
  isObject,
  isRecoverable,
  runListener,
  toBroadcastOptions,
} from "../adapter/bus/index.js";
import { SessionNotRecoveredError } from "../adapter/session-errors.js";
import type { AdapterNamespace, AdapterPacket, AdapterSocket, BroadcastOptions, PrivateSessionId, Room, Session, SessionToPersist, SocketId } from "../adapter/types.js";
import { entryCodec } from "./codec.js";
import { STREAM_ID, compareIds, nextId, type StreamEntry } from "./commands.js";
import type { StreamsContext } from "./context.js";
import { streamOf } from "./options.js";
import { sha1, type StoredSession } from "./session-store.js";
import { StreamsTransport } from "./transport.js";

const log = logger("redis-streams", "adapter");

/** How long a restored session waits for its socket to join before it is dropped, in ms. */
const RESTORING_TTL = 30_000;
/** Longest private session id looked up in Redis. */
const MAX_PID_LENGTH = 128;
/** Sessions written per turn of the event loop. */
const WRITE_CHUNK = 500;

/** A session that expired unrecovered, as the "session-expired" event reports it. */
export interface ExpiredSession {
  sid: SocketId;
  pid: PrivateSessionId;
  rooms: Room[];
  data: unknown;
}

interface Live {
  /** The stream position the socket started at on this node. */
  start: string;
  pid: PrivateSessionId | undefined;
  /** SHA-1 of the last value written, to remove only our own. */
  sha: string;
}

interface Restoring {
  rooms: Room[];
  /** Entries after this id are appended to `missed`. */
  after: string;
  missed: unknown[][];
  at: number;
}

let warnedUnserializable = false;

/** Whether a session in `rooms` would have received a broadcast with `opts` (the reference's rule). */
function includes(rooms: Room[], opts: BroadcastOptions): boolean {
  if (opts.rooms.size > 0 && !rooms.some((room) => opts.rooms.has(room))) return false;
  const except = opts.except;
  return !except || except.size === 0 || !rooms.some((room) => except.has(room));
}

export class RedisStreamsAdapter extends BusAdapter<StreamsTransport> {
  /** The stream this namespace's messages go through. */
  readonly streamName: string;
  readonly #ctx: StreamsContext;
  readonly #maxDuration: number | null;
  readonly #codec: ReturnType<typeof entryCodec>;
  readonly #live = new Map<SocketId, Live>();
  readonly #dirty = new Set<SocketId>();
  readonly #restoring = new Map<SocketId, Restoring>();
  readonly #persisted = new Set<SocketId>();
  #flushQueued = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(nsp: AdapterNamespace, ctx: StreamsContext) {
    const o = ctx.opts;
    const stream = streamOf(nsp.name, o);
    super(nsp, (host) => new StreamsTransport(host, ctx, stream), {
      requestsTimeout: o.requestsTimeout,
      maxPendingRequests: o.limits.pendingRequests,
      forwarding: o.forwarding ?? false,
    });
    this.streamName = stream;
    this.#ctx = ctx;
    this.#codec = entryCodec(o.onlyPlaintext);
    const server = nsp.server as { opts?: any; _opts?: any };
    const recovery = (server._opts ?? server.opts)?.connectionStateRecovery;
    this.#maxDuration = recovery ? (recovery.maxDisconnectionDuration ?? 120_000) : null;
    ctx.register(nsp.name, { onExpired: (_pid, blob) => this.#reportExpired(blob) }, recovery !== undefined && recovery !== null);
    if (this.#maxDuration !== null) this.#timer = setInterval(() => this.#refresh(), o.recovery.snapshotInterval).unref();
  }

  override async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await super.close();
    this.#ctx.unregister(this.nsp.name);
  }

  // ---- session snapshots ------------------------------------------------------

  override addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    const result = super.addAll(id, rooms);
    if (this.#maxDuration !== null) {
      // A recovered socket joining its rooms: from now on it gets live packets.
      this.#restoring.delete(id);
      if (!this.#live.has(id)) this.#live.set(id, { start: this.#ctx.reader.position(this.streamName), pid: undefined, sha: "" });
      this.#markDirty(id);
    }
    return result;
  }

  override del(id: SocketId, room: Room): Promise<void> | void {
    const result = super.del(id, room);
    if (this.#live.has(id)) this.#markDirty(id);
    return result;
  }

  override delAll(id: SocketId): void {
    super.delAll(id);
    const persisted = this.#persisted.delete(id);
    const live = this.#live.get(id);
    if (!live) return;
    this.#live.delete(id);
    this.#dirty.delete(id);
    // Left for good (not a recoverable disconnection): the session must not be recoverable.
    if (!persisted && live.pid !== undefined && live.sha !== "") {
      this.#ctx.store.forget(live.pid, live.sha).catch((err) => log("removing session %s failed: %s", live.pid, err?.message ?? err));
    }
  }

  override persistSession(session: SessionToPersist): void {
    if (this.#maxDuration === null) return;
    this.#persisted.add(session.sid);
    const live = this.#live.get(session.sid);
    const now = Date.now();
    const deadline = now + this.#maxDuration;
    const start = live?.start || this.#ctx.reader.position(this.streamName);
    const blob = this.#encode({ sid: session.sid, pid: session.pid, rooms: session.rooms, data: session.data ?? null, tw: { nsp: this.nsp.name, start, deadline } });
    if (blob === null) return;
    this.#ctx.store.write([{ pid: session.pid, blob, deadline }], now).catch((err) => log("saving session %s failed: %s", session.pid, err?.message ?? err));
  }

  #markDirty(id: SocketId): void {
    this.#dirty.add(id);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(this.#flush);
  }

  /** Every snapshotInterval: rewrite every session (socket.data changes, TTL) and drop stale restores. */
  #refresh(): void {
    const now = Date.now();
    for (const [sid, r] of this.#restoring) if (now - r.at > RESTORING_TTL) this.#restoring.delete(sid);
    for (const id of this.#live.keys()) this.#markDirty(id);
  }

  #flush = (): void => {
    this.#flushQueued = false;
    if (this.#maxDuration === null) return;
    const now = Date.now();
    const deadline = now + this.#maxDuration + this.#ctx.opts.recovery.snapshotInterval;
    const batch: Array<{ pid: PrivateSessionId; blob: string; deadline: number }> = [];
    for (const id of this.#dirty) {
      this.#dirty.delete(id);
      const live = this.#live.get(id);
      const socket = this.nsp.sockets.get(id) as AdapterSocket | undefined;
      if (!live || !socket || typeof socket.pid !== "string") continue;
      const rooms = this.sids.get(id);
      const blob = this.#encode({
        sid: id,
        pid: socket.pid,
        rooms: rooms ? [...rooms] : [],
        data: socket.data ?? null,
        tw: { nsp: this.nsp.name, start: live.start, deadline },
      });
      if (blob === null) continue;
      live.pid = socket.pid;
      live.sha = sha1(blob);
      batch.push({ pid: socket.pid, blob, deadline });
      if (batch.length >= WRITE_CHUNK) {
        // The rest in later turns: a large node never blocks the event loop for long.
        if (this.#dirty.size > 0) this.#markDirty(this.#dirty.values().next().value as SocketId);
        break;
      }
    }
    this.#ctx.store.write(batch, now).catch((err) => log("saving %d session(s) failed: %s", batch.length, err?.message ?? err));
  };

  #encode(session: StoredSession): string | null {
    try {
      return this.#ctx.store.encode(session);
    } catch (err) {
      if (!warnedUnserializable) {
        warnedUnserializable = true;
        console.warn(
          `tidewire/redis-streams: the session of socket ${session.sid} cannot be saved (${(err as Error).message}); ` +
            `socket.data must be serializable (no cycles) for connection state recovery.`,
        );
      }
      return null;
    }
  }

  #reportExpired(blob: string | null): void {
    const s = blob === null ? null : this.#ctx.store.decode(blob);
    if (!s) return;
    const expired: ExpiredSession = { sid: s.sid, pid: s.pid, rooms: s.rooms, data: s.data };
    runListener(() => this.emit("session-expired", expired));
  }

  // ---- restore -------------------------------------------------------------------

  override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session | null> {
    if (this.#maxDuration === null) return Promise.resolve(null);
    return this.#restore(pid, offset);
  }

  async #restore(pid: PrivateSessionId, offset: string | undefined): Promise<Session> {
    if (offset !== undefined && offset !== "" && !STREAM_ID.test(offset)) {
      throw new SessionNotRecoveredError("invalid-offset", `the offset "${String(offset).slice(0, 40)}" is not a stream entry id`);
    }
    // Private session ids are short (20 characters here, 16 bytes in base64 with socket.io): a
    // longer one is none of ours, and never becomes a Redis key.
    if (pid.length > MAX_PID_LENGTH) throw new SessionNotRecoveredError("not-found", "no such session");
    let blob: string | null;
    try {
      blob = await this.#ctx.store.take(pid);
    } catch (err) {
      throw new SessionNotRecoveredError("unavailable", `the session could not be read from Redis: ${(err as Error)?.message}`, { cause: err });
    }
    const session = blob === null ? null : this.#ctx.store.decode(blob);
    if (!session || session.pid !== pid) {
      throw new SessionNotRecoveredError("not-found", "no such session: never saved, already recovered, or expired");
    }
    if (session.tw && Date.now() > session.tw.deadline) {
      this.#reportExpired(blob);
      throw new SessionNotRecoveredError("expired", "the session outlived maxDisconnectionDuration");
    }
    const from = offset || session.tw?.start;
    if (!from || !STREAM_ID.test(from)) {
      throw new SessionNotRecoveredError("no-offset", "the client sent no offset and the session has no start position");
    }
    await this.init();
    let missed: unknown[][];
    try {
      missed = await this.#replay(session.sid, session.rooms, from);
    } catch (err) {
      if (err instanceof SessionNotRecoveredError) throw err;
      throw new SessionNotRecoveredError("unavailable", `the missed packets could not be read from Redis: ${(err as Error)?.message}`, { cause: err });
    }
    // A node still holding this socket (its client dropped off the network) lets it go.
    this.publish({ type: MessageType.DISCONNECT_SOCKETS, data: { opts: { rooms: [session.sid], except: [] }, close: false } });
    return { sid: session.sid, pid, rooms: session.rooms, data: session.data, missedPackets: missed };
  }

  /**
   * The recoverable broadcasts after `from` that `rooms` would have received,
   * read in pages up to the reader's position; registers the session as
   * restoring before returning (same turn), so the reader feeds it the rest.
   */
  async #replay(sid: SocketId, rooms: Room[], from: string): Promise<unknown[][]> {
    const { cmds, reader } = this.#ctx;
    const stream = this.streamName;
    const pageSize = this.#ctx.opts.recovery.pageSize;
    const [here] = await cmds.xrange(stream, from, from);
    if (!here) {
      const [first] = await cmds.xrange(stream, "-", "+", 1);
      if (!first || compareIds(first.id, from) > 0) {
        throw new SessionNotRecoveredError("trimmed", `packets after ${from} are no longer in the stream (maxLen trimmed it, or Redis lost it)`);
      }
      throw new SessionNotRecoveredError("unknown-offset", `the offset ${from} is not in the stream`);
    }
    const missed: unknown[][] = [];
    let cursor = from;
    // Entries arrive at most as fast as they are added: a bound keeps a flood from holding us here forever.
    const maxPages = Math.ceil(this.#ctx.opts.maxLen / pageSize) * 4 + 10;
    for (let i = 0; i < maxPages; i++) {
      const page = await cmds.xrange(stream, nextId(cursor), "+", pageSize);
      const upTo = reader.position(stream);
      let done = compareIds(cursor, upTo) >= 0;
      for (const entry of page) {
        if (done || compareIds(entry.id, upTo) > 0) {
          done = true;
          break;
        }
        this.#collect(entry, rooms, missed);
        cursor = entry.id;
        done = compareIds(cursor, upTo) >= 0;
      }
      if (!done && page.length === 0) {
        throw new SessionNotRecoveredError("trimmed", `entries between ${cursor} and ${upTo} are no longer in the stream`);
      }
      if (done) {
        this.#restoring.set(sid, { rooms, after: compareIds(cursor, upTo) > 0 ? cursor : upTo, missed, at: Date.now() });
        return missed;
      }
    }
    throw new SessionNotRecoveredError("unavailable", "the stream grew faster than the missed packets could be read");
  }

  #collect(entry: StreamEntry, rooms: Room[], missed: unknown[][]): void {
    const f = entry.fields;
    if (f.nsp !== this.nsp.name || f.type !== "3") return;
    try {
      const message = this.#codec.decode(f);
      const data = message.data;
      if (!isObject(data) || data.requestId !== undefined || !isBroadcastablePacket(data.packet)) return;
      const opts = toBroadcastOptions(data.opts);
      if (!opts || !isRecoverable(data.packet, opts) || !includes(rooms, opts)) return;
      data.packet.data.push(entry.id);
      missed.push(data.packet.data);
    } catch (err) {
      log("[%s] skipping malformed stream entry %s during a restore: %s", this.uid, entry.id, (err as Error).message);
    }
  }

  /** Live delivery; restoring sessions get the recoverable broadcasts they would have received. */
  protected override deliver(packet: AdapterPacket & { data: unknown[] }, opts: BroadcastOptions, offset: string | undefined): void {
    super.deliver(packet, opts, offset);
    if (this.#restoring.size === 0 || offset === undefined || !this.recoversFromLog || !isRecoverable(packet, opts)) return;
    for (const r of this.#restoring.values()) {
      if (compareIds(offset, r.after) > 0 && includes(r.rooms, opts)) r.missed.push(packet.data);
    }
  }
}
