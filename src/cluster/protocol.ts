/**
 * What travels over node:cluster IPC.
 *
 * Adapter messages are @socket.io/cluster-adapter 0.3's: socket.io-adapter's
 * ClusterMessage `{uid, nsp, type, data}` plus `source: "_sio_adapter"`, and
 * `requesterUid` on responses. The primary sends a message to every other
 * worker, and a response to the worker of its requester.
 *
 * tidewire's own messages (`source: "_tidewire_cluster"`) carry session
 * forwarding between tidewire workers and tidewire's primary:
 *   worker → primary   hello {tag, probe}        a router is up (probe: a Buffer, tells the channel's serialization)
 *   primary → worker   who                        announce your routers again (setupPrimary() ran after the fork)
 *   worker → primary   bye {tag}                  a router closed
 *   primary → worker   nodes {tags, binary}       the tags of the live routers (after every change)
 *   worker ↔ primary   frame {to, frame}          a forwarding frame for the router `to`
 *   worker → primary   handover {from, to, bytes} + a TCP handle: a connection for the router `to`
 *   primary → worker   handover {from, to, bytes} + handle, to the worker of `to`
 *   primary → worker   bounce {to, bytes} + handle: the connection could not reach its owner; back to its sender
 * Bytes travel as Buffers over channels with advanced serialization, as
 * base64 text otherwise.
 */
export const ADAPTER_SOURCE = "_sio_adapter";
export const TIDEWIRE_SOURCE = "_tidewire_cluster";

/** Most messages a process has handed to IPC and not yet written, per channel; past it messages are dropped. */
export const MAX_PENDING_MESSAGES = 10_000;

export function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Bytes as they cross a channel: a Buffer where it survives (advanced serialization), base64 text otherwise. */
export function toWire(bytes: Buffer, binary: boolean): Buffer | string {
  return binary ? bytes : bytes.toString("base64");
}

/** Bytes from a channel, in any of the forms a Buffer takes there; null when malformed. */
export function fromWire(value: unknown): Buffer | null {
  if (typeof value === "string") return Buffer.from(value, "base64");
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  // A Buffer sent over a JSON channel.
  if (isRecord(value) && value.type === "Buffer" && Array.isArray(value.data)) return Buffer.from(value.data as number[]);
  return null;
}
