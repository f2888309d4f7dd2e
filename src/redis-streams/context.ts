/**
 * What the adapters of one createAdapter() factory share: the commands
 * client, the stream reader, a pub/sub connection (a duplicate of the
 * client), the sweeper of expired sessions, and a bound on pending writes.
 * Made on the first adapter, released with the last.
 */
import { logger } from "../core/debug.js";
import { ErrorCodes, TidewireError } from "../core/errors.js";
import { acquirePubSub, type PubSub, type RedisClient } from "../redis/client.js";
import { closeClient, Commands } from "./commands.js";
import type { ResolvedStreamsOptions } from "./options.js";
import { StreamReader } from "./reader.js";
import { SessionStore } from "./session-store.js";

const log = logger("redis-streams", "context");

/** Bytes counted per queued write on top of its payload. */
const WRITE_OVERHEAD = 256;

/** Most expired sessions claimed per sweep. */
const CLAIM_LIMIT = 100;

/** A namespace adapter as the sweeper sees it. */
export interface ExpiryListener {
  /** A session of this namespace expired unrecovered; `blob` is its stored value (null when already gone). */
  onExpired(pid: string, blob: string | null): void;
}

export class StreamsContext {
  readonly opts: ResolvedStreamsOptions;
  readonly cmds: Commands;
  readonly reader: StreamReader;
  readonly store: SessionStore;
  readonly pubsub: Promise<PubSub>;
  readonly #adapters = new Map<string, ExpiryListener>();
  #release: (() => void) | null = null;
  #sub: RedisClient | null = null;
  #pending = 0;
  #sweeper: NodeJS.Timeout | null = null;
  #sweeping = false;
  #closed = false;

  constructor(client: RedisClient, opts: ResolvedStreamsOptions) {
    this.opts = opts;
    this.cmds = new Commands(client);
    this.reader = new StreamReader(this.cmds, opts);
    this.store = new SessionStore(this.cmds, opts.sessionKeyPrefix, opts.recovery.expiryGrace);
    this.pubsub = this.cmds.duplicate().then((sub) => {
      this.#sub = sub;
      const { pubsub, release } = acquirePubSub(client, sub, { maxPendingPublishBytes: opts.limits.pendingBytes });
      this.#release = release;
      if (this.#closed) this.#shutdown();
      return pubsub;
    });
    this.pubsub.catch((err) => log("the pub/sub connection could not be made: %s", err?.message ?? err));
  }

  /** Runs a write unless too many bytes already wait for Redis. */
  bounded<T>(size: number, write: () => Promise<T>): Promise<T> {
    const cost = size + WRITE_OVERHEAD;
    if (this.#pending + cost > this.opts.limits.pendingBytes) return Promise.reject(
        new TidewireError(
          ErrorCodes.LIMIT,
          `tidewire/redis-streams: message dropped: ${this.#pending} bytes of writes already wait for Redis ` +
            `(limits.pendingBytes). Redis is unreachable or slower than the message rate.`,
        ),
      );
    this.#pending += cost;
    let p: Promise<T>;
    try {
      p = write();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => {
      this.#pending -= cost;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  register(nsp: string, adapter: ExpiryListener, sweep: boolean): void {
    this.#adapters.set(nsp, adapter);
    if (sweep && !this.#sweeper) this.#sweeper = setInterval(() => this.#sweep(), this.opts.recovery.sweepInterval).unref();
  }

  /** Forgets a namespace; returns true when it was the last (the context is then closed). */
  unregister(nsp: string): boolean {
    this.#adapters.delete(nsp);
    if (this.#adapters.size > 0) return false;
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.reader.close();
    this.#shutdown();
    return true;
  }

  #shutdown(): void {
    this.#release?.();
    this.#release = null;
    if (this.#sub) closeClient(this.#sub);
    this.#sub = null;
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      const pids = await this.store.claimExpired(Date.now(), CLAIM_LIMIT);
      for (const pid of pids) {
        const blob = await this.store.take(pid);
        const session = blob === null ? null : this.store.decode(blob);
        // Gone: recovered by a node that does not keep the index (the reference), or removed.
        if (!session) continue;
        const adapter = session.tw ? this.#adapters.get(session.tw.nsp) : undefined;
        if (adapter) adapter.onExpired(pid, blob);
        else log("session %s of namespace %s expired; no adapter of that namespace here to report it", pid, session.tw?.nsp);
      }
    } catch (err) {
      log("looking for expired sessions failed: %s", (err as Error)?.message ?? err);
    } finally {
      this.#sweeping = false;
    }
  }
}
