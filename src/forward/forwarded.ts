/**
 * One request or tunnel the origin handed to another node (see
 * ./origin.ts): its entry, which is also its timer, and the listeners
 * shared by every entry, which find it on the emitter they listen to.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { TimerEntry } from "../core/timers.js";
import type { Origin } from "./origin.js";

/** What an entry carries: a relayed request, or a tunnelled WebSocket upgrade. */
export const REQUEST = 0;
export const TUNNEL = 1;

/** Where a response or socket carries its entry, for the shared listeners. */
export const kEntry = Symbol("tidewire.forwarded");
export type Carrier = { [kEntry]?: Forwarded };

/** One request or tunnel handed to another node. */
export class Forwarded implements TimerEntry {
  /** The owner answered (RESPONSE, or a tunnel's first DOWN): the client has been written to. */
  answered = false;
  /** Being handed over: the link, not a frame, will settle it. */
  handingOver = false;

  constructor(
    readonly origin: Origin,
    readonly id: number,
    readonly kind: typeof REQUEST | typeof TUNNEL,
    readonly to: string,
    readonly sid: string,
    readonly req: IncomingMessage,
    readonly res: ServerResponse | null,
    readonly socket: Duplex,
  ) {}

  onTimeout(): void {
    this.origin.timedOut(this);
  }
}

// Shared listeners (no closure per forwarded request): they find the entry on their emitter.

export function onResponseClose(this: ServerResponse & Carrier): void {
  const entry = this[kEntry];
  if (entry !== undefined && !entry.answered) entry.origin.cancel(entry);
}

export function onTunnelData(this: Duplex & Carrier, chunk: Buffer): void {
  const entry = this[kEntry];
  if (entry !== undefined) entry.origin.clientData(entry, chunk);
}

export function onTunnelEnd(this: Duplex & Carrier): void {
  const entry = this[kEntry];
  if (entry !== undefined) entry.origin.cancel(entry);
  this.destroy();
}

export function destroySocket(this: Duplex): void {
  this.destroy();
}
