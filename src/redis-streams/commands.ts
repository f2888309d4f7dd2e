/**
 * The Redis commands the streams adapter sends, over node-redis (v4, v5, v6;
 * standalone or cluster) and ioredis (standalone or Cluster), as raw
 * commands whose RESP2 and RESP3 replies are both understood.
 */
import { ErrorCodes, TidewireError } from "../core/errors.js";
import type { RedisClient } from "../redis/client.js";

/** One stream entry: its id and its fields. */
export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

type Kind = "node-redis" | "node-redis-cluster" | "ioredis";

export function clientKind(client: RedisClient): Kind {
  if (client && typeof client === "object") {
    if (Array.isArray(client.masters) && typeof client.sendCommand === "function") return "node-redis-cluster";
    if (typeof client.sSubscribe === "function" || typeof client.pSubscribe === "function") return "node-redis";
    if (typeof client.call === "function") return "ioredis";
  }
  throw new TidewireError(
    ErrorCodes.INVALID_OPTION,
    'tidewire/redis-streams: createAdapter() needs a Redis client from the "redis" package (v4 to v6, created with ' +
      'createClient() or createCluster() and connected) or from the "ioredis" package (Redis or Cluster).',
  );
}

const str = (v: unknown): string => (typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString() : String(v));

/** `[id, [f1, v1, ...]]` (or `[id, {f1: v1}]`) as a StreamEntry. */
function toEntry(raw: unknown): StreamEntry | null {
  if (!Array.isArray(raw) || raw.length < 2) return null;
  const fields: Record<string, string> = Object.create(null);
  const list = raw[1];
  if (Array.isArray(list)) {
    for (let i = 0; i + 1 < list.length; i += 2) fields[str(list[i])] = str(list[i + 1]);
  } else if (list instanceof Map) {
    for (const [k, v] of list) fields[str(k)] = str(v);
  } else if (list && typeof list === "object") {
    for (const k of Object.keys(list)) fields[k] = str((list as any)[k]);
  }
  return { id: str(raw[0]), fields };
}

function toEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const r of raw) {
    const e = toEntry(r);
    if (e) out.push(e);
  }
  return out;
}

/** XREAD's reply for one stream: `[[name, entries]]` (RESP2) or `{name: entries}` / Map (RESP3). */
function xreadEntries(reply: unknown): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) return reply.length > 0 && Array.isArray(reply[0]) ? toEntries(reply[0][1]) : [];
  if (reply instanceof Map) return toEntries([...reply.values()][0]);
  if (typeof reply === "object") return toEntries(Object.values(reply)[0]);
  return [];
}

/** Stream ids compared as (milliseconds, sequence). */
export function compareIds(a: string, b: string): number {
  const da = a.indexOf("-");
  const db = b.indexOf("-");
  const ma = Number(a.slice(0, da));
  const mb = Number(b.slice(0, db));
  if (ma !== mb) return ma < mb ? -1 : 1;
  const sa = Number(a.slice(da + 1));
  const sb = Number(b.slice(db + 1));
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

export const STREAM_ID = /^\d{1,16}-\d{1,16}$/;

/** The id right after `id` (exclusive ranges for Redis before 6.2, as the reference does). */
export function nextId(id: string): string {
  const d = id.indexOf("-");
  return `${id.slice(0, d)}-${Number(id.slice(d + 1)) + 1}`;
}

export class Commands {
  readonly client: RedisClient;
  readonly kind: Kind;

  constructor(client: RedisClient) {
    this.client = client;
    this.kind = clientKind(client);
  }

  /** Sends `args` (the key, when given, routes it in a cluster). */
  send(key: string | undefined, args: Array<string | number>, readonly = false): Promise<unknown> {
    try {
      const strings = args.map(String);
      switch (this.kind) {
        case "ioredis":
          return this.client.call(strings[0], ...strings.slice(1));
        case "node-redis-cluster":
          return this.client.sendCommand(key, readonly, strings);
        default:
          return this.client.sendCommand(strings);
      }
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async xadd(stream: string, maxLen: number, fields: Record<string, string>): Promise<string> {
    const args: Array<string | number> = ["XADD", stream, "MAXLEN", "~", maxLen, "*"];
    for (const k in fields) args.push(k, fields[k]);
    return str(await this.send(stream, args));
  }

  async xread(stream: string, after: string, count: number, blockMs: number): Promise<StreamEntry[]> {
    return xreadEntries(await this.send(stream, ["XREAD", "COUNT", count, "BLOCK", blockMs, "STREAMS", stream, after], true));
  }

  async xrange(stream: string, start: string, end: string, count?: number): Promise<StreamEntry[]> {
    const args: Array<string | number> = ["XRANGE", stream, start, end];
    if (count !== undefined) args.push("COUNT", count);
    return toEntries(await this.send(stream, args, true));
  }

  /** The id of the stream's last entry, or null when it has none. */
  async lastId(stream: string): Promise<string | null> {
    const entries = toEntries(await this.send(stream, ["XREVRANGE", stream, "+", "-", "COUNT", 1], true));
    return entries.length > 0 ? entries[0].id : null;
  }

  async getdel(key: string): Promise<string | null> {
    const v = await this.send(key, ["GETDEL", key]);
    return v === null || v === undefined ? null : str(v);
  }

  async get(key: string): Promise<string | null> {
    const v = await this.send(key, ["GET", key], true);
    return v === null || v === undefined ? null : str(v);
  }

  set(key: string, value: string, px: number): Promise<unknown> {
    return this.send(key, ["SET", key, value, "PX", Math.max(1, Math.ceil(px))]);
  }

  del(key: string): Promise<unknown> {
    return this.send(key, ["DEL", key]);
  }

  eval(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.send(keys[0], ["EVAL", script, keys.length, ...keys, ...args]);
  }

  /** A second connection of the same kind (for blocking reads), connected. */
  async duplicate(): Promise<RedisClient> {
    const dup = this.client.duplicate();
    dup.on?.("error", () => {});
    if (this.kind !== "ioredis") await dup.connect();
    else if (dup.status === "wait") await dup.connect();
    return dup;
  }
}

/** Closes a client made by `duplicate()`. */
export function closeClient(client: RedisClient): void {
  try {
    const p = typeof client.destroy === "function" ? client.destroy() : client.disconnect();
    if (p && typeof p.catch === "function") p.catch(() => {});
  } catch {
    // already closed
  }
}
