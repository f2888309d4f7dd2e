/**
 * Sessions in Redis, in the reference's format: key `<sessionKeyPrefix><pid>`,
 * value base64 MessagePack of `{sid, pid, rooms, data}`. tidewire adds `tw`:
 * `{nsp, start, deadline}` — the namespace, the stream position the session
 * started at (for a client that never received a packet), and when it stops
 * being recoverable. Sessions of connected sockets are written too (and
 * rewritten periodically), so that a node that dies loses none.
 *
 * Expiry index: a sorted set (score = deadline, member = pid) from which one
 * node at a time claims expired sessions (atomically, by script) to report
 * them; the session key outlives its deadline by `expiryGrace` so the claimer
 * can still read it. No keyspace notifications needed.
 */
import { createHash } from "node:crypto";
import { isObject, isRoomList } from "../adapter/bus/index.js";
import type { PrivateSessionId, Room, SocketId } from "../adapter/types.js";
import { decode, encode } from "../redis/msgpack/index.js";
import type { Commands } from "./commands.js";

export interface StoredSession {
  sid: SocketId;
  pid: PrivateSessionId;
  rooms: Room[];
  data: unknown;
  tw?: { nsp: string; start: string; deadline: number };
}

/** Claims up to ARGV[2] members whose score is at most ARGV[1], removing them. */
const CLAIM = `local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids`;
/** Deletes KEYS[1] only if its value is still the one whose SHA-1 is ARGV[1]. */
const DELETE_IF_SAME = `local v = redis.call('GET', KEYS[1])
if v and redis.sha1hex(v) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`;

const MAX_BLOB = 16 * 1024 * 1024;

export const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

export class SessionStore {
  readonly #cmds: Commands;
  readonly #prefix: string;
  readonly #grace: number;
  readonly expiries: string;

  constructor(cmds: Commands, prefix: string, grace: number) {
    this.#cmds = cmds;
    this.#prefix = prefix;
    this.#grace = grace;
    this.expiries = `tidewire:expiries:${prefix}`;
  }

  key(pid: PrivateSessionId): string {
    return this.#prefix + pid;
  }

  /** Throws when the session cannot be encoded (e.g. socket.data with cycles). */
  encode(session: StoredSession): string {
    return encode(session).toString("base64");
  }

  /** A stored session, or null when the value is not one. */
  decode(blob: string): StoredSession | null {
    if (blob.length > MAX_BLOB) return null;
    let value: unknown;
    try {
      value = decode(Buffer.from(blob, "base64"));
    } catch {
      return null;
    }
    if (!isObject(value) || typeof value.sid !== "string" || typeof value.pid !== "string" || !isRoomList(value.rooms)) return null;
    const tw = value.tw;
    const ok = isObject(tw) && typeof tw.nsp === "string" && typeof tw.start === "string" && typeof tw.deadline === "number";
    return { sid: value.sid, pid: value.pid, rooms: value.rooms, data: value.data, tw: ok ? (tw as StoredSession["tw"]) : undefined };
  }

  /** Writes sessions (blob and deadline each), and their deadlines in the expiry index. */
  write(batch: Array<{ pid: PrivateSessionId; blob: string; deadline: number }>, now: number): Promise<unknown> {
    if (batch.length === 0) return Promise.resolve();
    const writes: Array<Promise<unknown>> = batch.map((s) => this.#cmds.set(this.key(s.pid), s.blob, s.deadline - now + this.#grace));
    const zadd: Array<string | number> = ["ZADD", this.expiries];
    for (const s of batch) zadd.push(s.deadline, s.pid);
    writes.push(this.#cmds.send(this.expiries, zadd));
    return Promise.all(writes);
  }

  /** Reads and removes a session (GETDEL: a session is recovered once). */
  take(pid: PrivateSessionId): Promise<string | null> {
    return this.#cmds.getdel(this.key(pid));
  }

  /** Removes a session a socket left for good, unless another node wrote it since (`sha` is what we wrote). */
  async forget(pid: PrivateSessionId, sha: string): Promise<void> {
    const deleted = await this.#cmds.eval(DELETE_IF_SAME, [this.key(pid)], [sha]);
    if (Number(deleted) === 1) await this.#cmds.send(this.expiries, ["ZREM", this.expiries, pid]);
  }

  /** Claims up to `limit` sessions past their deadline; each is claimed by one node only. */
  async claimExpired(now: number, limit: number): Promise<PrivateSessionId[]> {
    const ids = await this.#cmds.eval(CLAIM, [this.expiries], [now, limit]);
    return Array.isArray(ids) ? ids.map(String) : [];
  }
}
