/**
 * Session forwarding between the workers of one machine (a NodeLink over the
 * cluster IPC): frames and handed-over connections go through the primary,
 * which knows which worker runs which router (see primary.ts). The primary
 * tells every worker the live routers' tags after each change, so a request
 * for a session of a worker that died is refused at once.
 *
 * Without tidewire's primary (setupPrimary() from tidewire/cluster) nobody
 * answers `hello`: no tag is ever live and nothing is forwarded.
 */
import { logger } from "../core/debug.js";
import type { LinkReceiver, NodeLink } from "../forward/index.js";
import { channel, type ChannelLink } from "./channel.js";
import { TIDEWIRE_SOURCE, fromWire, toWire } from "./protocol.js";

const log = logger("cluster", "link");

/** How long open() waits for the primary's first list of nodes. */
const HELLO_TIMEOUT = 1000;

export class IpcLink implements NodeLink, ChannelLink {
  tag: string | null = null;
  #receiver: LinkReceiver | null = null;
  #live = new Set<string>();
  /** Whether the channel carries Buffers (advanced serialization); unknown until the primary says. */
  #binary = false;
  #ready: (() => void) | null = null;
  #closed = false;

  open(tag: string, receiver: LinkReceiver): Promise<void> {
    this.tag = tag;
    this.#receiver = receiver;
    channel.addLink(this);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#ready = null;
        log("[%s] no tidewire/cluster primary answered: sessions are not forwarded (call setupPrimary() in the primary)", tag);
        resolve();
      }, HELLO_TIMEOUT);
      timer.unref();
      this.#ready = () => {
        clearTimeout(timer);
        this.#ready = null;
        resolve();
      };
      this.#hello();
    });
  }

  #hello(): void {
    const tag = this.tag;
    channel.send({ source: TIDEWIRE_SOURCE, type: "hello", tag, probe: Buffer.from([1]) }, undefined, (err) => {
      if (err) log("[%s] hello not sent: %s", tag, err.message);
    });
  }

  reachable(tag: string): boolean {
    return this.#live.has(tag);
  }

  send(to: string, frame: Buffer): Promise<boolean> {
    return new Promise((resolve, reject) => {
      channel.send({ source: TIDEWIRE_SOURCE, type: "frame", to, frame: toWire(frame, this.#binary) }, undefined, (err) =>
        err ? reject(err) : resolve(true),
      );
    });
  }

  canHandOver(to: string): boolean {
    return this.#live.has(to);
  }

  handOver(to: string, handle: unknown, bytes: Buffer, done: (err: Error | null) => void): void {
    const message = { source: TIDEWIRE_SOURCE, type: "handover", from: this.tag, to, bytes: toWire(bytes, this.#binary) };
    try {
      channel.send(message, handle, done);
    } catch (err) {
      done(err as Error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.tag !== null) channel.send({ source: TIDEWIRE_SOURCE, type: "bye", tag: this.tag });
    channel.removeLink(this);
    this.#ready?.();
  }

  onMessage(message: Record<string, any>, handle: unknown): void {
    const receiver = this.#receiver;
    if (receiver === null || this.#closed) return;
    switch (message.type) {
      case "who":
        return this.#hello();
      case "nodes": {
        if (!Array.isArray(message.tags)) return;
        this.#binary = message.binary === true;
        const live = new Set<string>(message.tags.filter((t: unknown) => typeof t === "string"));
        const gone = [...this.#live].filter((t) => !live.has(t));
        this.#live = live;
        for (const tag of gone) receiver.gone(tag);
        this.#ready?.();
        return;
      }
      case "frame": {
        const frame = fromWire(message.frame);
        if (frame !== null) receiver.frame(frame);
        return;
      }
      case "handover":
      case "bounce": {
        const bytes = fromWire(message.bytes);
        if (!handle) return;
        if (bytes === null) return void (handle as { close?: () => void }).close?.();
        receiver.connection(handle, bytes);
        return;
      }
    }
  }
}
