/**
 * The primary's part of tidewire/cluster: routing messages between workers.
 * Adapter messages as @socket.io/cluster-adapter's setupPrimary() routes
 * them (workers of either adapter can share a cluster): a message goes to
 * every other worker, a response to the worker of its requester. And
 * session forwarding: the tags of the workers' routers, their frames, and
 * the TCP connections they hand each other (a connection's handle passes
 * through here; see forward/handoff.ts).
 *
 * Sends to one worker are bounded (MAX_PENDING_MESSAGES): a worker that
 * stops reading its channel loses messages rather than growing the primary.
 */
import cluster, { type Worker } from "node:cluster";
import { logger } from "../core/debug.js";
import { RESPONSE_TYPES } from "../adapter/bus/index.js";
import { isTag } from "../core/routing.js";
import { ADAPTER_SOURCE, MAX_PENDING_MESSAGES, TIDEWIRE_SOURCE, isRecord } from "./protocol.js";

const log = logger("cluster", "primary");

export interface PrimaryOptions {
  /**
   * The serialization of the IPC channels of workers forked afterwards,
   * unless already set with cluster.setupPrimary(). "advanced" carries
   * binary payloads (Buffers) between workers; with "json" they arrive as
   * plain objects, as with @socket.io/cluster-adapter.
   * @default "advanced"
   */
  serialization?: "advanced" | "json";
}

export interface PrimaryHandle {
  /** Stops routing (the workers' messages are no longer passed on). */
  close(): void;
}

interface WorkerState {
  /** Adapter uids seen from this worker (one per namespace): responses to them come here. */
  uids: Set<string>;
  /** Tags of the routers of this worker. */
  tags: Set<string>;
  /** Whether its channel carries Buffers (advanced serialization). */
  binary: boolean;
  pending: number;
  warned: boolean;
}

const kPrimary = Symbol.for("tidewire.cluster.primary");

/**
 * Sets up this node:cluster primary for workers running tidewire with
 * `tidewire/cluster` (and workers running socket.io with
 * @socket.io/cluster-adapter): call it once, before or after forking.
 * Calling it again returns the same handle. Use it instead of
 * @socket.io/cluster-adapter's setupPrimary, not with it (messages would be
 * passed on twice).
 */
export function setupPrimary(opts: PrimaryOptions = {}): PrimaryHandle {
  if (!cluster.isPrimary) {
    throw new Error("tidewire/cluster: setupPrimary() runs in the primary process (cluster.isPrimary); workers use createAdapter()");
  }
  const existing = (cluster as unknown as Record<symbol, PrimaryHandle | undefined>)[kPrimary];
  if (existing) return existing;
  const serialization = opts.serialization ?? "advanced";
  if (serialization !== "advanced" && serialization !== "json") {
    throw new TypeError(`tidewire/cluster: setupPrimary({ serialization }) expects "advanced" or "json", got ${String(serialization)}`);
  }
  if (cluster.settings.serialization === undefined) cluster.setupPrimary({ serialization });
  const router = new PrimaryRouter();
  const onMessage = (worker: Worker, message: unknown, handle: unknown) => router.onMessage(worker, message, handle);
  const onExit = (worker: Worker) => router.onExit(worker);
  cluster.on("message", onMessage);
  cluster.on("exit", onExit);
  // Workers forked before this call announced their routers to nobody: they do it again.
  for (const worker of Object.values(cluster.workers ?? {})) {
    if (worker?.isConnected()) worker.send({ source: TIDEWIRE_SOURCE, type: "who" }, undefined, () => {});
  }
  const handle: PrimaryHandle = {
    close() {
      cluster.off("message", onMessage);
      cluster.off("exit", onExit);
      delete (cluster as unknown as Record<symbol, unknown>)[kPrimary];
    },
  };
  (cluster as unknown as Record<symbol, PrimaryHandle>)[kPrimary] = handle;
  return handle;
}

class PrimaryRouter {
  readonly #workers = new Map<Worker, WorkerState>();
  readonly #byUid = new Map<string, Worker>();
  readonly #byTag = new Map<string, Worker>();

  #state(worker: Worker): WorkerState {
    let state = this.#workers.get(worker);
    if (!state) {
      state = { uids: new Set(), tags: new Set(), binary: false, pending: 0, warned: false };
      this.#workers.set(worker, state);
    }
    return state;
  }

  #send(worker: Worker, message: object, handle?: unknown, done?: (err: Error | null) => void): void {
    const state = this.#state(worker);
    if (!worker.isConnected() || state.pending >= MAX_PENDING_MESSAGES) {
      if (worker.isConnected() && !state.warned) {
        state.warned = true;
        console.warn(`tidewire/cluster: worker ${worker.id} does not read its IPC channel; messages to it are dropped`);
      }
      if (done) process.nextTick(done, new Error(`worker ${worker.id} cannot take messages`));
      return;
    }
    state.pending++;
    worker.send(message as any, handle as any, (err: Error | null) => {
      state.pending--;
      if (state.pending === 0) state.warned = false;
      done?.(err ?? null);
    });
  }

  #others(sender: Worker): Worker[] {
    const out: Worker[] = [];
    for (const worker of Object.values(cluster.workers ?? {})) if (worker && worker !== sender) out.push(worker);
    return out;
  }

  onMessage(worker: Worker, message: unknown, handle: unknown): void {
    if (!isRecord(message)) return;
    if (message.source === ADAPTER_SOURCE) return this.#adapterMessage(worker, message);
    if (message.source === TIDEWIRE_SOURCE) return this.#tidewireMessage(worker, message, handle);
  }

  #adapterMessage(worker: Worker, message: Record<string, any>): void {
    if (typeof message.uid === "string") {
      const state = this.#state(worker);
      if (!state.uids.has(message.uid)) {
        state.uids.add(message.uid);
        this.#byUid.set(message.uid, worker);
      }
    }
    if (RESPONSE_TYPES.has(message.type) && typeof message.requesterUid === "string") {
      const requester = this.#byUid.get(message.requesterUid);
      if (requester) return this.#send(requester, message);
    }
    for (const other of this.#others(worker)) this.#send(other, message);
  }

  #tidewireMessage(worker: Worker, message: Record<string, any>, handle: unknown): void {
    switch (message.type) {
      case "hello": {
        if (!isTag(message.tag)) return;
        const state = this.#state(worker);
        state.binary = message.probe instanceof Uint8Array;
        const previous = this.#byTag.get(message.tag);
        if (previous && previous !== worker) log("router tag %s announced by workers %d and %d", message.tag, previous.id, worker.id);
        state.tags.add(message.tag);
        this.#byTag.set(message.tag, worker);
        return this.#announce();
      }
      case "bye": {
        const state = this.#workers.get(worker);
        if (state?.tags.delete(message.tag) && this.#byTag.get(message.tag) === worker) this.#byTag.delete(message.tag);
        return this.#announce();
      }
      case "frame": {
        const owner = typeof message.to === "string" ? this.#byTag.get(message.to) : undefined;
        // Unknown destination: the sender learns who is live (its requests to `to` fail).
        if (!owner) return this.#sendNodes(worker);
        return this.#send(owner, message);
      }
      case "handover":
        return this.#handOver(worker, message, handle);
    }
  }

  /** Passes a connection to the worker of its session's router, or back to its sender. */
  #handOver(sender: Worker, message: Record<string, any>, handle: unknown): void {
    if (!handle) return;
    const close = () => (handle as { close?: () => void }).close?.();
    const owner = typeof message.to === "string" ? this.#byTag.get(message.to) : undefined;
    const bounce = () => {
      // The sender refuses the request as for an unknown session, with its own headers (CORS...).
      this.#sendNodes(sender);
      this.#send(sender, { source: TIDEWIRE_SOURCE, type: "bounce", to: message.from, bytes: message.bytes }, handle, (err) => {
        close();
        if (err) log("connection for %s could not go back to worker %d: closed", message.to, sender.id);
      });
    };
    if (!owner) return bounce();
    this.#send(owner, message, handle, (err) => {
      if (!err) return close();
      log("connection for %s could not reach worker %d (%s)", message.to, owner.id, err.message);
      this.#forget(owner);
      bounce();
    });
  }

  #sendNodes(worker: Worker): void {
    const state = this.#state(worker);
    this.#send(worker, { source: TIDEWIRE_SOURCE, type: "nodes", tags: [...this.#byTag.keys()], binary: state.binary });
  }

  /** Tells every worker with a router which routers are live. */
  #announce(): void {
    for (const [worker, state] of this.#workers) if (state.tags.size > 0 && worker.isConnected()) this.#sendNodes(worker);
  }

  /** A worker's routers and uids are gone. */
  #forget(worker: Worker): void {
    const state = this.#workers.get(worker);
    if (!state) return;
    this.#workers.delete(worker);
    for (const uid of state.uids) if (this.#byUid.get(uid) === worker) this.#byUid.delete(uid);
    let changed = false;
    for (const tag of state.tags) {
      if (this.#byTag.get(tag) === worker) {
        this.#byTag.delete(tag);
        changed = true;
      }
    }
    if (changed) this.#announce();
  }

  onExit(worker: Worker): void {
    this.#forget(worker);
  }
}
