import { randomBytes } from "node:crypto";
import { Adapter } from "./adapter.js";
import type {
  AdapterNamespace,
  AdapterPacket,
  BroadcastOptions,
  PrivateSessionId,
  Room,
  Session,
  SessionToPersist,
} from "./types.js";

/** Options of the in-memory session store. */
export interface SessionAwareAdapterOptions {
  /** How long a disconnected session and the packets it may miss are kept. @default 120000 */
  maxDisconnectionDuration?: number;
  /**
   * Most packets kept for replay; the oldest go first. A client whose
   * offset was dropped gets a fresh session instead of a recovered one.
   * @default 10000
   */
  maxPackets?: number;
  /**
   * Most disconnected sessions kept; the oldest go first.
   * @default 100000
   */
  maxSessions?: number;
}

interface LoggedPacket {
  seq: number;
  offset: string;
  emittedAt: number;
  data: unknown[];
  rooms: Set<Room>;
  except?: Set<Room>;
}

const EVENT = 2;
const PURGE_INTERVAL = 60_000;

/**
 * The in-memory adapter with connection-state recovery: every broadcast
 * EVENT without ack and not volatile gets an offset (appended as its last
 * argument) and is logged; a disconnected session is kept for
 * `maxDisconnectionDuration`, and restoring it returns the logged packets
 * after the client's last offset that its rooms would have received.
 *
 * Both the log and the session map are bounded in time and in count.
 */
export class SessionAwareAdapter extends Adapter {
  readonly #maxDuration: number;
  readonly #maxPackets: number;
  readonly #maxSessions: number;
  readonly #sessions = new Map<PrivateSessionId, { session: SessionToPersist; at: number }>();
  /** Packets in emission order; `#head` is the index of the oldest one kept. */
  #log: LoggedPacket[] = [];
  #head = 0;
  readonly #byOffset = new Map<string, LoggedPacket>();
  readonly #prefix = randomBytes(4).toString("base64url");
  #seq = 0;
  #purgeTimer: NodeJS.Timeout;

  constructor(nsp: AdapterNamespace, opts: SessionAwareAdapterOptions = {}) {
    super(nsp);
    this.#maxDuration = opts.maxDisconnectionDuration ?? 120_000;
    this.#maxPackets = opts.maxPackets ?? 10_000;
    this.#maxSessions = opts.maxSessions ?? 100_000;
    this.#purgeTimer = setInterval(() => this.#purge(Date.now()), PURGE_INTERVAL);
    this.#purgeTimer.unref();
  }

  override close(): void {
    clearInterval(this.#purgeTimer);
    this.#sessions.clear();
    this.#log = [];
    this.#head = 0;
    this.#byOffset.clear();
  }

  override persistSession(session: SessionToPersist): void {
    this.#sessions.delete(session.pid);
    this.#sessions.set(session.pid, { session, at: Date.now() });
    if (this.#sessions.size > this.#maxSessions) {
      const [oldest] = this.#sessions.keys();
      this.#sessions.delete(oldest);
    }
  }

  override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session | null> {
    const entry = this.#sessions.get(pid);
    if (!entry) return Promise.resolve(null);
    const now = Date.now();
    if (now - entry.at > this.#maxDuration) {
      this.#sessions.delete(pid);
      return Promise.resolve(null);
    }
    const from = this.#byOffset.get(offset);
    if (!from) return Promise.resolve(null); // too old, or never ours: a fresh session
    this.#sessions.delete(pid);
    const rooms = entry.session.rooms;
    const missedPackets: unknown[][] = [];
    const start = this.#head + (from.seq - this.#log[this.#head].seq) + 1;
    for (let i = start; i < this.#log.length; i++) {
      const packet = this.#log[i];
      if (includes(rooms, packet)) missedPackets.push(packet.data);
    }
    return Promise.resolve({ ...entry.session, missedPackets });
  }

  override broadcast(packet: AdapterPacket, opts: BroadcastOptions): void {
    if (packet.type === EVENT && packet.id === undefined && !opts.flags?.volatile && Array.isArray(packet.data)) {
      const offset = this.#prefix + (this.#seq++).toString(36);
      packet.data.push(offset);
      const logged: LoggedPacket = {
        seq: this.#seq,
        offset,
        emittedAt: Date.now(),
        data: packet.data,
        rooms: opts.rooms,
        except: opts.except,
      };
      this.#log.push(logged);
      this.#byOffset.set(offset, logged);
      if (this.#log.length - this.#head > this.#maxPackets) this.#dropOldest();
    }
    super.broadcast(packet, opts);
  }

  #dropOldest(): void {
    const oldest = this.#log[this.#head];
    this.#byOffset.delete(oldest.offset);
    this.#log[this.#head] = undefined as unknown as LoggedPacket;
    this.#head++;
    // Compact once the dead prefix is large, keeping pushes amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#log.length) {
      this.#log = this.#log.slice(this.#head);
      this.#head = 0;
    }
  }

  #purge(now: number): void {
    for (const [pid, entry] of this.#sessions) {
      if (now - entry.at > this.#maxDuration) this.#sessions.delete(pid);
    }
    while (this.#head < this.#log.length && now - this.#log[this.#head].emittedAt > this.#maxDuration) {
      this.#dropOldest();
    }
  }
}

/** Whether a session in `rooms` would have received `packet`. */
function includes(rooms: Room[], packet: LoggedPacket): boolean {
  const inTarget = packet.rooms.size === 0 || rooms.some((room) => packet.rooms.has(room));
  if (!inTarget) return false;
  if (packet.except && packet.except.size > 0) {
    for (const room of rooms) if (packet.except.has(room)) return false;
  }
  return true;
}
