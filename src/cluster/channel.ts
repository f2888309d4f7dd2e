/**
 * The worker side of the cluster IPC, shared by every tidewire adapter and
 * router of the process: one `process.on("message")` listener (held while
 * any of them is open, so an idle worker can exit), dispatch of adapter
 * messages by namespace and of forwarding messages by router tag, and sends
 * bounded by MAX_PENDING_MESSAGES.
 */
import { logger } from "../core/debug.js";
import { ErrorCodes, TidewireError } from "../core/errors.js";
import type { BusHost } from "../adapter/bus/index.js";
import { ADAPTER_SOURCE, MAX_PENDING_MESSAGES, TIDEWIRE_SOURCE, isRecord } from "./protocol.js";

const log = logger("cluster", "channel");

/** What receives tidewire messages addressed to one router. */
export interface ChannelLink {
  readonly tag: string | null;
  onMessage(message: Record<string, any>, handle: unknown): void;
}

export class WorkerChannel {
  readonly #hosts = new Map<string, Set<BusHost>>();
  readonly #links = new Set<ChannelLink>();
  #users = 0;
  #pending = 0;
  #warned = false;
  readonly #onMessage = (message: unknown, handle: unknown) => this.#dispatch(message, handle);

  /** Throws a clear error when this process has no IPC channel (not a node:cluster worker). */
  static check(): void {
    if (typeof process.send !== "function") {
      throw new TidewireError(
        ErrorCodes.INVALID_OPTION,
        "tidewire/cluster: this process has no IPC channel, so it is not a node:cluster worker. Create the adapter in " +
          "worker processes (cluster.isWorker), started with cluster.fork() by a primary that calls setupPrimary().",
      );
    }
  }

  #acquire(): void {
    if (this.#users++ === 0) process.on("message", this.#onMessage);
  }

  #release(): void {
    if (--this.#users === 0) process.removeListener("message", this.#onMessage);
  }

  addHost(host: BusHost): void {
    let set = this.#hosts.get(host.nsp);
    if (!set) this.#hosts.set(host.nsp, (set = new Set()));
    if (set.has(host)) return;
    set.add(host);
    this.#acquire();
  }

  removeHost(host: BusHost): void {
    const set = this.#hosts.get(host.nsp);
    if (!set?.delete(host)) return;
    if (set.size === 0) this.#hosts.delete(host.nsp);
    this.#release();
  }

  addLink(link: ChannelLink): void {
    if (this.#links.has(link)) return;
    this.#links.add(link);
    this.#acquire();
  }

  removeLink(link: ChannelLink): void {
    if (this.#links.delete(link)) this.#release();
  }

  /**
   * Sends a message to the primary (with a handle: a TCP connection).
   * Serializes at once (throws when it cannot); `done` runs once it is
   * written, or with the error that kept it from being sent.
   */
  send(message: object, handle?: unknown, done?: (err: Error | null) => void): void {
    if (typeof process.send !== "function" || !process.connected) {
      const err = new TidewireError(ErrorCodes.NOT_RUNNING, "tidewire/cluster: the IPC channel to the primary is closed");
      if (done) process.nextTick(done, err);
      return;
    }
    if (this.#pending >= MAX_PENDING_MESSAGES) {
      if (!this.#warned) {
        this.#warned = true;
        console.warn(
          `tidewire/cluster: ${this.#pending} messages wait to be written to the primary; messages are dropped until it catches up ` +
            "(is the primary process busy?)",
        );
      }
      const err = new TidewireError(ErrorCodes.LIMIT, `tidewire/cluster: ${this.#pending} messages already wait for the IPC channel`);
      if (done) process.nextTick(done, err);
      return;
    }
    this.#pending++;
    process.send(message, handle as any, {}, (err: Error | null) => {
      this.#pending--;
      if (this.#pending === 0) this.#warned = false;
      done?.(err ?? null);
    });
  }

  #dispatch(message: unknown, handle: unknown): void {
    if (!isRecord(message)) return;
    if (message.source === ADAPTER_SOURCE) {
      const hosts = this.#hosts.get(message.nsp);
      if (!hosts) return;
      for (const host of hosts) {
        // Responses go to the worker of their requester; other adapters of it ignore them.
        if (message.requesterUid !== undefined && message.requesterUid !== host.uid) continue;
        host.receive(message);
      }
      return;
    }
    if (message.source !== TIDEWIRE_SOURCE) return;
    let taken = false;
    for (const link of this.#links) {
      if (message.type === "nodes" || message.type === "who" || message.to === link.tag) {
        link.onMessage(message, handle);
        taken = true;
      }
    }
    if (!taken && handle) {
      log("a connection was handed to router %s, which is not here: closed", message.to);
      (handle as { close?: () => void }).close?.();
    }
  }
}

/** The process's channel. */
export const channel = new WorkerChannel();
