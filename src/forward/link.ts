/**
 * What session forwarding needs from a cluster bus: point-to-point messages
 * between nodes addressed by node tag (Redis: one channel per node; node:cluster:
 * the primary routes by tag), and, where the nodes are processes of one
 * machine, handing a TCP connection to another node.
 */

/** Receives what a link delivers to this node. */
export interface LinkReceiver {
  /** A frame (see codec.ts) addressed to this node. Untrusted: the router checks it. */
  frame(frame: Buffer): void;
  /** A connection another node handed over: its handle, and the bytes of the request already read. */
  connection(handle: unknown, bytes: Buffer): void;
  /** Node `tag` left the cluster (links that can tell): nothing sent to it will be answered. */
  gone(tag: string): void;
}

export interface NodeLink {
  /** Starts delivering what is addressed to node `tag`. Resolves once other nodes can reach it; never rejects. */
  open(tag: string, receiver: LinkReceiver): Promise<void>;
  /**
   * Sends a frame to node `to`. Resolves false when the bus knows that no
   * node `to` listens (Redis: PUBLISH reached nobody), true otherwise;
   * rejects when the frame could not be sent.
   */
  send(to: string, frame: Buffer): Promise<boolean>;
  /** Whether node `tag` may be reached; links that cannot tell say true and let send() find out. */
  reachable(tag: string): boolean;
  /**
   * Asks the bus whether node `tag` still listens (Redis: PUBSUB NUMSUB of
   * its channel). Links that report departures themselves (`gone`) have none.
   */
  alive?(tag: string): Promise<boolean>;
  /** Whether handOver() reaches node `to` (a process of this machine). */
  canHandOver?(to: string): boolean;
  /**
   * Hands a TCP connection (its libuv handle, no longer read here) and the
   * request bytes already read from it to node `to`, which answers the
   * client itself. `done(null)` once the handle left this process; then the
   * caller closes its own copy. Only links between processes of one machine.
   */
  handOver?(to: string, handle: unknown, bytes: Buffer, done: (err: Error | null) => void): void;
  /** Stops receiving. Never rejects. */
  close(): Promise<void>;
}
