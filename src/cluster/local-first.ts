/**
 * Session forwarding for a bus adapter (Redis...) whose nodes are the
 * node:cluster workers of several machines: between workers of this machine
 * the IPC link hands connections over (and carries frames), to the others
 * the bus relays. Which tags are local is what tidewire's primary announces
 * (setupPrimary()); without it every node is reached over the bus.
 */
import cluster from "node:cluster";
import type { LinkReceiver, NodeLink } from "../forward/index.js";
import { IpcLink } from "./ipc-link.js";

/** `remote` alone outside a node:cluster worker; else `remote` with this machine's workers reached over IPC. */
export function withLocalHandover(remote: NodeLink): NodeLink {
  if (!cluster.isWorker || typeof process.send !== "function") return remote;
  return new LocalFirstLink(new IpcLink(), remote);
}

class LocalFirstLink implements NodeLink {
  readonly #local: IpcLink;
  readonly #remote: NodeLink;

  constructor(local: IpcLink, remote: NodeLink) {
    this.#local = local;
    this.#remote = remote;
  }

  open(tag: string, receiver: LinkReceiver): Promise<void> {
    // The primary's answer is not waited for: until it comes, everything goes over the bus.
    void this.#local.open(tag, receiver);
    return this.#remote.open(tag, receiver);
  }

  reachable(tag: string): boolean {
    return this.#local.reachable(tag) || this.#remote.reachable(tag);
  }

  alive(tag: string): Promise<boolean> {
    if (this.#local.reachable(tag)) return Promise.resolve(true);
    return this.#remote.alive?.(tag) ?? Promise.resolve(true);
  }

  send(to: string, frame: Buffer): Promise<boolean> {
    return this.#local.reachable(to) ? this.#local.send(to, frame) : this.#remote.send(to, frame);
  }

  canHandOver(to: string): boolean {
    return this.#local.canHandOver(to);
  }

  handOver(to: string, handle: unknown, bytes: Buffer, done: (err: Error | null) => void): void {
    this.#local.handOver(to, handle, bytes, done);
  }

  async close(): Promise<void> {
    await Promise.all([this.#local.close(), this.#remote.close()]);
  }
}
