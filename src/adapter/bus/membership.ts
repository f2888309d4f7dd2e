/**
 * Who else serves a namespace, for transports that cannot count nodes:
 * socket.io-adapter's heartbeat design. A node announces itself with
 * INITIAL_HEARTBEAT (others answer HEARTBEAT), publishes HEARTBEAT when it
 * has published nothing for `heartbeatInterval`, and ADAPTER_CLOSE when it
 * closes. Any message from a node counts as a sign of life; a node silent
 * for `heartbeatTimeout` is considered gone.
 */
import { EMITTER_UID } from "./messages.js";

export interface MembershipOptions {
  /** How often a node that publishes nothing else says it is alive, in ms. @default 5000 */
  heartbeatInterval?: number;
  /** How long a silent node is still counted, in ms. @default 10000 */
  heartbeatTimeout?: number;
}

/** How often silent nodes are looked for. */
const SWEEP_INTERVAL = 1000;
/** More nodes than any real cluster has: past it, unknown uids are not recorded. */
const MAX_NODES = 10_000;

export class Membership {
  readonly #nodes = new Map<string, number>();
  readonly #interval: number;
  readonly #timeout: number;
  readonly #sendHeartbeat: () => void;
  readonly #onGone: (uid: string) => void;
  #heartbeat: NodeJS.Timeout | null = null;
  #sweep: NodeJS.Timeout | null = null;

  constructor(opts: MembershipOptions, sendHeartbeat: () => void, onGone: (uid: string) => void) {
    this.#interval = opts.heartbeatInterval ?? 5000;
    this.#timeout = opts.heartbeatTimeout ?? 10000;
    this.#sendHeartbeat = sendHeartbeat;
    this.#onGone = onGone;
  }

  /** The other nodes' uids. */
  get others(): IterableIterator<string> {
    return this.#nodes.keys();
  }

  get size(): number {
    return this.#nodes.size;
  }

  start(): void {
    this.#sweep ??= setInterval(() => this.#expire(Date.now()), SWEEP_INTERVAL).unref();
  }

  /** A message from `uid` arrived. */
  seen(uid: string): void {
    if (uid === EMITTER_UID || uid === "") return;
    if (this.#nodes.has(uid) || this.#nodes.size < MAX_NODES) this.#nodes.set(uid, Date.now());
  }

  remove(uid: string): void {
    if (this.#nodes.delete(uid)) this.#onGone(uid);
  }

  /** This node published something: the next heartbeat is due `heartbeatInterval` later. */
  published(): void {
    if (this.#heartbeat) this.#heartbeat.refresh();
    else this.#heartbeat = setTimeout(() => this.#sendHeartbeat(), this.#interval).unref();
  }

  stop(): void {
    if (this.#heartbeat) clearTimeout(this.#heartbeat);
    if (this.#sweep) clearInterval(this.#sweep);
    this.#heartbeat = this.#sweep = null;
    this.#nodes.clear();
  }

  #expire(now: number): void {
    for (const [uid, lastSeen] of this.#nodes) if (now - lastSeen > this.#timeout) this.remove(uid);
  }
}
