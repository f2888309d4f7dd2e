/**
 * Session forwarding between machines over Redis (a NodeLink): each node
 * listens on a channel of its own, `<key>-forward#<tag>#` (SSUBSCRIBE with
 * the sharded adapter), and PUBLISH tells how many listened, so a frame
 * for a node that left is known undelivered at once. Frames are raw bytes.
 * Redis keeps the order of one connection's publishes: frames between two
 * nodes arrive in the order sent.
 */
import { logger } from "../core/debug.js";
import type { LinkReceiver, NodeLink } from "../forward/index.js";
import type { MessageHandler, PubSub } from "./client.js";

const log = logger("redis", "forward");

export class RedisLink implements NodeLink {
  /** The pub/sub pair (tidewire/redis-streams creates its subscriber connection lazily). */
  readonly #pubsub: PubSub | Promise<PubSub>;
  readonly #prefix: string;
  readonly #shard: boolean;
  #channel: string | null = null;
  #handler: MessageHandler | null = null;

  constructor(pubsub: PubSub | Promise<PubSub>, prefix: string, shard: boolean) {
    this.#pubsub = pubsub;
    this.#prefix = `${prefix}-forward#`;
    this.#shard = shard;
  }

  /** The pair, when it is there already (no extra promise hop per frame). */
  #with<T>(fn: (p: PubSub) => T | Promise<T>): Promise<T> {
    const p = this.#pubsub;
    if (p instanceof Promise) return p.then(fn);
    try {
      return Promise.resolve(fn(p));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #channelOf(tag: string): string {
    return `${this.#prefix}${tag}#`;
  }

  open(tag: string, receiver: LinkReceiver): Promise<void> {
    const channel = this.#channelOf(tag);
    this.#channel = channel;
    this.#handler = (raw, from) => {
      if (from === channel) receiver.frame(raw);
    };
    const handler = this.#handler;
    return this.#with((p) => p.subscribe(this.#shard ? "shard" : "channel", channel, handler)).catch((err) =>
      log("subscribing to %s failed (sessions of this node cannot be reached from others): %s", channel, err?.message ?? err),
    );
  }

  reachable(): boolean {
    return true;
  }

  alive(tag: string): Promise<boolean> {
    return this.#with((p) => p.countSubscribers(this.#shard ? "SHARDNUMSUB" : "NUMSUB", this.#channelOf(tag))).then((n) => n > 0);
  }

  send(to: string, frame: Buffer): Promise<boolean> {
    const channel = this.#channelOf(to);
    // PUBLISH counts one node's subscribers on a Redis Cluster with classic pub/sub: no verdict there.
    return this.#with((p) => p.publish(channel, frame, this.#shard).then((count) => (!this.#shard && p.isCluster) || Number(count) > 0));
  }

  async close(): Promise<void> {
    const channel = this.#channel;
    const handler = this.#handler;
    if (channel === null || handler === null) return;
    this.#channel = this.#handler = null;
    await this.#with((p) => p.unsubscribe(this.#shard ? "shard" : "channel", channel, handler)).catch((err) =>
      log("unsubscribing from %s failed: %s", channel, err?.message ?? err),
    );
  }
}
