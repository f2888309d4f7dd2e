/**
 * One attempt to move a polling session to WebSocket (protocol.md §6).
 * It is its own timer entry for `upgradeTimeout`, so a session's heartbeat
 * and its upgrade deadline share no state.
 */
import { initTimerEntry, type TimerEntry } from "../core/timers.js";
import type { Transport } from "./transports/transport.js";

export interface UpgradeOwner {
  /** @internal called when the client did not complete the upgrade in time */
  onUpgradeTimeout(attempt: UpgradeAttempt): void;
}

export class UpgradeAttempt implements TimerEntry {
  readonly transport: Transport;
  readonly #owner: UpgradeOwner;
  /** The client sent `2probe` and got `3probe`: pending GETs are released with a noop. */
  probed = false;

  constructor(owner: UpgradeOwner, transport: Transport) {
    this.#owner = owner;
    this.transport = transport;
    initTimerEntry(this);
  }

  onTimeout(): void {
    this.#owner.onUpgradeTimeout(this);
  }
}
